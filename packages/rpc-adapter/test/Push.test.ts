import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Queue, Stream } from "effect"
import { AppViews } from "@archipelago/orchestrator"
import * as Push from "../src/Push.js"
import { makeFake, view } from "./fixtures.js"

const setup = () => {
  const fake = makeFake([view("lnd", "running"), view("bitcoin-knots", "stopped")])
  return { fake, layer: Push.layer.pipe(Layer.provide(fake.layer)) }
}

// Lets the hub's forked subscriber reach the PubSub before the test publishes.
const settle = Effect.repeat(Effect.yieldNow, { times: 20 })

describe("Push", () => {
  it.effect("the hub is built from the picture AppViews.changes starts with: it never reads list, and no change falls between", () => {
    // A feed whose picture already holds a change the store made while the hub subscribed, then
    // one more: the hub's first snapshot is that picture, and the next change is number 1.
    const picture = [view("lnd", "stopping"), view("bitcoin-knots", "stopped")]
    const views = Layer.succeed(AppViews.AppViews, {
      list: Effect.die(new Error("Push must not read list: the feed's picture is the snapshot")),
      changes: Stream.concat(Stream.make(picture, [view("lnd", "stopped")]), Stream.never),
      installLog: () => Effect.die(new Error("not used")),
      containerLogs: () => Effect.die(new Error("not used")),
      followLogs: () => Stream.die(new Error("not used")),
      resources: Effect.die(new Error("not used"))
    })
    return Effect.gen(function*() {
      const push = yield* Push.Push
      const first = yield* push.snapshot
      expect(first.apps.map((v) => [v.id, v.state]).concat([["seq", String(first.seq)]])).toStrictEqual(
        first.seq === 0
          ? [["lnd", "stopping"], ["bitcoin-knots", "stopped"], ["seq", "0"]]
          : [["lnd", "stopped"], ["bitcoin-knots", "stopped"], ["seq", "1"]]
      )
      yield* settle
      expect(yield* push.snapshot).toStrictEqual({ apps: [view("lnd", "stopped"), view("bitcoin-knots", "stopped")], seq: 1 })
    }).pipe(Effect.provide(Push.layer.pipe(Layer.provide(views))))
  })

  it.effect("a client gets the snapshot first, then every change in order with seq + 1", () => {
    const { fake, layer } = setup()
    return Effect.gen(function*() {
      yield* settle
      const collected = yield* Effect.forkChild(Stream.runCollect(Stream.take(Push.notifications(), 4)))
      yield* settle
      yield* Effect.promise(() => fake.emit(view("lnd", "stopping")))
      yield* Effect.promise(() => fake.emit(view("lnd", "stopped")))
      yield* Effect.promise(() => fake.emit(view("bitcoin-knots", "starting")))
      const out = yield* Fiber.join(collected)
      expect(out.map((n) => [n.method, (n.params as any).seq])).toStrictEqual([
        ["state.snapshot", 0],
        ["state.changed", 1],
        ["state.changed", 2],
        ["state.changed", 3]
      ])
      expect((out[0]!.params as any).apps.map((v: any) => v.state)).toStrictEqual(["running", "stopped"])
      expect(out.slice(1).map((n) => [(n.params as any).app.id, (n.params as any).app.state])).toStrictEqual([
        ["lnd", "stopping"],
        ["lnd", "stopped"],
        ["bitcoin-knots", "starting"]
      ])
    }).pipe(Effect.provide(layer))
  })

  it.effect("an overflowing queue is dropped and replaced by one resync; memory stays bounded", () => {
    const { fake, layer } = setup()
    return Effect.gen(function*() {
      const push = yield* Push.Push
      yield* settle
      const q = yield* push.subscribe(4)
      for (let i = 0; i < 50; i++) yield* Effect.promise(() => fake.emit(view("lnd", i % 2 === 0 ? "stopping" : "running")))
      yield* settle
      const size = yield* Queue.size(q)
      expect(size).toBeLessThanOrEqual(4)
      const queued = yield* Queue.takeAll(q)
      expect(queued[0]).toStrictEqual({ _tag: "Resync" })
      expect(queued.slice(1).every((m) => m._tag === "Changed")).toBe(true)
      expect(yield* push.snapshot).toStrictEqual({ apps: fake.current(), seq: 50 })
    }).pipe(Effect.provide(layer))
  })

  it.effect("after a resync the client gets a fresh snapshot and numbering continues from it", () => {
    const { fake, layer } = setup()
    return Effect.gen(function*() {
      yield* settle
      const pull = yield* Stream.toPull(Push.notifications(2))
      const next = Effect.map(pull, (c) => c.map((n) => [n.method, (n.params as any).seq]))
      expect(yield* next).toStrictEqual([["state.snapshot", 0]])
      // Capacity 2: two changes fill the queue, the third overflows it.
      yield* Effect.promise(() => fake.emit(view("lnd", "stopping")))
      yield* Effect.promise(() => fake.emit(view("lnd", "stopped")))
      yield* Effect.promise(() => fake.emit(view("bitcoin-knots", "starting")))
      yield* settle
      expect(yield* next).toStrictEqual([["state.snapshot", 3]])
      yield* Effect.promise(() => fake.emit(view("lnd", "starting")))
      yield* settle
      expect(yield* next).toStrictEqual([["state.changed", 4]])
    }).pipe(Effect.provide(layer))
  })

  it.effect("a snapshot is the hub's picture at its seq, never ahead of the changes that follow", () => {
    const { fake, layer } = setup()
    return Effect.gen(function*() {
      const push = yield* Push.Push
      yield* settle
      // The store moves on, but its change has not reached the hub yet.
      fake.setSilently(view("lnd", "stopped"))
      expect(yield* push.snapshot).toStrictEqual({ apps: [view("lnd", "running"), view("bitcoin-knots", "stopped")], seq: 0 })
      yield* Effect.promise(() => fake.emit(view("lnd", "stopped")))
      yield* settle
      expect(yield* push.snapshot).toStrictEqual({ apps: [view("lnd", "stopped"), view("bitcoin-knots", "stopped")], seq: 1 })
    }).pipe(Effect.provide(layer))
  })

  it.effect("the picture takes every change and keeps catalog order", () => {
    const { fake, layer } = setup()
    return Effect.gen(function*() {
      yield* Effect.promise(() => fake.emit(view("bitcoin-knots", "starting")))
      const push = yield* Push.Push
      yield* Effect.promise(() => fake.emit(view("lnd", "stopping")))
      yield* settle
      const s = yield* push.snapshot
      expect(s.apps.map((v) => [v.id, v.state])).toStrictEqual([["lnd", "stopping"], ["bitcoin-knots", "starting"]])
    }).pipe(Effect.provide(layer))
  })

  it.effect("a client's queue is released when its scope closes", () => {
    const { layer } = setup()
    return Effect.gen(function*() {
      const push = yield* Push.Push
      yield* Effect.scoped(Effect.gen(function*() {
        yield* push.subscribe()
        expect(yield* push.clients).toBe(1)
      }))
      expect(yield* push.clients).toBe(0)
    }).pipe(Effect.provide(layer))
  })
})

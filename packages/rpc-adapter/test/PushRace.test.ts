/**
 * The server's side of the generation rule: over the real `StateStore` and `AppViews`, with
 * random operations (begun, succeeded, failed), scans and intent-only changes racing WebSocket
 * clients that connect at any moment and read at their own pace (small queues overflow into a
 * resync snapshot), the views of one app that reach a client never go back in generation, and
 * every client ends with the store's latest view of every app.
 *
 * `ARCHY_RACE_RUNS` sets the number of runs (default 30).
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Result, Layer, Schema, Stream, Latch } from "effect"
import * as fc from "fast-check"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Apps, AppViews, InstallLog, Manifest, Settings, StateStore } from "@archipelago/orchestrator"
import { AppId, Generation, Intent, Transition } from "@archipelago/orchestrator/domain"
import type { AppView, Op } from "@archipelago/orchestrator/domain"
import { SimulatedRuntime } from "@archipelago/orchestrator/testing"
import type * as JsonRpc from "../src/JsonRpc.js"
import * as Push from "../src/Push.js"

const runs = Number.parseInt(process.env["ARCHY_RACE_RUNS"] ?? "30", 10)
const ids = ["alpha", "beta"] as const
const decode = Schema.decodeUnknownSync(Manifest.Manifest)

const stack = (dataDir: string) => {
  const settings = Settings.make({ dataDir })
  const defs = ids.map((id) =>
    Apps.defOf({
      manifest: decode({ id, name: id, version: "1.0.0", image: "localhost/archipelago/base:latest" }),
      dir: `/apps/${id}`,
      file: `/apps/${id}/manifest.yml`
    }, settings)
  )
  const store = Layer.effect(StateStore.StateStore, StateStore.make({ dataDir, apps: defs.map((d) => d.id) })).pipe(
    Layer.provide(NodeServices.layer)
  )
  const base = Layer.mergeAll(Apps.layer(defs), store, InstallLog.layer(), SimulatedRuntime.layer())
  return Push.layer.pipe(Layer.provideMerge(AppViews.layer), Layer.provideMerge(base))
}

type Cmd =
  | { readonly _tag: "Request"; readonly app: number; readonly op: Op.Op }
  | { readonly _tag: "End"; readonly app: number; readonly fail: boolean }
  | { readonly _tag: "Scan"; readonly app: number; readonly startedAt: number }
  | { readonly _tag: "Intent"; readonly app: number }
  | { readonly _tag: "Connect"; readonly capacity: number; readonly pace: number }
  | { readonly _tag: "Stall"; readonly client: number; readonly stalled: boolean }
  | { readonly _tag: "Yield"; readonly n: number }

const arbApp = fc.nat({ max: ids.length - 1 })
const arbCmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ _tag: fc.constant("Request" as const), app: arbApp, op: fc.constantFrom<Op.Op>("install", "start", "stop", "restart") }) },
  { weight: 3, arbitrary: fc.record({ _tag: fc.constant("End" as const), app: arbApp, fail: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ _tag: fc.constant("Scan" as const), app: arbApp, startedAt: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("Intent" as const), app: arbApp }) },
  { weight: 2, arbitrary: fc.record({ _tag: fc.constant("Connect" as const), capacity: fc.integer({ min: 2, max: 6 }), pace: fc.nat({ max: 4 }) }) },
  { weight: 3, arbitrary: fc.record({ _tag: fc.constant("Yield" as const), n: fc.integer({ min: 1, max: 20 }) }) },
  { weight: 3, arbitrary: fc.record({ _tag: fc.constant("Stall" as const), client: fc.nat({ max: 3 }), stalled: fc.boolean() }) }
)

/** Per app, the generation of every view a client received, snapshots and changes alike. */
const generationsOf = (received: ReadonlyArray<JsonRpc.Notification>): Map<string, Array<number>> => {
  const out = new Map<string, Array<number>>()
  const add = (v: AppView.AppView) => out.set(v.id, [...(out.get(v.id) ?? []), v.generation])
  for (const n of received) {
    const p = n.params as { apps?: ReadonlyArray<AppView.AppView>; app?: AppView.AppView }
    if (n.method === "state.snapshot") p.apps!.forEach(add)
    else if (n.method === "state.changed") add(p.app!)
  }
  return out
}

const lastViews = (received: ReadonlyArray<JsonRpc.Notification>): Map<string, AppView.AppView> => {
  const out = new Map<string, AppView.AppView>()
  for (const n of received) {
    const p = n.params as { apps?: ReadonlyArray<AppView.AppView>; app?: AppView.AppView }
    if (n.method === "state.snapshot") for (const v of p.apps!) out.set(v.id, v)
    else if (n.method === "state.changed") out.set(p.app!.id, p.app!)
  }
  return out
}

interface Step {
  readonly actor: number
  readonly pause: number
  readonly cmd: Cmd
}

const scenario = (cmds: ReadonlyArray<Step>) =>
  Effect.gen(function*() {
    const store = yield* StateStore.StateStore
    const views = yield* AppViews.AppViews
    // A stalled client reads nothing until released: its queue fills and overflows into a resync.
    const clients: Array<{ readonly received: Array<JsonRpc.Notification>; readonly reading: Latch.Latch }> = []
    let now = 1_700_000_000_000
    const perform = (cmd: Cmd) => Effect.gen(function*() {
      now += 1000
      switch (cmd._tag) {
        case "Request": {
          const id = AppId.make(ids[cmd.app]!)
          yield* Effect.result(store.modify(id, (entry, intent) =>
            Result.map(Transition.begin(entry, cmd.op, now, 10), (begun) =>
              [undefined, { entry: begun, intent: Intent.request(intent, cmd.op, now) }] as const)))
          break
        }
        case "End":
          yield* store.update(AppId.make(ids[cmd.app]!), (e) => {
            const t = e.transition
            if (t === undefined) return {}
            return { entry: cmd.fail ? Transition.fail(e, t.op, "it broke", now) : Transition.succeed(e, t.op) }
          })
          break
        case "Scan": {
          const id = ids[cmd.app]!
          const e = yield* store.entry(AppId.make(id))
          const observed = { health: "healthy" as const, ports: [], startedAt: cmd.startedAt }
          yield* store.merge(new Map([[id, { state: e.transition === undefined ? e.state : "running", observed }]]), yield* store.mark, now)
          break
        }
        case "Intent":
          yield* store.update(AppId.make(ids[cmd.app]!), (_e, i) => ({ intent: { ...i, updatedAt: now } }))
          break
        case "Connect": {
          const received: Array<JsonRpc.Notification> = []
          const reading = yield* Latch.make(true)
          yield* Push.notifications(cmd.capacity).pipe(
            Stream.runForEach((n) =>
              reading.await.pipe(
                Effect.andThen(Effect.sync(() => received.push(n))),
                Effect.andThen(Effect.repeat(Effect.yieldNow, { times: cmd.pace }))
              )
            ),
            Effect.forkScoped
          )
          clients.push({ received, reading })
          break
        }
        case "Stall": {
          const c = clients[cmd.client % clients.length]!
          yield* cmd.stalled ? c.reading.close : c.reading.open
          break
        }
        case "Yield":
          yield* Effect.repeat(Effect.yieldNow, { times: cmd.n })
          break
      }
    })
    // Two clients are there from the start; more connect as the commands say.
    yield* perform({ _tag: "Connect", capacity: 3, pace: 2 })
    yield* perform({ _tag: "Connect", capacity: 8, pace: 0 })
    // Two actors (say, the lifecycle's fibers and the scanner) change the store at once.
    yield* Effect.forEach([0, 1], (actor) =>
      Effect.forEach(cmds.filter((c) => c.actor === actor), (c) =>
        Effect.andThen(Effect.repeat(Effect.yieldNow, { times: c.pause }), perform(c.cmd)), { discard: true }),
      { concurrency: "unbounded", discard: true })
    // Let every client catch up with the store.
    for (const c of clients) yield* c.reading.open
    const latest = yield* views.list
    const caughtUp = () =>
      clients.every((c) => {
        const last = lastViews(c.received)
        return latest.every((v) => JSON.stringify(last.get(v.id)) === JSON.stringify(v))
      })
    for (let i = 0; i < 2000 && !caughtUp(); i++) yield* Effect.yieldNow
    for (const [k, c] of clients.entries()) {
      for (const [id, gens] of generationsOf(c.received)) {
        for (let i = 1; i < gens.length; i++) {
          if (gens[i]! < gens[i - 1]!) {
            throw new Error(`client ${k}: ${id}'s generation went back from ${gens[i - 1]} to ${gens[i]} (${gens.join(", ")})`)
          }
        }
      }
      const last = lastViews(c.received)
      for (const v of latest) expect(last.get(v.id), `client ${k} ends with the latest view of ${v.id}`).toEqual(v)
    }
    // the store's generations are the request changes it made
    for (const v of latest) expect(v.generation).toBe(Generation.of(yield* store.entry(AppId.make(v.id))))
  })

describe("Push under racing changes and clients", () => {
  it("the views of one app reaching a client never go back in generation, and every client ends at the latest", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ actor: fc.nat({ max: 1 }), pause: fc.nat({ max: 3 }), cmd: arbCmd }), { minLength: 10, maxLength: 60, size: "max" }), async (cmds) => {
        // the store fsyncs every change: on tmpfs that costs nothing
        const dataDir = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "rpc-push-race-"))
        try {
          await Effect.runPromise(Effect.scoped(Effect.provide(scenario(cmds), stack(dataDir))))
        } finally {
          rmSync(dataDir, { recursive: true, force: true })
        }
      }),
      { numRuns: runs }
    )
  }, 120_000)
})

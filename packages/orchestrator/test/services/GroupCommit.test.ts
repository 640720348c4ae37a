import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import * as GroupCommit from "../../src/services/internal/GroupCommit.js"

describe("GroupCommit: concurrent reads share engine calls, never an answer older than the request", () => {
  it.effect("the first request is sent at once; those made while it runs share the next call", () =>
    Effect.gen(function*() {
      const calls: Array<ReadonlyArray<string>> = []
      const gates: Array<Deferred.Deferred<void>> = []
      const read = GroupCommit.make((keys: ReadonlyArray<string>) =>
        Effect.gen(function*() {
          calls.push(keys)
          const gate = yield* Deferred.make<void>()
          gates.push(gate)
          yield* Deferred.await(gate)
          return keys.map((k) => `${k}@${calls.length}`)
        }))
      const first = yield* Effect.forkChild(read(["a"]))
      while (gates.length < 1) yield* Effect.yieldNow
      const rest = yield* Effect.forEach(["b", "c", "a", "b"], (k) => Effect.forkChild(read([k])))
      yield* Effect.yieldNow
      assert.deepStrictEqual(calls, [["a"]], "nobody joins the call already running")
      yield* Deferred.succeed(gates[0]!, undefined)
      assert.deepStrictEqual(yield* Fiber.join(first), ["a@1"])
      while (gates.length < 2) yield* Effect.yieldNow
      assert.deepStrictEqual(calls, [["a"], ["b", "c", "a"]], "one call for everyone waiting, each key once")
      yield* Deferred.succeed(gates[1]!, undefined)
      for (const f of rest) assert.deepStrictEqual(yield* Fiber.join(f), ["b@2", "c@2", "a@2"])
      // quiet again: the next request is sent at once
      const alone = yield* Effect.forkChild(read(["d"]))
      while (gates.length < 3) yield* Effect.yieldNow
      yield* Deferred.succeed(gates[2]!, undefined)
      assert.deepStrictEqual(yield* Fiber.join(alone), ["d@3"])
    }))

  it.effect("a failed call fails every request of its batch, and the next batch runs", () =>
    Effect.gen(function*() {
      let n = 0
      const read = GroupCommit.make((keys: ReadonlyArray<string>) =>
        Effect.suspend(() => (++n === 1 ? Effect.fail(`engine down (${keys.join(",")})`) : Effect.succeed(keys.length))))
      assert.strictEqual(yield* Effect.flip(read(["a"])), "engine down (a)")
      assert.strictEqual(yield* read(["a", "b"]), 2)
    }))
})

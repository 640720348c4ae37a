import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import * as InstallLog from "../../src/services/InstallLog.js"

describe("InstallLog", () => {
  it.effect("keeps the newest lines per app, oldest first, with the clock's time", () =>
    Effect.gen(function*() {
      const log = yield* InstallLog.make(3)
      for (let i = 1; i <= 5; i++) {
        yield* TestClock.adjust(1000)
        yield* log.append("lnd", "info", `line ${i}`)
      }
      yield* log.append("bitcoin-core", "error", "boom")
      assert.deepStrictEqual(yield* log.lines("lnd"), [
        { seq: 3, at: 3000, level: "info", message: "line 3" },
        { seq: 4, at: 4000, level: "info", message: "line 4" },
        { seq: 5, at: 5000, level: "info", message: "line 5" }
      ])
      assert.deepStrictEqual(yield* log.lines("bitcoin-core"), [{ seq: 1, at: 5000, level: "error", message: "boom" }])
      assert.deepStrictEqual(yield* log.lines("electrumx"), [])
    }))

  it.effect("cuts a huge message, saying how much was cut", () =>
    Effect.gen(function*() {
      const log = yield* InstallLog.make()
      yield* log.append("lnd", "error", "e".repeat(1_000_000))
      const [line] = yield* log.lines("lnd")
      assert.strictEqual(line!.message, `${"e".repeat(InstallLog.maxMessageLength)}… (${1_000_000 - InstallLog.maxMessageLength} more characters)`)
    }))
})

import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
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

  it.effect("the file-backed log survives a restart: the lines are kept and seq is never reused", () =>
    Effect.gen(function*() {
      const dir = Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "install-log-")), InstallLog.dirName)
      const first = yield* InstallLog.makeFile(dir, 3)
      for (let i = 1; i <= 5; i++) yield* first.append("lnd", "info", `line ${i}`)
      yield* first.append("lnd", "error", "update to 1.3.0 rolled back: unhealthy")
      // a new process reads the same folder
      const second = yield* InstallLog.makeFile(dir, 3)
      assert.deepStrictEqual((yield* second.lines("lnd")).map((l) => [l.seq, l.message]), [
        [4, "line 4"],
        [5, "line 5"],
        [6, "update to 1.3.0 rolled back: unhealthy"]
      ])
      yield* second.append("lnd", "info", "after the restart")
      assert.strictEqual((yield* second.lines("lnd")).at(-1)!.seq, 7, "seq goes on from the last one written")
      assert.strictEqual(Fs.statSync(Path.join(dir, "lnd.jsonl")).mode & 0o777, 0o600)
      assert.strictEqual(Fs.statSync(dir).mode & 0o777, 0o700)
      // bounded on disk: past twice the kept lines the file is rewritten with the newest
      for (let i = 0; i < 10; i++) yield* second.append("lnd", "info", `more ${i}`)
      const onDisk = InstallLog.parseFile(Fs.readFileSync(Path.join(dir, "lnd.jsonl"), "utf8"))
      assert.isAtMost(onDisk.length, 6)
      assert.strictEqual(onDisk.at(-1)!.message, "more 9")
      // a torn last line (a write killed midway) is skipped, the rest read
      Fs.appendFileSync(Path.join(dir, "lnd.jsonl"), '{"seq":99,"at":1,"lev')
      const third = yield* InstallLog.makeFile(dir, 3)
      assert.strictEqual((yield* third.lines("lnd")).at(-1)!.message, "more 9")
    }))
})

import { assert, describe, it } from "@effect/vitest"
import { LogLevel } from "effect"
import * as Journal from "../src/Journal.js"

const at = new Date("2026-12-07T17:40:00.000Z")
const entry = (level: LogLevel.LogLevel, message: string, annotations: ReadonlyArray<readonly [string, unknown]> = []): Journal.Entry => ({
  level,
  message,
  annotations,
  date: at,
  cause: ""
})

describe("Journal.line", () => {
  it("golden: pretty with key=value fields in a stable order, json with top-level fields, journald priorities", () => {
    const e = entry(LogLevel.Info, "stop done", [["seconds", 1.5], ["op", "stop"], ["generation", 4], ["appId", "lnd"]])
    assert.strictEqual(Journal.line({ format: "pretty", priorities: false }, e), "2026-12-07T17:40:00.000Z INFO  stop done appId=lnd op=stop generation=4 seconds=1.5")
    assert.strictEqual(Journal.line({ format: "pretty", priorities: true }, e), "<6>INFO  stop done appId=lnd op=stop generation=4 seconds=1.5")
    assert.strictEqual(
      Journal.line({ format: "json", priorities: false }, e),
      `{"timestamp":"2026-12-07T17:40:00.000Z","logLevel":"INFO","message":"stop done","appId":"lnd","op":"stop","generation":4,"seconds":1.5}`
    )
    assert.strictEqual(Journal.line({ format: "json", priorities: true }, entry(LogLevel.Warning, "x")).slice(0, 3), "<4>")
    // a value with spaces is quoted; every line of a multi-line entry carries the priority
    assert.strictEqual(
      Journal.line({ format: "pretty", priorities: true }, entry(LogLevel.Error, "two\nlines", [["reason", "port taken"]])),
      `<3>ERROR two\n<3>lines reason="port taken"`
    )
  })

  it("priorities follow syslog: error 3, warning 4, info 6, debug 7", () => {
    assert.deepStrictEqual([LogLevel.Fatal, LogLevel.Error, LogLevel.Warning, LogLevel.Info, LogLevel.Debug, LogLevel.Trace].map(Journal.priority), [2, 3, 4, 6, 7, 7])
  })
})

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
    const e = entry("Info", "stop done", [["seconds", 1.5], ["op", "stop"], ["generation", 4], ["appId", "lnd"]])
    assert.strictEqual(Journal.line({ format: "pretty", priorities: false }, e), "2026-12-07T17:40:00.000Z INFO  stop done appId=lnd op=stop generation=4 seconds=1.5")
    assert.strictEqual(Journal.line({ format: "pretty", priorities: true }, e), "<6>INFO  stop done appId=lnd op=stop generation=4 seconds=1.5")
    assert.strictEqual(
      Journal.line({ format: "json", priorities: false }, e),
      `{"timestamp":"2026-12-07T17:40:00.000Z","logLevel":"INFO","message":"stop done","appId":"lnd","op":"stop","generation":4,"seconds":1.5}`
    )
    assert.strictEqual(Journal.line({ format: "json", priorities: true }, entry("Warn", "x")).slice(0, 3), "<4>")
    // a value with spaces is quoted; every line of a multi-line entry carries the priority
    assert.strictEqual(
      Journal.line({ format: "pretty", priorities: true }, entry("Error", "two\nlines", [["reason", "port taken"]])),
      `<3>ERROR two\n<3>lines reason="port taken"`
    )
  })

  it("golden: a failure's line leads with the operator's sentence; podman's stderr is its detail field, after (one line, even under journald)", () => {
    const detail = "Trying to pull 127.0.0.1:5000/x:1...\nError: initializing source docker://127.0.0.1:5000/x:1: http: server gave HTTP response to HTTPS client"
    const e = entry("Warn", "pulling image 127.0.0.1:5000/x:1 failed: the registry answered over plain HTTP (mark it insecure in the registries setting)", [
      ["seconds", 0.2], ["detail", detail], ["op", "install"], ["generation", 2], ["appId", "web"]
    ])
    const pretty = Journal.line({ format: "pretty", priorities: true }, e)
    assert.strictEqual(
      pretty,
      `<4>WARN  pulling image 127.0.0.1:5000/x:1 failed: the registry answered over plain HTTP (mark it insecure in the registries setting) appId=web op=install generation=2 detail=${JSON.stringify(detail)} seconds=0.2`
    )
    assert.notInclude(pretty, "\n")
    const json = JSON.parse(Journal.line({ format: "json", priorities: false }, e)) as Record<string, unknown>
    assert.deepStrictEqual([json["message"], json["detail"]], [e.message, detail])
  })

  it("priorities follow syslog: error 3, warning 4, info 6, debug 7", () => {
    const levels: ReadonlyArray<LogLevel.LogLevel> = ["Fatal", "Error", "Warn", "Info", "Debug", "Trace"]
    assert.deepStrictEqual(levels.map(Journal.priority), [2, 3, 4, 6, 7, 7])
  })
})

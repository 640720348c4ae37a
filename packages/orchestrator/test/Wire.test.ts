import { describe, expect, it } from "@effect/vitest"
import { AppState, Wire } from "../src/domain/index.js"
import * as Protocol from "../src/protocol/index.js"
import { sampleOf } from "./arbitraries.js"

describe("Wire, the protocol under its first name", () => {
  it("is every name of the protocol's modules, the same values", () => {
    const modules = [Protocol.Errors, Protocol.Guards, Protocol.Messages, Protocol.Methods, Protocol.Params, Protocol.Views]
    const flat: Record<string, unknown> = Object.assign({}, ...modules)
    expect(Object.keys(Wire).sort()).toStrictEqual(Object.keys(flat).sort())
    for (const [name, value] of Object.entries(flat)) expect((Wire as Record<string, unknown>)[name]).toBe(value)
  })
})

describe("Wire.decode", () => {
  it("names the first bad field and what it should be", () => {
    const view = sampleOf(Wire.AppView, 7)
    expect(Wire.decodeParams("state.changed", { app: { ...view, state: "sleeping" }, seq: 3 })).toStrictEqual({
      _tag: "Invalid",
      issue: { field: "params.app.state", expected: `one of ${AppState.all.join(", ")}` }
    })
    expect(Wire.decodeParams("state.snapshot", { apps: [view, { ...view, ports: [{ host: "80" }] }], seq: 1 })).toStrictEqual({
      _tag: "Invalid",
      issue: { field: "params.apps[1].ports[0].host", expected: "a number" }
    })
    expect(Wire.decode("Accepted", { appId: "lnd", op: "stop", status: "stopping" }, "result")).toStrictEqual({
      _tag: "Invalid",
      issue: { field: "result.generation", expected: "a value (it is missing)" }
    })
    expect(Wire.describe({ field: "params.seq", expected: "a number" })).toBe("params.seq: expected a number")
    const changed = { app: view, seq: 4 }
    expect(Wire.decodeParams("state.changed", changed)).toStrictEqual({ _tag: "Valid", value: changed })
  })

  it("knows every notification by name and nothing else", () => {
    for (const n of Object.values(Wire.Notification)) expect(Wire.isNotification(n)).toBe(true)
    for (const n of ["toString", "__proto__", "state", "logs.subscribe", 1]) expect(Wire.isNotification(n)).toBe(false)
  })

  it("names every error code in both spellings, Limit included", () => {
    expect(Object.values(Wire.codes).sort()).toStrictEqual(Object.values(Wire.ErrorCode).sort())
    expect(Wire.codes.limit).toBe(-32005)
  })
})

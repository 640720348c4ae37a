import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import fc from "fast-check"
import * as JsonRpc from "../src/JsonRpc.js"
import { prop } from "../../../test-support/prop.js"

describe("JsonRpc.parse", () => {
  it("parses a single request and reads omitted params as {}", () => {
    expect(JsonRpc.parse(`{"jsonrpc":"2.0","id":7,"method":"container-list"}`)).toStrictEqual({
      _tag: "Single",
      entry: Result.succeed({ method: "container-list", params: {}, id: 7 })
    })
  })

  it("keeps a notification without an id", () => {
    expect(JsonRpc.parse(`{"jsonrpc":"2.0","method":"m","params":{"a":1}}`)).toStrictEqual({
      _tag: "Single",
      entry: Result.succeed({ method: "m", params: { a: 1 } })
    })
  })

  it("answers -32700 for a body that is not JSON", () => {
    expect(JsonRpc.parse("{nope")).toStrictEqual({
      _tag: "Rejected",
      response: { jsonrpc: "2.0", id: null, error: { code: -32700, message: "parse error: the body is not valid JSON" } }
    })
  })

  it("answers -32600 for an empty batch and for a batch over the cap", () => {
    expect(JsonRpc.parse("[]")).toStrictEqual({
      _tag: "Rejected",
      response: { jsonrpc: "2.0", id: null, error: { code: -32600, message: "invalid request: empty batch" } }
    })
    const batch = JSON.stringify(Array.from({ length: 4 }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "m" })))
    expect(JsonRpc.parse(batch, 3)).toStrictEqual({
      _tag: "Rejected",
      response: {
        jsonrpc: "2.0",
        id: null,
        error: { code: -32600, message: "invalid request: batch of 4 requests exceeds the limit of 3" }
      }
    })
    expect(JsonRpc.parse(batch, 4)._tag).toBe("Batch")
  })

  it("answers each invalid batch element on its own", () => {
    const parsed = JsonRpc.parse(`[1, {"jsonrpc":"2.0","id":"a","method":"m"}, {"jsonrpc":"1.0","id":2,"method":"m"}]`)
    expect(parsed).toStrictEqual({
      _tag: "Batch",
      entries: [
        Result.fail({ response: { jsonrpc: "2.0", id: null, error: { code: -32600, message: "invalid request: expected an object" } }, answer: true }),
        Result.succeed({ method: "m", params: {}, id: "a" }),
        Result.fail({ response: { jsonrpc: "2.0", id: 2, error: { code: -32600, message: "invalid request: jsonrpc must be \"2.0\"" } }, answer: true })
      ]
    })
  })

  it("refuses positional params with -32602 naming params", () => {
    expect(JsonRpc.validate({ jsonrpc: "2.0", id: 1, method: "m", params: ["lnd"] })).toStrictEqual(
      Result.fail({
        response: { jsonrpc: "2.0", id: 1, error: { code: -32602, message: "invalid params: params: expected a named object", data: { field: "params" } } },
        answer: true,
        method: "m"
      })
    )
  })

  it("refuses ids that are objects, booleans or non-finite, answering with a null id", () => {
    for (const id of [{}, true, [1]]) {
      expect(JsonRpc.validate({ jsonrpc: "2.0", id, method: "m" })).toStrictEqual(
        Result.fail({ response: { jsonrpc: "2.0", id: null, error: { code: -32600, message: "invalid request: id must be a string, a number or null" } }, answer: true })
      )
    }
  })

  it("refuses a missing or empty method", () => {
    expect(JsonRpc.validate({ jsonrpc: "2.0", id: 1 })).toStrictEqual(
      Result.fail({ response: { jsonrpc: "2.0", id: 1, error: { code: -32600, message: "invalid request: method must be a non-empty string" } }, answer: true })
    )
    expect(Result.isFailure(JsonRpc.validate({ jsonrpc: "2.0", id: 1, method: "" }))).toBe(true)
  })

  prop("every element of any JSON body is a request or an already valid response", [fc.jsonValue()], ([value]) => {
    const parsed = JsonRpc.parse(JSON.stringify(value))
    const entries = parsed._tag === "Batch" ? parsed.entries : parsed._tag === "Single" ? [parsed.entry] : []
    if (parsed._tag === "Rejected") expect(JsonRpc.isResponse(parsed.response)).toBe(true)
    for (const e of entries) {
      if (Result.isFailure(e)) expect(JsonRpc.isResponse(e.failure.response)).toBe(true)
      else expect(typeof e.success.method).toBe("string")
    }
  })

  prop("never throws on arbitrary text", [fc.string()], ([text]) => {
    const parsed = JsonRpc.parse(text)
    expect(["Single", "Batch", "Rejected"]).toContain(parsed._tag)
  })
})

describe("JsonRpc limits", () => {
  const nest = (levels: number): unknown => {
    let v: unknown = 1
    for (let i = 0; i < levels; i++) v = i % 2 === 0 ? [v] : { a: v }
    return v
  }

  it("measures depth iteratively, safe far beyond the stack", () => {
    expect(JsonRpc.deeperThan(1, 0)).toBe(false)
    expect(JsonRpc.deeperThan({}, 0)).toBe(true)
    expect(JsonRpc.deeperThan(nest(32), 32)).toBe(false)
    expect(JsonRpc.deeperThan(nest(33), 32)).toBe(true)
    expect(JsonRpc.deeperThan(JSON.parse(`${"[".repeat(200_000)}${"]".repeat(200_000)}`), 32)).toBe(true)
  })

  prop("deeperThan agrees with a recursive depth on small values", [fc.jsonValue({ maxDepth: 6 }), fc.nat(8)], ([v, max]) => {
    const depth = (u: unknown): number =>
      typeof u !== "object" || u === null ? 0 : 1 + Math.max(0, ...(Array.isArray(u) ? u : Object.values(u)).map(depth))
    expect(JsonRpc.deeperThan(v, max)).toBe(depth(v) > max)
  })

  it("refuses params nested too deep with -32602 naming params, silently for a notification", () => {
    expect(JsonRpc.validate({ jsonrpc: "2.0", id: 4, method: "m", params: { a: nest(40) } }, 32)).toStrictEqual(
      Result.fail({
        response: { jsonrpc: "2.0", id: 4, error: { code: -32602, message: "invalid params: params: nested deeper than 32 levels", data: { field: "params" } } },
        answer: true,
        method: "m"
      })
    )
    const notification = JsonRpc.validate({ jsonrpc: "2.0", method: "m", params: [1] })
    expect(Result.isFailure(notification) && notification.failure.answer).toBe(false)
  })

  it("clips echoed text and says how long it was", () => {
    expect(JsonRpc.clip("short")).toBe("short")
    expect(JsonRpc.clip("x".repeat(100), 4)).toBe("xxxx… (100 characters)")
  })
})

describe("JsonRpc.isResponse", () => {
  it("accepts results and errors, refuses both or neither", () => {
    expect(JsonRpc.isResponse(JsonRpc.success(1, null))).toBe(true)
    expect(JsonRpc.isResponse(JsonRpc.failure("x", -32601, "method not found: x"))).toBe(true)
    expect(JsonRpc.isResponse({ jsonrpc: "2.0", id: 1 })).toBe(false)
    expect(JsonRpc.isResponse({ jsonrpc: "2.0", id: 1, result: 1, error: { code: 1, message: "" } })).toBe(false)
    expect(JsonRpc.isResponse({ jsonrpc: "2.0", id: 1, error: { code: 1.5, message: "" } })).toBe(false)
  })

  it("omits undefined error data", () => {
    expect(JsonRpc.failure(null, -32603, "internal error")).toStrictEqual({
      jsonrpc: "2.0",
      id: null,
      error: { code: -32603, message: "internal error" }
    })
  })
})

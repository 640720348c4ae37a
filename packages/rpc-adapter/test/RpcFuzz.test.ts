/**
 * Fuzzing of the RPC surface (issue 11): random and hostile bodies (single and batch, deep
 * nesting, large strings, wrong types, notifications) over HTTP and WebSocket. No crash, no 5xx,
 * no stuck connection, and every error says where it is. `ARCHY_FUZZ_RUNS` sets the number of
 * bodies per property (default 60; `npm run fuzz` runs many more).
 */
import * as Http from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import fc from "fast-check"
import * as JsonRpc from "../src/JsonRpc.js"
import { makeFake, view } from "./fixtures.js"
import type { Fake } from "./fixtures.js"
import { connect, start } from "./harness.js"
import type { Running, WsClient } from "./harness.js"

const runs = Number(process.env["ARCHY_FUZZ_RUNS"] ?? "60")
const maxBody = 256 * 1024
// Generous per-test budget so a large ARCHY_FUZZ_RUNS is not cut by the default test timeout.
const timeout = 60_000 + runs * 500

const methods = [
  "container-list", "container-install", "container-start", "container-stop", "container-restart",
  "container-update", "container-remove", "install-log", "container-logs", "server.version",
  "package.stop", "bundled-app-start"
]

const deepText = (levels: number, kind: "object" | "array") =>
  kind === "object" ? `${"{\"a\":".repeat(levels)}1${"}".repeat(levels)}` : `${"[".repeat(levels)}1${"]".repeat(levels)}`

// A JSON value as text, sometimes far deeper than JSON.stringify could build.
const valueText: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom("object" as const, "array" as const)).map(([n, k]) => deepText(n, k)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 100_000 }).map((n) => JSON.stringify("x".repeat(n))) },
  { weight: 2, arbitrary: fc.constantFrom("\"lnd\"", "\"../x\"", "\"--privileged\"", "\"\"", "null", "true", "1e999", "-0", "[]", "{}") }
)

const paramsText: fc.Arbitrary<string | undefined> = fc.oneof(
  fc.constant(undefined),
  valueText,
  fc.dictionary(
    fc.oneof(fc.constantFrom("appId", "tail", "purge", "__proto__", "constructor"), fc.string({ maxLength: 8 })),
    valueText,
    { maxKeys: 4 }
  ).map((d) => `{${Object.entries(d).map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`)
)

const requestText: fc.Arbitrary<string> = fc.record({
  jsonrpc: fc.oneof({ weight: 6, arbitrary: fc.constant("\"2.0\"") }, { weight: 1, arbitrary: valueText }),
  id: fc.oneof(
    { weight: 3, arbitrary: fc.integer().map(String) },
    { weight: 2, arbitrary: fc.string({ maxLength: 20 }).map((s) => JSON.stringify(s)) },
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: valueText }
  ),
  method: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...methods).map((m) => JSON.stringify(m)) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 50_000 }).map((n) => JSON.stringify("m".repeat(n))) },
    { weight: 1, arbitrary: valueText }
  ),
  params: paramsText
}).map(({ jsonrpc, id, method, params }) => {
  const fields = [`"jsonrpc":${jsonrpc}`, `"method":${method}`]
  if (id !== undefined) fields.push(`"id":${id}`)
  if (params !== undefined) fields.push(`"params":${params}`)
  return `{${fields.join(",")}}`
})

const bodyArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: requestText },
  { weight: 3, arbitrary: fc.array(fc.oneof(requestText, valueText), { minLength: 0, maxLength: 60 }).map((xs) => `[${xs.join(",")}]`) },
  { weight: 1, arbitrary: valueText },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) }
).filter((b) => Buffer.byteLength(b) <= maxBody)

const knownCodes = new Set<number>(Object.values(JsonRpc.ErrorCode))

// Every error names where it is: the field for -32602, the method for -32601, the reason for
// -32600; and nothing the server answers is larger than a clipped echo of the client.
const located = (r: JsonRpc.Response): boolean => {
  if (!("error" in r)) return true
  const { code, message, data } = r.error
  if (!knownCodes.has(code)) return false
  const d = data as Record<string, unknown> | undefined
  switch (code) {
    case JsonRpc.ErrorCode.InvalidParams:
      return typeof d?.["field"] === "string" && message.startsWith("invalid params: ")
    case JsonRpc.ErrorCode.MethodNotFound:
      return typeof d?.["method"] === "string" && (d["method"] as string).length < 200 && message.startsWith("method not found: ")
    case JsonRpc.ErrorCode.InvalidRequest:
      return message.startsWith("invalid request: ")
    case JsonRpc.ErrorCode.ParseError:
      return message.startsWith("parse error: ")
    default:
      return message.length > 0 && message.length < 2_000
  }
}

// How many answers a body may get: one per element that is not a notification.
const expectedAnswers = (body: string): number | "single" => {
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    return "single"
  }
  const notification = (e: any) =>
    typeof e === "object" && e !== null && !Array.isArray(e) && !("id" in e) && e.jsonrpc === "2.0" &&
    typeof e.method === "string" && e.method !== ""
  if (!Array.isArray(json)) return notification(json) ? 0 : "single"
  if (json.length === 0 || json.length > JsonRpc.defaultMaxBatch) return "single"
  return json.filter((e) => !notification(e)).length
}

const checkReply = (body: string, text: string): boolean => {
  const want = expectedAnswers(body)
  if (text === "") return want === 0
  const reply = JSON.parse(text)
  if (Array.isArray(reply)) return reply.length === want && reply.every((r) => JsonRpc.isResponse(r) && located(r))
  return want === "single" && JsonRpc.isResponse(reply) && located(reply)
}

const freshApps = () => [view("lnd", "running"), view("bitcoin-knots", "stopped"), view("electrumx", "not-installed")]

describe("RPC fuzz", () => {
  let fake: Fake
  let s: Running
  beforeAll(async () => {
    fake = makeFake(freshApps())
    s = await start(fake.layer, { maxBodyBytes: maxBody })
  })
  afterAll(() => s.close())

  it(`HTTP: ${runs} hostile bodies, no 5xx, every answer a located JSON-RPC answer`, async () => {
    await fc.assert(
      fc.asyncProperty(bodyArb, async (body) => {
        const res = await s.rpc(body)
        const text = await res.text()
        if (res.status === 204) return text === "" && expectedAnswers(body) === 0
        return res.status === 200 && checkReply(body, text)
      }),
      { numRuns: runs }
    )
    expect((await s.call("server.version")).result.engine).toBe("simulated")
  }, timeout)

  it(`WebSocket: ${runs} hostile bodies on one socket, each followed by a request that is still answered`, async () => {
    const c: WsClient = await connect(s.server.url, { headers: { authorization: `Bearer ${s.server.token}` } })
    try {
      await c.next((m) => m.method === "state.snapshot")
      let probe = 0
      await fc.assert(
        fc.asyncProperty(bodyArb, async (body) => {
          const from = c.messages.length
          const id = `probe-${++probe}`
          c.ws.send(body)
          c.send({ jsonrpc: "2.0", id, method: "server.version" })
          const answer = await c.next((m) => m?.id === id, from)
          if (answer.result?.engine !== "simulated") return false
          const replies = c.messages.slice(from, c.messages.indexOf(answer)).filter((m) => m?.method === undefined)
          return replies.every((r) => (Array.isArray(r) ? r.every((x) => JsonRpc.isResponse(x) && located(x)) : JsonRpc.isResponse(r) && located(r)))
        }),
        { numRuns: runs }
      )
    } finally {
      await c.close()
    }
  }, timeout)

  it(`HTTP: ${runs} bodies without credentials answer 401 and change nothing`, async () => {
    const local = makeFake(freshApps())
    const t = await start(local.layer, { maxBodyBytes: maxBody })
    try {
      await fc.assert(
        fc.asyncProperty(bodyArb, async (body) => {
          const res = await t.rpc(body, {})
          await res.text()
          return res.status === 401
        }),
        { numRuns: Math.max(10, Math.floor(runs / 3)) }
      )
      expect(local.requests).toStrictEqual([])
    } finally {
      await t.close()
    }
  }, timeout)

  it(`logins: ${runs} hostile attempts from many loopback addresses (bodies, forged device cookies, tokens) never 5xx, and the owner's browser and token still log in (issue 26)`, async () => {
    const t = await start(makeFake(freshApps()).layer, { password: "owner password" })
    const post = (body: string, headers: Record<string, string>, localAddress: string) =>
      new Promise<{ status: number; setCookie: ReadonlyArray<string> }>((resolve, reject) => {
        const req = Http.request(`${t.server.url}/login`, { method: "POST", headers, localAddress }, (res) => {
          res.resume()
          res.on("end", () => resolve({ status: res.statusCode!, setCookie: res.headers["set-cookie"] ?? [] }))
        })
        req.on("error", reject)
        req.end(body)
      })
    try {
      const first = await post(JSON.stringify({ password: "owner password" }), { "content-type": "application/json" }, "127.0.0.1")
      const device = first.setCookie.find((c) => c.startsWith("archy_device="))!.split(";")[0]!
      const attempt = fc.record({
        body: fc.oneof(fc.string(), fc.json(), fc.constant(JSON.stringify({ password: "guess" }))),
        json: fc.boolean(),
        cookie: fc.oneof(
          fc.constant(undefined),
          fc.string().map((v) => `archy_device=${v}`),
          fc.constant(`${device.slice(0, -2)}xx`),
          fc.string()
        ),
        address: fc.integer({ min: 2, max: 250 })
      })
      await fc.assert(
        fc.asyncProperty(attempt, async (a) => {
          const headers: Record<string, string> = {
            "content-type": a.json ? "application/json" : "application/x-www-form-urlencoded",
            ...(a.cookie === undefined ? {} : { cookie: a.cookie.replace(/[^\x20-\x7e]/g, "") })
          }
          const res = await post(a.body, headers, `127.0.${a.address}.${a.address}`)
          return [204, 303, 401, 429].includes(res.status) && res.status !== 204
        }),
        { numRuns: runs }
      )
      const owner = await post(JSON.stringify({ password: "owner password" }), { "content-type": "application/json", cookie: device }, "127.0.9.9")
      expect(owner.status).toBe(204)
      expect((await fetch(t.server.loginUrl, { redirect: "manual" })).status).toBe(302)
    } finally {
      await t.close()
    }
  }, timeout)
})

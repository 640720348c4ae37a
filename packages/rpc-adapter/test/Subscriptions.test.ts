/**
 * Per-connection subscriptions over the real server's WebSocket: log follows (tail, live lines,
 * end, unsubscribe, bounds) and resource samples taken only while someone subscribes.
 */
import { afterEach, describe, expect, it } from "vitest"
import { Schedule } from "effect"
import * as Subscriptions from "../src/Subscriptions.js"
import { makeFake, view } from "./fixtures.js"
import type { Fake } from "./fixtures.js"
import { connect, start } from "./harness.js"
import type { Running, WsClient } from "./harness.js"

const apps = () => [view("lnd", "running"), view("bitcoin-knots", "running"), view("electrumx", "not-installed")]

const waitFor = async (what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> => {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

let running: Running | undefined
let clients: Array<WsClient> = []
afterEach(async () => {
  for (const c of clients) await c.close()
  clients = []
  await running?.close()
  running = undefined
})

const setup = async (): Promise<{ fake: Fake; s: Running; open: () => Promise<WsClient> }> => {
  const fake = makeFake(apps())
  const s = await start(fake.layer, { statsSchedule: Schedule.spaced("20 millis") })
  running = s
  const open = async () => {
    const c = await connect(s.server.url, { headers: { authorization: `Bearer ${s.server.token}` } })
    clients.push(c)
    await c.next((m) => m.method === "state.snapshot")
    return c
  }
  return { fake, s, open }
}

let nextId = 1
const call = async (c: WsClient, method: string, params: unknown = {}) => {
  const id = nextId++
  c.send({ jsonrpc: "2.0", id, method, params })
  return c.next((m) => m.id === id)
}

const linesOf = (c: WsClient, subscription: string): Array<string> =>
  c.messages.filter((m) => m.method === "logs.lines" && m.params.subscription === subscription).flatMap((m) => m.params.lines)

describe("log follows over the WebSocket", () => {
  it("the tail, then each new line; unsubscribing ends the follow and its engine process", async () => {
    const { fake, open } = await setup()
    const c = await open()
    const r = await call(c, "logs.subscribe", { appId: "lnd", tail: 50 })
    expect(r.result).toStrictEqual({ subscription: "logs-1", appId: "lnd" })
    await waitFor("the tail", () => linesOf(c, "logs-1").length === 1)
    await waitFor("the follower", () => fake.followers() === 1)
    await fake.logLines("lnd", ["block 1", "block 2"])
    await fake.logLines("bitcoin-knots", ["not for this follow"])
    await waitFor("the new lines", () => linesOf(c, "logs-1").length === 3)
    expect(linesOf(c, "logs-1")).toStrictEqual(["lnd log, last 50 lines", "block 1", "block 2"])
    expect((await call(c, "logs.unsubscribe", { subscription: "logs-1" })).result).toStrictEqual({ subscription: "logs-1", unsubscribed: true })
    await waitFor("no follower", () => fake.followers() === 0)
    const again = await call(c, "logs.unsubscribe", { subscription: "logs-1" })
    expect(again.error).toStrictEqual({ code: -32602, message: "invalid params: subscription: no open subscription logs-1", data: { field: "subscription" } })
  })

  it("the follow ends with the container (logs.ended), and with the client when it leaves", async () => {
    const { fake, open } = await setup()
    const c = await open()
    await call(c, "logs.subscribe", { appId: "lnd" })
    await call(c, "logs.subscribe", { appId: "bitcoin-knots" })
    await waitFor("two followers", () => fake.followers() === 2)
    await fake.logLines("lnd", ["bye"])
    await fake.endLogs("lnd")
    const ended = await c.next((m) => m.method === "logs.ended")
    expect(ended.params).toStrictEqual({ subscription: "logs-1", appId: "lnd", reason: "stopped" })
    expect(linesOf(c, "logs-1")).toStrictEqual(["lnd log, last 200 lines", "bye"])
    await waitFor("one follower", () => fake.followers() === 1)
    await c.close()
    await waitFor("no follower once the client left", () => fake.followers() === 0)
  })

  it("a container that is not there ends the follow with the reason; an unknown app is refused", async () => {
    const { open } = await setup()
    const c = await open()
    await call(c, "logs.subscribe", { appId: "electrumx" })
    const ended = await c.next((m) => m.method === "logs.ended")
    expect(ended.params).toStrictEqual({ subscription: "logs-1", appId: "electrumx", reason: "no such container: electrumx" })
    expect((await call(c, "logs.subscribe", { appId: "nope" })).error.data).toStrictEqual({ field: "appId" })
  })

  it("bounded per client: at most 4 follows, lines clipped, a flood is dropped and counted, batches of at most 500", async () => {
    const { fake, open } = await setup()
    const c = await open()
    for (let i = 0; i < Subscriptions.limits.follows; i++) expect((await call(c, "logs.subscribe", { appId: "lnd" })).result).toBeDefined()
    const fifth = await call(c, "logs.subscribe", { appId: "lnd" })
    expect(fifth.error).toStrictEqual({ code: -32005, message: "limit reached: at most 4 log follows per connection; end one first", data: { limit: 4 } })
    for (let i = 2; i <= 4; i++) await call(c, "logs.unsubscribe", { subscription: `logs-${i}` })
    await waitFor("one follower", () => fake.followers() === 1)
    const flood = Array.from({ length: 5000 }, (_, i) => (i === 0 ? "x".repeat(10_000) : `line ${i}`))
    await fake.logLines("lnd", flood)
    const batches = () => c.messages.filter((m) => m.method === "logs.lines" && m.params.subscription === "logs-1")
    const total = () => batches().reduce((n, m) => n + m.params.lines.length + m.params.dropped, 0)
    await waitFor("every line sent or counted as dropped", () => total() === flood.length + 1)
    const dropped = batches().reduce((n, m) => n + m.params.dropped, 0)
    expect(dropped).toBeGreaterThan(0)
    expect(Math.max(...batches().map((m) => m.params.lines.length))).toBeLessThanOrEqual(Subscriptions.limits.batchLines)
    const clipped = linesOf(c, "logs-1")[1]!
    expect([clipped.length, clipped.endsWith("…")]).toStrictEqual([Subscriptions.limits.lineLength, true])
  })

  it("over HTTP the subscription methods say they need the WebSocket", async () => {
    const { s } = await setup()
    expect((await s.call("logs.subscribe", { appId: "lnd" })).error).toStrictEqual({
      code: -32601,
      message: "method not found: logs.subscribe is only available on the WebSocket /ws",
      data: { method: "logs.subscribe" }
    })
  })
})

describe("resource samples over the WebSocket", () => {
  it("the engine is sampled only while a client subscribes, once per interval for all", async () => {
    const { fake, s, open } = await setup()
    const a = await open()
    const b = await open()
    await new Promise((r) => setTimeout(r, 200))
    expect(fake.samples()).toBe(0)
    expect((await call(a, "stats.subscribe")).result).toStrictEqual({ subscription: "stats" })
    expect((await call(b, "stats.subscribe")).result).toStrictEqual({ subscription: "stats" })
    const first = await a.next((m) => m.method === "stats.changed")
    expect(first.params.apps).toStrictEqual([
      { appId: "lnd", cpuPercent: 1.5, memoryBytes: 32 * 1024 ** 2, memoryLimitBytes: 64 * 1024 ** 2 },
      { appId: "bitcoin-knots", cpuPercent: 1.5, memoryBytes: 32 * 1024 ** 2, memoryLimitBytes: 64 * 1024 ** 2 }
    ])
    await b.next((m) => m.method === "stats.changed")
    // both clients share one sampling loop: each sample reaches both
    const at = first.params.at
    await b.next((m) => m.method === "stats.changed" && m.params.at === at + 1)
    await a.next((m) => m.method === "stats.changed" && m.params.at === at + 1)
    await call(a, "stats.unsubscribe", { subscription: "stats" })
    await b.close()
    // the server hears of the close a moment later: wait for 5 intervals without a sample
    let stopped = fake.samples()
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 100))
      if (fake.samples() === stopped) break
      stopped = fake.samples()
    }
    await new Promise((r) => setTimeout(r, 200))
    expect(fake.samples()).toBe(stopped)
    expect((await s.call("container-stats")).result.apps.length).toBe(2)
  })
})

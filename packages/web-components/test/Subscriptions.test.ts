/**
 * The client's subscription bookkeeping, driven by hand: answers matched to requests,
 * notifications that outrun their answer, resubscription on a new socket, and resource watchers
 * counted so the server is asked once and let go when nobody (visible) watches.
 */
import { describe, expect, it } from "@effect/vitest"
import { codes, ProtocolError } from "../src/client/RpcError.js"
import { Subscriptions } from "../src/client/Subscriptions.js"

const socket = () => {
  const sent: Array<{ id: number; method: string; params: any }> = []
  return { sent, send: (text: string) => void sent.push(JSON.parse(text)) }
}

describe("client Subscriptions", () => {
  it("routes lines to their follower, even when they arrive before the answer naming the subscription", () => {
    let changes = 0
    const subs = new Subscriptions(() => changes++)
    const s = socket()
    subs.attach(s.send)
    const seen: Array<string> = []
    let ended = ""
    subs.followLogs("lnd", 50, { onLines: (lines) => seen.push(...lines), onEnd: (r) => (ended = r) })
    expect(s.sent).toStrictEqual([{ jsonrpc: "2.0", id: 1, method: "logs.subscribe", params: { appId: "lnd", tail: 50 } }])
    expect(subs.handle({ method: "logs.lines", params: { subscription: "logs-7", appId: "lnd", lines: ["a"], dropped: 0 } })).toBe(true)
    expect(seen).toStrictEqual([])
    subs.handle({ id: 1, result: { subscription: "logs-7", appId: "lnd" } })
    subs.handle({ method: "logs.lines", params: { subscription: "logs-7", appId: "lnd", lines: ["b", "c"], dropped: 0 } })
    expect(seen).toStrictEqual(["a", "b", "c"])
    subs.handle({ method: "logs.ended", params: { subscription: "logs-7", appId: "lnd", reason: "stopped" } })
    expect(ended).toBe("stopped")
    expect(subs.handle({ method: "state.changed", params: {} })).toBe(false)
    expect(changes).toBe(0)
  })

  it("a new socket follows again from the tail after a reset; stopping unsubscribes on the server", () => {
    const subs = new Subscriptions(() => {})
    const first = socket()
    subs.attach(first.send)
    let resets = 0
    const stop = subs.followLogs("lnd", 10, { onLines: () => {}, onReset: () => resets++ })
    subs.handle({ id: 1, result: { subscription: "logs-1" } })
    subs.detach()
    const second = socket()
    subs.attach(second.send)
    expect(resets).toBe(1)
    expect(second.sent.map((m) => m.method)).toStrictEqual(["logs.subscribe"])
    subs.handle({ id: second.sent[0]!.id, result: { subscription: "logs-1" } })
    stop()
    expect(second.sent.at(-1)).toMatchObject({ method: "logs.unsubscribe", params: { subscription: "logs-1" } })
  })

  it("a notification whose params are not what the protocol says throws a ProtocolError naming it, and nothing is applied", () => {
    const subs = new Subscriptions(() => {})
    const s = socket()
    subs.attach(s.send)
    const seen: Array<string> = []
    subs.followLogs("lnd", 10, { onLines: (lines) => seen.push(...lines) })
    subs.handle({ id: 1, result: { subscription: "logs-1", appId: "lnd" } })
    let error: unknown
    try {
      subs.handle({ method: "logs.lines", params: { subscription: "logs-1", appId: "lnd", lines: ["a", 2], dropped: 0 } })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ProtocolError)
    expect([(error as ProtocolError).method, (error as ProtocolError).field]).toStrictEqual(["logs.lines", "params.lines[1]"])
    expect(seen).toStrictEqual([])
    expect(() => subs.handle({ method: "stats.changed", params: { subscription: "stats", at: 1 } })).toThrow(/params\.apps: expected a value/)
  })

  it("a refused follow ends with the server's message", () => {
    const subs = new Subscriptions(() => {})
    const s = socket()
    subs.attach(s.send)
    let ended = ""
    subs.followLogs("lnd", 10, { onLines: () => {}, onEnd: (r) => (ended = r) })
    subs.handle({ id: 1, error: { code: codes.limit, message: "limit reached: at most 4 log follows per connection; end one first" } })
    expect(ended).toBe("limit reached: at most 4 log follows per connection; end one first")
  })

  it("resource watchers share one server subscription, dropped when the last leaves or the page hides", () => {
    let changes = 0
    const subs = new Subscriptions(() => changes++)
    const s = socket()
    subs.attach(s.send)
    const a = subs.watchResources()
    const b = subs.watchResources()
    expect(s.sent.map((m) => m.method)).toStrictEqual(["stats.subscribe"])
    subs.handle({ id: 1, result: { subscription: "stats" } })
    subs.handle({ method: "stats.changed", params: { subscription: "stats", at: 1, apps: [{ appId: "lnd", cpuPercent: 1, memoryBytes: 2, memoryLimitBytes: 3 }] } })
    expect(subs.resources.get("lnd")).toStrictEqual({ appId: "lnd", cpuPercent: 1, memoryBytes: 2, memoryLimitBytes: 3 })
    expect(changes).toBe(1)
    subs.setHidden(true)
    expect(s.sent.map((m) => m.method)).toStrictEqual(["stats.subscribe", "stats.unsubscribe"])
    expect(subs.resources.size).toBe(0)
    subs.setHidden(false)
    expect(s.sent.map((m) => m.method)).toStrictEqual(["stats.subscribe", "stats.unsubscribe", "stats.subscribe"])
    subs.handle({ id: 3, result: { subscription: "stats" } })
    a()
    a()
    expect(s.sent).toHaveLength(3)
    b()
    expect(s.sent.map((m) => m.method)).toStrictEqual(["stats.subscribe", "stats.unsubscribe", "stats.subscribe", "stats.unsubscribe"])
  })
})

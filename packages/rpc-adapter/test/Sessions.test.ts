import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import * as RateLimit from "../src/RateLimit.js"
import * as Sessions from "../src/Sessions.js"
import { prop } from "../../../test-support/prop.js"

describe("Sessions", () => {
  const policy = { ttlMs: 1000, max: 3 }

  it("a session is valid until its expiry, then not", () => {
    const id = Sessions.newId()
    const store = Sessions.add(Sessions.empty, id, 0, policy)
    expect([Sessions.isValid(store, id, 0), Sessions.isValid(store, id, 999), Sessions.isValid(store, id, 1000)]).toStrictEqual([true, true, false])
    expect(Sessions.isValid(store, Sessions.newId(), 0)).toBe(false)
  })

  it("a revoked session is refused; others are kept", () => {
    const [a, b] = [Sessions.newId(), Sessions.newId()]
    const store = Sessions.revoke(Sessions.add(Sessions.add(Sessions.empty, a, 0, policy), b, 0, policy), a)
    expect([Sessions.isValid(store, a, 1), Sessions.isValid(store, b, 1)]).toStrictEqual([false, true])
  })

  it("keeps at most max sessions, forgetting the oldest, and drops expired ones", () => {
    const ids = Array.from({ length: 5 }, () => Sessions.newId())
    let store = Sessions.empty
    ids.forEach((id, i) => (store = Sessions.add(store, id, i, policy)))
    expect(ids.map((id) => Sessions.isValid(store, id, 5))).toStrictEqual([false, false, true, true, true])
    store = Sessions.add(store, Sessions.newId(), 2000, policy)
    expect(store.size).toBe(1)
  })

  it("does not keep the ids themselves", () => {
    const id = Sessions.newId()
    expect([...Sessions.add(Sessions.empty, id, 0).keys()]).not.toContain(id)
  })
})

describe("RateLimit", () => {
  const policies: RateLimit.Policies = {
    perClient: { burst: 3, refillMs: 100 },
    global: { burst: 5, refillMs: 50 },
    perDevice: { burst: 3, refillMs: 100 },
    maxClients: 2
  }

  it("allows a burst of failures per client, then makes it wait for a refill", () => {
    let s = RateLimit.empty
    for (let i = 0; i < 3; i++) {
      expect(RateLimit.retryAfter(s, "a", 0, policies)).toBe(0)
      s = RateLimit.fail(s, "a", 0, policies)
    }
    expect(RateLimit.retryAfter(s, "a", 0, policies)).toBe(100)
    expect(RateLimit.retryAfter(s, "a", 60, policies)).toBe(40)
    expect(RateLimit.retryAfter(s, "a", 100, policies)).toBe(0)
    expect(RateLimit.retryAfter(s, "b", 0, policies)).toBe(0)
  })

  it("the global bucket stops many clients together", () => {
    let s = RateLimit.empty
    for (let i = 0; i < 5; i++) s = RateLimit.fail(s, `c${i}`, 0, policies)
    expect(RateLimit.retryAfter(s, "fresh", 0, policies)).toBe(50)
    expect(s.clients.size).toBe(2)
  })

  prop("never allows more failures than the burst plus the refills", [fc.array(fc.nat(10_000), { maxLength: 200 })], ([gaps]) => {
    let s = RateLimit.empty
    let now = 0
    let accepted = 0
    for (const gap of gaps) {
      now += gap % 50
      if (RateLimit.retryAfter(s, "x", now, policies) === 0) {
        accepted++
        s = RateLimit.fail(s, "x", now, policies)
      }
    }
    expect(accepted).toBeLessThanOrEqual(policies.perClient.burst + Math.floor(now / policies.perClient.refillMs))
  })
})

describe("RateLimit: strangers never lock the owner out (issue 26)", () => {
  const hour = 3_600_000
  // any interleaving of attempts (gap in ms, who) by strangers from any address, and the owner's browser
  const attempts = fc.array(
    fc.record({ gap: fc.nat(60_000), stranger: fc.boolean(), address: fc.nat(100_000) }),
    { maxLength: 600 }
  )

  prop("a browser with a device cookie is never refused because of strangers' failures", [attempts], ([steps]) => {
    let s = RateLimit.empty
    let now = 0
    for (const step of steps) {
      now += step.gap
      if (step.stranger) {
        const who = { client: `127.${step.address >> 16}.${(step.address >> 8) & 255}.${step.address & 255}` }
        if (RateLimit.retryAfter(s, who, now) === 0) s = RateLimit.fail(s, who, now)
      } else {
        // the owner's browser, never failing: always let through
        expect(RateLimit.retryAfter(s, { client: "127.0.0.1", device: "owner" }, now)).toBe(0)
      }
    }
  })

  prop("guesses without a device cookie, from any number of addresses, stay under 30 + 360 in any hour", [attempts], ([steps]) => {
    let s = RateLimit.empty
    let now = 0
    const checked: Array<number> = []
    for (const step of steps) {
      now += step.gap % 20_000
      const who = { client: `10.0.${(step.address >> 8) & 255}.${step.address & 255}` }
      if (RateLimit.retryAfter(s, who, now) === 0) {
        checked.push(now)
        s = RateLimit.fail(s, who, now)
      }
    }
    for (let i = 0; i < checked.length; i++) {
      const inHour = checked.filter((t) => t >= checked[i]! && t < checked[i]! + hour).length
      expect(inHour).toBeLessThanOrEqual(RateLimit.maxStrangerGuesses(hour))
    }
    expect(RateLimit.maxStrangerGuesses(hour)).toBe(390)
  })

  it("40 strangers' failures do not touch a device's bucket; the device's own failures do", () => {
    let s = RateLimit.empty
    for (let i = 0; i < 40; i++) s = RateLimit.fail(s, `127.0.1.${i + 2}`, 0)
    expect(RateLimit.retryAfter(s, "127.0.0.1", 0)).toBeGreaterThan(0)
    expect(RateLimit.retryAfter(s, { client: "127.0.0.1", device: "d" }, 0)).toBe(0)
    for (let i = 0; i < 5; i++) s = RateLimit.fail(s, { client: "127.0.0.1", device: "d" }, 0)
    expect(RateLimit.retryAfter(s, { client: "127.0.0.1", device: "d" }, 0)).toBe(60_000)
    expect(RateLimit.retryAfter(s, { client: "127.0.0.1", device: "e" }, 0)).toBe(0)
  })
})

describe("Sessions file", () => {
  it("round-trips live sessions, drops expired ones and refuses garbage", () => {
    const [a, b] = [Sessions.newId(), Sessions.newId()]
    const store = Sessions.add(Sessions.add(Sessions.empty, a, 0, { ttlMs: 100, max: 9 }), b, 50, { ttlMs: 100, max: 9 })
    const back = Sessions.decode(Sessions.encode(store), 120)!
    expect([Sessions.isValid(back, a, 120), Sessions.isValid(back, b, 120)]).toStrictEqual([false, true])
    expect(Sessions.encode(store)).not.toContain(a)
    for (const bad of ["", "null", "[]", `{"version":2,"sessions":{}}`, `{"version":1,"sessions":[]}`]) {
      expect(Sessions.decode(bad, 0)).toBe(undefined)
    }
    // An expiry beyond the policy's lifetime is cut down to it.
    const far = Sessions.decode(`{"version":1,"sessions":{"${"x".repeat(43)}":1e15}}`, 0, { ttlMs: 10, max: 9 })!
    expect([...far.values()]).toStrictEqual([10])
  })
})

import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as HealthCadence from "../../src/reconcile/HealthCadence.js"
import { prop } from "../../../../test-support/prop.js"

const arbSubject = fc.record({
  id: fc.constantFrom("lnd", "web"),
  intervalMs: fc.integer({ min: 1000, max: 3_600_000 }),
  startedAt: fc.option(fc.integer({ min: 0, max: 1_000_000 }), { nil: undefined })
}).map(({ startedAt, ...s }) => (startedAt === undefined ? s : { ...s, startedAt }))
const arbTick = fc.integer({ min: 100, max: 60_000 })

describe("HealthCadence", () => {
  prop("a start not checked yet is due one tick after it, whatever the interval", [arbSubject, arbTick], ([s, tick]) => {
    const start = "startedAt" in s && s.startedAt !== undefined ? s.startedAt : undefined
    if (start === undefined) {
      assert.strictEqual(HealthCadence.nextDue(s, undefined, tick, 5_000), 5_000, "an unknown start is checked at once")
      return
    }
    assert.strictEqual(HealthCadence.nextDue(s, undefined, tick, start), start + tick)
    // a check of an older container does not count for a new start
    assert.strictEqual(HealthCadence.nextDue({ ...s, startedAt: start }, { at: start - 1, startedAt: start - 10 }, tick, start), start + tick)
  })

  prop("after a check the next is one interval later (never more often than the tick)", [arbSubject, arbTick, fc.nat(1_000_000)], ([s, tick, at]) => {
    const last = { at, ...("startedAt" in s && s.startedAt !== undefined ? { startedAt: s.startedAt } : {}) }
    assert.strictEqual(HealthCadence.nextDue(s, last, tick, at), at + Math.max(s.intervalMs, tick))
  })

  it("picks the apps that are due", () => {
    const subjects = [{ id: "a", intervalMs: 2000, startedAt: 0 }, { id: "b", intervalMs: 30_000, startedAt: 0 }]
    const last = new Map([["a", { at: 1000, startedAt: 0 }], ["b", { at: 1000, startedAt: 0 }]])
    assert.deepStrictEqual(HealthCadence.due(subjects, last, 1000, 3000).map((s) => s.id), ["a"])
    assert.deepStrictEqual(HealthCadence.due(subjects, last, 1000, 31_000).map((s) => s.id), ["a", "b"])
  })
})

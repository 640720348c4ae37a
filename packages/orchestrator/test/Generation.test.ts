import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import * as fc from "fast-check"
import type { Intent as IntentT } from "../src/domain/Intent.js"
import { Generation, Intent, Merge, Transition } from "../src/domain/index.js"
import { arbEntry, arbNow, arbObservation, arbObserved, arbOp, arbStopTimeout } from "./arbitraries.js"
import { prop } from "../../../test-support/prop.js"

const arbGeneration = fc.nat({ max: 1_000_000 })
const arbIntent: fc.Arbitrary<IntentT> = fc.record({
  installed: fc.boolean(),
  wantRunning: fc.boolean(),
  userStopped: fc.boolean(),
  updatedAt: arbNow
})
const arbGenEntry = fc.tuple(arbEntry, fc.option(arbGeneration, { nil: undefined })).map(([e, generation]) =>
  generation === undefined ? e : { ...e, generation }
)

describe("Generation", () => {
  it("an entry without a generation is at 0", () => {
    expect(Generation.of({ id: "a" as never, state: "running", observed: { health: "none", ports: [] } })).toBe(0)
  })

  prop("advances by exactly one on a change of intent or transition, and never otherwise", [
    arbGenEntry,
    arbIntent,
    arbGenEntry,
    arbIntent
  ], ([before, i1, after, i2]) => {
    const next = Generation.advance(before, i1, after, i2)
    const changed = Generation.isRequestChange(before, i1, after, i2)
    expect(Generation.of(next)).toBe(Generation.of(before) + (changed ? 1 : 0))
    // everything but the generation is `after`'s
    expect({ ...next, generation: 0 }).toEqual({ ...after, generation: 0 })
  })

  prop("observed fields alone never advance it (a scan inside a live transition)", [arbGenEntry, arbIntent, arbObservation, arbNow], ([e, intent, obs, now]) => {
    fc.pre(e.transition !== undefined && now < e.transition.deadline)
    const merged = Merge.merge(e, obs, now).entry
    expect(Generation.of(Generation.advance(e, intent, merged, intent))).toBe(Generation.of(e))
  })

  prop("beginning an operation, and its success or failure, each advance it", [arbGenEntry, arbIntent, arbOp, arbNow, arbStopTimeout, arbObserved], ([e, intent, op, now, stop, observed]) => {
    const begun = Transition.begin(e, op, now, stop)
    fc.pre(Result.isSuccess(begun) && begun.success !== e)
    const wanted = Intent.request(intent, op, now)
    const recorded = Generation.advance(e, intent, Result.getOrThrow(begun), wanted)
    expect(Generation.of(recorded)).toBe(Generation.of(e) + 1)
    const done = Generation.advance(recorded, wanted, Transition.succeed(recorded, op, observed), wanted)
    expect(Generation.of(done)).toBe(Generation.of(e) + 2)
    const failed = Generation.advance(recorded, wanted, Transition.fail(recorded, op, "boom", now + 1), wanted)
    expect(Generation.of(failed)).toBe(Generation.of(e) + 2)
  })

  prop("over any sequence of changes it never goes back and counts the request changes", [
    arbGenEntry,
    fc.array(fc.tuple(arbGenEntry, arbIntent), { maxLength: 20 })
  ], ([first, steps]) => {
    let e = first
    let intent = Intent.none
    let requestChanges = 0
    for (const [after, i] of steps) {
      if (Generation.isRequestChange(e, intent, after, i)) requestChanges++
      const next = Generation.advance(e, intent, after, i)
      expect(Generation.of(next)).toBeGreaterThanOrEqual(Generation.of(e))
      e = next
      intent = i
    }
    expect(Generation.of(e)).toBe(Generation.of(first) + requestChanges)
  })
})

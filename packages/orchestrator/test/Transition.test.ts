import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import * as fc from "fast-check"
import { AppEntry, AppState, Op, Transition } from "../src/domain/index.js"
import { arbEntry, arbIdleEntry, arbNow, arbObservation, arbObserved, arbOp, arbStopTimeout } from "./arbitraries.js"
import { prop } from "../../../test-support/prop.js"

describe("Transition", () => {
  prop("begin then succeed lands in the op's final state and clears the transition", [arbIdleEntry, arbOp, arbNow, arbStopTimeout],
    ([entry, op, now, stop]) => {
      const begun = Transition.begin(entry, op, now, stop)
      if (Result.isFailure(begun)) return
      expect(begun.success.state).toBe(Op.transitionalState(op))
      expect(begun.success.transition).toEqual({
        op,
        since: now,
        deadline: now + Op.deadlineMs(op, stop),
        previous: entry.state
      })
      const done = Transition.succeed(begun.success, op)
      expect(done.state).toBe(Op.finalState(op, entry.state))
      expect(done.transition).toBeUndefined()
      expect(done.lastError).toBeUndefined()
    }
  )

  prop("begin then fail restores exactly the previous state and records the error", [arbIdleEntry, arbOp, arbNow, arbStopTimeout, fc.string()],
    ([entry, op, now, stop, message]) => {
      const begun = Transition.begin(entry, op, now, stop)
      if (Result.isFailure(begun)) return
      const failed = Transition.fail(begun.success, op, message, now + 1)
      expect(failed.state).toBe(entry.state)
      expect(failed.transition).toBeUndefined()
      expect(failed.lastError).toEqual({ op, message, at: now + 1 })
      expect(failed.observed).toEqual(entry.observed)
    }
  )

  prop("resume after an outage gives the op a whole deadline from now, never a shorter one, and keeps the rest",
    [arbIdleEntry, arbOp, arbNow, arbStopTimeout, fc.nat(10_000_000)],
    ([entry, op, now, stop, outage]) => {
      const begun = Transition.begin(entry, op, now, stop)
      if (Result.isFailure(begun)) return
      const later = now + outage
      const resumed = Transition.resume(begun.success, later, stop)
      const before = begun.success.transition!
      expect(resumed.transition).toEqual({ ...before, deadline: Math.max(before.deadline, later + Op.deadlineMs(op, stop)) })
      expect({ ...resumed, transition: undefined }).toEqual({ ...begun.success, transition: undefined })
      expect(Transition.resume(resumed, later, stop)).toEqual(resumed)
      expect(Transition.resume(entry, later, stop)).toBe(entry)
    }
  )

  prop("a second begin of the same op is idempotent", [arbIdleEntry, arbOp, arbNow, arbStopTimeout, fc.nat(1_000_000)],
    ([entry, op, now, stop, later]) => {
      const begun = Transition.begin(entry, op, now, stop)
      if (Result.isFailure(begun)) return
      const again = Transition.begin(begun.success, op, now + later, stop)
      expect(again).toEqual(Result.succeed(begun.success))
    }
  )

  prop("another op while one is in flight is a Conflict naming the app, the running op and the refused op", [arbIdleEntry, arbOp, arbOp, arbNow, arbStopTimeout],
    ([entry, op, other, now, stop]) => {
      fc.pre(op !== other)
      const begun = Transition.begin(entry, op, now, stop)
      if (Result.isFailure(begun)) return
      const refused = Transition.begin(begun.success, other, now, stop)
      expect(Result.isFailure(refused)).toBe(true)
      if (Result.isSuccess(refused)) return
      const err = refused.failure
      expect(err._tag).toBe("Conflict")
      expect(err.message).toContain(entry.id)
      expect(err.message).toContain(op)
      expect(err.message).toContain(other)
    }
  )

  prop("begin is total: an entry or a typed refusal", [arbEntry, arbOp, arbNow, arbStopTimeout], ([entry, op, now, stop]) => {
    const r = Transition.begin(entry, op, now, stop)
    if (Result.isSuccess(r)) {
      expect(AppState.is(r.success.state)).toBe(true)
    } else {
      expect(["Conflict", "NotAllowed"]).toContain(r.failure._tag)
      expect(r.failure.message).toContain(entry.id)
    }
  })

  it("refuses to start an app that is not installed, and to install one that is", () => {
    const absent = AppEntry.make("lnd" as never)
    const start = Transition.begin(absent, "start", 0, 10)
    expect(Result.isFailure(start) && start.failure.message).toBe("cannot start lnd: it is not installed")
    const running = AppEntry.make("lnd" as never, "running")
    const install = Transition.begin(running, "install", 0, 10)
    expect(Result.isFailure(install) && install.failure.message).toBe(
      "cannot install lnd: it is already installed (state running)"
    )
  })

  it("an app its user installed whose container is gone can be started, restarted, updated and removed; a stop is refused", () => {
    const gone = AppEntry.make("lnd" as never)
    for (const [op, state] of [["start", "starting"], ["restart", "restarting"], ["update", "updating"], ["remove", "removing"]] as const) {
      const begun = Transition.begin(gone, op, 0, 10, true)
      expect(Result.isSuccess(begun) && begun.success.state).toBe(state)
      expect(Result.isSuccess(begun) && begun.success.transition?.previous).toBe("not-installed")
      // never installed by its user: nothing to act on
      expect(Result.isFailure(Transition.begin(gone, op, 0, 10, false))).toBe(true)
    }
    const stop = Transition.begin(gone, "stop", 0, 10, true)
    expect(Result.isFailure(stop) && stop.failure.message).toBe("cannot stop lnd: it is not installed")
  })

  it("the conflict message reads as a sentence", () => {
    const entry = AppEntry.make("lnd" as never, "running")
    const stopping = Result.getOrThrow(Transition.begin(entry, "stop", 0, 330))
    const r = Transition.begin(stopping, "start", 1, 330)
    expect(Result.isFailure(r) && r.failure.message).toBe("cannot start lnd: stop is already in progress; wait for it to finish")
  })

  it("a restart's deadline covers a stop and a start", () => {
    expect(Op.deadlineMs("restart", 330)).toBe(Op.deadlineMs("stop", 330) + Op.deadlineMs("start", 330))
    expect(Op.deadlineMs("stop", 600)).toBe((600 + Op.stopSlackSec) * 1000)
  })

  describe("settle", () => {
    const arbOutcome = fc.oneof(fc.constant(Transition.succeeded), fc.string().map(Transition.failed))
    const arbSeen = fc.option(arbObservation, { nil: undefined })
    // an entry as it may look mid-operation: anything, plus the records settle must leave alone
    const arbHeld = fc.record({
      e: arbEntry,
      generation: fc.option(fc.nat(1_000), { nil: undefined }),
      crashLoop: fc.option(fc.record({ restarts: fc.nat(20), nextAttemptAt: arbNow }), { nil: undefined }),
      journal: fc.option(
        fc.record({
          op: fc.constant("update" as const),
          step: fc.constantFrom("requested" as const, "fetching" as const, "gating" as const, "rolling-back" as const),
          from: fc.record({ version: fc.string(), image: fc.string(), digest: fc.string() }),
          to: fc.record({ version: fc.string(), image: fc.string() }),
          since: arbNow
        }),
        { nil: undefined }
      )
    }).map(({ crashLoop, e, generation, journal }): AppEntry.AppEntry => ({
      ...e,
      ...(generation === undefined ? {} : { generation }),
      ...(crashLoop === undefined ? {} : { crashLoop }),
      ...(journal === undefined ? {} : { journal })
    }))

    prop("is total: any entry, op, outcome and observation settle to an entry with no transition", [arbHeld, arbOp, arbOutcome, arbSeen, arbNow],
      ([entry, op, outcome, seen, now]) => {
        const settled = Transition.settle(entry, op, outcome, seen, now)
        expect(settled.transition).toBeUndefined()
        expect(settled.id).toBe(entry.id)
        expect(AppState.all).toContain(settled.state)
        if (outcome._tag === "Succeeded") expect(settled.lastError).toBeUndefined()
        else expect(settled.lastError).toEqual({ op, message: outcome.message, at: now })
      }
    )

    prop("is idempotent on an entry it settled", [arbHeld, arbOp, arbOutcome, arbSeen, arbNow], ([entry, op, outcome, seen, now]) => {
      const once = Transition.settle(entry, op, outcome, seen, now)
      expect(Transition.settle(once, op, outcome, seen, now)).toEqual(once)
    })

    prop("never drops intent: the generation, the journal record and the crash-loop record are kept", [arbHeld, arbOp, arbOutcome, arbSeen, arbNow],
      ([entry, op, outcome, seen, now]) => {
        const settled = Transition.settle(entry, op, outcome, seen, now)
        expect(settled.generation).toBe(entry.generation)
        expect(settled.journal).toEqual(entry.journal)
        expect(settled.crashLoop).toEqual(entry.crashLoop)
      }
    )

    prop("agrees with succeed when the engine shows the op's final state", [arbIdleEntry, arbOp, arbNow, arbStopTimeout, arbObserved],
      ([entry, op, now, stop, observed]) => {
        const begun = Transition.begin(entry, op, now, stop, true)
        if (Result.isFailure(begun)) return
        const final = Op.finalState(op, entry.state)
        expect(Transition.settle(begun.success, op, Transition.succeeded, { state: final, observed }, now + 1))
          .toEqual(Transition.succeed(begun.success, op, observed))
        expect(Transition.settle(begun.success, op, Transition.succeeded, undefined, now + 1)).toEqual(Transition.succeed(begun.success, op))
      }
    )

    prop("a success takes what the engine shows; a failure restores the previous state with the fresh fields (a container found for a gone app shows its state)", [arbIdleEntry, arbOp, arbNow, arbStopTimeout, arbObservation, fc.string()],
      ([entry, op, now, stop, seen, message]) => {
        const begun = Transition.begin(entry, op, now, stop, true)
        if (Result.isFailure(begun)) return
        const ok = Transition.settle(begun.success, op, Transition.succeeded, seen, now + 1)
        expect([ok.state, ok.observed]).toEqual([seen.state, seen.observed])
        const ko = Transition.settle(begun.success, op, Transition.failed(message), seen, now + 1)
        expect(ko.state).toBe(entry.state === "not-installed" && seen.state !== "not-installed" ? seen.state : entry.state)
        expect(ko.observed).toEqual(seen.state === "not-installed" ? entry.observed : seen.observed)
        expect(Transition.settle(begun.success, op, Transition.failed(message), undefined, now + 1))
          .toEqual(Transition.fail(begun.success, op, message, now + 1))
      }
    )
  })
})

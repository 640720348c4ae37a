import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import * as fc from "fast-check"
import { AppEntry, AppState, Op, Transition } from "../src/domain/index.js"
import { arbEntry, arbIdleEntry, arbNow, arbOp, arbStopTimeout } from "./arbitraries.js"

describe("Transition", () => {
  it.prop("begin then succeed lands in the op's final state and clears the transition", [arbIdleEntry, arbOp, arbNow, arbStopTimeout],
    ([entry, op, now, stop]) => {
      const begun = Transition.begin(entry, op, now, stop)
      if (Either.isLeft(begun)) return
      expect(begun.right.state).toBe(Op.transitionalState(op))
      expect(begun.right.transition).toEqual({
        op,
        since: now,
        deadline: now + Op.deadlineMs(op, stop),
        previous: entry.state
      })
      const done = Transition.succeed(begun.right, op)
      expect(done.state).toBe(Op.finalState(op, entry.state))
      expect(done.transition).toBeUndefined()
      expect(done.lastError).toBeUndefined()
    }
  )

  it.prop("begin then fail restores exactly the previous state and records the error", [arbIdleEntry, arbOp, arbNow, arbStopTimeout, fc.string()],
    ([entry, op, now, stop, message]) => {
      const begun = Transition.begin(entry, op, now, stop)
      if (Either.isLeft(begun)) return
      const failed = Transition.fail(begun.right, op, message, now + 1)
      expect(failed.state).toBe(entry.state)
      expect(failed.transition).toBeUndefined()
      expect(failed.lastError).toEqual({ op, message, at: now + 1 })
      expect(failed.observed).toEqual(entry.observed)
    }
  )

  it.prop("resume after an outage gives the op a whole deadline from now, never a shorter one, and keeps the rest",
    [arbIdleEntry, arbOp, arbNow, arbStopTimeout, fc.nat(10_000_000)],
    ([entry, op, now, stop, outage]) => {
      const begun = Transition.begin(entry, op, now, stop)
      if (Either.isLeft(begun)) return
      const later = now + outage
      const resumed = Transition.resume(begun.right, later, stop)
      const before = begun.right.transition!
      expect(resumed.transition).toEqual({ ...before, deadline: Math.max(before.deadline, later + Op.deadlineMs(op, stop)) })
      expect({ ...resumed, transition: undefined }).toEqual({ ...begun.right, transition: undefined })
      expect(Transition.resume(resumed, later, stop)).toEqual(resumed)
      expect(Transition.resume(entry, later, stop)).toBe(entry)
    }
  )

  it.prop("a second begin of the same op is idempotent", [arbIdleEntry, arbOp, arbNow, arbStopTimeout, fc.nat(1_000_000)],
    ([entry, op, now, stop, later]) => {
      const begun = Transition.begin(entry, op, now, stop)
      if (Either.isLeft(begun)) return
      const again = Transition.begin(begun.right, op, now + later, stop)
      expect(again).toEqual(Either.right(begun.right))
    }
  )

  it.prop("another op while one is in flight is a Conflict naming the app, the running op and the refused op", [arbIdleEntry, arbOp, arbOp, arbNow, arbStopTimeout],
    ([entry, op, other, now, stop]) => {
      fc.pre(op !== other)
      const begun = Transition.begin(entry, op, now, stop)
      if (Either.isLeft(begun)) return
      const refused = Transition.begin(begun.right, other, now, stop)
      expect(Either.isLeft(refused)).toBe(true)
      if (Either.isRight(refused)) return
      const err = refused.left
      expect(err._tag).toBe("Conflict")
      expect(err.message).toContain(entry.id)
      expect(err.message).toContain(op)
      expect(err.message).toContain(other)
    }
  )

  it.prop("begin is total: an entry or a typed refusal", [arbEntry, arbOp, arbNow, arbStopTimeout], ([entry, op, now, stop]) => {
    const r = Transition.begin(entry, op, now, stop)
    if (Either.isRight(r)) {
      expect(AppState.is(r.right.state)).toBe(true)
    } else {
      expect(["Conflict", "NotAllowed"]).toContain(r.left._tag)
      expect(r.left.message).toContain(entry.id)
    }
  })

  it("refuses to start an app that is not installed, and to install one that is", () => {
    const absent = AppEntry.make("lnd" as never)
    const start = Transition.begin(absent, "start", 0, 10)
    expect(Either.isLeft(start) && start.left.message).toBe("cannot start lnd: it is not installed")
    const running = AppEntry.make("lnd" as never, "running")
    const install = Transition.begin(running, "install", 0, 10)
    expect(Either.isLeft(install) && install.left.message).toBe(
      "cannot install lnd: it is already installed (state running)"
    )
  })

  it("starts an app its user installed whose container is gone; stop and restart stay refused", () => {
    const gone = AppEntry.make("lnd" as never)
    const start = Transition.begin(gone, "start", 0, 10, true)
    expect(Either.isRight(start) && start.right.state).toBe("starting")
    expect(Either.isRight(start) && start.right.transition?.previous).toBe("not-installed")
    for (const op of ["stop", "restart", "update", "remove"] as const) {
      expect(Either.isLeft(Transition.begin(gone, op, 0, 10, true))).toBe(true)
    }
  })

  it("the conflict message reads as a sentence", () => {
    const entry = AppEntry.make("lnd" as never, "running")
    const stopping = Either.getOrThrow(Transition.begin(entry, "stop", 0, 330))
    const r = Transition.begin(stopping, "start", 1, 330)
    expect(Either.isLeft(r) && r.left.message).toBe("cannot start lnd: stop is already in progress; wait for it to finish")
  })

  it("a restart's deadline covers a stop and a start", () => {
    expect(Op.deadlineMs("restart", 330)).toBe(Op.deadlineMs("stop", 330) + Op.deadlineMs("start", 330))
    expect(Op.deadlineMs("stop", 600)).toBe((600 + Op.stopSlackSec) * 1000)
  })
})

/**
 * The pure lifecycle transitions: begin an operation, then settle it (succeed or fail).
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import * as Admission from "./Admission.js"
import type { AppEntry, Observation, Observed } from "./AppEntry.js"
import { recordRelease } from "./AppEntry.js"
import * as Op from "./Op.js"

/**
 * The refusals of `begin`, defined with the admission decision (re-exported here, where they
 * always were).
 *
 * @since 0.1.0
 * @category errors
 */
export { Conflict, NotAllowed } from "./Admission.js"

/**
 * The state change of a beginning, admitted or not: flips the app to the op's transitional
 * state and records the transition (its deadline from the app's stop timeout) and the state to
 * restore. Whether it may begin is `Admission.admit`'s to say.
 *
 * @since 0.1.0
 * @category combinators
 */
export const enter = (entry: AppEntry, op: Op.Op, now: number, stopTimeoutSec: number): AppEntry => ({
  ...entry,
  state: Op.transitionalState(op),
  transition: { op, since: now, deadline: now + Op.deadlineMs(op, stopTimeoutSec), previous: entry.state }
})

/**
 * Begins an operation as admitted by `Admission.admit` (without a user's facts): beginning the
 * op already in flight is idempotent (the entry is returned unchanged); any other op while one
 * is in flight is a `Conflict`; an op the state does not allow is `NotAllowed`; else `enter`.
 * `installed` (the user's intent) lets a start, restart or update recreate an installed app
 * whose container is gone, and a remove remove it.
 *
 * @since 0.1.0
 * @category combinators
 */
export const begin = (
  entry: AppEntry,
  op: Op.Op,
  now: number,
  stopTimeoutSec: number,
  installed = false
): Result.Result<AppEntry, Admission.Refusal> =>
  Result.map(
    Admission.admit({ op, entry, installed }),
    (verdict) => verdict._tag === "TakeUp" ? entry : enter(entry, op, now, stopTimeoutSec)
  )

const withoutTransition = (entry: AppEntry): AppEntry => {
  const { transition: _t, ...rest } = entry
  return rest
}

/**
 * Ends an operation in its final state, clearing the transition and the last error, and taking
 * the fields observed at the end of the work when given (and the release they show; a removed
 * app forgets its release). A crash-loop record is kept: only the
 * reconciler's back-off decides when it is over (a user's request clears it when it begins).
 *
 * @since 0.1.0
 * @category combinators
 */
export const succeed = (entry: AppEntry, op: Op.Op, observed?: Observed): AppEntry => {
  const previous = entry.transition?.previous ?? entry.state
  const { transition: _t, lastError: _e, release: _r, ...rest } = entry
  const done: AppEntry = { ...rest, state: Op.finalState(op, previous), observed: observed ?? entry.observed }
  if (op === "remove") return done
  const kept = _r === undefined ? done : { ...done, release: _r }
  return observed === undefined ? kept : recordRelease(kept, observed)
}

/**
 * Ends an operation that failed: restores exactly the state before it began and records the error.
 *
 * @since 0.1.0
 * @category combinators
 */
export const fail = (entry: AppEntry, op: Op.Op, message: string, now: number): AppEntry => {
  const restored = entry.transition?.previous ?? entry.state
  return { ...withoutTransition(entry), state: restored, lastError: { op, message, at: now } }
}

/**
 * How the work of an operation ended.
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome =
  | { readonly _tag: "Succeeded" }
  | { readonly _tag: "Failed"; readonly message: string }

/**
 * @since 0.1.0
 * @category constructors
 */
export const succeeded: Outcome = { _tag: "Succeeded" }

/**
 * @since 0.1.0
 * @category constructors
 */
export const failed = (message: string): Outcome => ({ _tag: "Failed", message })

/**
 * Ends an operation, whoever ran it, by the one rule: a success takes what the engine shows at
 * the end of the work when it was seen (state and fields: a start whose container died at once
 * shows `exited`, not `running`), else the op's final state; a failure restores the state
 * before it began, records the error, and takes the fresh fields when a container is there (a
 * rollback recreated it; an app whose container was gone takes the engine's state too). The release the engine shows is recorded (`AppEntry.release`); a
 * removed app forgets it. Total, and idempotent on an entry it settled.
 *
 * @since 0.1.0
 * @category combinators
 */
export const settle = (
  entry: AppEntry,
  op: Op.Op,
  outcome: Outcome,
  observation: Observation | undefined,
  now: number
): AppEntry => {
  if (outcome._tag === "Succeeded") {
    const done = succeed(entry, op, observation?.observed)
    return observation === undefined ? done : { ...done, state: observation.state }
  }
  const restored = fail(entry, op, outcome.message, now)
  if (observation === undefined || observation.state === "not-installed") return restored
  // an app whose container was gone when the op began has one now (a rollback, or the work got
  // as far as creating it): it shows what the engine shows, never "not installed"
  const state = restored.state === "not-installed" ? observation.state : restored.state
  return recordRelease({ ...restored, state, observed: observation.observed }, observation.observed)
}

/**
 * True while the entry's transition has not reached its deadline.
 *
 * @since 0.1.0
 * @category guards
 */
export const isLive = (entry: AppEntry, now: number): boolean =>
  entry.transition !== undefined && now < entry.transition.deadline

/**
 * Takes up an operation found in flight when the orchestrator starts: its deadline starts again
 * from `now` (never earlier than the recorded one), because the time the orchestrator was down
 * was not time the operation could use. Everything else (op, since, state to restore) is kept;
 * an entry with no transition is returned unchanged.
 *
 * @since 0.1.0
 * @category combinators
 */
export const resume = (entry: AppEntry, now: number, stopTimeoutSec: number): AppEntry => {
  const t = entry.transition
  if (t === undefined) return entry
  const deadline = Math.max(t.deadline, now + Op.deadlineMs(t.op, stopTimeoutSec))
  return deadline === t.deadline ? entry : { ...entry, transition: { ...t, deadline } }
}

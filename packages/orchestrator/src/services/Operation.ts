/**
 * The one runner of an operation under a transition, whoever asked for it (a user through the
 * orchestrator, or the reconciler repairing an app): begin (a function of the app's entry and
 * intent, written in one atomic change), run the work under the transition's deadline, look at
 * the engine (or take what the engine's own answer to the work's last command showed, `Answered`,
 * without asking again), settle by `Transition.settle`, and write the outcome to the app's install
 * log. A failure is a typed `OperationFailed`. The caller holds the app's lock.
 *
 * @since 0.1.0
 */
import { Clock, Data, Duration, Effect, Option, Result } from "effect"
import * as Admission from "../domain/Admission.js"
import type { AppEntry, Observation } from "../domain/AppEntry.js"
import * as FailureMessage from "../domain/FailureMessage.js"
import * as Intent from "../domain/Intent.js"
import * as Generation from "../domain/Generation.js"
import * as Journal from "../domain/Journal.js"
import * as Op from "../domain/Op.js"
import * as Transition from "../domain/Transition.js"
import type { AppDef } from "./Apps.js"
import { InstallLog } from "./InstallLog.js"
import { OperationFailed } from "../domain/ServiceError.js"
import { StateStore } from "./StateStore.js"
import type { Change } from "./StateStore.js"

/**
 * The work ran past the operation's deadline and was interrupted.
 *
 * @since 0.1.0
 * @category errors
 */
export class DeadlineExceeded extends Data.TaggedError("DeadlineExceeded")<{
  readonly op: string
  readonly deadline: number
}> {
  override get message(): string {
    return `${this.op} did not finish by its deadline (${new Date(this.deadline).toISOString()})`
  }
}

/**
 * How an operation begins: the change to the app's entry (its transition) and intent, or a
 * refusal. Returning no entry change means the op is already in flight and is taken up as it is.
 *
 * @since 0.1.0
 * @category models
 */
export type Begin = (
  entry: AppEntry,
  intent: Intent.Intent,
  now: number
) => Result.Result<Change, Transition.Conflict | Transition.NotAllowed>

/**
 * The begin of an operation a user asked for, the one door every request goes through
 * (`Lifecycle.request` records it, `Orchestrator.perform` takes it up): `Admission.admit` with
 * the user's facts decides; the op already in flight is taken up unchanged (no change);
 * otherwise the transition begins (`Transition.enter`; a start may recreate an installed app
 * whose container is gone), the user's intent is recorded with it, its journal record opened,
 * and a crash-loop back-off starts over (the user asked).
 *
 * @since 0.1.0
 * @category constructors
 */
export const requested = (
  op: Op.Op,
  stopTimeoutSec: number,
  request?: Journal.Request,
  user: Admission.User = { facts: Admission.noFacts, cascade: false }
): Begin =>
(entry, intent, now) =>
  Result.map(Admission.admit({ op, entry, installed: intent.installed, user }), (verdict): Change => {
    if (verdict._tag === "TakeUp") return {}
    const { crashLoop: _c, ...rest } = Transition.enter(entry, op, now, stopTimeoutSec)
    const opened = request === undefined || entry.journal !== undefined ? undefined : Journal.open(op, request, now)
    return { entry: opened === undefined ? rest : { ...rest, journal: opened }, intent: Intent.request(intent, op, now) }
  })

// The outcome is recorded in the same write that ends the op's journal record: an operation is
// done when its outcome is recorded.
const closeJournal = (entry: AppEntry, op: Op.Op): AppEntry => {
  if (entry.journal?.op !== op) return entry
  const { journal: _j, ...rest } = entry
  return rest
}

/**
 * What a work's last engine command answered about the app's container (a `start` answered
 * `running` for a container whose details the work held: see `Observation.answeredOf`). A work
 * returning it is settled on it, with no `observe` after it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Answered {
  readonly _tag: "Answered"
  readonly observation: Observation
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const answered = (observation: Observation): Answered => ({ _tag: "Answered", observation })

/**
 * What `run` is given.
 *
 * @since 0.1.0
 * @category models
 */
export interface Spec<E extends { readonly message: string }> {
  readonly def: AppDef
  readonly op: Op.Op
  readonly begin: Begin
  /** The engine work; it may return what the engine's answer to its last command showed. */
  readonly work: Effect.Effect<void | Answered, E>
  /**
   * The app's container as the engine shows it after the work; None when it could not be seen.
   * Not run when the work succeeded with an `Answered`.
   */
  readonly observe: Effect.Effect<Option.Option<Observation>>
  /** How the install log names the operation; default the op (`"install done"`). */
  readonly label?: string
  /**
   * A last change to the settled entry, in the same write (the reconciler's crash-loop record
   * learns whether the container ran).
   */
  readonly settled?: (entry: AppEntry, failed: boolean, seen: Observation | undefined) => AppEntry
}

/**
 * The runner, over the state store and the install log.
 *
 * @since 0.1.0
 * @category models
 */
export interface Runner {
  /** Runs one operation to its settled end; see the module's description. */
  readonly run: <E extends { readonly message: string }>(
    spec: Spec<E>
  ) => Effect.Effect<void, Transition.Conflict | Transition.NotAllowed | OperationFailed>
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Runner, never, StateStore | InstallLog> = Effect.gen(function*() {
  const store = yield* StateStore
  const log = yield* InstallLog

  const run = Effect.fn("Operation.run")(function*<E extends { readonly message: string }>(spec: Spec<E>) {
    const { def, op } = spec
    const label = spec.label ?? op
    const now = yield* Clock.currentTimeMillis
    const deadline = yield* store.modify(def.id, (entry, intent) =>
      Result.map(spec.begin(entry, intent, now), (change) => {
        const begun = change.entry ?? entry
        return [begun.transition?.deadline ?? now + Op.deadlineMs(op, def.manifest.stopTimeout), change] as const
      }))
    const outcome = yield* spec.work.pipe(
      Effect.timeoutOrElse({
        duration: Duration.millis(Math.max(0, deadline - now)),
        orElse: () => Effect.fail(new DeadlineExceeded({ op, deadline }))
      }),
      Effect.result
    )
    const end = yield* Clock.currentTimeMillis
    const seen = Result.isSuccess(outcome) && outcome.success !== undefined
      ? outcome.success.observation
      : Option.getOrUndefined(yield* spec.observe)
    const after = (settled: AppEntry, failed: boolean) => spec.settled === undefined ? settled : spec.settled(settled, failed, seen)
    // the operator's log: how the operation ended, at the generation that settled it
    const logEnd = (settled: Effect.Effect<void>) =>
      Effect.flatMap(store.entry(def.id), (e) =>
        Effect.annotateLogs(settled, { appId: def.id, op, generation: Generation.of(e), seconds: Math.round((end - now) / 100) / 10 }))
    if (Result.isSuccess(outcome)) {
      yield* log.append(def.id, "info", `${label} done`)
      yield* store.update(def.id, (e) => ({ entry: closeJournal(after(Transition.settle(e, op, Transition.succeeded, seen, end), false), op) }))
      yield* logEnd(Effect.logInfo(`${label} done`))
      return
    }
    // an engine failure in the operator's words first, podman's stderr after (the one place)
    const reason = FailureMessage.ofError(def.id, op, outcome.failure)
    yield* log.append(def.id, "error", `${label} failed: ${reason}`)
    yield* store.update(def.id, (e) => ({ entry: closeJournal(after(Transition.settle(e, op, Transition.failed(reason), seen, end), true), op) }))
    const detail = FailureMessage.detail(reason)
    yield* logEnd(
      detail === ""
        ? Effect.logWarning(`${label} failed: ${reason}`)
        : Effect.annotateLogs(Effect.logWarning(FailureMessage.headline(reason)), "detail", detail)
    )
    return yield* Effect.fail(new OperationFailed({ appId: def.id, op, reason }))
  })

  return { run } satisfies Runner
})

/**
 * The operations on apps, awaiting completion: install, start, stop, restart, update, remove,
 * backup, restore. Each holds the app's lock and runs its work through the one runner,
 * `Operation`: the user's intent and the transition are recorded, the work runs, and the app
 * lands in what the engine then shows, or the previous state is restored and the error written
 * to the app's install log.
 *
 * This module is the service and its wiring; the engine work lives by operation over a shared
 * engine: `internal/Engine` (ownership check, reads, image fetch, hooks, create, owned stop,
 * journal record), `internal/Install`, `internal/StartStop`, `internal/Update`,
 * `internal/Remove`, `internal/Recover`, and `internal/Backup` (which hands `BackupWork`, the
 * work of backup and restore, what it needs).
 *
 * @since 0.1.0
 */
import { Context, Effect, Result, Layer, Option } from "effect"
import * as Admission from "../domain/Admission.js"
import type { Observation } from "../domain/AppEntry.js"
import type * as Journal from "../domain/Journal.js"
import type * as Op from "../domain/Op.js"
import * as Transition from "../domain/Transition.js"
import type { ContainerSummary } from "../runtime/ContainerRuntime.js"
import { AppLocks } from "./AppLocks.js"
import { admissionFacts } from "./Apps.js"
import type { AppDef } from "./Apps.js"
import type { HookError } from "./HookRegistry.js"
import * as Backup from "./internal/Backup.js"
import * as Engine from "./internal/Engine.js"
import * as Install from "./internal/Install.js"
import * as Recover from "./internal/Recover.js"
import * as Remove from "./internal/Remove.js"
import * as StartStop from "./internal/StartStop.js"
import * as Update from "./internal/Update.js"
import type { WorkError } from "./internal/WorkError.js"
import * as Operation from "./Operation.js"
import type { RequestOptions } from "../domain/Request.js"
import type { OperationFailed } from "../domain/ServiceError.js"
import { UnknownApp } from "../domain/ServiceError.js"

/**
 * The errors of the operations' work (defined with it, in `internal/WorkError`), and the
 * deadline error (defined with the runner, `Operation`).
 *
 * @since 0.1.0
 * @category errors
 */
export {
  ForeignContainer,
  Interrupted,
  NoRollbackTarget,
  PullRefused,
  ReleaseUnavailable,
  RolledBack,
  StrangerContainer,
  Unsupported
} from "./internal/WorkError.js"
/** @since 0.1.0 */
export type { WorkError } from "./internal/WorkError.js"
/** @since 0.1.0 */
export { DeadlineExceeded } from "./Operation.js"
/**
 * The engine's constants and the service's options (defined with the engine).
 *
 * @since 0.1.0
 */
export { holdTag, nameReleaseRetry } from "./internal/Engine.js"
/** @since 0.1.0 */
export type { Options } from "./internal/Engine.js"

/**
 * The errors a user operation answers with.
 *
 * @since 0.1.0
 * @category errors
 */
export type OperationError = UnknownApp | Transition.Conflict | Transition.NotAllowed | OperationFailed

/**
 * The engine-level steps of operations, for the reconciler (which holds the app's lock itself
 * and records its own transitions). None of them changes the user's intent.
 *
 * @since 0.1.0
 * @category models
 */
export interface Steps {
  /**
   * Run hooks, create (keeping a container with the same spec hash; the image fetched when its
   * one `image inspect` finds it missing), start when asked. A container that vanished comes back on the
   * release it ran (by digest) while the manifest offers another: only `update` moves versions.
   * Answers with what the engine's create and start showed (`Operation.Answered`).
   */
  readonly install: (def: AppDef, start: boolean) => Effect.Effect<void | Operation.Answered, WorkError>
  /** Run hooks, then start the container (creating it if it vanished). */
  readonly start: (def: AppDef) => Effect.Effect<void | Operation.Answered, WorkError>
  /**
   * Start the container a reconcile pass has just listed, trusting the listing (taken under the
   * app's lock, seconds old) for its ownership and id: hooks, then ONE `start` by its id, no
   * inspect before or after. A container gone since the listing takes the full `start`.
   *
   * @since 0.1.0
   */
  readonly startListed: (def: AppDef, listed: ContainerSummary) => Effect.Effect<void | Operation.Answered, WorkError>
  readonly stop: (def: AppDef) => Effect.Effect<void, WorkError>
  /** Run hooks, then restart the container in one engine call (creating it if it vanished). */
  readonly restart: (def: AppDef) => Effect.Effect<void | Operation.Answered, WorkError>
  /** Replace the container with one of the current spec (volumes kept). */
  readonly recreate: (def: AppDef, start: boolean) => Effect.Effect<void, WorkError>
  readonly remove: (def: AppDef, purge: boolean) => Effect.Effect<void, WorkError>
  /** Run the app's pre-start hooks; true when a file changed. */
  readonly hooks: (def: AppDef) => Effect.Effect<boolean, HookError>
  /** The app's container now, by one inspect. Engine errors read as "unknown" (None). */
  readonly observe: (def: AppDef) => Effect.Effect<Option.Option<Observation>>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Runs `op` to completion: intent, transition, work, final state (or revert + install log). */
  readonly perform: (op: Op.Op, appId: string, options?: RequestOptions) => Effect.Effect<void, OperationError>
  readonly install: (appId: string) => Effect.Effect<void, OperationError>
  readonly start: (appId: string) => Effect.Effect<void, OperationError>
  readonly stop: (appId: string) => Effect.Effect<void, OperationError>
  readonly restart: (appId: string) => Effect.Effect<void, OperationError>
  readonly update: (appId: string) => Effect.Effect<void, OperationError>
  /** Keeps the app's data folder unless `purge`. */
  readonly remove: (appId: string, options?: RequestOptions) => Effect.Effect<void, OperationError>
  /** Archives the app's data into the backup target (`Backups`); see `BackupWork`. @since 0.1.0 */
  readonly backup: (appId: string) => Effect.Effect<void, OperationError>
  /** Restores the app from an archive of the target (`options.archive`, else the newest); see `BackupWork`. @since 0.1.0 */
  readonly restore: (appId: string, options?: RequestOptions) => Effect.Effect<void, OperationError>
  /**
   * Replays the app's journal record, if it has one (boot does, for every app): finishes the
   * operation it records or puts the app back as it was (`Journal.recover`), under the app's
   * lock and the op's transition, and records the outcome truthfully (`lastError`, install log).
   */
  readonly recover: (appId: string) => Effect.Effect<void, OperationError>
  readonly steps: Steps
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Orchestrator extends Context.Service<Orchestrator, Service>()("@archipelago/orchestrator/Orchestrator") {}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Engine.Options = {}) => Effect.gen(function*() {
  const locks = yield* AppLocks
  const operation = yield* Operation.make
  const engine = yield* Engine.make(options)
  const { apps, hooks, journalOf, observe, onStep, store } = engine
  const installs = Install.make(engine)
  const startStop = StartStop.make(engine, installs)
  const removes = Remove.make(engine)
  const backupWork = Backup.make(engine, startStop)
  // a resumed update hands its record to boot's recovery, which rolls updates back: tied here
  const updates = Update.make(engine, installs, (def, entry, decision) => recovery.applyRecovery(def, entry, decision))
  const recovery = Recover.make(engine, { startStop, removes, updates })
  const { install, recreate } = installs
  const { restartContainer, startContainer, startListed, stopContainer } = startStop
  const { removeContainer } = removes
  const { update } = updates
  const { recoverWork } = recovery

  const work = (op: Op.Op, def: AppDef, options: RequestOptions): Effect.Effect<void | Operation.Answered, WorkError> => {
    switch (op) {
      case "install":
        return install(def, true)
      case "start":
        return startContainer(def)
      case "stop":
        return stopContainer(def)
      case "restart":
        return restartContainer(def)
      case "update":
        return update(def)
      case "remove":
        return removeContainer(def, options.purge === true)
      case "backup":
      case "restore":
        return backupWork.run(op, def, options)
    }
  }

  const getDef = (appId: string) =>
    Option.match(apps.get(appId), {
      onNone: () => Effect.fail(new UnknownApp({ appId })),
      onSome: Effect.succeed
    })

  // lock + the one runner; the begin records the user's intent with the transition, and takes
  // up the op Lifecycle.request already recorded
  const perform = Effect.fn("Orchestrator.perform")(function*(op: Op.Op, appId: string, options: RequestOptions = {}) {
    const def = yield* getDef(appId)
    return yield* locks.withLock(def.id, Effect.gen(function*() {
      const facts = admissionFacts(apps, def, yield* store.get)
      yield* operation.run({
        def,
        op,
        begin: Operation.requested(op, def.manifest.stopTimeout, journalRequest(def, options), {
          facts,
          cascade: options.cascade === true
        }),
        work: Effect.andThen(
          Effect.flatMap(journalOf(def), (j) => j?.op === op && j.step === "requested" ? onStep(`${op}:requested`) : Effect.void),
          work(op, def, options)
        ),
        observe: observe(def)
      })
    }))
  })

  // boot's replay: under the lock and the recorded op's transition (taken up, or begun again
  // when its deadline passed while we were down), never changing the user's intent
  const recover = Effect.fn("Orchestrator.recover")(function*(appId: string) {
    const def = yield* getDef(appId)
    return yield* locks.withLock(def.id, Effect.gen(function*() {
      const journal = yield* journalOf(def)
      if (journal === undefined) return
      yield* operation.run({
        def,
        op: journal.op,
        begin: (entry, intent, now) =>
          Result.map(Admission.admit({ op: journal.op, entry, installed: intent.installed }), (verdict) => ({
            entry: verdict._tag === "TakeUp"
              ? Transition.resume(entry, now, def.manifest.stopTimeout)
              : Transition.enter(entry, journal.op, now, def.manifest.stopTimeout)
          })),
        work: recoverWork(def),
        observe: observe(def)
      })
    }))
  })

  const service: Service = {
    perform,
    install: (id) => perform("install", id),
    start: (id) => perform("start", id),
    stop: (id) => perform("stop", id),
    restart: (id) => perform("restart", id),
    update: (id) => perform("update", id),
    remove: (id, options) => perform("remove", id, options),
    backup: (id) => perform("backup", id),
    restore: (id, options) => perform("restore", id, options),
    recover,
    steps: {
      install: (def, start) => install(def, start, true),
      start: startContainer,
      startListed,
      stop: stopContainer,
      restart: restartContainer,
      recreate: (def, start) => recreate(def, start),
      remove: removeContainer,
      hooks,
      observe
    }
  }
  return service
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = Layer.effect(Orchestrator, make())

/**
 * The service with options (the settle period of updates).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWith = (options: Engine.Options) => Layer.effect(Orchestrator, make(options))

/**
 * What a journaled operation's first record needs from the app and the request.
 *
 * @since 0.1.0
 * @category getters
 */
export const journalRequest = (def: AppDef, options: RequestOptions = {}): Journal.Request => ({
  version: def.manifest.version,
  image: def.spec.image,
  ...(options.archive === undefined ? {} : { archive: options.archive }),
  ...(options.purge === undefined ? {} : { purge: options.purge })
})

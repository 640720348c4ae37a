/**
 * The asynchronous lifecycle path of docs/background.md ("The founding bug"): validate, write the user's intent, flip the app
 * to its transitional state, fork `Orchestrator.perform` (the one runner), and return at once.
 *
 * @since 0.1.0
 */
import { Clock, Context, Duration, Effect, Either, FiberSet, Layer, Option } from "effect"
import type { AppId } from "../domain/AppId.js"
import type { AppState } from "../domain/AppState.js"
import * as Generation from "../domain/Generation.js"
import type { Op } from "../domain/Op.js"
import { transitionalState } from "../domain/Op.js"
import type { Conflict, NotAllowed } from "../domain/Transition.js"
import { Apps } from "./Apps.js"
import * as Operation from "./Operation.js"
import { journalRequest, Orchestrator } from "./Orchestrator.js"
import type { RequestOptions } from "./Request.js"
import { DependentsInstalled, UnknownApp } from "./ServiceError.js"
import { StateStore } from "./StateStore.js"
import type { Change } from "./StateStore.js"

/**
 * The answer to an accepted request: the transitional state the app is now in, and the
 * generation at which that transition was recorded. Every view of the app with this
 * generation or a higher one was taken after the request; every view with a lower one before.
 *
 * @since 0.1.0
 * @category models
 */
export interface Accepted {
  readonly appId: string
  readonly op: Op
  /** e.g. `"stopping"`. */
  readonly status: AppState
  /** For a cascading remove: the dependents removed first, in order. */
  readonly cascade?: ReadonlyArray<string>
  /** @since 0.1.0 */
  readonly generation: number
}

/**
 * Options of a request (re-exported from `Request`, where the orchestrator takes them too).
 *
 * @since 0.1.0
 * @category models
 */
export type { RequestOptions } from "./Request.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Returns as soon as the intent is persisted and the transitional state is visible. */
  readonly request: (
    op: Op,
    appId: string,
    options?: RequestOptions
  ) => Effect.Effect<Accepted, UnknownApp | Conflict | NotAllowed>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Lifecycle extends Context.Tag("@archipelago/orchestrator/Lifecycle")<Lifecycle, Service>() {}

/**
 * How long shutdown waits for in-flight operations before interrupting them (their transitions
 * stay persisted and are resumed or settled at the next start).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultShutdownGrace: Duration.Duration = Duration.seconds(10)

/**
 * The service: validates, refuses conflicts and unmet dependencies (installing, starting or
 * restarting an app whose dependency is not installed; removing one installed apps depend on,
 * unless `cascade`), writes the intent together with the transitional
 * state in one persisted change, forks the operation into a fiber owned by the service's scope
 * and answers with the transitional state and the generation it was recorded at. Requesting
 * the operation already in flight answers the same without starting it twice.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: { readonly shutdownGrace?: Duration.DurationInput } = {}) =>
  Effect.gen(function*() {
    const apps = yield* Apps
    const store = yield* StateStore
    const orchestrator = yield* Orchestrator
    const inFlight = yield* FiberSet.make<void, never>()
    const grace = Duration.decode(options.shutdownGrace ?? defaultShutdownGrace)
    // Added after the FiberSet's own finalizer, so it runs first: in-flight work gets its grace.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        const n = yield* FiberSet.size(inFlight)
        if (n === 0 || Duration.isZero(grace)) return
        yield* Effect.logInfo(`shutdown: waiting up to ${Duration.format(grace)} for ${n} operation(s)`)
        yield* FiberSet.awaitEmpty(inFlight).pipe(Effect.timeout(grace), Effect.ignore)
      })
    )

    const request = Effect.fn("Lifecycle.request")(function*(op: Op, appId: string, opts: RequestOptions = {}) {
      const def = yield* Option.match(apps.get(appId), {
        onNone: () => Effect.fail(new UnknownApp({ appId })),
        onSome: Effect.succeed
      })
      const now = yield* Clock.currentTimeMillis
      const inFlightAlready = (yield* store.entry(def.id)).transition?.op === op
      if (op === "install" && !inFlightAlready) yield* orchestrator.checkConflicts(def)
      if ((op === "install" || op === "start" || op === "restart") && !inFlightAlready) {
        yield* orchestrator.checkDependencies(def, op)
      }
      let cascade: ReadonlyArray<string> = []
      if (op === "remove" && !inFlightAlready) {
        const dependents = yield* orchestrator.installedDependents(def)
        if (dependents.length > 0 && opts.cascade !== true) {
          const entry = yield* store.entry(def.id)
          return yield* Effect.fail(new DependentsInstalled({ appId: def.id, state: entry.state, dependents }))
        }
        cascade = dependents
      }
      // Records the intent and the transition with the runner's own begin (`Operation.requested`,
      // which `perform` then finds in flight and takes up), and answers whether the transition is
      // new and the generation it is recorded at: computed here as the store will (it keeps it
      // with `Generation.advance`), inside the same atomic change.
      const begin = (id: AppId, stopTimeout: number) =>
        store.modify(
          id,
          (entry, intent): Either.Either<readonly [readonly [boolean, number], Change], Conflict | NotAllowed> =>
            Either.map(Operation.requested(op, stopTimeout, journalRequestOf(id))(entry, intent, now), (change) =>
              change.entry === undefined
                ? [[false, Generation.of(entry)], {}]
                : [[true, Generation.of(Generation.advance(entry, intent, change.entry, change.intent ?? intent))], change])
        )
      // Every intent of a cascade is written before any work starts; the removals then run one
      // after the other, dependents first, and a failure does not stop the rest (each app's
      // intent already says removed, which the reconciler would carry out anyway).
      const journalRequestOf = (id: AppId) =>
        Option.match(apps.get(id), { onNone: () => undefined, onSome: (d) => journalRequest(d, opts) })
      const order: Array<AppId> = []
      for (const id of cascade) {
        const dep = Option.getOrUndefined(apps.get(id))
        if (dep !== undefined && (yield* begin(dep.id, dep.manifest.stopTimeout))[0]) order.push(dep.id)
      }
      const [fresh, generation] = yield* begin(def.id, def.manifest.stopTimeout)
      if (fresh) order.push(def.id)
      if (order.length > 0) {
        const work = Effect.forEach(order, (id) => orchestrator.perform(op, id, opts).pipe(Effect.ignore), { discard: true })
        yield* FiberSet.run(inFlight, work)
      }
      const accepted: Accepted = {
        appId: def.id,
        op,
        status: transitionalState(op),
        generation,
        ...(cascade.length === 0 ? {} : { cascade })
      }
      // the operator's journal: every request, then (Operation.run) how it ended
      yield* Effect.logInfo(fresh ? `${op} requested` : `${op} requested, already in progress`).pipe(
        Effect.annotateLogs({ appId: def.id, op, generation, ...(cascade.length === 0 ? {} : { cascade: cascade.join(",") }) })
      )
      return accepted
    })

    const service: Service = { request }
    return service
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: { readonly shutdownGrace?: Duration.DurationInput } = {}) =>
  Layer.scoped(Lifecycle, make(options))

/**
 * The asynchronous lifecycle path of docs/background.md ("The founding bug"): validate, write the user's intent, flip the app
 * to its transitional state, fork `Orchestrator.perform` (the one runner), and return at once.
 *
 * @since 0.1.0
 */
import { Clock, Context, Duration, Effect, Result, FiberSet, Layer, Option } from "effect"
import * as Admission from "../domain/Admission.js"
import type { Conflict, NotAllowed } from "../domain/Admission.js"
import * as AppEntry from "../domain/AppEntry.js"
import type { AppId } from "../domain/AppId.js"
import type { AppState } from "../domain/AppState.js"
import * as Generation from "../domain/Generation.js"
import * as Intent from "../domain/Intent.js"
import type { Op } from "../domain/Op.js"
import { transitionalState } from "../domain/Op.js"
import { admissionFacts, Apps } from "./Apps.js"
import type { AppDef } from "./Apps.js"
import * as Operation from "./Operation.js"
import { journalRequest, Orchestrator } from "./Orchestrator.js"
import type { RequestOptions } from "../domain/Request.js"
import { UnknownApp } from "../domain/ServiceError.js"
import { StateStore } from "./StateStore.js"

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
export type { RequestOptions } from "../domain/Request.js"

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
export class Lifecycle extends Context.Service<Lifecycle, Service>()("@archipelago/orchestrator/Lifecycle") {}

/**
 * How long shutdown waits for in-flight operations before interrupting them (their transitions
 * stay persisted and are resumed or settled at the next start).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultShutdownGrace: Duration.Duration = Duration.seconds(10)

/**
 * The service: asks `Admission.admit` (which refuses conflicts and unmet dependencies:
 * installing, starting or restarting an app whose dependency is not installed; removing one
 * installed apps depend on, unless `cascade`), writes the intent together with the
 * transitional state in one persisted change, forks the operation into a fiber owned by the
 * service's scope and answers with the transitional state and the generation the store wrote
 * it at. Requesting the operation already in flight answers the same without starting it twice.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: { readonly shutdownGrace?: Duration.Input } = {}) =>
  Effect.gen(function*() {
    const apps = yield* Apps
    const store = yield* StateStore
    const orchestrator = yield* Orchestrator
    const inFlight = yield* FiberSet.make<void, never>()
    const grace = Duration.fromInputUnsafe(options.shutdownGrace ?? defaultShutdownGrace)
    // Added after the FiberSet's own finalizer, so it runs first: in-flight work gets its grace.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        const n = yield* FiberSet.size(inFlight)
        if (n === 0 || Duration.isZero(grace)) return
        yield* Effect.logInfo(`shutdown: waiting up to ${Duration.format(grace)} for ${n} operation(s)`)
        yield* FiberSet.awaitEmpty(inFlight).pipe(Effect.timeout(grace), Effect.ignore)
      })
    )

    // Untraced: every RPC lifecycle call (a dashboard asking again while a stop runs) comes here,
    // and a span per call cost more than deciding it; the operation it starts has its own span.
    const request = Effect.fnUntraced(function*(op: Op, appId: string, opts: RequestOptions = {}) {
      const def = yield* Option.match(apps.get(appId), {
        onNone: () => Effect.fail(new UnknownApp({ appId })),
        onSome: Effect.succeed
      })
      const now = yield* Clock.currentTimeMillis
      // One look at the apps around it; `Admission.admit` decides, first on this look (a refusal
      // answers before anything is written; a cascade says which dependents to begin first),
      // then again inside each atomic change (`Operation.requested`).
      const state = yield* store.get
      const user = (d: AppDef, cascading: boolean): Admission.User => ({
        facts: admissionFacts(apps, d, state),
        cascade: cascading
      })
      const ask = user(def, opts.cascade === true)
      const verdict = yield* Effect.fromResult(Admission.admit({
        op,
        entry: state.entries[def.id] ?? AppEntry.make(def.id),
        installed: (state.intents[def.id] ?? Intent.none).installed,
        user: ask
      }))
      const cascade = verdict._tag === "Begin" ? verdict.cascade : []
      // Records the intent and the transition with the runner's own begin (which `perform` then
      // finds in flight and takes up); answers whether the transition is new, and the entry the
      // store wrote, whose generation is the answer's.
      const begin = (d: AppDef, asked: Admission.User) =>
        store.write(d.id, (entry, intent) =>
          Result.map(
            Operation.requested(op, d.manifest.stopTimeout, journalRequest(d, opts), asked)(entry, intent, now),
            (change) => [change.entry !== undefined, change] as const
          ))
      // Every intent of a cascade is written before any work starts; the removals then run one
      // after the other, dependents first, and a failure does not stop the rest (each app's
      // intent already says removed, which the reconciler would carry out anyway).
      const order: Array<AppId> = []
      for (const id of cascade) {
        const dep = Option.getOrUndefined(apps.get(id))
        if (dep !== undefined && (yield* begin(dep, user(dep, true)))[0]) order.push(dep.id)
      }
      const [fresh, written] = yield* begin(def, ask)
      const generation = Generation.of(written.entry)
      if (fresh) order.push(def.id)
      if (order.length > 0) {
        const work = Effect.forEach(order, (id) => orchestrator.perform(op, id, opts).pipe(Effect.ignore), { discard: true })
        yield* FiberSet.run(inFlight, work, { startImmediately: false })
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
export const layer = (options: { readonly shutdownGrace?: Duration.Input } = {}) =>
  Layer.effect(Lifecycle, make(options))

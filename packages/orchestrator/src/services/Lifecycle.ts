/**
 * The asynchronous lifecycle path of CONTEXT.md: validate, write the user's intent, flip the app
 * to its transitional state, fork the work, and return at once.
 *
 * @since 0.1.0
 */
import { Clock, Context, Duration, Effect, Either, FiberSet, Layer, Option } from "effect"
import type { AppState } from "../domain/AppState.js"
import * as Intent from "../domain/Intent.js"
import type { Op } from "../domain/Op.js"
import { transitionalState } from "../domain/Op.js"
import * as Transition from "../domain/Transition.js"
import type { Conflict, NotAllowed } from "../domain/Transition.js"
import { Apps } from "./Apps.js"
import { Orchestrator } from "./Orchestrator.js"
import { UnknownApp } from "./ServiceError.js"
import { StateStore } from "./StateStore.js"

/**
 * The answer to an accepted request: the transitional state the app is now in.
 *
 * @since 0.1.0
 * @category models
 */
export interface Accepted {
  readonly appId: string
  readonly op: Op
  /** e.g. `"stopping"`. */
  readonly status: AppState
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RequestOptions {
  /** For `remove`: delete the app's data directory too. */
  readonly purge?: boolean
}

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
 * The service: validates, refuses conflicts, writes the intent together with the transitional
 * state in one persisted change, forks the operation into a fiber owned by the service's scope
 * and answers with the transitional state. Requesting the operation already in flight answers
 * the same without starting it twice.
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
      if (op === "install" && (yield* store.entry(def.id)).transition?.op !== "install") {
        yield* orchestrator.checkConflicts(def)
      }
      const fresh = yield* store.modify(def.id, (entry, intent) => {
        if (entry.transition?.op === op) return Either.right([false, {}] as const)
        return Either.map(
          Transition.begin(entry, op, now, def.manifest.stopTimeout, intent.installed),
          (begun) => [true, { entry: begun, intent: Intent.request(intent, op, now) }] as const
        )
      })
      if (fresh) {
        yield* FiberSet.run(inFlight, orchestrator.perform(op, def.id, opts).pipe(Effect.ignore))
      }
      const accepted: Accepted = { appId: def.id, op, status: transitionalState(op) }
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

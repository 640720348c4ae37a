/**
 * One lock per app, shared by user operations and the reconciler, so two pieces of work on the
 * same app never interleave.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Semaphore } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Runs `effect` holding the app's lock. */
  readonly withLock: <A, E, R>(appId: string, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class AppLocks extends Context.Service<AppLocks, Service>()("@archipelago/orchestrator/AppLocks") {}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Service> = Effect.sync(() => {
  const locks = new Map<string, Semaphore.Semaphore>()
  const lockOf = (appId: string): Semaphore.Semaphore => {
    let s = locks.get(appId)
    if (s === undefined) {
      s = Semaphore.makeUnsafe(1)
      locks.set(appId, s)
    }
    return s
  }
  return { withLock: (appId, effect) => lockOf(appId).withPermits(1)(effect) }
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<AppLocks> = Layer.effect(AppLocks, make)

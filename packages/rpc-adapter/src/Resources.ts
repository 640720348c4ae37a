/**
 * Resource sampling that runs only while someone looks: the first watcher starts a loop that
 * samples every app with ONE engine call (`AppViews.resources`) each interval, and the last one
 * to leave stops it. Each watcher holds only the latest sample, so a slow one never piles up.
 *
 * @since 0.1.0
 */
import { Context, Effect, FiberHandle, Layer, Option, Queue, Schedule, Semaphore } from "effect"
import type { Scope } from "effect"
import { AppViews } from "@archipelago/orchestrator"
import type { AppResources } from "@archipelago/orchestrator/domain"

/**
 * How often the engine is sampled while anyone watches.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultSchedule: Schedule.Schedule<unknown> = Schedule.spaced("2 seconds")

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Watches for the scope's lifetime: the queue holds the latest sample (the last known one at once, when there is one). */
  readonly watch: Effect.Effect<Queue.Dequeue<AppResources.Sample>, never, Scope.Scope>
  /** Watchers right now; the engine is sampled only while this is above 0. */
  readonly watchers: Effect.Effect<number>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Resources extends Context.Service<Resources, Service>()("@archipelago/rpc-adapter/Resources") {}

/**
 * Builds the hub; the sampling loop is a fiber of the hub's scope, alive only while watched.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  schedule: Schedule.Schedule<unknown> = defaultSchedule
): Effect.Effect<Service, never, AppViews.AppViews | Scope.Scope> =>
  Effect.gen(function*() {
    const views = yield* AppViews.AppViews
    const lock = yield* Semaphore.make(1)
    const sampler = yield* FiberHandle.make()
    const queues = new Set<Queue.Queue<AppResources.Sample>>()
    let last: AppResources.Sample | undefined

    const sampleOnce = views.resources.pipe(
      Effect.tapError((e) => Effect.logWarning("resource sample failed", e.message)),
      Effect.option,
      Effect.flatMap((o) =>
        Option.match(o, {
          onNone: () => Effect.void,
          onSome: (sample) =>
            Effect.gen(function*() {
              last = sample
              for (const q of queues) yield* Queue.offer(q, sample)
            })
        })
      )
    )

    const watch = Effect.acquireRelease(
      lock.withPermits(1)(Effect.gen(function*() {
        const q = yield* Queue.sliding<AppResources.Sample>(1)
        if (last !== undefined && queues.size > 0) yield* Queue.offer(q, last)
        queues.add(q)
        if (queues.size === 1) {
          last = undefined
          yield* FiberHandle.run(sampler, Effect.repeat(sampleOnce, schedule))
        }
        return q
      })),
      (q) =>
        lock.withPermits(1)(Effect.gen(function*() {
          queues.delete(q)
          yield* Queue.shutdown(q)
          if (queues.size === 0) yield* FiberHandle.clear(sampler)
        }))
    ).pipe(Effect.map((q): Queue.Dequeue<AppResources.Sample> => q))

    return { watch, watchers: Effect.sync(() => queues.size) }
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (schedule?: Schedule.Schedule<unknown>): Layer.Layer<Resources, never, AppViews.AppViews> =>
  Layer.effect(Resources, make(schedule))

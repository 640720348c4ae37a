/**
 * Observation: one `list()` of the engine per scan, matched to apps and merged into the store
 * with the pure `Merge.merge` (a live transition keeps its state; fresh fields are taken).
 *
 * @since 0.1.0
 */
import { Clock, Context, Duration, Effect, Layer, Option, Ref, Schedule, Stream } from "effect"
import type { AppId } from "../domain/AppId.js"
import { ContainerRuntime } from "../runtime/ContainerRuntime.js"
import type { ContainerSummary } from "../runtime/ContainerRuntime.js"
import type { CommandFailed, EngineUnavailable } from "../runtime/RuntimeError.js"
import * as HealthCadence from "../reconcile/HealthCadence.js"
import { ownership } from "../reconcile/Plan.js"
import { Labels } from "../runtime/ContainerSpec.js"
import { Apps, containerNames } from "./Apps.js"
import { findContainer, observationOf } from "../reconcile/Observation.js"
import { StateStore } from "./StateStore.js"
import type { State as StoreState } from "./StateStore.js"
import type { Expired } from "./StateStore.js"

/**
 * What one scan saw.
 *
 * @since 0.1.0
 * @category models
 */
export interface Scan {
  /** The store mark taken before listing (see `StateStore.mark`). */
  readonly mark: number
  /** Unix ms when the list came back. */
  readonly at: number
  readonly containers: ReadonlyArray<ContainerSummary>
  /** Each app's container, when it has one. */
  readonly byApp: ReadonlyMap<AppId, ContainerSummary>
  readonly expired: ReadonlyArray<Expired>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** One `list()`, merged into the store. Fails (and changes nothing) when the engine fails. */
  readonly scan: Effect.Effect<Scan, EngineUnavailable | CommandFailed>
  /** The last successful scan. */
  readonly last: Effect.Effect<Option.Option<Scan>>
  /**
   * Runs the health check of every running app that has one and is due (podman without systemd
   * never schedules them), then scans so the verdicts reach the store. Returns how many ran.
   * Each app is due on its own interval (`HealthCadence`), the first time a tick after its
   * container started; outside `runHealth` every running app is due.
   */
  readonly checkHealth: Effect.Effect<number, EngineUnavailable | CommandFailed>
  /**
   * Runs health rounds forever: each checks the apps due (each on its manifest's interval, the
   * first time `tick` after its container started; see `HealthCadence`), then sleeps until the
   * next is due, at most `capMs`, woken early when a container starts. @since 0.1.0
   */
  readonly runHealth: (tick: Duration.Input, capMs: number) => Effect.Effect<never>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Scanner extends Context.Service<Scanner, Service>()("@archipelago/orchestrator/Scanner") {}

/**
 * The default time between scheduled scans.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultInterval: Duration.Duration = Duration.seconds(30)

/**
 * The schedule of periodic scans.
 *
 * @since 0.1.0
 * @category constants
 */
export const scanSchedule = (interval: Duration.Input = defaultInterval) => Schedule.spaced(interval)

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.gen(function*() {
  const apps = yield* Apps
  const store = yield* StateStore
  const runtime = yield* ContainerRuntime
  const last = yield* Ref.make(Option.none<Scan>())

  const scan = Effect.gen(function*() {
    const mark = yield* store.mark
    const containers = yield* runtime.list()
    const at = yield* Clock.currentTimeMillis
    const state = yield* store.get
    const byApp = new Map<AppId, ContainerSummary>()
    const observations = new Map<string, ReturnType<typeof observationOf>>()
    for (const def of apps.all) {
      const names = containerNames(def, state.entries[def.id]?.observed.containerName)
      const c = findContainer(containers, def.id, names)
      if (c !== undefined) byApp.set(def.id, c)
      // another instance's container is not this app's: the reconciler sees it (and says so),
      // the app's entry does not take its state
      const foreign = c !== undefined &&
        ownership(c.labels[Labels.instance], def.spec.labels[Labels.instance])._tag === "Foreign"
      observations.set(def.id, observationOf(foreign ? undefined : c, state.intents[def.id]))
    }
    const expired = yield* store.merge(observations, mark, at)
    for (const x of expired) {
      yield* Effect.logWarning(
        `${x.transition.op} of ${x.appId} ran past its deadline (${new Date(x.transition.deadline).toISOString()}); the engine's view wins`
      )
    }
    const result: Scan = { mark, at, containers, byApp, expired }
    yield* Ref.set(last, Option.some(result))
    return result
  }).pipe(Effect.withSpan("Scanner.scan"))

  // The last check of each app (see `HealthCadence`): a round checks the apps that are due.
  const checked = new Map<string, HealthCadence.LastCheck>()
  let tickMs = 0

  const subjectsOf = (state: StoreState) => {
    const subjects: Array<HealthCadence.Subject & { readonly name: string }> = []
    for (const def of apps.all) {
      const entry = state.entries[def.id]
      if (def.spec.healthCheck === undefined || entry === undefined) continue
      if (entry.state !== "running" || entry.transition !== undefined) continue
      subjects.push({
        id: def.id,
        name: containerNames(def, entry.observed.containerName)[0]!,
        intervalMs: (def.manifest.health?.interval ?? 30) * 1000,
        ...(entry.observed.startedAt === undefined ? {} : { startedAt: entry.observed.startedAt })
      })
    }
    return subjects
  }

  // When the next check is due, over the apps of `state` (infinity: none has a check to run).
  const earliestDue = (state: StoreState, now: number): number =>
    Math.min(Number.POSITIVE_INFINITY, ...subjectsOf(state).map((s) => HealthCadence.nextDue(s, checked.get(s.id), tickMs, now)))

  const checkHealth = Effect.gen(function*() {
    const subjects = subjectsOf(yield* store.get)
    const now = yield* Clock.currentTimeMillis
    const due = tickMs === 0 ? subjects : HealthCadence.due(subjects, checked, tickMs, now)
    for (const subject of due) {
      checked.set(subject.id, { at: now, ...(subject.startedAt === undefined ? {} : { startedAt: subject.startedAt }) })
      yield* runtime.healthcheck(subject.name).pipe(
        Effect.tap((verdict) => Effect.logDebug(`health check of ${subject.id}: ${verdict}`)),
        Effect.catchTags({
          ContainerNotFound: (e) => Effect.logInfo(`health check of ${subject.id} skipped: ${e.message}`),
          CommandFailed: (e) => Effect.logWarning(`health check of ${subject.id} could not run: ${e.message}`)
        })
      )
    }
    if (due.length > 0) yield* scan
    return due.length
  }).pipe(Effect.withSpan("Scanner.checkHealth"))

  // The health loop: a round, then a sleep until the next app is due (at most `capMs`), cut short
  // when the store shows an app due earlier (a container that just started).
  const runHealth = (tick: Duration.Input, capMs: number): Effect.Effect<never> =>
    Effect.gen(function*() {
      tickMs = Math.max(1, Duration.toMillis(Duration.fromInputUnsafe(tick)))
      for (;;) {
        yield* checkHealth.pipe(Effect.catch((e) => Effect.logWarning(`health round failed: ${e.message}`)))
        const now = yield* Clock.currentTimeMillis
        const wakeAt = Math.min(earliestDue(yield* store.get, now), now + capMs)
        const sooner = store.changes.pipe(
          Stream.filter((state) => earliestDue(state, now) < wakeAt),
          Stream.take(1),
          Stream.runDrain,
          // what is due sooner is due a tick after it started: wait for that
          Effect.andThen(Effect.suspend(() => Effect.flatMap(store.get, (state) =>
            Effect.sleep(Duration.millis(Math.max(0, earliestDue(state, now) - now))))))
        )
        yield* Effect.raceFirst(Effect.sleep(Duration.millis(Math.max(1, wakeAt - now))), sooner)
      }
    })

  const service: Service = { scan, last: Ref.get(last), checkHealth, runHealth }
  return service
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = Layer.effect(Scanner, make)

/**
 * The default tick of the health rounds: a round every second looks which apps are due (each on
 * its manifest's interval; see `HealthCadence`) and checks only those, so a verdict is shown
 * within one interval of a start, an update or a rollback.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultHealthInterval: Duration.Duration = Duration.seconds(1)

/**
 * The longest sleep of the health loop between two rounds.
 *
 * @since 0.1.0
 * @category constants
 */
export const healthCapMs = 10_000

/**
 * Runs health checks forever (see `Service.runHealth`), with `interval` as the tick: each app on
 * its own interval, the first check a tick after its container started.
 *
 * @since 0.1.0
 * @category combinators
 */
export const healthLoop = (interval: Duration.Input = defaultHealthInterval) =>
  Effect.flatMap(Scanner, (scanner) =>
    scanner.runHealth(interval, Math.max(healthCapMs, Duration.toMillis(Duration.fromInputUnsafe(interval)))))

/**
 * Scans on the schedule forever; a failed scan is logged and changes nothing.
 *
 * @since 0.1.0
 * @category combinators
 */
export const loop = (interval: Duration.Input = defaultInterval) =>
  Effect.flatMap(Scanner, (scanner) =>
    Effect.sleep(interval).pipe(
      Effect.andThen(
        scanner.scan.pipe(
          Effect.catch((e) => Effect.logWarning(`scan failed: ${e.message}`)),
          Effect.repeat(scanSchedule(interval))
        )
      ),
      Effect.asVoid
    ))

/**
 * Read side for adapters (RPC, dashboards): the views of all apps, their changes, and logs.
 *
 * @since 0.1.0
 */
import { Clock, Context, Effect, Layer, Option, Result, Sink, Stream } from "effect"
import * as AppEntry from "../domain/AppEntry.js"
import * as AppResources from "../domain/AppResources.js"
import * as AppViewModule from "../domain/AppView.js"
import type { AppView } from "../domain/AppView.js"
import * as Intent from "../domain/Intent.js"
import { ContainerRuntime } from "../runtime/ContainerRuntime.js"
import type { CommandFailed, ContainerNotFound, EngineUnavailable } from "../runtime/RuntimeError.js"
import * as Capability from "../manifest/Capability.js"
import { Apps, meta, resolveDependencies } from "./Apps.js"
import type { AppDef, Service as AppsService } from "./Apps.js"
import { InstallLog } from "./InstallLog.js"
import type { LogLine as InstallLogLine } from "./InstallLog.js"
import { UnknownApp } from "../domain/ServiceError.js"
import { StateStore } from "./StateStore.js"
import type { State } from "./StateStore.js"

/**
 * One line of an app's install log, as `InstallLog` keeps it.
 *
 * @since 0.1.0
 * @category models
 */
export type LogLine = InstallLogLine

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * Every app of the catalog, in catalog order, each with its kebab-case state; then the apps
   * left out of it for errors in their manifest (`catalogError` set).
   */
  readonly list: Effect.Effect<ReadonlyArray<AppView>>
  /**
   * The current picture, then its changes, with no gap between them (as
   * `SubscriptionRef.changes`): the first element is every app of the catalog, in catalog
   * order; each later one holds the views that changed together, in the order the store changed
   * (the apps whose entry or intent changed), or the apps whose definition a catalog reload
   * changed (an update now on offer). Never ends.
   *
   * @since 0.1.0
   */
  readonly changes: Stream.Stream<ReadonlyArray<AppView>>
  /** The app's bounded install log, oldest first. */
  readonly installLog: (appId: string) => Effect.Effect<ReadonlyArray<LogLine>, UnknownApp>
  /** The container's own log, the last `tail` lines. */
  readonly containerLogs: (
    appId: string,
    tail: number
  ) => Effect.Effect<string, UnknownApp | ContainerNotFound | EngineUnavailable | CommandFailed>
  /**
   * The container's log: the last `tail` lines, then each new line, until the container stops.
   * Closing the stream ends the engine process behind it.
   */
  readonly followLogs: (
    appId: string,
    tail: number
  ) => Stream.Stream<string, UnknownApp | ContainerNotFound | EngineUnavailable | CommandFailed>
  /** CPU % and memory against its limit of every running app, from ONE engine call. */
  readonly resources: Effect.Effect<AppResources.Sample, EngineUnavailable | CommandFailed>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class AppViews extends Context.Service<AppViews, Service>()("@archipelago/orchestrator/AppViews") {}

const viewOf = (apps: AppsService, def: AppDef, state: State): AppView =>
  AppViewModule.make(
    state.entries[def.id] ?? AppEntry.make(def.id),
    meta(def, Capability.resolvedNames(resolveDependencies(apps, def, state))),
    state.intents[def.id] ?? Intent.none
  )

// Apps left out of the catalog are shown after it, with their errors and their last known
// entry (kept by the store): an operator sees what is wrong where the app used to be.
const brokenViews = (apps: AppsService, state: State): ReadonlyArray<AppView> =>
  apps.broken.filter((b) => apps.get(b.id)._tag === "None").map((b) =>
    AppViewModule.broken(
      state.entries[b.id] ?? AppEntry.make(b.id as AppEntry.AppEntry["id"]),
      state.intents[b.id] ?? Intent.none,
      b.errors.map((e) => e.message)
    )
  )

const everyView = (apps: AppsService, state: State): ReadonlyArray<AppView> => [
  ...apps.all.map((def) => viewOf(apps, def, state)),
  ...brokenViews(apps, state)
]

/**
 * The views over the store: `changes` emits the picture (every app), then the views of the
 * apps whose entry or intent changed, in store order.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.gen(function*() {
  const apps = yield* Apps
  const store = yield* StateStore
  const log = yield* InstallLog
  const runtime = yield* ContainerRuntime
  const getDef = (appId: string) =>
    Option.match(apps.get(appId), { onNone: () => Effect.fail(new UnknownApp({ appId })), onSome: Effect.succeed })
  // The last list, kept while the state and the catalog are the same objects (both immutable,
  // replaced on every change): a dashboard asking again and again builds the views once.
  let listed: { state: State; all: ReadonlyArray<AppDef>; broken: AppsService["broken"]; views: ReadonlyArray<AppView> } | undefined
  const service: Service = {
    list: Effect.map(store.get, (state) => {
      if (listed?.state !== state || listed.all !== apps.all || listed.broken !== apps.broken) {
        listed = { state, all: apps.all, broken: apps.broken, views: everyView(apps, state) }
      }
      return listed.views
    }),
    changes: Stream.unwrap(Effect.gen(function*() {
      // Reloads are heard from before the picture is taken, so none falls between the two.
      const reloads = yield* apps.subscribeReplaced
      // The store's change feed starts with its current state: that state is the picture, and
      // every later state is compared with the one before it.
      const [picture, rest] = yield* Stream.peel(
        store.changes.pipe(
          Stream.zipWithPrevious,
          Stream.filterMap(([previous, next]) =>
            Option.match(previous, {
              onNone: () => Result.succeed(everyView(apps, next)),
              onSome: (prev) => {
                const changed = apps.all
                  .filter((def) => prev.entries[def.id] !== next.entries[def.id] || prev.intents[def.id] !== next.intents[def.id])
                  .map((def) => viewOf(apps, def, next))
                return changed.length === 0 ? Result.fail(undefined) : Result.succeed(changed)
              }
            })
          )
        ),
        Sink.head()
      )
      const reloaded = Stream.fromQueue(reloads).pipe(
        Stream.mapEffect((ids) =>
          Effect.map(store.get, (state) =>
            ids.flatMap((id) => Option.match(apps.get(id), { onNone: () => [], onSome: (def) => [viewOf(apps, def, state)] })))
        ),
        Stream.filter((views) => views.length > 0)
      )
      return Stream.concat(Stream.fromIterable(Option.toArray(picture)), Stream.merge(rest, reloaded))
    })),
    installLog: (appId) => Effect.flatMap(getDef(appId), (def) => log.lines(def.id)),
    containerLogs: (appId, tail) =>
      Effect.gen(function*() {
        const def = yield* getDef(appId)
        const entry = yield* store.entry(def.id)
        return yield* runtime.logs(entry.observed.containerName ?? def.containerName, { tail })
      }),
    followLogs: (appId, tail) =>
      Stream.unwrap(Effect.gen(function*() {
        const def = yield* getDef(appId)
        const entry = yield* store.entry(def.id)
        return runtime.followLogs(entry.observed.containerName ?? def.containerName, { tail })
      })),
    resources: Effect.gen(function*() {
      const stats = yield* runtime.stats()
      const at = yield* Clock.currentTimeMillis
      const state = yield* store.get
      const containers = apps.all.map((def): AppResources.AppContainer => {
        const limit = def.spec.memoryBytes
        return {
          appId: def.id,
          containerName: state.entries[def.id]?.observed.containerName ?? def.containerName,
          ...(limit === undefined ? {} : { memoryLimitBytes: limit })
        }
      })
      return { at, apps: AppResources.fromStats(containers, stats) }
    })
  }
  return service
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = Layer.effect(AppViews, make)

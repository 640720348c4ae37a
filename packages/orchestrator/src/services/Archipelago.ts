/**
 * The whole orchestrator as one `Layer`: catalog, state store, operations, the async lifecycle
 * path, views, the scanner and the reconciler, booted (adoption, resumed transitions) while the
 * layer builds, with loops running in its scope. Closing the scope shuts down cleanly: loops
 * stop, in-flight operations get a bounded grace, the state is written.
 *
 * @since 0.1.0
 */
import { Duration, Effect, FileSystem, Layer, Path, Result, Stream } from "effect"
import * as AppId from "../domain/AppId.js"
import * as Catalog from "../manifest/Catalog.js"
import * as Settings from "../manifest/Settings.js"
import type { ContainerRuntime } from "../runtime/ContainerRuntime.js"
import * as AppLocks from "./AppLocks.js"
import * as AppFolders from "./AppFolders.js"
import * as Apps from "./Apps.js"
import * as AppViews from "./AppViews.js"
import * as Backups from "./Backups.js"
import * as BackupScheduler from "./BackupScheduler.js"
import { HookRegistry } from "./HookRegistry.js"
import * as InstallLog from "./InstallLog.js"
import * as Instance from "./Instance.js"
import * as Lifecycle from "./Lifecycle.js"
import * as Orchestrator from "./Orchestrator.js"
import * as Reconciler from "./Reconciler.js"
import * as Scanner from "./Scanner.js"
import * as StateStore from "./StateStore.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Config {
  /** The folder of `<id>/manifest.yml` files. */
  readonly appsDir: string
  /** Where `state.json` and each app's data folder live. */
  readonly dataDir: string
  /** Mirrors and bind roots; `dataDir` here is ignored in favour of the one above. */
  readonly settings?: Partial<Settings.Settings>
  /** Time between scheduled scans; default 30 s. */
  readonly scanInterval?: Duration.Input
  /** Time between scheduled reconcile passes; default 30 s. */
  readonly reconcileInterval?: Duration.Input
  /** How long shutdown waits for in-flight operations; default 10 s. */
  readonly shutdownGrace?: Duration.Input
  /**
   * The tick of the apps' health rounds; each app is checked on its manifest's interval, the
   * first time a tick after its container started; default 1 s.
   */
  readonly healthInterval?: Duration.Input
  /** Quiet time after an engine event before reconciling; default `Reconciler.defaultDebounce` (5 ms). */
  readonly eventDebounce?: Duration.Input
  /**
   * The backup target: `dir` defaults to `<dataDir>/backups` (point it at another disk),
   * `keep` to `Archive.defaultKeep` archives per app. @since 0.1.0
   */
  readonly backup?: Partial<Omit<Backups.Config, "dataDir">>
  /** How often scheduled backups (`backup.schedule` in manifests) are looked at (default 1 minute). @since 0.1.0 */
  readonly backupScheduleInterval?: Duration.Input
  /**
   * How long an updated app without a health check must stay running before the update counts
   * as proved; default 30 s.
   *
   * @since 0.1.0
   */
  readonly settlePeriod?: Duration.Input
  /**
   * Quiet time after a change in the apps folder before the catalog is reloaded (`false`: no
   * watch; reloads then come only from `Apps.reload`, SIGHUP or the `catalog-reload` RPC);
   * default 500 ms.
   *
   * @since 0.1.0
   */
  readonly catalogWatch?: Duration.Input | false
  /**
   * Called right after each journal step of a data operation is persisted (see
   * `Orchestrator.Options.onStep`): a test switch. @since 0.1.0
   */
  readonly onStep?: (point: string) => Effect.Effect<void>
}

/**
 * Everything the orchestrator layer provides.
 *
 * @since 0.1.0
 * @category models
 */
export type Services =
  | Apps.Apps
  | StateStore.StateStore
  | InstallLog.InstallLog
  | AppLocks.AppLocks
  | Orchestrator.Orchestrator
  | Lifecycle.Lifecycle
  | AppViews.AppViews
  | Scanner.Scanner
  | Reconciler.Reconciler
  | Backups.Backups

/**
 * The orchestrator over a given set of apps (tests, embedders with their own catalog).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromApps = <E, R>(
  apps: Layer.Layer<Apps.Apps, E, R>,
  config: Omit<Config, "appsDir" | "settings">
): Layer.Layer<Services, E | StateStore.StateUnavailable, R | ContainerRuntime | HookRegistry | FileSystem.FileSystem | Path.Path> => {
  const grace = config.shutdownGrace ?? Lifecycle.defaultShutdownGrace
  const store = Layer.effect(
    StateStore.StateStore,
    Effect.gen(function*() {
      const a = yield* Apps.Apps
      // a broken app's recorded intent is kept (a fixed manifest finds it), never dropped
      const brokenIds = a.broken.flatMap((b) => Result.getSuccess(AppId.parse(b.id)).pipe((o) => o._tag === "Some" ? [o.value] : []))
      const s = yield* StateStore.make({ dataDir: config.dataDir, apps: [...a.all.map((d) => d.id), ...brokenIds] }).pipe(
        Effect.mapError((e) => new StateStore.StateUnavailable({ dataDir: config.dataDir, reason: e.message }))
      )
      yield* Effect.addFinalizer(() => Effect.andThen(s.flush, Effect.logInfo(`state written to ${s.path}`)))
      return s
    })
  )
  const backups = Backups.layer({
    ...config.backup,
    dir: config.backup?.dir ?? `${config.dataDir}/backups`,
    dataDir: config.dataDir
  })
  const installLog = Layer.effect(
    InstallLog.InstallLog,
    InstallLog.makeFile(`${config.dataDir}/${InstallLog.dirName}`).pipe(
      Effect.mapError((e) => new StateStore.StateUnavailable({ dataDir: config.dataDir, reason: e.message }))
    )
  )
  const base = Layer.mergeAll(installLog, AppLocks.layer, store, backups).pipe(Layer.provideMerge(apps))
  const orchestrator = Orchestrator.layerWith({
    ...(config.settlePeriod === undefined ? {} : { settlePeriod: config.settlePeriod }),
    ...(config.onStep === undefined ? {} : { onStep: config.onStep })
  }).pipe(
    Layer.provideMerge(base)
  )
  const views = Layer.merge(AppViews.layer, Scanner.layer).pipe(Layer.provideMerge(orchestrator))
  const lifecycle = Lifecycle.layer({ shutdownGrace: grace }).pipe(Layer.provideMerge(views))
  const loops = Layer.effectDiscard(
    Effect.andThen(
      Effect.andThen(
        Effect.forkScoped(Scanner.loop(config.scanInterval ?? Scanner.defaultInterval)),
        Effect.forkScoped(Scanner.healthLoop(config.healthInterval ?? Scanner.defaultHealthInterval))
      ),
      Effect.andThen(Effect.forkScoped(Backups.watchLoop()), Effect.forkScoped(BackupScheduler.loop(config.backupScheduleInterval)))
    )
  )
  const reconciler = Reconciler.layer({
    interval: config.reconcileInterval ?? Reconciler.defaultInterval,
    debounce: config.eventDebounce ?? Reconciler.defaultDebounce,
    shutdownGrace: grace
  })
  return Layer.merge(reconciler, loops).pipe(Layer.provideMerge(lifecycle))
}

/**
 * The orchestrator for an apps folder and a data dir: loads and checks the catalog (with the
 * registered hook names), then wires every service. Containers carry the data dir's instance id
 * (`Instance.id`, or `settings.instanceId`), and containers of other instances are left alone. Fails with the catalog's located errors.
 *
 * @example
 * import * as NodeServices from "@effect/platform-node/NodeServices"
 * import { Effect, Layer } from "effect"
 * import { Archipelago, HookRegistry, Lifecycle, PodmanRuntime } from "@archipelago/orchestrator"
 *
 * const node = Archipelago.layer({ appsDir: "./apps", dataDir: "/var/lib/archipelago" }).pipe(
 *   Layer.provide(Layer.mergeAll(PodmanRuntime.layer, HookRegistry.layerEmpty, NodeServices.layer))
 * )
 * const stopLnd = Effect.flatMap(Lifecycle.Lifecycle, (l) => l.request("stop", "lnd")) // { status: "stopping", generation }
 * Effect.runPromise(Effect.provide(stopLnd, node))
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (config: Config) => {
  const apps = Layer.effect(
    Apps.Apps,
    Effect.gen(function*() {
      const hooks = yield* HookRegistry
      const instanceId = config.settings?.instanceId ?? (yield* Instance.id(config.dataDir).pipe(
        Effect.mapError((e) => new StateStore.StateUnavailable({ dataDir: config.dataDir, reason: e.message }))
      ))
      const settings = Settings.make({ ...config.settings, dataDir: config.dataDir, instanceId })
      const options = { hookNames: hooks.names, hookConsumers: hooks.consumers, settings }
      const load = Catalog.load(config.appsDir, options)
      // one broken manifest never stops the node: the others are managed, the broken one shown
      const { broken, catalog } = yield* Catalog.loadTolerant(config.appsDir, options)
      for (const b of broken) {
        yield* Effect.logError(`app ${b.id} left out of the catalog, its container left as it is:\n${b.errors.map((e) => `  ${e.message}`).join("\n")}`).pipe(
          Effect.annotateLogs({ appId: b.id, op: "catalog" })
        )
      }
      // apps used to live at <dataDir>/<id>, beside the orchestrator's own folders
      yield* AppFolders.migrate(config.dataDir, [...catalog.apps.map((a) => a.manifest.id), ...broken.map((b) => b.id)]).pipe(
        Effect.mapError((e) => new StateStore.StateUnavailable({ dataDir: config.dataDir, reason: e.message }))
      )
      const fs = yield* FileSystem.FileSystem
      const reload = load.pipe(
        Effect.catch((e) => Effect.fail(e._tag === "CatalogError" ? e : { errors: [{ message: e.message }] })),
        Effect.provideService(FileSystem.FileSystem, fs)
      )
      return Apps.fromCatalog(catalog, settings, reload, broken)
    })
  )
  const watch = config.catalogWatch === false ? Layer.empty : Layer.effectDiscard(
    Effect.forkScoped(watchCatalog(config.appsDir, config.catalogWatch ?? defaultCatalogDebounce))
  )
  return watch.pipe(Layer.provideMerge(layerFromApps(apps, config)))
}

/**
 * The default quiet time of the apps-folder watch.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultCatalogDebounce: Duration.Duration = Duration.millis(500)

/**
 * Reloads the catalog whenever the apps folder changes, once it has been quiet for `debounce`.
 * A reload never touches what runs: a changed version shows as an update to apply.
 *
 * @since 0.1.0
 * @category constructors
 */
export const watchCatalog = (appsDir: string, debounce: Duration.Input) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const apps = yield* Apps.Apps
    yield* fs.watch(appsDir, { recursive: true }).pipe(
      Stream.debounce(debounce),
      Stream.runForEach(() => Effect.asVoid(apps.reload))
    )
  }).pipe(Effect.catch((e) => Effect.logWarning(`not watching ${appsDir} for catalog changes: ${e.message}`)))

/**
 * Reads the default shutdown grace, for adapters that print it.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultShutdownGrace: Duration.Duration = Lifecycle.defaultShutdownGrace

/**
 * `archipelago serve` assembled from the packages: pick the engine, then the hooks, the
 * orchestrator (`Archipelago.layer`) and the RPC server, and run until interrupted.
 *
 * @since 0.1.0
 */
import { constants as fsConstants } from "node:fs"
import { access, mkdir, stat } from "node:fs/promises"
import { dirname, join, resolve } from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Console, Data, Effect, Fiber, Layer, Queue, Scope } from "effect"
import {
  Apps,
  AppViews,
  type Archive,
  ArchiveFile,
  Archipelago,
  BaseImage,
  ContainerRuntime,
  DiskUsage,
  Instance,
  Lifecycle,
  PodmanCommand,
  PodmanRuntime,
  PodmanSelfHeal,
  PreBackupHooks,
  RuntimeError,
  SimulatedRuntime,
  StateStore
} from "@archipelago/orchestrator"
import { Builtins, Hooks } from "@archipelago/hooks"
import { Auth, Push, Resources, Server, ServerInfo } from "@archipelago/rpc-adapter"
import * as Cli from "./Config.js"
import * as Status from "./Status.js"

/**
 * The engine `serve` drives, and what the page and `server.version` say about it.
 *
 * @since 0.1.0
 * @category models
 */
export interface EngineChoice {
  readonly layer: Layer.Layer<ContainerRuntime.ContainerRuntime, unknown>
  readonly engine: "podman" | "simulated"
  readonly engineVersion: string
  /** Set when the simulator stands in for podman. */
  readonly banner?: string
}

const infoOf = <E>(layer: Layer.Layer<ContainerRuntime.ContainerRuntime, E>) =>
  Effect.provide(Effect.flatMap(ContainerRuntime.ContainerRuntime, (r) => r.info), layer)

const simulated = (why: string) =>
  Effect.gen(function*() {
    const layer = SimulatedRuntime.layer()
    const info = yield* Effect.orDie(infoOf(layer))
    const banner = `SIMULATED ENGINE: ${why}. Containers are simulated in memory; nothing runs for real.`
    return { layer, engine: "simulated" as const, engineVersion: info.version, banner }
  })

/**
 * Runs `podman info`; fails with the last line of its error output.
 *
 * @since 0.1.0
 * @category constructors
 */
export const podmanInfo: Effect.Effect<void, RuntimeError.EngineUnavailable> = PodmanCommand.run("podman", ["info", "--format", "json"], {
  timeoutMs: 60_000
}).pipe(
  Effect.mapError((e) => e.reason),
  Effect.flatMap((r) => (r.exitCode === 0 ? Effect.void : Effect.fail(r.stderr.trim().split("\n").pop() || `exit ${r.exitCode}`))),
  Effect.mapError((last) =>
    new RuntimeError.EngineUnavailable({
      reason: `podman info failed: ${last}`,
      hint: "install podman (apt-get install podman runc) and run scripts/setup-host.sh as root"
    })
  )
)

/**
 * True when the server was started by a person at a terminal (stdin is one, and systemd did not
 * start it): only then may `--engine auto` fall back to the simulator.
 *
 * @since 0.1.0
 * @category getters
 */
export const isInteractive = (): boolean => process.stdin.isTTY === true && process.env["INVOCATION_ID"] === undefined

/**
 * Picks the engine: `podman` must work, `sim` is the simulator, `auto` uses podman when
 * `podman info` works and, only when `interactive`, falls back to the simulator with a banner;
 * otherwise (a service) podman failing is an error. `workDir`: the directory podman runs in
 * (`PodmanRuntime.Options.workDir`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const chooseEngine: (
  engine: Cli.Engine,
  interactive?: boolean,
  workDir?: string
) => Effect.Effect<EngineChoice, RuntimeError.EngineUnavailable | RuntimeError.CommandFailed> = Effect.fn(
  "Serve.chooseEngine"
)(function*(engine: Cli.Engine, interactive = true, workDir?: string) {
  const podmanRuntime = Effect.provide(
    ContainerRuntime.ContainerRuntime,
    PodmanRuntime.layerWith(workDir === undefined ? {} : { workDir })
  )
  if (engine === "sim") return yield* simulated("started with --engine sim")
  // The start-up probe (repairs what is safe, logged; leaves the rest to the operator) and the
  // runtime's engine detection run side by side; the detection is repeated only when the probe
  // repaired something, and `podman info` asked again only when the probe found podman broken.
  const [report, detected] = yield* Effect.all([PodmanSelfHeal.heal(), Effect.result(podmanRuntime)], { concurrency: 2 })
  const probe = report.after._tag === "Healthy" && report.steps.length === 0 && detected._tag === "Success"
    ? detected
    : yield* Effect.result(Effect.andThen(podmanInfo, podmanRuntime))
  if (probe._tag === "Success") {
    const runtime = probe.success
    const info = yield* runtime.info
    const choice: EngineChoice = {
      layer: Layer.succeed(ContainerRuntime.ContainerRuntime, runtime),
      engine: "podman",
      engineVersion: info.version
    }
    return choice
  }
  if (engine === "podman" || !interactive) return yield* Effect.fail(probe.failure)
  return yield* simulated(`podman is not usable (${probe.failure.message})`)
})


type LayerOptions =
  & Pick<Cli.ServeOptions, "apps" | "data" | "host" | "port" | "scanInterval" | "reconcileInterval" | "allowOrigins">
  & Partial<Pick<Cli.ServeOptions, "mirrors" | "registries" | "offline" | "allowedBindRoots" | "engine" | "install" | "backupDir" | "backupKeep">>
  & {
    /** The backup key, read from `backupKeyFile` (`ArchiveFile.loadKey`). */
    readonly backupKey?: Archive.Encryption | undefined
  }

/**
 * The built-in pre-backup hooks: `freeze` pauses the app's container for a live backup (on the
 * simulator, where no process writes an app's files, it has nothing to pause).
 *
 * @since 0.1.0
 * @category layers
 */
export const preBackupHooks = (choice: Pick<EngineChoice, "engine">): Layer.Layer<PreBackupHooks.PreBackupHooks> =>
  PreBackupHooks.layer([
    choice.engine === "podman"
      ? PreBackupHooks.podmanFreeze()
      : PreBackupHooks.freeze({ pause: () => Effect.void, resume: () => Effect.void })
  ])

/**
 * The environment variable of the crash-point test switch: `update:fetching` (a journal step,
 * `<op>:<step>`) makes the server SIGKILL itself right after that step is persisted, as a power
 * cut or the OOM killer would. For tests of crash recovery only; unset in production.
 *
 * @since 0.1.0
 * @category constants
 */
export const crashSwitchVariable = "ARCHIPELAGO_TEST_CRASH_AT"

/**
 * The crash-point switch as the orchestrator's `onStep`, when the environment sets it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const crashSwitch = (
  env: Readonly<Record<string, string | undefined>>
): { readonly onStep?: (point: string) => Effect.Effect<void> } => {
  const at = env[crashSwitchVariable]
  if (at === undefined || at === "") return {}
  return {
    onStep: (point) =>
      point === at
        ? Effect.andThen(
          Effect.logWarning(`test switch ${crashSwitchVariable}: killing this process at ${point}`),
          Effect.sync(() => process.kill(process.pid, "SIGKILL"))
        )
        : Effect.void
  }
}

/**
 * The orchestrator and what `server.version` says, without the HTTP server: runtime, hooks,
 * `Archipelago.layer` (catalog, state, boot pass, loops) and `ServerInfo`.
 *
 * @since 0.1.0
 * @category layers
 */
export const coreLayer = (options: LayerOptions, choice: EngineChoice, instanceId?: string) => {
  const dataDir = resolve(options.data)
  const core = Archipelago.layer({
    appsDir: resolve(options.apps),
    dataDir,
    settings: {
      mirrors: (options.mirrors ?? []).map(Cli.mirrorOf),
      registries: options.registries ?? [],
      offline: options.offline ?? false,
      allowedBindRoots: options.allowedBindRoots ?? [],
      ...(instanceId === undefined ? {} : { instanceId }),
      // no app may publish the port the dashboard and API listen on
      ...(options.port > 0 ? { serverPort: options.port } : {})
    },
    scanInterval: options.scanInterval,
    reconcileInterval: options.reconcileInterval,
    ...crashSwitch(process.env),
    backup: {
      dir: options.backupDir === undefined ? join(dataDir, "backups") : resolve(options.backupDir),
      ...(options.backupKeep === undefined ? {} : { keep: options.backupKeep }),
      encryption: options.backupKey,
      // the simulator has no volumes on disk: a folder per volume under the data dir stands in
      ...(choice.engine === "simulated"
        ? { volumePath: (name: string) => Effect.succeed(join(dataDir, ".simulated-volumes", name)) }
        : {})
    }
  }).pipe(
    Layer.provide(Layer.mergeAll(choice.layer, Hooks.layer(Builtins.builtins, { dataDir }), preBackupHooks(choice), NodeServices.layer))
  )
  const info = ServerInfo.layer({ engine: choice.engine, engineVersion: choice.engineVersion })
  // the disk's warning thresholds and refresh interval come from the environment (docs/operations.md)
  const disk = DiskUsage.layer(DiskUsage.optionsFromEnv(dataDir, process.env))
  return Layer.mergeAll(core, info, disk)
}

const serverConfig = (options: LayerOptions, choice: EngineChoice, password?: string): Server.Config => ({
  host: options.host,
  port: options.port,
  dataDir: resolve(options.data),
  allowOrigins: options.allowOrigins,
  ...(password === undefined ? {} : { password }),
  ...(choice.banner === undefined ? {} : { banner: choice.banner })
})

/**
 * The whole server as one layer: runtime, hooks, orchestrator and RPC server.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: LayerOptions, choice: EngineChoice, password?: string, instanceId?: string) =>
  Server.layer(serverConfig(options, choice, password)).pipe(Layer.provideMerge(coreLayer(options, choice, instanceId)))

/**
 * Requests an install of each listed app that nobody has decided about yet (no recorded
 * intent), so a first start brings them up while an owner's later remove or stop is respected.
 * Does nothing when `state.json` was not read cleanly (salvaged or unreadable): an intent lost
 * with it may have been a remove or a stop. Returns the ids it requested.
 *
 * @since 0.1.0
 * @category constructors
 */
export const installFirstStart = Effect.fn("Serve.installFirstStart")(function*(ids: ReadonlyArray<string>) {
  const views = yield* AppViews.AppViews
  const lifecycle = yield* Lifecycle.Lifecycle
  const store = yield* StateStore.StateStore
  const requested: Array<string> = []
  if (ids.length > 0 && !StateStore.readCleanly(store.loadReport)) {
    yield* Effect.logWarning(
      `--install ${ids.join(", ")}: skipped, ${store.path} was not read cleanly (${store.loadReport._tag}); ` +
        "an owner's remove or stop may have been lost with it"
    )
    return requested
  }
  for (const id of ids) {
    const view = (yield* views.list).find((v) => v.id === id)
    if (view === undefined) {
      yield* Effect.logWarning(`--install ${id}: no such app in the catalog`)
      continue
    }
    if (view.intent.updatedAt !== 0 || view.state !== "not-installed") continue
    const accepted = yield* Effect.result(lifecycle.request("install", id))
    if (accepted._tag === "Failure") yield* Effect.logWarning(`--install ${id}: ${accepted.failure.message}`)
    else requested.push(id)
  }
  if (requested.length > 0) yield* Effect.logInfo(`first start: installing ${requested.join(", ")}`)
  return requested
})

/**
 * The folder under the data dir that podman and conmon run in (`PodmanRuntime.Options.workDir`).
 *
 * @since 0.1.0
 * @category constants
 */
export const engineDirName = "engine"

const bannerBox = (text: string): string => {
  const line = "!".repeat(Math.min(100, text.length + 8))
  return `\n${line}\n!!! ${text}\n${line}\n`
}

/**
 * What `serve` records in `<dataDir>/server.json` for `archipelago status` and `login-url`:
 * where it listens (never the token).
 *
 * @since 0.1.0
 * @category constants
 */
export const serverFile: string = Status.serverFile

/**
 * The login line: the URL with its token only on a terminal or when asked; otherwise the token
 * file's path, so logs and the journal never hold the token.
 *
 * @since 0.1.0
 * @category getters
 */
export const loginLine = (server: { readonly url: string; readonly loginUrl: string }, tokenFile: string, showToken: boolean): string =>
  showToken
    ? `Dashboard: ${server.loginUrl}`
    : `Dashboard: ${server.url} (login token in ${tokenFile}; \`archipelago login-url\` prints the login URL)`

/**
 * A folder `serve` needs is missing or unusable; `message` says what is wrong and what to set.
 *
 * @since 0.1.0
 * @category errors
 */
export class FolderError extends Data.TaggedError("FolderError")<{ readonly reason: string }> {
  override get message(): string {
    return this.reason
  }
}

const codeOf = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code

const statOf = (path: string) =>
  Effect.promise(() => stat(path).then((s) => ({ _tag: "Found" as const, dir: s.isDirectory() }), (e: unknown) => ({ _tag: "Missing" as const, code: codeOf(e) })))

/** The nearest ancestor of `path` that exists, and whether it is a folder. */
const nearestExisting = (path: string): Effect.Effect<{ readonly path: string; readonly dir: boolean }> =>
  Effect.flatMap(statOf(path), (s) =>
    s._tag === "Found" ? Effect.succeed({ path, dir: s.dir }) : dirname(path) === path ? Effect.succeed({ path, dir: true }) : nearestExisting(dirname(path)))

/**
 * Checks the app folder and the data folder (creating the data folder, 0700, when missing)
 * before anything listens or prints an address; fails with what is wrong in an operator's words.
 *
 * @since 0.1.0
 * @category constructors
 */
export const checkFolders = Effect.fn("Serve.checkFolders")(function*(appsDir: string, dataDir: string) {
  const setApps = "set --apps, ARCHIPELAGO_APPS or `apps:` in the config file"
  const setData = "set --data, ARCHIPELAGO_DATA or `data:` in the config file"
  const apps = yield* statOf(appsDir)
  if (apps._tag === "Missing") {
    return yield* Effect.fail(new FolderError({
      reason: apps.code === "EACCES"
        ? `the app folder ${appsDir} cannot be read: permission denied (run as the server's user)`
        : `the app folder ${appsDir} does not exist: ${setApps}`
    }))
  }
  if (!apps.dir) return yield* Effect.fail(new FolderError({ reason: `the app folder ${appsDir} is a file, not a folder: ${setApps}` }))
  const data = yield* statOf(dataDir)
  if (data._tag === "Found" && !data.dir) {
    return yield* Effect.fail(new FolderError({ reason: `the data folder ${dataDir} is a file, not a folder: ${setData}` }))
  }
  if (data._tag === "Missing") {
    const made = yield* Effect.promise(() => mkdir(dataDir, { recursive: true, mode: 0o700 }).then(() => undefined, (e: unknown) => codeOf(e) ?? "error"))
    if (made !== undefined) {
      const near = yield* nearestExisting(dataDir)
      return yield* Effect.fail(new FolderError({
        reason: !near.dir
          ? `cannot create the data folder ${dataDir}: ${near.path} is a file, not a folder`
          : made === "EACCES" || made === "EPERM" || made === "EROFS"
          ? `cannot create the data folder ${dataDir}: ${near.path} is not writable by this user (run as root, or ${setData.replace("set", "choose a folder you own with")})`
          : `cannot create the data folder ${dataDir}: ${made}`
      }))
    }
  }
  const writable = yield* Effect.promise(() => access(dataDir, fsConstants.W_OK | fsConstants.X_OK).then(() => true, () => false))
  if (!writable) {
    return yield* Effect.fail(new FolderError({ reason: `the data folder ${dataDir} is not writable by this user: run as the server's user, or ${setData}` }))
  }
})

/**
 * Runs `archipelago serve` until interrupted (SIGINT/SIGTERM through `NodeRuntime.runMain`):
 * takes the data dir's lock first (a second server on it exits at once), then the engine, and
 * prints the dashboard URL (with the token only on a terminal or with `--print-login-url`).
 * The dashboard answers as soon as the engine is known; RPC and WebSocket clients are held
 * until the orchestrator has started (catalog, state, the boot pass's first look at the
 * containers), so no client is ever told a state nobody has observed. The base image is
 * checked meanwhile, before the first-start installs that build on it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = Effect.fn("Serve.run")(function*(options: Cli.ServeOptions) {
  const dataDir = resolve(options.data)
  yield* checkFolders(options.apps, dataDir)
  const instanceId = yield* Instance.id(dataDir).pipe(Effect.provide(NodeServices.layer))
  yield* Instance.lock(dataDir, instanceId).pipe(Effect.provide(NodeServices.layer))
  const interactive = isInteractive()
  // podman runs in a folder of ours: conmon drops an `oom` file in its working directory when
  // an app is OOM-killed, which would otherwise be the user's (or `/` under systemd)
  const engineDir = join(dataDir, engineDirName)
  yield* Effect.tryPromise({
    try: () => mkdir(engineDir, { recursive: true, mode: 0o700 }),
    catch: (e) => new RuntimeError.EngineUnavailable({ reason: `cannot create ${engineDir}: ${String(e)}`, hint: "check the data folder's permissions" })
  })
  const choice = yield* chooseEngine(options.engine, interactive, engineDir)
  if (choice.banner !== undefined) yield* Effect.logWarning(bannerBox(choice.banner))
  const password = options.passwordFile === undefined ? undefined : yield* Auth.readPassword(options.passwordFile)
  const backupKey = options.backupKeyFile === undefined ? undefined : yield* ArchiveFile.loadKey(options.backupKeyFile)
  const say = (line: string) => options.logFormat === "json" ? Effect.logInfo(line) : Console.log(line)
  // The server lives in its own scope, closed before the orchestrator's (it was built later):
  // clients go first, then operations get their grace, as when the server was a layer on top.
  const serverScope = yield* Scope.make()
  // closes the server when anything below fails before the orchestrator is built; once it is,
  // the finalizer added after it closes the server first (closing twice is a no-op)
  yield* Effect.addFinalizer((exit) => Scope.close(serverScope, exit))
  const listening = yield* Scope.provide(Server.listen(serverConfig(options, choice, password)), serverScope)
  const server = listening.service
  const tokenFile = Auth.tokenPath(dataDir)
  yield* Effect.orDie(Status.record(dataDir, { url: server.url, pid: process.pid, instance: instanceId }))
  yield* say(`Archipelago ${ServerInfo.version} on ${choice.engine} ${choice.engineVersion} (instance ${instanceId}, data ${dataDir})`)
  yield* say(loginLine(server, tokenFile, options.printLoginUrl || (interactive && process.stdout.isTTY === true)))
  const ws = `${server.url.replace(/^http/, "ws")}/ws`
  yield* say(`API: POST ${server.url}/rpc and ${ws} (token in ${tokenFile})`)
  const baseImage = yield* Effect.forkChild(
    choice.engine === "podman"
      ? BaseImage.ensure().pipe(
        Effect.tap((r) => Effect.logInfo(r.built ? `built the base image ${r.ref}` : `base image ${r.ref} is present`)),
        Effect.catch((e) => Effect.logWarning(`cannot prepare the base image: ${e.message}`))
      )
      : Effect.void
  )
  const context = yield* Layer.build(
    Layer.merge(Push.layer, Resources.layer()).pipe(Layer.provideMerge(coreLayer({ ...options, backupKey }, choice, instanceId)))
  )
  yield* Effect.addFinalizer((exit) => Scope.close(serverScope, exit)) // before the orchestrator's
  yield* listening.attach(context)
  yield* Fiber.join(baseImage)
  yield* Effect.gen(function*() {
    yield* installFirstStart(options.install)
    // SIGHUP reloads the app catalog (a changed version shows as an update; nothing is touched):
    // the handler only queues the signal; one fiber of this scope reloads, one reload at a time
    const apps = yield* Apps.Apps
    const hups = yield* Effect.acquireRelease(Queue.sliding<void>(1), Queue.shutdown)
    const onHup = () => void Queue.offerUnsafe(hups, undefined)
    yield* Effect.acquireRelease(Effect.sync(() => process.on("SIGHUP", onHup)), () => Effect.sync(() => process.off("SIGHUP", onHup)))
    yield* Queue.take(hups).pipe(
      Effect.andThen(apps.reload),
      Effect.flatMap((r) => r._tag === "Reloaded" ? Effect.void : Effect.logWarning(`SIGHUP: catalog kept: ${r.errors.join("; ")}`)),
      Effect.forever,
      Effect.forkScoped
    )
    return yield* Effect.onInterrupt(
      Effect.never,
      () => Effect.logInfo("shutting down: closing clients, letting operations finish")
    )
  }).pipe(Effect.provide(context))
}, Effect.scoped)

/**
 * `archipelago serve` assembled from the packages: pick the engine, then the hooks, the
 * orchestrator (`Archipelago.layer`) and the RPC server, and run until interrupted.
 *
 * @since 0.1.0
 */
import { execFile } from "node:child_process"
import { resolve } from "node:path"
import { NodeContext } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import {
  AppViews,
  Archipelago,
  BaseImage,
  ContainerRuntime,
  Lifecycle,
  PodmanRuntime,
  PodmanSelfHeal,
  RuntimeError,
  StateStore
} from "@archipelago/orchestrator"
import { SimulatedRuntime } from "@archipelago/orchestrator/testing"
import { Builtins, Hooks } from "@archipelago/hooks"
import * as Auth from "./Auth.js"
import type * as Cli from "./Cli.js"
import * as Server from "./Server.js"
import * as ServerInfo from "./ServerInfo.js"

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
export const podmanInfo: Effect.Effect<void, RuntimeError.EngineUnavailable> = Effect.async((resume) => {
  execFile("podman", ["info", "--format", "json"], { timeout: 60_000 }, (error, _stdout, stderr) => {
    if (error === null) return resume(Effect.void)
    const last = stderr.trim().split("\n").pop()
    resume(Effect.fail(
      new RuntimeError.EngineUnavailable({
        reason: `podman info failed: ${last !== undefined && last !== "" ? last : error.message}`,
        hint: "run scripts/setup-host.sh as root"
      })
    ))
  })
})

/**
 * Picks the engine: `podman` must work, `sim` is the simulator, `auto` uses podman when
 * `podman info` works and falls back to the simulator with a banner.
 *
 * @since 0.1.0
 * @category constructors
 */
export const chooseEngine: (
  engine: Cli.Engine
) => Effect.Effect<EngineChoice, RuntimeError.EngineUnavailable | RuntimeError.CommandFailed> = Effect.fn(
  "Serve.chooseEngine"
)(function*(engine: Cli.Engine) {
  if (engine === "sim") return yield* simulated("started with --engine sim")
  // The start-up probe: repairs what is safe (logged), leaves the rest to the operator.
  yield* PodmanSelfHeal.heal()
  const probe = yield* Effect.either(Effect.zipRight(podmanInfo, infoOf(PodmanRuntime.layer)))
  if (probe._tag === "Right") {
    const choice: EngineChoice = { layer: PodmanRuntime.layer, engine: "podman", engineVersion: probe.right.version }
    return choice
  }
  if (engine === "podman") return yield* Effect.fail(probe.left)
  return yield* simulated(`podman is not usable (${probe.left.message})`)
})

/**
 * The whole server as one layer: runtime, hooks, orchestrator and RPC server.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Cli.ServeOptions, choice: EngineChoice, password?: string) => {
  const dataDir = resolve(options.data)
  const core = Archipelago.layer({
    appsDir: resolve(options.apps),
    dataDir,
    // no app may publish the port the dashboard and API listen on
    ...(options.port > 0 ? { settings: { serverPort: options.port } } : {}),
    scanInterval: options.scanInterval,
    reconcileInterval: options.reconcileInterval
  }).pipe(
    Layer.provide(Layer.mergeAll(choice.layer, Hooks.layer(Builtins.builtins, { dataDir }), NodeContext.layer))
  )
  const info = ServerInfo.layer({ engine: choice.engine, engineVersion: choice.engineVersion })
  return Server.layer({
    host: options.host,
    port: options.port,
    dataDir,
    allowOrigins: options.allowOrigins,
    ...(password === undefined ? {} : { password }),
    ...(choice.banner === undefined ? {} : { banner: choice.banner })
  }).pipe(Layer.provideMerge(Layer.merge(core, info)))
}

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
    const accepted = yield* Effect.either(lifecycle.request("install", id))
    if (accepted._tag === "Left") yield* Effect.logWarning(`--install ${id}: ${accepted.left.message}`)
    else requested.push(id)
  }
  if (requested.length > 0) yield* Effect.logInfo(`first start: installing ${requested.join(", ")}`)
  return requested
})

const bannerBox = (text: string): string => {
  const line = "!".repeat(Math.min(100, text.length + 8))
  return `\n${line}\n!!! ${text}\n${line}\n`
}

/**
 * Runs `archipelago serve` until interrupted (SIGINT/SIGTERM through `NodeRuntime.runMain`),
 * printing the dashboard URL with the token.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = Effect.fn("Serve.run")(function*(options: Cli.ServeOptions) {
  const choice = yield* chooseEngine(options.engine)
  if (choice.banner !== undefined) yield* Effect.logWarning(bannerBox(choice.banner))
  if (choice.engine === "podman") {
    yield* BaseImage.ensure().pipe(
      Effect.tap((r) => Effect.logInfo(r.built ? `built the base image ${r.ref}` : `base image ${r.ref} is present`)),
      Effect.catchAll((e) => Effect.logWarning(`cannot prepare the base image: ${e.message}`))
    )
  }
  const password = options.passwordFile === undefined ? undefined : yield* Auth.readPassword(options.passwordFile)
  yield* Effect.gen(function*() {
    const server = yield* Server.RpcServer
    yield* Console.log(`Archipelago ${ServerInfo.version} on ${choice.engine} ${choice.engineVersion}`)
    yield* Console.log(`Dashboard: ${server.loginUrl}`)
    const ws = `${server.url.replace(/^http/, "ws")}/ws`
    yield* Console.log(`API: POST ${server.url}/rpc and ${ws} (token in ${Auth.tokenPath(resolve(options.data))})`)
    yield* installFirstStart(options.install)
    return yield* Effect.onInterrupt(
      Effect.never,
      () => Effect.logInfo("shutting down: closing clients, letting operations finish")
    )
  }).pipe(Effect.provide(layer(options, choice, password)))
})

/**
 * The node in your own process, the Promise way: `InProcess.start` builds what `archipelago
 * serve` runs (engine, orchestrator, hooks, the RPC server on a loopback port) and hands back an
 * `ArchyClient` bound to it, so a Node program that does not write Effect drives the node with
 * `await node.client.stop("lnd", { wait: true })` and ends it with `await node.close()`.
 *
 * @since 0.1.0
 */
import { join } from "node:path"
import { Duration, Effect, ManagedRuntime } from "effect"
import { Server } from "@archipelago/rpc-adapter"
import type { ArchyClient } from "@archipelago/web-components"
import type * as Config from "./Config.js"
import * as Serve from "./Serve.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The folder of `<id>/manifest.yml` files. */
  readonly apps: string
  /** The data folder: state, secrets, app data, rpc-token. */
  readonly data: string
  /** `podman` (the default), or `sim`: the in-memory simulator. */
  readonly engine?: Exclude<Config.Engine, "auto">
  /** The loopback port of the RPC server; default 0 (any free one). */
  readonly port?: number
  /** Time between scans and between reconcile passes; default 30 s. */
  readonly interval?: Duration.Input
}

/**
 * A node running in this process.
 *
 * @since 0.1.0
 * @category models
 */
export interface Node {
  /** A client of the node: its Promise operations (`stop(appId, { wait: true })`, ...) and reads. */
  readonly client: ArchyClient
  /** The RPC server's base URL (127.0.0.1) and its bearer token, for other clients. */
  readonly url: string
  readonly token: string
  /** Shuts the node down (in-flight operations get their grace); a client the program `start()`ed is its to `stop()`. */
  readonly close: () => Promise<void>
}

/**
 * Starts a node in this process. Rejects when the engine is not usable or the port is taken.
 *
 * @example
 * import { InProcess } from "@archipelago/daemon"
 * const node = await InProcess.start({ apps: "./apps", data: "./data", engine: "sim" })
 * await node.client.install("demo-node", { wait: true })
 * await node.close()
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = async (options: Options): Promise<Node> => {
  const engine = options.engine ?? "podman"
  const interval = Duration.fromInputUnsafe(options.interval ?? Duration.seconds(30))
  const choice = await Effect.runPromise(Serve.chooseEngine(engine, false, join(options.data, Serve.engineDirName)))
  const runtime = ManagedRuntime.make(Serve.layer({
    apps: options.apps,
    data: options.data,
    engine,
    host: "127.0.0.1",
    port: options.port ?? 0,
    scanInterval: interval,
    reconcileInterval: interval,
    allowOrigins: []
  }, choice))
  const server = await runtime.runPromise(Server.RpcServer).catch(async (e: unknown) => {
    await runtime.dispose()
    throw e
  })
  // loaded here, not at the top: importing the daemon (and its CommonJS twin) does not load the
  // web components' ESM-only module and lit
  const { ArchyClient: Client } = await import("@archipelago/web-components")
  const client = new Client({ url: server.url, token: server.token })
  return { client, url: server.url, token: server.token, close: () => runtime.dispose() }
}

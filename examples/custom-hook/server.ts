/**
 * The custom hook wired into a server: the orchestrator over `apps/` (the `hello` app, whose
 * manifest names the `greeting` hook) with the built-in hooks plus `greeting`, behind the
 * JSON-RPC server and its dashboard.
 *
 * @since 0.1.0
 */
import * as NodePath from "node:path"
import { Archipelago, PodmanRuntime } from "@archipelago/orchestrator"
import { SimulatedRuntime } from "@archipelago/orchestrator/testing"
import { Server, ServerInfo } from "@archipelago/rpc-adapter"
import * as NodeServices from "@effect/platform-node/NodeServices"
import type { Duration } from "effect"
import { Layer } from "effect"
import * as Hooks from "./hooks.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly dataDir: string
  /** Default: this example's `apps/` folder. */
  readonly appsDir?: string
  /** Default 7431; 0 picks a free port. */
  readonly port?: number
  /** Run on the in-memory simulator instead of podman. */
  readonly simulated?: boolean
  /** Time between reconcile passes (each re-renders the hooks); default 30 s. */
  readonly reconcileInterval?: Duration.Input
}

/**
 * The apps of the example.
 *
 * @since 0.1.0
 * @category constants
 */
export const appsDir = NodePath.join(import.meta.dirname, "apps")

/**
 * The server, the orchestrator and the hook registry as one layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options) => {
  const runtime = options.simulated === true ? SimulatedRuntime.layer() : PodmanRuntime.layer
  const orchestrator = Archipelago.layer({
    appsDir: options.appsDir ?? appsDir,
    dataDir: options.dataDir,
    ...(options.reconcileInterval === undefined ? {} : { reconcileInterval: options.reconcileInterval })
  }).pipe(
    Layer.provide(Hooks.layer(options.dataDir)),
    Layer.provide(runtime),
    Layer.provide(NodeServices.layer)
  )
  const info = ServerInfo.layer({
    engine: options.simulated === true ? "simulated" : "podman",
    engineVersion: options.simulated === true ? "simulated" : "unknown"
  })
  return Server.layer({ dataDir: options.dataDir, port: options.port ?? 7431 }).pipe(
    Layer.provide(Layer.merge(orchestrator, info))
  )
}

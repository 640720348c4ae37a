/**
 * The `archipelago serve` server assembled by hand from the packages, the way a Node program
 * embeds the orchestrator: a container runtime, the built-in hooks, the orchestrator over an
 * apps folder, and the JSON-RPC server with its dashboard in front.
 *
 * @since 0.1.0
 */
import { Archipelago, PodmanRuntime } from "@archipelago/orchestrator"
import { SimulatedRuntime } from "@archipelago/orchestrator/testing"
import { Builtins, Hooks } from "@archipelago/hooks"
import { Server, ServerInfo } from "@archipelago/rpc-adapter"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Layer } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Folders of `manifest.yml` files, e.g. the repository's `apps/`. */
  readonly appsDir: string
  /** State, secrets, app data and `rpc-token`. */
  readonly dataDir: string
  /** Default 7420; 0 picks a free port. */
  readonly port?: number
  /** Run on the in-memory simulator instead of podman. */
  readonly simulated?: boolean
}

/**
 * The whole server as one layer; `Server.RpcServer` tells its URL and token.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options) => {
  const runtime = options.simulated === true ? SimulatedRuntime.layer() : PodmanRuntime.layer
  const platform = Layer.mergeAll(runtime, Hooks.layer(Builtins.builtins, { dataDir: options.dataDir }), NodeServices.layer)
  const services = Layer.merge(
    Archipelago.layer({ appsDir: options.appsDir, dataDir: options.dataDir }),
    ServerInfo.fromRuntime(options.simulated === true ? "simulated" : "podman")
  ).pipe(Layer.provide(platform))
  return Server.layer({
    dataDir: options.dataDir,
    port: options.port ?? 7420,
    ...(options.simulated === true ? { banner: "Simulated engine: nothing runs for real." } : {})
  }).pipe(Layer.provide(services))
}

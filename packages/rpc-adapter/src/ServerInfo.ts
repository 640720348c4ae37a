/**
 * What `server.version` answers: the package version and the container engine behind the server.
 *
 * @since 0.1.0
 */
import { createRequire } from "node:module"
import { Context, Effect, Layer } from "effect"
import { ContainerRuntime } from "@archipelago/orchestrator"
import type { RuntimeError } from "@archipelago/orchestrator"

/**
 * The version of this package, read from its package.json (one level above both `src/` and
 * `dist/`), so a release's version bump needs no second edit.
 *
 * @since 0.1.0
 * @category constants
 */
export const version: string = (createRequire(import.meta.url)("../package.json") as { readonly version: string }).version

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly version: string
  /** `"simulated"` when the in-memory simulator stands in for podman. */
  readonly engine: "podman" | "simulated"
  readonly engineVersion: string
}

/**
 * @since 0.1.0
 * @category tags
 */
export class ServerInfo extends Context.Service<ServerInfo, Service>()("@archipelago/rpc-adapter/ServerInfo") {}

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (info: Omit<Service, "version"> & { readonly version?: string }): Layer.Layer<ServerInfo> =>
  Layer.succeed(ServerInfo, { version: info.version ?? version, engine: info.engine, engineVersion: info.engineVersion })

/**
 * Asks the container runtime for its version: `fromRuntime("podman")` over `PodmanRuntime.layer`,
 * `fromRuntime("simulated")` over the simulator.
 *
 * @since 0.1.0
 * @category layers
 */
export const fromRuntime = (
  engine: Service["engine"]
): Layer.Layer<ServerInfo, RuntimeError.EngineUnavailable | RuntimeError.CommandFailed, ContainerRuntime.ContainerRuntime> =>
  Layer.effect(
    ServerInfo,
    Effect.flatMap(ContainerRuntime.ContainerRuntime, (r) => r.info).pipe(
      Effect.map((info) => ({ version, engine, engineVersion: info.version }))
    )
  )

/**
 * What `server.version` answers: the package version and the container engine behind the server.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import { ContainerRuntime } from "@archipelago/orchestrator"
import type { RuntimeError } from "@archipelago/orchestrator"

/**
 * The version of this package (checked against package.json by a test).
 *
 * @since 0.1.0
 * @category constants
 */
export const version = "0.1.0"

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
export class ServerInfo extends Context.Tag("@archipelago/rpc-adapter/ServerInfo")<ServerInfo, Service>() {}

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

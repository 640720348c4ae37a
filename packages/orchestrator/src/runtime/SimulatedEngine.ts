/**
 * Fault injection and inspection of the simulated engine: the control tag `SimulatedRuntime`'s
 * layer provides next to `ContainerRuntime`, over the same state.
 *
 * @since 0.1.0
 */
import { Context } from "effect"
import type { Duration, Effect } from "effect"
import type { CallMethod, Method, MethodErrors, Signal, SimulatedContainer } from "./simulator/Model.js"

/**
 * Fault injection and inspection of the simulated engine.
 *
 * @since 0.1.0
 * @category models
 */
export interface Engine {
  /** A signal from the host, not a user stop: restart policies apply. */
  readonly kill: (name: string, signal?: Signal) => Effect.Effect<void>
  /** The kernel's OOM killer: exit 137, like kill -9. */
  readonly oom: (name: string) => Effect.Effect<void>
  /** The container's process exits by itself with `code`. */
  readonly exit: (name: string, code: number) => Effect.Effect<void>
  /** Removed behind the orchestrator's back (`podman rm -f` by someone else). */
  readonly removeContainer: (name: string) => Effect.Effect<void>
  /** Removed behind the orchestrator's back; `force` also removes containers using it. */
  readonly removeImage: (ref: string, options?: { readonly force?: boolean }) => Effect.Effect<void>
  /** Adds a local image (as a finished build or an earlier pull would). */
  readonly addImage: (ref: string, labels?: Readonly<Record<string, string>>) => Effect.Effect<void>
  /**
   * Another program listens on the host port (until `releaseHostPort`): a container publishing
   * it fails to start, as on podman.
   */
  readonly holdHostPort: (port: number, protocol?: "tcp" | "udp") => Effect.Effect<void>
  readonly releaseHostPort: (port: number, protocol?: "tcp" | "udp") => Effect.Effect<void>
  /** Every port call fails with `EngineUnavailable` until `engineUp`; containers keep running. */
  readonly engineDown: (reason?: string) => Effect.Effect<void>
  readonly engineUp: Effect.Effect<void>
  /** Overrides a container's stop delay (by name, so it may precede the create). */
  readonly setStopDelay: (name: string, delay: Duration.Input) => Effect.Effect<void>
  readonly setHealth: (name: string, health: "healthy" | "unhealthy" | "starting" | undefined) => Effect.Effect<void>
  /** The next call of `method` fails with `error` (queued: several calls queue several failures). */
  readonly failNext: <M extends CallMethod>(method: M, error: MethodErrors[M]) => Effect.Effect<void>
  /** Every call of `method` first sleeps `latency` (a slow engine). */
  readonly setLatency: (method: CallMethod, latency: Duration.Input) => Effect.Effect<void>
  /** Calls per method since the start or the last `resetCalls`. */
  readonly calls: Effect.Effect<Readonly<Record<Method, number>>>
  readonly resetCalls: Effect.Effect<void>
  /** Appends a line to a container's log (followers see it at once). */
  readonly log: (name: string, line: string) => Effect.Effect<void>
  /** What `stats` reports for a running container (default 0 % CPU and 0 bytes). */
  readonly setUsage: (name: string, usage: { readonly cpuPercent: number; readonly memoryBytes: number }) => Effect.Effect<void>
  readonly containers: Effect.Effect<ReadonlyArray<SimulatedContainer>>
  readonly images: Effect.Effect<ReadonlyArray<string>>
}

/**
 * The control tag the simulated layer provides next to `ContainerRuntime`.
 *
 * @since 0.1.0
 * @category tags
 */
export class SimulatedEngine extends Context.Service<SimulatedEngine, Engine>()("@archipelago/orchestrator/SimulatedEngine") {}

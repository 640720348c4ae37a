/**
 * The port through which the orchestrator talks to containers. Implemented by `PodmanRuntime`
 * (real) and `SimulatedRuntime` (tests); one contract suite proves both.
 *
 * @since 0.1.0
 */
import { Context } from "effect"
import type { Effect, Option, Stream } from "effect"
import type { PortBinding } from "../domain/AppEntry.js"
import type { ContainerSpec } from "./ContainerSpec.js"
import type { CommandFailed, ContainerNotFound, EngineUnavailable, ImageNotFound } from "./RuntimeError.js"

/**
 * A container's raw state, normalised to lowercase podman words.
 *
 * @since 0.1.0
 * @category models
 */
export type ContainerState =
  | "created"
  | "running"
  | "paused"
  | "stopping"
  | "exited"
  | "stopped"
  | "removing"
  | "unknown"

/**
 * One container as `list()` sees it. Times are Unix milliseconds.
 *
 * @since 0.1.0
 * @category models
 */
export interface ContainerSummary {
  readonly id: string
  readonly name: string
  readonly image: string
  readonly imageId?: string
  readonly state: ContainerState
  readonly exitCode?: number
  readonly startedAt?: number
  readonly exitedAt?: number
  readonly labels: Readonly<Record<string, string>>
  readonly ports: ReadonlyArray<PortBinding>
  readonly pid?: number
  readonly health?: "healthy" | "unhealthy" | "starting"
}

/**
 * What `inspect` adds to a summary.
 *
 * @since 0.1.0
 * @category models
 */
export interface ContainerDetails extends ContainerSummary {
  readonly oomKilled: boolean
  readonly restartCount: number
  readonly ipAddress?: string
  readonly mounts: ReadonlyArray<{ readonly source: string; readonly target: string }>
}

/**
 * A typed engine event. Events are reasons to look now, never the truth about state.
 *
 * @since 0.1.0
 * @category models
 */
export interface RuntimeEvent {
  readonly kind: "create" | "start" | "stop" | "died" | "kill" | "remove" | "restart" | "oom" | "image-remove" | "other"
  readonly name: string
  readonly id: string
  readonly exitCode?: number
  /** Unix milliseconds. */
  readonly at: number
  readonly raw: string
}

/**
 * One running container's resource use, as one `stats()` call samples it for all.
 *
 * @since 0.1.0
 * @category models
 */
export interface ContainerStats {
  /** The container's id (podman gives the short form). */
  readonly id: string
  readonly name: string
  /** CPU use in percent of one core (may exceed 100 on several cores). */
  readonly cpuPercent: number
  /** Memory in use, in bytes. */
  readonly memoryBytes: number
  /** The engine's memory limit in bytes (the host's memory when none is set); absent when unknown. */
  readonly memoryLimitBytes?: number
}

/**
 * A local image build.
 *
 * @since 0.1.0
 * @category models
 */
export interface BuildRequest {
  readonly tag: string
  /** Absolute path of the build context. */
  readonly context: string
  /** Containerfile path, absolute or relative to the context. */
  readonly containerfile?: string
  readonly args: Readonly<Record<string, string>>
  readonly labels: Readonly<Record<string, string>>
}

/**
 * What the engine can do, detected once.
 *
 * @since 0.1.0
 * @category models
 */
export interface EngineInfo {
  readonly name: string
  readonly version: string
  /** podman >= 4.4 accepts `--add-host name:host-gateway`. */
  readonly supportsHostGateway: boolean
  /** The default bridge's gateway address (what `host.containers.internal` resolves to), when known. */
  readonly hostGateway?: string
}

/**
 * Receives the progress lines of a pull or build, one effect per line, in the order the engine
 * wrote them. The operation returns only after its last line was received, and interrupting
 * the operation stops the lines with it.
 *
 * @example
 * runtime.build(request, (line) => log.append(appId, "info", line))
 *
 * @since 0.1.0
 * @category models
 */
export type Progress = (line: string) => Effect.Effect<void>

type Engine = EngineUnavailable | CommandFailed

/**
 * One place to pull an image from: a fully qualified reference, whether its registry is
 * reached without TLS verification (an insecure mirror or listed registry), and the auth file
 * of a private registry.
 *
 * @since 0.1.0
 * @category models
 */
export interface PullCandidate {
  readonly ref: string
  readonly insecure: boolean
  /** podman's `--authfile` for this pull (a listed registry's `authFile`). */
  readonly authFile?: string
}

/**
 * What to pull: the reference containers are created from, and where to fetch it, in order
 * (computed by `Resolve.candidates`; the runtime tries exactly these).
 *
 * @since 0.1.0
 * @category models
 */
export interface PullRequest {
  readonly ref: string
  readonly candidates: ReadonlyArray<PullCandidate>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly info: Effect.Effect<EngineInfo, Engine>
  /** Every container, in ONE engine call. */
  readonly list: () => Effect.Effect<ReadonlyArray<ContainerSummary>, Engine>
  /** Many containers in one call; unknown names are left out of the result. */
  readonly inspect: (names: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<ContainerDetails>, Engine>
  readonly imageExists: (ref: string) => Effect.Effect<boolean, Engine>
  /**
   * Pulls the first candidate that succeeds, in the order given (no other registry is tried),
   * and tags it as `request.ref`; returns the candidate pulled. Fails with `ImageNotFound`
   * listing every candidate with its reason when none succeeds.
   */
  readonly pull: (request: PullRequest, onProgress?: Progress) => Effect.Effect<PullCandidate, ImageNotFound | Engine>
  readonly build: (request: BuildRequest, onProgress?: Progress) => Effect.Effect<void, Engine>
  readonly removeImage: (ref: string) => Effect.Effect<void, ImageNotFound | Engine>
  /**
   * The content digest of a local image (`sha256:<image id>`), by reference or digest; `None`
   * when no such image is here. Containers can be created from the digest itself.
   *
   * @since 0.1.0
   */
  readonly imageDigest: (ref: string) => Effect.Effect<Option.Option<string>, Engine>
  /**
   * Gives the image `source` (a reference or a digest) the extra name `target`.
   *
   * @since 0.1.0
   */
  readonly tagImage: (source: string, target: string) => Effect.Effect<void, ImageNotFound | Engine>
  /**
   * Removes the name `ref` from its image and nothing else: the image stays (nameless when it
   * was its last name) until pruned, so containers on its digest can still be created.
   *
   * @since 0.1.0
   */
  readonly untagImage: (ref: string) => Effect.Effect<void, ImageNotFound | Engine>
  /** Creates (does not start) a container; returns its id. */
  readonly create: (spec: ContainerSpec) => Effect.Effect<string, ImageNotFound | Engine>
  readonly start: (name: string) => Effect.Effect<void, ContainerNotFound | Engine>
  /** SIGTERM, then SIGKILL after `timeoutSec`; awaits the stop. */
  readonly stop: (name: string, timeoutSec: number) => Effect.Effect<void, ContainerNotFound | Engine>
  /**
   * Stops the container when it runs (SIGTERM, then SIGKILL after `timeoutSec`) and starts it
   * again, in ONE engine call (`podman restart`); a stopped or created container is started.
   * Awaits the start. Since 0.2.0.
   */
  readonly restart: (name: string, timeoutSec: number) => Effect.Effect<void, ContainerNotFound | Engine>
  /** `force` removes a running container (stopping it with its stop timeout) and succeeds when it is already gone. */
  readonly remove: (name: string, options?: { readonly force?: boolean }) => Effect.Effect<void, ContainerNotFound | Engine>
  readonly logs: (name: string, options?: { readonly tail?: number }) => Effect.Effect<string, ContainerNotFound | Engine>
  /**
   * The container's log as lines: the last `tail` (default all), then each new line as it is
   * written, ending when the container stops (at once when it is not running). Interrupting the
   * stream ends the engine process behind it.
   */
  readonly followLogs: (
    name: string,
    options?: { readonly tail?: number }
  ) => Stream.Stream<string, ContainerNotFound | Engine>
  /** The resource use of every running container, in ONE engine call. */
  readonly stats: () => Effect.Effect<ReadonlyArray<ContainerStats>, Engine>
  /**
   * Runs the container's configured health check once and returns its verdict. The engine
   * records the result, so the health `list()` reports follows (after the check's retries).
   * Needed where the engine does not schedule checks itself (podman without systemd).
   * Fails with `CommandFailed` when the container is not running or has no health check.
   */
  readonly healthcheck: (name: string) => Effect.Effect<"healthy" | "unhealthy", ContainerNotFound | Engine>
  /** Engine events; the stream restarts the underlying watcher when it exits. */
  readonly events: () => Stream.Stream<RuntimeEvent, EngineUnavailable>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class ContainerRuntime extends Context.Service<
  ContainerRuntime,
  Service
>()("@archipelago/orchestrator/ContainerRuntime") {}

/**
 * The simulated engine's model: the port's methods as the simulator counts and fails them, its
 * options, the records it keeps for images and containers, and the pure helpers over them
 * (reference normalisation, ids, stop delays, restart policies, what `list` and `inspect` show).
 *
 * @since 0.1.0
 */
import { Duration } from "effect"
import type { Deferred } from "effect"
import type { PortBinding } from "../../domain/AppEntry.js"
import type { ContainerDetails, ContainerState, ContainerSummary, EngineInfo } from "../ContainerRuntime.js"
import type { ContainerSpec } from "../ContainerSpec.js"
import type { CommandFailed, ContainerNotFound, EngineUnavailable, ImageNotFound } from "../RuntimeError.js"

/**
 * The port's methods, as counted and as targets of `failNext` / `setLatency`.
 *
 * @since 0.1.0
 * @category models
 */
export type Method =
  | "info"
  | "list"
  | "inspect"
  | "imageExists"
  | "pull"
  | "build"
  | "removeImage"
  | "imageDigest"
  | "tagImage"
  | "untagImage"
  | "create"
  | "start"
  | "stop"
  | "restart"
  | "remove"
  | "logs"
  | "followLogs"
  | "stats"
  | "healthcheck"
  | "events"

/**
 * Every method name.
 *
 * @since 0.1.0
 * @category constants
 */
export const methods: ReadonlyArray<Method> = [
  "info",
  "list",
  "inspect",
  "imageExists",
  "pull",
  "build",
  "removeImage",
  "imageDigest",
  "tagImage",
  "untagImage",
  "create",
  "start",
  "stop",
  "restart",
  "remove",
  "logs",
  "followLogs",
  "stats",
  "healthcheck",
  "events"
]

/**
 * The errors each method may fail with, so `failNext` injects only what the port allows.
 *
 * @since 0.1.0
 * @category models
 */
export interface MethodErrors {
  readonly info: EngineUnavailable | CommandFailed
  readonly list: EngineUnavailable | CommandFailed
  readonly inspect: EngineUnavailable | CommandFailed
  readonly imageExists: EngineUnavailable | CommandFailed
  readonly build: EngineUnavailable | CommandFailed
  readonly pull: ImageNotFound | EngineUnavailable | CommandFailed
  readonly removeImage: ImageNotFound | EngineUnavailable | CommandFailed
  readonly imageDigest: EngineUnavailable | CommandFailed
  readonly tagImage: ImageNotFound | EngineUnavailable | CommandFailed
  readonly untagImage: ImageNotFound | EngineUnavailable | CommandFailed
  readonly create: ImageNotFound | EngineUnavailable | CommandFailed
  readonly start: ContainerNotFound | EngineUnavailable | CommandFailed
  readonly stop: ContainerNotFound | EngineUnavailable | CommandFailed
  readonly restart: ContainerNotFound | EngineUnavailable | CommandFailed
  readonly remove: ContainerNotFound | EngineUnavailable | CommandFailed
  readonly logs: ContainerNotFound | EngineUnavailable | CommandFailed
  readonly stats: EngineUnavailable | CommandFailed
  readonly healthcheck: ContainerNotFound | EngineUnavailable | CommandFailed
}

/**
 * Methods that return an effect (all but the streams `events` and `followLogs`).
 *
 * @since 0.1.0
 * @category models
 */
export type CallMethod = keyof MethodErrors

/**
 * The base image every simulated engine starts with.
 *
 * @since 0.1.0
 * @category constants
 */
export const baseImage = "localhost/archipelago/base:latest"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Images present at start (default: the base image). */
  readonly images?: ReadonlyArray<string | { readonly ref: string; readonly labels?: Readonly<Record<string, string>> }>
  /**
   * References a pull can fetch (mirror-qualified, e.g. `docker.io/library/nginx:1`), with the
   * image's env and how long its pull takes (default no time).
   */
  readonly registry?: ReadonlyArray<
    string | {
      readonly ref: string
      readonly env?: Readonly<Record<string, string>>
      readonly pullTime?: Duration.Input
    }
  >
  /** Stop delay of containers with no `STOP_DELAY` env and no `setStopDelay` (default 0). */
  readonly defaultStopDelay?: Duration.Input
  /** How long after an unrequested exit a restart policy restarts the container (default 100 ms). */
  readonly restartDelay?: Duration.Input
  /** Whether `inspect` reports `oomKilled: true` after `oom` (default false, like this host's cgroup v1). */
  readonly reportOomKilled?: boolean
  /** What `info` reports. */
  readonly engine?: Partial<EngineInfo>
  /** The memory `stats` reports as the limit of a container without one (default 8 GiB). */
  readonly hostMemoryBytes?: number
}

/**
 * Signals `SimulatedEngine.kill` models.
 *
 * @since 0.1.0
 * @category models
 */
export type Signal = "SIGKILL" | "SIGTERM"

/**
 * The exit signal's number (a killed process exits 128 + it).
 *
 * @since 0.1.0
 * @category constants
 */
export const signalNumber: Readonly<Record<Signal, number>> = { SIGKILL: 9, SIGTERM: 15 }

/**
 * A container as the simulator holds it.
 *
 * @since 0.1.0
 * @category models
 */
export interface SimulatedContainer {
  readonly id: string
  readonly name: string
  readonly spec: ContainerSpec
  readonly state: ContainerState
  readonly exitCode?: number
  readonly restartCount: number
  readonly oomKilled: boolean
}

/**
 * A local image: its name, id, labels and the env its containers start with.
 *
 * @since 0.1.0
 * @category models
 */
export interface Image {
  readonly ref: string
  readonly id: string
  readonly labels: Readonly<Record<string, string>>
  readonly env: Readonly<Record<string, string>>
}

/**
 * One run of a container's process.
 *
 * @since 0.1.0
 * @category models
 */
export interface Run {
  readonly exited: Deferred.Deferred<void>
  stopRequested: boolean
}

/**
 * A container's record, changed in place by the engine's lifecycle steps.
 *
 * @since 0.1.0
 * @category models
 */
export interface Container {
  readonly id: string
  readonly name: string
  readonly spec: ContainerSpec
  readonly image: Image
  readonly createdAt: number
  state: ContainerState
  exitCode?: number
  startedAt?: number
  exitedAt?: number
  pid?: number
  restartCount: number
  oomKilled: boolean
  health?: "healthy" | "unhealthy" | "starting"
  run?: Run
  readonly logs: Array<string>
  /** Bumped on every run and removal, so timers of an old run do nothing. */
  generation: number
}

/**
 * A deterministic hex id of `length` digits (FNV-1a, re-seeded until long enough).
 *
 * @since 0.1.0
 * @category utils
 */
export const hexId = (input: string, length: number): string => {
  let out = ""
  let seed = 0
  while (out.length < length) {
    // unsigned from the start, so an empty input gives hex digits too
    let h = (0x811c9dc5 ^ seed) >>> 0
    for (let i = 0; i < input.length; i++) {
      h ^= input.charCodeAt(i)
      h = Math.imul(h, 0x01000193) >>> 0
    }
    out += h.toString(16).padStart(8, "0")
    seed++
  }
  return out.slice(0, length)
}

/**
 * A reference with its tag: `:latest` added when it has neither a tag nor a digest.
 *
 * @since 0.1.0
 * @category utils
 */
export const normaliseRef = (ref: string): string => {
  const lastSlash = ref.lastIndexOf("/")
  return ref.slice(lastSlash + 1).includes(":") || ref.includes("@") ? ref : `${ref}:latest`
}

/**
 * Parses `STOP_DELAY` (seconds, decimals allowed) from a spec's env.
 *
 * @since 0.1.0
 * @category utils
 */
export const stopDelayFromEnv = (env: Readonly<Record<string, string>>): Duration.Duration | undefined => {
  const raw = env["STOP_DELAY"]
  if (raw === undefined) return undefined
  const n = Number(raw)
  return Number.isFinite(n) && n >= 0 ? Duration.millis(Math.round(n * 1000)) : undefined
}

/**
 * Whether the container's process is up (running, or stopping and not yet exited).
 *
 * @since 0.1.0
 * @category utils
 */
export const isUp = (c: Container): boolean => c.state === "running" || c.state === "stopping"

/**
 * Whether the restart policy restarts a container whose process just exited unasked.
 *
 * @since 0.1.0
 * @category utils
 */
export const shouldRestart = (c: Container): boolean => {
  switch (c.spec.restart) {
    case "always":
    case "unless-stopped":
      return true
    case "on-failure":
      return (c.exitCode ?? 0) !== 0 && (c.spec.restartRetries === undefined || c.restartCount < c.spec.restartRetries)
    case "no":
      return false
  }
}

/**
 * The container as `list` shows it: the image's labels overlaid with the spec's.
 *
 * @since 0.1.0
 * @category utils
 */
export const summary = (c: Container): ContainerSummary => {
  const ports: ReadonlyArray<PortBinding> = c.spec.ports.map((p) => ({ host: p.host, container: p.container, protocol: p.protocol }))
  const exited = c.state === "exited" || c.state === "stopped"
  return {
    id: c.id,
    name: c.name,
    image: c.image.ref,
    imageId: c.image.id,
    state: c.state,
    ...(exited ? { exitCode: c.exitCode ?? 0 } : {}),
    ...(c.startedAt !== undefined ? { startedAt: c.startedAt } : {}),
    ...(c.exitedAt !== undefined ? { exitedAt: c.exitedAt } : {}),
    labels: { ...c.image.labels, ...c.spec.labels },
    ports,
    ...(c.pid !== undefined ? { pid: c.pid } : {}),
    ...(c.health !== undefined ? { health: c.health } : {})
  }
}

/**
 * The container as `inspect` shows it; `index` is its place among the engine's containers,
 * which picks its address while it is up.
 *
 * @since 0.1.0
 * @category utils
 */
export const details = (c: Container, index: number): ContainerDetails => ({
  ...summary(c),
  oomKilled: c.oomKilled,
  restartCount: c.restartCount,
  ...(isUp(c) ? { ipAddress: `10.88.0.${(index % 250) + 2}` } : {}),
  mounts: c.spec.volumes.map((v) => ({ source: v.source, target: v.target }))
})

/**
 * The control interface's view of a container.
 *
 * @since 0.1.0
 * @category utils
 */
export const simulatedContainer = (c: Container): SimulatedContainer => ({
  id: c.id,
  name: c.name,
  spec: c.spec,
  state: c.state,
  ...(c.exitCode !== undefined ? { exitCode: c.exitCode } : {}),
  restartCount: c.restartCount,
  oomKilled: c.oomKilled
})

/**
 * An in-memory container engine behind the `ContainerRuntime` port (the engine of
 * `archipelago serve --engine sim`, and the tests' double): deterministic, driven by
 * Effect's `Clock` (so `TestClock` controls every stop delay and restart), with a
 * `SimulatedEngine` control tag for faults. The runtime contract suite runs against it and
 * against real podman, so what it models is what podman was measured to do:
 *
 * - a graceful stop takes the container's stop delay (`STOP_DELAY` seconds in the spec's env,
 *   or `SimulatedEngine.setStopDelay`) and ends with exit code 0; past the stop timeout the
 *   container is SIGKILLed and exits 137;
 * - a process killed from the host (`kill`, `oom`) or exiting by itself restarts after
 *   `restartDelay` (podman here: ~100 ms, events `died`, `restart`, `start`) when its restart
 *   policy says so; a user stop never restarts it;
 * - an OOM kill looks like kill -9 (exit 137, `oomKilled` false) unless `reportOomKilled`;
 * - container labels are the image's labels overlaid with the spec's, like podman's;
 * - a container's log has `started` and `stopping` lines, like `Fixtures.service`'s process;
 * - `build` reads the Containerfile's `ENV` and `LABEL` lines when it can (so an image's
 *   `STOP_DELAY` counts); it runs nothing and does not check the context, but its `RUN sleep N`
 *   steps take N seconds (a slow build); a registry image's `pullTime` makes a slow pull;
 * - pull and build progress goes to the sink line by line, in order, before they return;
 *   interrupting them stops them (no image, no further line);
 * - `create` refuses a bind mount whose source does not exist on this machine, as podman does;
 *   `start` refuses a host port another running container publishes;
 * - health checks in a spec are not scheduled (podman without systemd does not schedule them
 *   either): a container with one reads `starting` until `healthcheck(name)` runs it, which
 *   reports `healthy` unless `SimulatedEngine.setHealth` said otherwise or the spec's or the
 *   image's env has `SIM_HEALTH=unhealthy` (an image whose check never passes).
 *
 * @since 0.1.0
 */
import { existsSync, readFileSync } from "node:fs"
import { isAbsolute, join } from "node:path"
import { Clock, Context, Deferred, Duration, Effect, FiberSet, Layer, Option, PubSub, Stream } from "effect"
import type { PortBinding } from "../domain/AppEntry.js"
import type {
  BuildRequest,
  ContainerDetails,
  ContainerState,
  ContainerSummary,
  EngineInfo,
  Progress,
  PullRequest,
  RuntimeEvent,
  Service
} from "./ContainerRuntime.js"
import { ContainerRuntime } from "./ContainerRuntime.js"
import type { ContainerSpec } from "./ContainerSpec.js"
import type { RuntimeError } from "./RuntimeError.js"
import { CommandFailed, ContainerNotFound, EngineUnavailable, ImageNotFound } from "./RuntimeError.js"

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
      readonly pullTime?: Duration.DurationInput
    }
  >
  /** Stop delay of containers with no `STOP_DELAY` env and no `setStopDelay` (default 0). */
  readonly defaultStopDelay?: Duration.DurationInput
  /** How long after an unrequested exit a restart policy restarts the container (default 100 ms). */
  readonly restartDelay?: Duration.DurationInput
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
  /** Every port call fails with `EngineUnavailable` until `engineUp`; containers keep running. */
  readonly engineDown: (reason?: string) => Effect.Effect<void>
  readonly engineUp: Effect.Effect<void>
  /** Overrides a container's stop delay (by name, so it may precede the create). */
  readonly setStopDelay: (name: string, delay: Duration.DurationInput) => Effect.Effect<void>
  readonly setHealth: (name: string, health: "healthy" | "unhealthy" | "starting" | undefined) => Effect.Effect<void>
  /** The next call of `method` fails with `error` (queued: several calls queue several failures). */
  readonly failNext: <M extends CallMethod>(method: M, error: MethodErrors[M]) => Effect.Effect<void>
  /** Every call of `method` first sleeps `latency` (a slow engine). */
  readonly setLatency: (method: CallMethod, latency: Duration.DurationInput) => Effect.Effect<void>
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
export class SimulatedEngine extends Context.Tag("@archipelago/orchestrator/SimulatedEngine")<SimulatedEngine, Engine>() {}

interface Image {
  readonly ref: string
  readonly id: string
  readonly labels: Readonly<Record<string, string>>
  readonly env: Readonly<Record<string, string>>
}

const words = (text: string): ReadonlyArray<string> =>
  [...text.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : (m[2] ?? "")))

const pairs = (rest: string): Record<string, string> => {
  const out: Record<string, string> = {}
  const tokens = [...rest.matchAll(/([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)/g)]
  if (tokens.length === 0) {
    const [key, ...value] = words(rest)
    if (key !== undefined) out[key] = value.join(" ")
    return out
  }
  for (const m of tokens) out[m[1]!] = words(m[2] ?? "")[0] ?? ""
  return out
}

/**
 * The `ENV` and `LABEL` instructions of a Containerfile (`KEY=value` pairs, quoted values, the
 * legacy `ENV KEY value` form; line continuations joined).
 *
 * @since 0.1.0
 * @category utils
 */
export const parseContainerfile = (
  text: string
): { readonly env: Readonly<Record<string, string>>; readonly labels: Readonly<Record<string, string>> } => {
  const env: Record<string, string> = {}
  const labels: Record<string, string> = {}
  for (const line of text.replace(/\\\r?\n/g, " ").split(/\r?\n/)) {
    const m = /^\s*(ENV|LABEL)\s+(.*)$/i.exec(line)
    if (m === null) continue
    Object.assign(m[1]!.toUpperCase() === "ENV" ? env : labels, pairs(m[2]!))
  }
  return { env, labels }
}

/**
 * How long a Containerfile's build takes in the simulator: the sum of its `RUN sleep N` steps
 * (seconds, decimals allowed); other steps take no time.
 *
 * @since 0.1.0
 * @category utils
 */
export const buildTime = (text: string): Duration.Duration =>
  Duration.millis(
    text
      .replace(/\\\r?\n/g, " ")
      .split(/\r?\n/)
      .map((line) => /^\s*RUN\s+sleep\s+(\d+(?:\.\d+)?)\s*$/i.exec(line))
      .reduce((sum, m) => sum + (m === null ? 0 : Math.round(Number(m[1]) * 1000)), 0)
  )

const readContainerfile = (request: BuildRequest): string | undefined => {
  const file = request.containerfile ?? "Containerfile"
  try {
    return readFileSync(isAbsolute(file) ? file : join(request.context, file), "utf8")
  } catch {
    return undefined
  }
}

interface Run {
  readonly exited: Deferred.Deferred<void>
  stopRequested: boolean
}

interface Container {
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

const fnvHex = (input: string, length: number): string => {
  let out = ""
  let seed = 0
  while (out.length < length) {
    let h = 0x811c9dc5 ^ seed
    for (let i = 0; i < input.length; i++) {
      h ^= input.charCodeAt(i)
      h = Math.imul(h, 0x01000193) >>> 0
    }
    out += h.toString(16).padStart(8, "0")
    seed++
  }
  return out.slice(0, length)
}

const normaliseRef = (ref: string): string => {
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

const signalNumber: Readonly<Record<Signal, number>> = { SIGKILL: 9, SIGTERM: 15 }

/**
 * Builds a simulated engine: the port and its control interface over the same state.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.fn("SimulatedRuntime.make")(function* (options: Options = {}) {
  const fibers = yield* FiberSet.make()
  const pubsub = yield* PubSub.unbounded<RuntimeEvent>()
  yield* Effect.addFinalizer(() => PubSub.shutdown(pubsub))
  // every log line of every container, and the end of each run, for `followLogs`
  const logFeed = yield* PubSub.unbounded<{ readonly id: string; readonly line: string } | { readonly id: string; readonly end: true }>()
  yield* Effect.addFinalizer(() => PubSub.shutdown(logFeed))
  const usages = new Map<string, { readonly cpuPercent: number; readonly memoryBytes: number }>()
  const hostMemoryBytes = options.hostMemoryBytes ?? 8 * 1024 ** 3

  const restartDelay = Duration.decode(options.restartDelay ?? "100 millis")
  const defaultStopDelay = Duration.decode(options.defaultStopDelay ?? Duration.zero)
  const info: EngineInfo = { name: "simulated", version: "0.1.0", supportsHostGateway: true, hostGateway: "10.88.0.1", ...options.engine }

  const images = new Map<string, Image>()
  const containers = new Map<string, Container>()
  const stopDelays = new Map<string, Duration.Duration>()
  const failures = new Map<CallMethod, Array<RuntimeError>>()
  const latencies = new Map<CallMethod, Duration.Duration>()
  const counts = new Map<Method, number>(methods.map((m) => [m, 0]))
  let down: string | undefined
  let serial = 0
  let pids = 1000

  const addImageSync = (ref: string, labels: Readonly<Record<string, string>> = {}, env: Readonly<Record<string, string>> = {}) => {
    const r = normaliseRef(ref)
    images.set(r, { ref: r, id: fnvHex(`image:${r}:${serial++}`, 64), labels, env })
  }
  // Images that lost their last name (`untagImage`) stay, as podman keeps them until a prune:
  // containers can still be created from their digest.
  const nameless = new Map<string, Image>()
  const byRefOrDigest = (ref: string): Image | undefined => {
    if (ref.startsWith("sha256:")) {
      const id = ref.slice("sha256:".length)
      return [...images.values()].find((i) => i.id === id) ?? [...containers.values()].find((c) => c.image.id === id)?.image ??
        nameless.get(id)
    }
    return images.get(normaliseRef(ref))
  }
  for (const i of options.images ?? [baseImage]) {
    if (typeof i === "string") addImageSync(i)
    else addImageSync(i.ref, i.labels)
  }
  // What the registry serves, with each image's ENV (e.g. `SIM_HEALTH=unhealthy` for a broken release).
  const registry = new Map((options.registry ?? []).map((r) =>
    typeof r === "string"
      ? [normaliseRef(r), { env: {}, pullTime: Duration.zero }] as const
      : [normaliseRef(r.ref), { env: r.env ?? {}, pullTime: Duration.decode(r.pullTime ?? Duration.zero) }] as const
  ))

  const now = Clock.currentTimeMillis
  const appendLog = (c: Container, line: string) =>
    Effect.suspend(() => {
      c.logs.push(line)
      return PubSub.publish(logFeed, { id: c.id, line })
    })
  const publish = (kind: RuntimeEvent["kind"], c: { readonly name: string; readonly id: string }, exitCode?: number) =>
    Effect.flatMap(now, (at) =>
      PubSub.publish(pubsub, {
        kind,
        name: c.name,
        id: c.id,
        ...(exitCode !== undefined ? { exitCode } : {}),
        at,
        raw: JSON.stringify({ Status: kind, Name: c.name, ID: c.id, ...(exitCode !== undefined ? { ContainerExitCode: exitCode } : {}) })
      })
    )

  const enter = <M extends CallMethod, A, E>(method: M, body: Effect.Effect<A, E>): Effect.Effect<A, E | MethodErrors[M]> =>
    Effect.suspend(() => {
      counts.set(method, (counts.get(method) ?? 0) + 1)
      const latency = latencies.get(method)
      const gate = Effect.suspend((): Effect.Effect<A, E | MethodErrors[M]> => {
        if (down !== undefined) return Effect.fail(new EngineUnavailable({ reason: down, hint: "SimulatedEngine.engineUp" }))
        const queued = failures.get(method)
        // failNext's signature admits only MethodErrors[M] for this method.
        const next = queued?.shift() as MethodErrors[M] | undefined
        if (next !== undefined) return Effect.fail(next)
        return body
      })
      return latency === undefined ? gate : Effect.zipRight(Effect.sleep(latency), gate)
    })

  const find = (name: string): Container | undefined =>
    containers.get(name) ?? [...containers.values()].find((c) => c.id === name || (name.length >= 12 && c.id.startsWith(name)))

  const mustFind = (name: string) =>
    Effect.suspend(() => {
      const c = find(name)
      return c === undefined ? Effect.fail(new ContainerNotFound({ name })) : Effect.succeed(c)
    })

  const controlFind = (what: string, name: string) =>
    Effect.suspend(() => {
      const c = find(name)
      return c === undefined ? Effect.dieMessage(`SimulatedEngine.${what}: no container ${name}`) : Effect.succeed(c)
    })

  const stopDelayOf = (c: Container): Duration.Duration =>
    stopDelays.get(c.name) ?? stopDelayFromEnv(c.spec.env) ?? stopDelayFromEnv(c.image.env) ?? defaultStopDelay

  const isUp = (c: Container) => c.state === "running" || c.state === "stopping"

  const shouldRestart = (c: Container): boolean => {
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

  const startRun = (c: Container) =>
    Effect.gen(function* () {
      c.generation++
      c.state = "running"
      c.startedAt = yield* now
      c.pid = pids++
      c.run = { exited: yield* Deferred.make<void>(), stopRequested: false }
      delete c.exitCode
      if (c.spec.healthCheck !== undefined) c.health = "starting"
      yield* appendLog(c, "started")
      yield* publish("start", c)
    })

  /** The process ends; a run nobody asked to stop may be restarted by its policy. */
  const finishRun = (c: Container, exitCode: number): Effect.Effect<void> =>
    Effect.gen(function* () {
      const run = c.run
      if (run === undefined || !isUp(c)) return
      c.state = "exited"
      c.exitCode = exitCode
      c.exitedAt = yield* now
      delete c.pid
      delete c.health
      delete c.run
      c.generation++
      yield* publish("died", c, exitCode)
      yield* PubSub.publish(logFeed, { id: c.id, end: true })
      yield* Deferred.succeed(run.exited, undefined)
      if (!run.stopRequested && shouldRestart(c)) {
        const generation = c.generation
        yield* FiberSet.run(
          fibers,
          Effect.gen(function* () {
            yield* Effect.sleep(restartDelay)
            if (c.generation !== generation || containers.get(c.name) !== c || c.state !== "exited") return
            c.restartCount++
            yield* publish("restart", c)
            yield* startRun(c)
          })
        )
      }
    })

  /** SIGTERM: the process exits 0 after its stop delay, or is SIGKILLed at `timeout`. */
  const terminate = (c: Container, timeout: Duration.Duration | undefined, userStop: boolean) =>
    Effect.gen(function* () {
      const run = c.run
      if (run === undefined) return
      if (userStop) run.stopRequested = true
      if (c.state === "stopping") return
      c.state = "stopping"
      yield* appendLog(c, "stopping")
      if (userStop) yield* publish("stop", c)
      const delay = stopDelayOf(c)
      const graceful = timeout === undefined || Duration.lessThanOrEqualTo(delay, timeout)
      const wait = graceful ? delay : (timeout ?? delay)
      const generation = c.generation
      yield* FiberSet.run(
        fibers,
        Effect.gen(function* () {
          yield* Effect.sleep(wait)
          if (c.generation !== generation) return
          if (!graceful) yield* publish("kill", c)
          yield* finishRun(c, graceful ? 0 : 137)
        })
      )
    })

  const summary = (c: Container): ContainerSummary => {
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

  const details = (c: Container): ContainerDetails => {
    const index = [...containers.values()].indexOf(c)
    return {
      ...summary(c),
      oomKilled: c.oomKilled,
      restartCount: c.restartCount,
      ...(isUp(c) ? { ipAddress: `10.88.0.${(index % 250) + 2}` } : {}),
      mounts: c.spec.volumes.map((v) => ({ source: v.source, target: v.target }))
    }
  }

  const dropContainer = (c: Container) =>
    Effect.gen(function* () {
      if (isUp(c)) {
        if (c.run !== undefined) c.run.stopRequested = true
        yield* finishRun(c, 137)
      }
      c.generation++
      containers.delete(c.name)
      yield* publish("remove", c)
    })

  const stopAndWait = (c: Container, timeout: Duration.Duration) =>
    Effect.gen(function* () {
      const run = c.run
      if (run === undefined || !isUp(c)) return
      yield* terminate(c, timeout, true)
      yield* Deferred.await(run.exited)
    })

  /** Starts a container that is not running: refused while it stops or when a host port is taken. */
  const startStopped = (c: Container, verb: "start" | "restart") =>
    Effect.gen(function* () {
      if (c.state === "stopping") {
        return yield* Effect.fail(
          new CommandFailed({ argv: ["podman", verb, c.name], exitCode: 125, stderr: `Error: container ${c.id} is stopping: container state improper` })
        )
      }
      const taken = c.spec.ports.find((p) =>
        [...containers.values()].some(
          (o) => o !== c && isUp(o) && o.spec.ports.some((q) => q.host === p.host && q.protocol === p.protocol)
        )
      )
      if (taken !== undefined) {
        return yield* Effect.fail(
          new CommandFailed({
            argv: ["podman", verb, c.name],
            exitCode: 125,
            stderr: `Error: unable to start container "${c.id}": cannot listen on the ${taken.protocol.toUpperCase()} port: listen ${taken.protocol}4 :${taken.host}: bind: address already in use`
          })
        )
      }
      c.oomKilled = false
      yield* startRun(c)
    })

  const service: Service = {
    info: enter("info", Effect.succeed(info)),
    list: () => enter("list", Effect.sync(() => [...containers.values()].map(summary))),
    inspect: (names) =>
      enter(
        "inspect",
        Effect.sync(() => names.flatMap((n) => {
          const c = find(n)
          return c === undefined ? [] : [details(c)]
        }))
      ),
    imageExists: (ref) => enter("imageExists", Effect.sync(() => images.has(normaliseRef(ref)))),
    pull: (request: PullRequest, onProgress?: Progress) =>
      enter(
        "pull",
        Effect.gen(function* () {
          const say = (line: string) => (onProgress === undefined ? Effect.void : onProgress(line))
          const tried: Array<string> = []
          for (const candidate of request.candidates) {
            yield* say(`pulling ${candidate.ref}`)
            const served = registry.get(normaliseRef(candidate.ref))
            if (served !== undefined) {
              if (Duration.greaterThan(served.pullTime, Duration.zero)) yield* Effect.sleep(served.pullTime)
              addImageSync(candidate.ref, {}, served.env)
              if (candidate.ref !== request.ref) addImageSync(request.ref, {}, served.env)
              yield* say(`pulled ${candidate.ref}`)
              return candidate
            }
            const why = `${candidate.ref}: simulated registry has no such image`
            tried.push(why)
            yield* say(`failed ${why}`)
          }
          return yield* Effect.fail(new ImageNotFound({ ref: request.ref, tried }))
        })
      ),
    build: (request: BuildRequest, onProgress?: Progress) =>
      enter(
        "build",
        Effect.gen(function* () {
          const say = (line: string) => (onProgress === undefined ? Effect.void : onProgress(line))
          yield* say(`STEP 1/1: simulated build of ${request.tag} from ${request.context}`)
          const text = readContainerfile(request)
          const parsed = text === undefined ? { env: {}, labels: {} } : parseContainerfile(text)
          const time = text === undefined ? Duration.zero : buildTime(text)
          if (Duration.greaterThan(time, Duration.zero)) yield* Effect.sleep(time)
          addImageSync(request.tag, { ...parsed.labels, ...request.labels }, parsed.env)
          yield* say(`Successfully tagged ${normaliseRef(request.tag)}`)
        })
      ),
    removeImage: (ref) =>
      enter(
        "removeImage",
        Effect.suspend((): Effect.Effect<void, ImageNotFound | CommandFailed> => {
          const r = normaliseRef(ref)
          const image = images.get(r)
          if (image === undefined) return Effect.fail(new ImageNotFound({ ref, tried: [`${ref}: image not known`] }))
          const users = [...containers.values()].filter((c) => c.image.id === image.id)
          if (users.length > 0) {
            return Effect.fail(
              new CommandFailed({
                argv: ["podman", "rmi", ref],
                exitCode: 2,
                stderr: `Error: image used by ${users.map((c) => c.id).join(", ")}: image is in use by a container`
              })
            )
          }
          images.delete(r)
          return publish("image-remove", { name: r, id: image.id })
        })
      ),
    imageDigest: (ref) =>
      enter("imageDigest", Effect.sync(() => Option.map(Option.fromNullable(byRefOrDigest(ref)), (i) => `sha256:${i.id}`))),
    tagImage: (source, target) =>
      enter(
        "tagImage",
        Effect.suspend(() => {
          const image = byRefOrDigest(source)
          if (image === undefined) return Effect.fail(new ImageNotFound({ ref: source, tried: [`${source}: image not known`] }))
          images.set(normaliseRef(target), { ...image, ref: normaliseRef(target) })
          nameless.delete(image.id)
          return Effect.void
        })
      ),
    untagImage: (ref) =>
      enter(
        "untagImage",
        Effect.suspend(() => {
          const r = normaliseRef(ref)
          const image = images.get(r)
          if (image === undefined) return Effect.fail(new ImageNotFound({ ref, tried: [`${ref}: image not known`] }))
          images.delete(r)
          if (![...images.values()].some((i) => i.id === image.id)) nameless.set(image.id, image)
          return Effect.void
        })
      ),
    create: (spec) =>
      enter(
        "create",
        Effect.gen(function* () {
          const image = byRefOrDigest(spec.image)
          if (image === undefined) return yield* Effect.fail(new ImageNotFound({ ref: spec.image, tried: [`${spec.image}: image not known`] }))
          const missing = spec.volumes.find((v) => v.source.startsWith("/") && !existsSync(v.source))
          if (missing !== undefined) {
            return yield* Effect.fail(
              new CommandFailed({
                argv: ["podman", "create", "--name", spec.name],
                exitCode: 125,
                stderr: `Error: statfs ${missing.source}: no such file or directory`
              })
            )
          }
          const clash = containers.get(spec.name)
          if (clash !== undefined) {
            return yield* Effect.fail(
              new CommandFailed({
                argv: ["podman", "create", "--name", spec.name],
                exitCode: 125,
                stderr: `Error: creating container storage: the container name "${spec.name}" is already in use by ${clash.id}. You have to remove that container to be able to reuse that name: that name is already in use`
              })
            )
          }
          const c: Container = {
            id: fnvHex(`container:${spec.name}:${serial++}`, 64),
            name: spec.name,
            spec,
            image,
            createdAt: yield* now,
            state: "created",
            restartCount: 0,
            oomKilled: false,
            logs: [],
            generation: 0
          }
          containers.set(spec.name, c)
          yield* publish("create", c)
          return c.id
        })
      ),
    start: (name) =>
      enter(
        "start",
        Effect.gen(function* () {
          const c = yield* mustFind(name)
          if (c.state === "running") return
          yield* startStopped(c, "start")
        })
      ),
    stop: (name, timeoutSec) =>
      enter(
        "stop",
        Effect.gen(function* () {
          const c = yield* mustFind(name)
          yield* stopAndWait(c, Duration.seconds(Math.max(0, timeoutSec)))
        })
      ),
    restart: (name, timeoutSec) =>
      enter(
        "restart",
        Effect.gen(function* () {
          const c = yield* mustFind(name)
          // podman announces the restart first, then stops (when running) and starts
          yield* publish("restart", c)
          yield* stopAndWait(c, Duration.seconds(Math.max(0, timeoutSec)))
          yield* startStopped(c, "restart")
        })
      ),
    remove: (name, removeOptions) =>
      enter(
        "remove",
        Effect.gen(function* () {
          if (removeOptions?.force === true && find(name) === undefined) return
          const c = yield* mustFind(name)
          if (isUp(c)) {
            if (removeOptions?.force !== true) {
              return yield* Effect.fail(
                new CommandFailed({
                  argv: ["podman", "rm", name],
                  exitCode: 2,
                  stderr: `Error: cannot remove container ${c.id} as it is running - running or paused containers cannot be removed without force: container state improper`
                })
              )
            }
            yield* stopAndWait(c, Duration.seconds(c.spec.stopTimeoutSec))
          }
          if (containers.get(c.name) === c) yield* dropContainer(c)
        })
      ),
    logs: (name, logOptions) =>
      enter(
        "logs",
        Effect.map(mustFind(name), (c) => {
          const lines = logOptions?.tail === undefined ? c.logs : c.logs.slice(Math.max(0, c.logs.length - logOptions.tail))
          return lines.map((l) => `${l}\n`).join("")
        })
      ),
    followLogs: (name, logOptions) =>
      Stream.unwrapScoped(
        Effect.gen(function* () {
          counts.set("followLogs", (counts.get("followLogs") ?? 0) + 1)
          if (down !== undefined) return yield* Effect.fail(new EngineUnavailable({ reason: down, hint: "SimulatedEngine.engineUp" }))
          const c = yield* mustFind(name)
          const tailOf = () => (logOptions?.tail === undefined ? [...c.logs] : c.logs.slice(Math.max(0, c.logs.length - logOptions.tail)))
          if (!isUp(c)) return Stream.fromIterable(tailOf())
          // subscribe before reading the tail, so no line falls between the two
          const feed = yield* PubSub.subscribe(logFeed)
          const id = c.id
          return Stream.concat(
            Stream.fromIterable(tailOf()),
            Stream.fromQueue(feed).pipe(
              Stream.filter((m) => m.id === id),
              Stream.takeWhile((m) => !("end" in m)),
              Stream.map((m) => ("line" in m ? m.line : ""))
            )
          )
        })
      ),
    stats: () =>
      enter(
        "stats",
        Effect.sync(() =>
          [...containers.values()].filter(isUp).map((c) => {
            const usage = usages.get(c.name)
            const limit = c.spec.memoryBytes !== undefined && c.spec.memoryBytes > 0 ? c.spec.memoryBytes : hostMemoryBytes
            return {
              id: c.id.slice(0, 12),
              name: c.name,
              cpuPercent: usage?.cpuPercent ?? 0,
              memoryBytes: usage?.memoryBytes ?? 0,
              memoryLimitBytes: limit
            }
          })
        )
      ),
    healthcheck: (name) =>
      enter(
        "healthcheck",
        Effect.flatMap(mustFind(name), (c) => {
          if (c.spec.healthCheck === undefined) {
            return Effect.fail(
              new CommandFailed({
                argv: ["podman", "healthcheck", "run", name],
                exitCode: 125,
                stderr: `Error: container ${c.id} has no defined healthcheck`
              })
            )
          }
          if (c.state !== "running") {
            return Effect.fail(
              new CommandFailed({
                argv: ["podman", "healthcheck", "run", name],
                exitCode: 125,
                stderr: `Error: container ${c.id} is not running`
              })
            )
          }
          const forced = c.spec.env["SIM_HEALTH"] ?? c.image.env["SIM_HEALTH"]
          const verdict = c.health === "unhealthy" || forced === "unhealthy" ? "unhealthy" as const : "healthy" as const
          c.health = verdict
          return Effect.succeed(verdict)
        })
      ),
    events: () =>
      Stream.unwrapScoped(
        Effect.suspend(() => {
          counts.set("events", (counts.get("events") ?? 0) + 1)
          return Effect.map(PubSub.subscribe(pubsub), (queue) => Stream.fromQueue(queue))
        })
      )
  }

  const engine: Engine = {
    kill: (name, signal = "SIGKILL") =>
      Effect.gen(function* () {
        const c = yield* controlFind("kill", name)
        if (!isUp(c)) return yield* Effect.dieMessage(`SimulatedEngine.kill: ${name} is ${c.state}, not running`)
        if (signal === "SIGTERM") return yield* terminate(c, undefined, false)
        yield* publish("kill", c)
        yield* finishRun(c, 128 + signalNumber[signal])
      }),
    oom: (name) =>
      Effect.gen(function* () {
        const c = yield* controlFind("oom", name)
        if (!isUp(c)) return yield* Effect.dieMessage(`SimulatedEngine.oom: ${name} is ${c.state}, not running`)
        c.oomKilled = options.reportOomKilled === true
        if (c.oomKilled) yield* publish("oom", c)
        yield* finishRun(c, 137)
      }),
    exit: (name, code) =>
      Effect.gen(function* () {
        const c = yield* controlFind("exit", name)
        if (!isUp(c)) return yield* Effect.dieMessage(`SimulatedEngine.exit: ${name} is ${c.state}, not running`)
        yield* finishRun(c, code)
      }),
    removeContainer: (name) => Effect.flatMap(controlFind("removeContainer", name), dropContainer),
    removeImage: (ref, removeOptions) =>
      Effect.gen(function* () {
        const r = normaliseRef(ref)
        const image = images.get(r)
        if (image === undefined) return yield* Effect.dieMessage(`SimulatedEngine.removeImage: no image ${ref}`)
        const users = [...containers.values()].filter((c) => c.image.id === image.id)
        if (users.length > 0 && removeOptions?.force !== true) {
          return yield* Effect.dieMessage(`SimulatedEngine.removeImage: ${ref} is used by ${users.map((c) => c.name).join(", ")}; pass { force: true }`)
        }
        for (const c of users) yield* dropContainer(c)
        images.delete(r)
        yield* publish("image-remove", { name: r, id: image.id })
      }),
    addImage: (ref, labels) => Effect.sync(() => addImageSync(ref, labels)),
    engineDown: (reason = "simulated engine is down") =>
      Effect.sync(() => {
        down = reason
      }),
    engineUp: Effect.sync(() => {
      down = undefined
    }),
    setStopDelay: (name, delay) => Effect.sync(() => void stopDelays.set(name, Duration.decode(delay))),
    setHealth: (name, health) =>
      Effect.map(controlFind("setHealth", name), (c) => {
        if (health === undefined) delete c.health
        else c.health = health
      }),
    failNext: (method, error) =>
      Effect.sync(() => {
        const q = failures.get(method) ?? []
        q.push(error)
        failures.set(method, q)
      }),
    setLatency: (method, latency) => Effect.sync(() => void latencies.set(method, Duration.decode(latency))),
    calls: Effect.sync(() => Object.fromEntries(methods.map((m) => [m, counts.get(m) ?? 0])) as Record<Method, number>),
    resetCalls: Effect.sync(() => {
      for (const m of methods) counts.set(m, 0)
    }),
    log: (name, line) => Effect.flatMap(controlFind("log", name), (c) => appendLog(c, line)),
    setUsage: (name, usage) => Effect.sync(() => void usages.set(name, usage)),
    containers: Effect.sync(() =>
      [...containers.values()].map((c) => ({
        id: c.id,
        name: c.name,
        spec: c.spec,
        state: c.state,
        ...(c.exitCode !== undefined ? { exitCode: c.exitCode } : {}),
        restartCount: c.restartCount,
        oomKilled: c.oomKilled
      }))
    ),
    images: Effect.sync(() => [...images.keys()])
  }

  return { runtime: service, engine }
})

/**
 * The simulated engine as a layer: provides `ContainerRuntime` and its `SimulatedEngine`
 * control tag over the same state.
 *
 * @example
 * const test = Effect.gen(function* () {
 *   const rt = yield* ContainerRuntime
 *   const engine = yield* SimulatedEngine
 *   yield* engine.failNext("list", new EngineUnavailable({ reason: "boom", hint: "" }))
 * }).pipe(Effect.provide(SimulatedRuntime.layer()))
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<ContainerRuntime | SimulatedEngine> =>
  Layer.scopedContext(
    Effect.map(make(options), ({ engine, runtime }) =>
      Context.make(ContainerRuntime, runtime).pipe(Context.add(SimulatedEngine, engine))
    )
  )

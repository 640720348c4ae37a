/**
 * The simulated engine's state as one explicit record, and the steps that change it: images
 * added, events published, log lines appended, and a container's lifecycle (`startRun`,
 * `finishRun`, `terminate`, `stopAndWait`, `startStopped`, `dropContainer`). Each step is a
 * function of the state it works on; `SimulatedRuntime` holds one state and serves the port
 * and the control interface over it.
 *
 * @since 0.1.0
 */
import { Clock, Deferred, Duration, Effect, FiberSet, PubSub } from "effect"
import type { Scope } from "effect"
import type { EngineInfo, RuntimeEvent } from "../ContainerRuntime.js"
import type { RuntimeError } from "../RuntimeError.js"
import { CommandFailed, ContainerNotFound, EngineUnavailable } from "../RuntimeError.js"
import type { CallMethod, Container, Image, Method, MethodErrors, Options } from "./Model.js"
import { baseImage, hexId, isUp, methods, normaliseRef, shouldRestart, stopDelayFromEnv } from "./Model.js"

/**
 * A line of a container's log, or the end of its run, as `followLogs` reads them.
 *
 * @since 0.1.0
 * @category models
 */
export type LogFeedItem = { readonly id: string; readonly line: string } | { readonly id: string; readonly end: true }

/**
 * An image the simulated registry serves: its env and how long its pull takes.
 *
 * @since 0.1.0
 * @category models
 */
export interface RegistryImage {
  readonly env: Readonly<Record<string, string>>
  readonly pullTime: Duration.Duration
}

/**
 * Everything the simulated engine knows. The maps and counters change in place; only the
 * steps below and the port's methods change them.
 *
 * @since 0.1.0
 * @category models
 */
export interface State {
  readonly info: EngineInfo
  readonly restartDelay: Duration.Duration
  readonly defaultStopDelay: Duration.Duration
  readonly reportOomKilled: boolean
  readonly hostMemoryBytes: number
  /** Timers of stops and restarts, interrupted with the engine. */
  readonly fibers: FiberSet.FiberSet
  readonly events: PubSub.PubSub<RuntimeEvent>
  /** Every log line of every container, and the end of each run, for `followLogs`. */
  readonly logFeed: PubSub.PubSub<LogFeedItem>
  readonly images: Map<string, Image>
  /**
   * Images that lost their last name (`untagImage`) stay, as podman keeps them until a prune:
   * containers can still be created from their digest.
   */
  readonly nameless: Map<string, Image>
  readonly registry: ReadonlyMap<string, RegistryImage>
  readonly containers: Map<string, Container>
  readonly stopDelays: Map<string, Duration.Duration>
  /** Host ports another program listens on (`SimulatedEngine.holdHostPort`), as `tcp/9735`. */
  readonly heldPorts: Set<string>
  readonly usages: Map<string, { readonly cpuPercent: number; readonly memoryBytes: number }>
  readonly failures: Map<CallMethod, Array<RuntimeError>>
  readonly latencies: Map<CallMethod, Duration.Duration>
  readonly counts: Map<Method, number>
  /** Why the engine is down (`engineDown`), or undefined when it is up. */
  down: string | undefined
  serial: number
  pids: number
}

/**
 * A fresh state from the options: the initial images present, the registry's images, no
 * containers; its event and log feeds shut down and its timers end with the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<State, never, Scope.Scope> =>
  Effect.gen(function* () {
    const fibers = yield* FiberSet.make()
    const events = yield* PubSub.unbounded<RuntimeEvent>()
    yield* Effect.addFinalizer(() => PubSub.shutdown(events))
    const logFeed = yield* PubSub.unbounded<LogFeedItem>()
    yield* Effect.addFinalizer(() => PubSub.shutdown(logFeed))
    const state: State = {
      info: { name: "simulated", version: "0.1.0", supportsHostGateway: true, hostGateway: "10.88.0.1", ...options.engine },
      restartDelay: Duration.fromInputUnsafe(options.restartDelay ?? "100 millis"),
      defaultStopDelay: Duration.fromInputUnsafe(options.defaultStopDelay ?? Duration.zero),
      reportOomKilled: options.reportOomKilled === true,
      hostMemoryBytes: options.hostMemoryBytes ?? 8 * 1024 ** 3,
      fibers,
      events,
      logFeed,
      images: new Map(),
      nameless: new Map(),
      // What the registry serves, with each image's ENV (e.g. `SIM_HEALTH=unhealthy` for a broken release).
      registry: new Map((options.registry ?? []).map((r) =>
        typeof r === "string"
          ? [normaliseRef(r), { env: {}, pullTime: Duration.zero }] as const
          : [normaliseRef(r.ref), { env: r.env ?? {}, pullTime: Duration.fromInputUnsafe(r.pullTime ?? Duration.zero) }] as const
      )),
      containers: new Map(),
      stopDelays: new Map(),
      heldPorts: new Set(),
      usages: new Map(),
      failures: new Map(),
      latencies: new Map(),
      counts: new Map(methods.map((m) => [m, 0])),
      down: undefined,
      serial: 0,
      pids: 1000
    }
    for (const i of options.images ?? [baseImage]) {
      if (typeof i === "string") addImage(state, i)
      else addImage(state, i.ref, i.labels)
    }
    return state
  })

/**
 * Adds (or replaces) the local image `ref` with a new id.
 *
 * @since 0.1.0
 * @category combinators
 */
export const addImage = (
  state: State,
  ref: string,
  labels: Readonly<Record<string, string>> = {},
  env: Readonly<Record<string, string>> = {}
): void => {
  const r = normaliseRef(ref)
  state.images.set(r, { ref: r, id: hexId(`image:${r}:${state.serial++}`, 64), labels, env })
}

/**
 * The image a reference names, or a `sha256:` digest identifies (named, used by a container,
 * or nameless).
 *
 * @since 0.1.0
 * @category getters
 */
export const byRefOrDigest = (state: State, ref: string): Image | undefined => {
  if (ref.startsWith("sha256:")) {
    const id = ref.slice("sha256:".length)
    return [...state.images.values()].find((i) => i.id === id) ??
      [...state.containers.values()].find((c) => c.image.id === id)?.image ??
      state.nameless.get(id)
  }
  return state.images.get(normaliseRef(ref))
}

/**
 * A container by name, full id, or an id prefix of at least 12 digits.
 *
 * @since 0.1.0
 * @category getters
 */
export const find = (state: State, name: string): Container | undefined =>
  state.containers.get(name) ??
    [...state.containers.values()].find((c) => c.id === name || (name.length >= 12 && c.id.startsWith(name)))

/**
 * @since 0.1.0
 * @category getters
 */
export const mustFind = (state: State, name: string): Effect.Effect<Container, ContainerNotFound> =>
  Effect.suspend(() => {
    const c = find(state, name)
    return c === undefined ? Effect.fail(new ContainerNotFound({ name })) : Effect.succeed(c)
  })

/**
 * A container for a control operation: an unknown name is a bug in the test, so it dies.
 *
 * @since 0.1.0
 * @category getters
 */
export const controlFind = (state: State, what: string, name: string): Effect.Effect<Container> =>
  Effect.suspend(() => {
    const c = find(state, name)
    return c === undefined ? Effect.die(new Error(`SimulatedEngine.${what}: no container ${name}`)) : Effect.succeed(c)
  })

/**
 * Counts a call of `method`, waits its latency, and fails it while the engine is down or with
 * the next queued failure; otherwise runs `body`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const enter = <M extends CallMethod, A, E>(state: State, method: M, body: Effect.Effect<A, E>): Effect.Effect<A, E | MethodErrors[M]> =>
  Effect.suspend(() => {
    state.counts.set(method, (state.counts.get(method) ?? 0) + 1)
    const latency = state.latencies.get(method)
    const gate = Effect.suspend((): Effect.Effect<A, E | MethodErrors[M]> => {
      if (state.down !== undefined) return Effect.fail(new EngineUnavailable({ reason: state.down, hint: "SimulatedEngine.engineUp" }))
      const queued = state.failures.get(method)
      // failNext's signature admits only MethodErrors[M] for this method.
      const next = queued?.shift() as MethodErrors[M] | undefined
      if (next !== undefined) return Effect.fail(next)
      return body
    })
    return latency === undefined ? gate : Effect.andThen(Effect.sleep(latency), gate)
  })

const now = Clock.currentTimeMillis

/**
 * Appends a line to the container's log; followers see it at once.
 *
 * @since 0.1.0
 * @category combinators
 */
export const appendLog = (state: State, c: Container, line: string): Effect.Effect<void> =>
  Effect.suspend(() => {
    c.logs.push(line)
    return PubSub.publish(state.logFeed, { id: c.id, line })
  })

/**
 * Publishes an engine event, with podman's JSON as its raw text.
 *
 * @since 0.1.0
 * @category combinators
 */
export const publish = (
  state: State,
  kind: RuntimeEvent["kind"],
  c: { readonly name: string; readonly id: string },
  exitCode?: number
): Effect.Effect<void> =>
  Effect.flatMap(now, (at) =>
    PubSub.publish(state.events, {
      kind,
      name: c.name,
      id: c.id,
      ...(exitCode !== undefined ? { exitCode } : {}),
      at,
      raw: JSON.stringify({ Status: kind, Name: c.name, ID: c.id, ...(exitCode !== undefined ? { ContainerExitCode: exitCode } : {}) })
    })
  )

/**
 * The container's stop delay: `setStopDelay`, else the spec's `STOP_DELAY`, else the image's,
 * else the engine's default.
 *
 * @since 0.1.0
 * @category getters
 */
export const stopDelayOf = (state: State, c: Container): Duration.Duration =>
  state.stopDelays.get(c.name) ?? stopDelayFromEnv(c.spec.env) ?? stopDelayFromEnv(c.image.env) ?? state.defaultStopDelay

/**
 * The container's process starts: a new run, pid and start time.
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const startRun = (state: State, c: Container): Effect.Effect<void> =>
  Effect.gen(function* () {
    c.generation++
    c.state = "running"
    c.startedAt = yield* now
    c.pid = state.pids++
    c.run = { exited: yield* Deferred.make<void>(), stopRequested: false }
    delete c.exitCode
    if (c.spec.healthCheck !== undefined) c.health = "starting"
    yield* appendLog(state, c, "started")
    yield* publish(state, "start", c)
  })

/**
 * The process ends with `exitCode`; a run nobody asked to stop may be restarted by its policy.
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const finishRun = (state: State, c: Container, exitCode: number): Effect.Effect<void> =>
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
    yield* publish(state, "died", c, exitCode)
    yield* PubSub.publish(state.logFeed, { id: c.id, end: true })
    yield* Deferred.succeed(run.exited, undefined)
    if (!run.stopRequested && shouldRestart(c)) {
      const generation = c.generation
      yield* FiberSet.run(
        state.fibers,
        Effect.gen(function* () {
          yield* Effect.sleep(state.restartDelay)
          if (c.generation !== generation || state.containers.get(c.name) !== c || c.state !== "exited") return
          c.restartCount++
          yield* publish(state, "restart", c)
          yield* startRun(state, c)
        })
      )
    }
  })

/**
 * SIGTERM: the process exits 0 after its stop delay, or is SIGKILLed at `timeout`.
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const terminate = (state: State, c: Container, timeout: Duration.Duration | undefined, userStop: boolean): Effect.Effect<void> =>
  Effect.gen(function* () {
    const run = c.run
    if (run === undefined) return
    if (userStop) run.stopRequested = true
    if (c.state === "stopping") return
    c.state = "stopping"
    yield* appendLog(state, c, "stopping")
    if (userStop) yield* publish(state, "stop", c)
    const delay = stopDelayOf(state, c)
    const graceful = timeout === undefined || Duration.isLessThanOrEqualTo(delay, timeout)
    const wait = graceful ? delay : (timeout ?? delay)
    const generation = c.generation
    yield* FiberSet.run(
      state.fibers,
      Effect.gen(function* () {
        yield* Effect.sleep(wait)
        if (c.generation !== generation) return
        if (!graceful) yield* publish(state, "kill", c)
        yield* finishRun(state, c, graceful ? 0 : 137)
      })
    )
  })

/**
 * The container is removed (its process killed first when up).
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const dropContainer = (state: State, c: Container): Effect.Effect<void> =>
  Effect.gen(function* () {
    if (isUp(c)) {
      if (c.run !== undefined) c.run.stopRequested = true
      yield* finishRun(state, c, 137)
    }
    c.generation++
    state.containers.delete(c.name)
    yield* publish(state, "remove", c)
  })

/**
 * A user stop: SIGTERM, SIGKILL at `timeout`; returns when the process has exited.
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const stopAndWait = (state: State, c: Container, timeout: Duration.Duration): Effect.Effect<void> =>
  Effect.gen(function* () {
    const run = c.run
    if (run === undefined || !isUp(c)) return
    yield* terminate(state, c, timeout, true)
    yield* Deferred.await(run.exited)
  })

/**
 * Starts a container that is not running: refused while it stops or when a host port is taken
 * (by another running container, or by another program), as podman refuses it: exit 125, the
 * container left `created`.
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const startStopped = (state: State, c: Container, verb: "start" | "restart"): Effect.Effect<void, CommandFailed> =>
  Effect.gen(function* () {
    if (c.state === "stopping") {
      return yield* Effect.fail(
        new CommandFailed({ argv: ["podman", verb, c.name], exitCode: 125, stderr: `Error: container ${c.id} is stopping: container state improper` })
      )
    }
    const taken = c.spec.ports.find((p) =>
      state.heldPorts.has(`${p.protocol}/${p.host}`) ||
      [...state.containers.values()].some(
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
    yield* startRun(state, c)
  })

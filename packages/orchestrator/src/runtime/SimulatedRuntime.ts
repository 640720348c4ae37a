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
 *   `start` refuses a host port another running container publishes or another program
 *   listens on (`SimulatedEngine.holdHostPort`), with podman's words, leaving it `created`;
 * - health checks in a spec are not scheduled (podman without systemd does not schedule them
 *   either): a container with one reads `starting` until `healthcheck(name)` runs it, which
 *   reports `healthy` unless `SimulatedEngine.setHealth` said otherwise or the spec's or the
 *   image's env has `SIM_HEALTH=unhealthy` (an image whose check never passes).
 *
 * The pieces: `simulator/Model.ts` (the types and pure helpers), `simulator/Containerfile.ts`
 * (what a build reads), `simulator/State.ts` (the state record and the container lifecycle
 * steps over it), `SimulatedEngine.ts` (the control tag); this module serves the port's methods
 * and the control interface over one state.
 *
 * @since 0.1.0
 */
import { isAbsolute, join } from "node:path"
import { Clock, Context, Duration, Effect, Layer, Option, PubSub, Stream } from "effect"
import { existsSync, readFileSync } from "../fs/internal/Files.js"
import type { BuildRequest, Progress, PullRequest, Service } from "./ContainerRuntime.js"
import { ContainerRuntime } from "./ContainerRuntime.js"
import { CommandFailed, EngineUnavailable, ImageNotFound } from "./RuntimeError.js"
import type { Engine } from "./SimulatedEngine.js"
import { SimulatedEngine } from "./SimulatedEngine.js"
import { buildTime, parseContainerfile } from "./simulator/Containerfile.js"
import type { Container, Method, Options } from "./simulator/Model.js"
import * as Model from "./simulator/Model.js"
import * as State from "./simulator/State.js"

export { SimulatedEngine } from "./SimulatedEngine.js"
export type { Engine } from "./SimulatedEngine.js"
export { buildTime, parseContainerfile } from "./simulator/Containerfile.js"
export { baseImage, methods, stopDelayFromEnv } from "./simulator/Model.js"
export type { CallMethod, Method, MethodErrors, Options, Signal, SimulatedContainer } from "./simulator/Model.js"

const readContainerfile = (request: BuildRequest): string | undefined => {
  const file = request.containerfile ?? "Containerfile"
  try {
    return readFileSync(isAbsolute(file) ? file : join(request.context, file), "utf8")
  } catch {
    return undefined
  }
}

/**
 * Builds a simulated engine: the port and its control interface over the same state.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.fn("SimulatedRuntime.make")(function* (options: Options = {}) {
  const state = yield* State.make(options)

  const service: Service = {
    info: State.enter(state, "info", Effect.succeed(state.info)),
    list: () => State.enter(state, "list", Effect.sync(() => [...state.containers.values()].map(Model.summary))),
    inspect: (names) =>
      State.enter(
        state,
        "inspect",
        Effect.sync(() => names.flatMap((n) => {
          const c = State.find(state, n)
          return c === undefined ? [] : [Model.details(c, [...state.containers.values()].indexOf(c))]
        }))
      ),
    imageExists: (ref) => State.enter(state, "imageExists", Effect.sync(() => state.images.has(Model.normaliseRef(ref)))),
    pull: (request: PullRequest, onProgress?: Progress) =>
      State.enter(
        state,
        "pull",
        Effect.gen(function* () {
          const say = (line: string) => (onProgress === undefined ? Effect.void : onProgress(line))
          const tried: Array<string> = []
          for (const candidate of request.candidates) {
            yield* say(`pulling ${candidate.ref}`)
            const served = state.registry.get(Model.normaliseRef(candidate.ref))
            if (served !== undefined) {
              if (Duration.isGreaterThan(served.pullTime, Duration.zero)) yield* Effect.sleep(served.pullTime)
              State.addImage(state, candidate.ref, {}, served.env)
              if (candidate.ref !== request.ref) State.addImage(state, request.ref, {}, served.env)
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
      State.enter(
        state,
        "build",
        Effect.gen(function* () {
          const say = (line: string) => (onProgress === undefined ? Effect.void : onProgress(line))
          yield* say(`STEP 1/1: simulated build of ${request.tag} from ${request.context}`)
          const text = readContainerfile(request)
          const parsed = text === undefined ? { env: {}, labels: {} } : parseContainerfile(text)
          const time = text === undefined ? Duration.zero : buildTime(text)
          if (Duration.isGreaterThan(time, Duration.zero)) yield* Effect.sleep(time)
          State.addImage(state, request.tag, { ...parsed.labels, ...request.labels }, parsed.env)
          yield* say(`Successfully tagged ${Model.normaliseRef(request.tag)}`)
        })
      ),
    removeImage: (ref) =>
      State.enter(
        state,
        "removeImage",
        Effect.suspend((): Effect.Effect<void, ImageNotFound | CommandFailed> => {
          const r = Model.normaliseRef(ref)
          const image = state.images.get(r)
          if (image === undefined) return Effect.fail(new ImageNotFound({ ref, tried: [`${ref}: image not known`] }))
          const users = [...state.containers.values()].filter((c) => c.image.id === image.id)
          if (users.length > 0) {
            return Effect.fail(
              new CommandFailed({
                argv: ["podman", "rmi", ref],
                exitCode: 2,
                stderr: `Error: image used by ${users.map((c) => c.id).join(", ")}: image is in use by a container`
              })
            )
          }
          state.images.delete(r)
          return State.publish(state, "image-remove", { name: r, id: image.id })
        })
      ),
    imageDigest: (ref) =>
      State.enter(state, "imageDigest", Effect.sync(() => Option.map(Option.fromNullishOr(State.byRefOrDigest(state, ref)), (i) => `sha256:${i.id}`))),
    tagImage: (source, target) =>
      State.enter(
        state,
        "tagImage",
        Effect.suspend(() => {
          const image = State.byRefOrDigest(state, source)
          if (image === undefined) return Effect.fail(new ImageNotFound({ ref: source, tried: [`${source}: image not known`] }))
          state.images.set(Model.normaliseRef(target), { ...image, ref: Model.normaliseRef(target) })
          state.nameless.delete(image.id)
          return Effect.void
        })
      ),
    untagImage: (ref) =>
      State.enter(
        state,
        "untagImage",
        Effect.suspend(() => {
          const r = Model.normaliseRef(ref)
          const image = state.images.get(r)
          if (image === undefined) return Effect.fail(new ImageNotFound({ ref, tried: [`${ref}: image not known`] }))
          state.images.delete(r)
          if (![...state.images.values()].some((i) => i.id === image.id)) state.nameless.set(image.id, image)
          return Effect.void
        })
      ),
    create: (spec) =>
      State.enter(
        state,
        "create",
        Effect.gen(function* () {
          const image = State.byRefOrDigest(state, spec.image)
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
          const clash = state.containers.get(spec.name)
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
            id: Model.hexId(`container:${spec.name}:${state.serial++}`, 64),
            name: spec.name,
            spec,
            image,
            createdAt: yield* Clock.currentTimeMillis,
            state: "created",
            restartCount: 0,
            oomKilled: false,
            logs: [],
            generation: 0
          }
          state.containers.set(spec.name, c)
          yield* State.publish(state, "create", c)
          return c.id
        })
      ),
    start: (name) =>
      State.enter(
        state,
        "start",
        Effect.gen(function* () {
          const c = yield* State.mustFind(state, name)
          if (c.state === "running") return
          yield* State.startStopped(state, c, "start")
        })
      ),
    stop: (name, timeoutSec) =>
      State.enter(
        state,
        "stop",
        Effect.gen(function* () {
          const c = yield* State.mustFind(state, name)
          yield* State.stopAndWait(state, c, Duration.seconds(Math.max(0, timeoutSec)))
        })
      ),
    restart: (name, timeoutSec) =>
      State.enter(
        state,
        "restart",
        Effect.gen(function* () {
          const c = yield* State.mustFind(state, name)
          // podman announces the restart first, then stops (when running) and starts
          yield* State.publish(state, "restart", c)
          yield* State.stopAndWait(state, c, Duration.seconds(Math.max(0, timeoutSec)))
          yield* State.startStopped(state, c, "restart")
        })
      ),
    remove: (name, removeOptions) =>
      State.enter(
        state,
        "remove",
        Effect.gen(function* () {
          if (removeOptions?.force === true && State.find(state, name) === undefined) return
          const c = yield* State.mustFind(state, name)
          if (Model.isUp(c)) {
            if (removeOptions?.force !== true) {
              return yield* Effect.fail(
                new CommandFailed({
                  argv: ["podman", "rm", name],
                  exitCode: 2,
                  stderr: `Error: cannot remove container ${c.id} as it is running - running or paused containers cannot be removed without force: container state improper`
                })
              )
            }
            yield* State.stopAndWait(state, c, Duration.seconds(c.spec.stopTimeoutSec))
          }
          if (state.containers.get(c.name) === c) yield* State.dropContainer(state, c)
        })
      ),
    logs: (name, logOptions) =>
      State.enter(
        state,
        "logs",
        Effect.map(State.mustFind(state, name), (c) => {
          const lines = logOptions?.tail === undefined ? c.logs : c.logs.slice(Math.max(0, c.logs.length - logOptions.tail))
          return lines.map((l) => `${l}\n`).join("")
        })
      ),
    followLogs: (name, logOptions) =>
      Stream.unwrap(
        Effect.gen(function* () {
          state.counts.set("followLogs", (state.counts.get("followLogs") ?? 0) + 1)
          if (state.down !== undefined) return yield* Effect.fail(new EngineUnavailable({ reason: state.down, hint: "SimulatedEngine.engineUp" }))
          const c = yield* State.mustFind(state, name)
          const tailOf = () => (logOptions?.tail === undefined ? [...c.logs] : c.logs.slice(Math.max(0, c.logs.length - logOptions.tail)))
          if (!Model.isUp(c)) return Stream.fromIterable(tailOf())
          // subscribe before reading the tail, so no line falls between the two
          const feed = yield* PubSub.subscribe(state.logFeed)
          const id = c.id
          return Stream.concat(
            Stream.fromIterable(tailOf()),
            Stream.fromSubscription(feed).pipe(
              Stream.filter((m) => m.id === id),
              Stream.takeWhile((m) => !("end" in m)),
              Stream.map((m) => ("line" in m ? m.line : ""))
            )
          )
        })
      ),
    stats: () =>
      State.enter(
        state,
        "stats",
        Effect.sync(() =>
          [...state.containers.values()].filter(Model.isUp).map((c) => {
            const usage = state.usages.get(c.name)
            const limit = c.spec.memoryBytes !== undefined && c.spec.memoryBytes > 0 ? c.spec.memoryBytes : state.hostMemoryBytes
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
      State.enter(
        state,
        "healthcheck",
        Effect.flatMap(State.mustFind(state, name), (c) => {
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
      Stream.unwrap(
        Effect.suspend(() => {
          state.counts.set("events", (state.counts.get("events") ?? 0) + 1)
          return Effect.map(PubSub.subscribe(state.events), (subscription) => Stream.fromSubscription(subscription))
        })
      )
  }

  const engine: Engine = {
    kill: (name, signal = "SIGKILL") =>
      Effect.gen(function* () {
        const c = yield* State.controlFind(state, "kill", name)
        if (!Model.isUp(c)) return yield* Effect.die(new Error(`SimulatedEngine.kill: ${name} is ${c.state}, not running`))
        if (signal === "SIGTERM") return yield* State.terminate(state, c, undefined, false)
        yield* State.publish(state, "kill", c)
        yield* State.finishRun(state, c, 128 + Model.signalNumber[signal])
      }),
    oom: (name) =>
      Effect.gen(function* () {
        const c = yield* State.controlFind(state, "oom", name)
        if (!Model.isUp(c)) return yield* Effect.die(new Error(`SimulatedEngine.oom: ${name} is ${c.state}, not running`))
        c.oomKilled = state.reportOomKilled
        if (c.oomKilled) yield* State.publish(state, "oom", c)
        yield* State.finishRun(state, c, 137)
      }),
    exit: (name, code) =>
      Effect.gen(function* () {
        const c = yield* State.controlFind(state, "exit", name)
        if (!Model.isUp(c)) return yield* Effect.die(new Error(`SimulatedEngine.exit: ${name} is ${c.state}, not running`))
        yield* State.finishRun(state, c, code)
      }),
    removeContainer: (name) => Effect.flatMap(State.controlFind(state, "removeContainer", name), (c) => State.dropContainer(state, c)),
    removeImage: (ref, removeOptions) =>
      Effect.gen(function* () {
        const r = Model.normaliseRef(ref)
        const image = state.images.get(r)
        if (image === undefined) return yield* Effect.die(new Error(`SimulatedEngine.removeImage: no image ${ref}`))
        const users = [...state.containers.values()].filter((c) => c.image.id === image.id)
        if (users.length > 0 && removeOptions?.force !== true) {
          return yield* Effect.die(new Error(`SimulatedEngine.removeImage: ${ref} is used by ${users.map((c) => c.name).join(", ")}; pass { force: true }`))
        }
        for (const c of users) yield* State.dropContainer(state, c)
        state.images.delete(r)
        yield* State.publish(state, "image-remove", { name: r, id: image.id })
      }),
    addImage: (ref, labels) => Effect.sync(() => State.addImage(state, ref, labels)),
    holdHostPort: (port, protocol = "tcp") => Effect.sync(() => void state.heldPorts.add(`${protocol}/${port}`)),
    releaseHostPort: (port, protocol = "tcp") => Effect.sync(() => void state.heldPorts.delete(`${protocol}/${port}`)),
    engineDown: (reason = "simulated engine is down") =>
      Effect.sync(() => {
        state.down = reason
      }),
    engineUp: Effect.sync(() => {
      state.down = undefined
    }),
    setStopDelay: (name, delay) => Effect.sync(() => void state.stopDelays.set(name, Duration.fromInputUnsafe(delay))),
    setHealth: (name, health) =>
      Effect.map(State.controlFind(state, "setHealth", name), (c) => {
        if (health === undefined) delete c.health
        else c.health = health
      }),
    failNext: (method, error) =>
      Effect.sync(() => {
        const q = state.failures.get(method) ?? []
        q.push(error)
        state.failures.set(method, q)
      }),
    setLatency: (method, latency) => Effect.sync(() => void state.latencies.set(method, Duration.fromInputUnsafe(latency))),
    calls: Effect.sync(() => Object.fromEntries(Model.methods.map((m) => [m, state.counts.get(m) ?? 0])) as Record<Method, number>),
    resetCalls: Effect.sync(() => {
      for (const m of Model.methods) state.counts.set(m, 0)
    }),
    log: (name, line) => Effect.flatMap(State.controlFind(state, "log", name), (c) => State.appendLog(state, c, line)),
    setUsage: (name, usage) => Effect.sync(() => void state.usages.set(name, usage)),
    containers: Effect.sync(() => [...state.containers.values()].map(Model.simulatedContainer)),
    images: Effect.sync(() => [...state.images.keys()])
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
  Layer.effectContext(
    Effect.map(make(options), ({ engine, runtime }) =>
      Context.make(ContainerRuntime, runtime).pipe(Context.add(SimulatedEngine, engine))
    )
  )

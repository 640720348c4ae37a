/**
 * The real container runtime: the podman CLI launched by `PodmanCommand` (execa, never a shell). argv comes from the
 * pure builders in `PodmanArgv`, output is decoded by the schemas in `PodmanJson`, failures are
 * typed by `PodmanFailure`. Engine events are read from podman's events file with inotify when
 * podman logs events to a file (`PodmanEventsFile`), through a `podman events` process otherwise.
 *
 * Over 500 lines because it is the one `Service` of the engine: each method is a few lines over
 * the builders and decoders named above, and splitting it would only scatter them.
 *
 * @since 0.1.0
 */
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { Cause, Clock, Effect, Result, Fiber, Layer, Option, Queue, Ref, Schedule, Stream } from "effect"
import { accessSync, constants as fsConstants, mkdtemp, readFile, rm, writeFile } from "../fs/internal/Files.js"
import type { BuildRequest, ContainerDetails, EngineInfo, Progress, PullRequest, RuntimeEvent, Service } from "./ContainerRuntime.js"
import { ContainerRuntime } from "./ContainerRuntime.js"
import type { ContainerSpec } from "./ContainerSpec.js"
import * as OutsideProbe from "./OutsideProbe.js"
import * as Argv from "./PodmanArgv.js"
import * as BuildLeftovers from "./BuildLeftovers.js"
import * as EventsTail from "./internal/EventsTail.js"
import { launch, notRunReason, splitLines } from "./internal/Launch.js"
import * as Command from "./PodmanCommand.js"
import * as EventsFile from "./PodmanEventsFile.js"
import * as Failure from "./PodmanFailure.js"
import * as Json from "./PodmanJson.js"
import { CommandFailed, ContainerNotFound, EngineUnavailable, ImageNotFound } from "./RuntimeError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The podman binary; default `podman` from PATH. */
  readonly binary?: string
  /**
   * The directory every podman process runs in (absolute; default: this process's). conmon,
   * which `podman start` leaves behind for each container, inherits it and creates an empty
   * `oom` file there when the kernel OOM-kills the container: give a directory of the
   * orchestrator's own (`archipelago serve` uses `<data>/engine`) so none lands in a user's
   * working directory or in `/` under systemd. Build contexts and bind sources are absolute.
   */
  readonly workDir?: string
  /**
   * Where engine events come from: `auto` (the default) reads podman's events file when podman
   * (asked through `binary`) logs events to a file this process can read, and runs `podman
   * events` otherwise; `process` always runs `podman events`. Since 0.1.0.
   */
  readonly events?: "auto" | "process"
}

/**
 * How soon an events watcher that exited or failed is started again.
 *
 * @since 0.1.0
 * @category constants
 */
export const eventsRestartSchedule = Schedule.spaced("1 second")

/**
 * How often the events file is looked at without an inotify notification: a backstop for a
 * missed notification, never the main path.
 *
 * @since 0.1.0
 * @category constants
 */
export const eventsFilePollMs = 2000

/**
 * How many times in a row the events file may fail to be watched or read before the stream
 * reads events through `podman events` instead, for good.
 *
 * @since 0.1.0
 * @category constants
 */
export const eventsFileMaxFailures = 3

/** Whether this process can read `path`, or could once it is created (its directory readable). */
const readable = (path: string): Result.Result<void, string> => {
  const check = (p: string, mode: number) => {
    try {
      accessSync(p, mode)
      return "ok" as const
    } catch (e) {
      return typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : String(e)
    }
  }
  const file = check(path, fsConstants.R_OK)
  if (file === "ok") return Result.succeed(undefined)
  if (file !== "ENOENT") return Result.fail(`${path}: ${file}`)
  const dir = check(dirname(path), fsConstants.R_OK | fsConstants.X_OK)
  return dir === "ok" || dir === "ENOENT" ? Result.succeed(undefined) : Result.fail(`${dirname(path)}: ${dir}`)
}

/** The events file podman (asked through the binary, so through any wrapper) writes, from its debug log. */
const eventsFileOf = (stderr: string) =>
  Effect.gen(function* () {
    const backend = EventsFile.backendOf(stderr)
    const configs = yield* Effect.forEach(backend.configs, (path) =>
      Effect.tryPromise(() => readFile(path, "utf8")).pipe(
        Effect.match({ onFailure: () => ({ path, text: undefined }), onSuccess: (text) => ({ path, text }) })
      )
    )
    return EventsFile.eventsFilePath(backend, configs)
  })

type RunResult = Command.Result
type RunOptions = Command.RunOptions

const sinceArg = (at: number): ReadonlyArray<string> => ["--since", new Date(at).toISOString()]

/**
 * Runs `body` with `emit`, which podman's output callbacks call synchronously: each line goes
 * to a queue that one fiber, in this operation's scope, drains into `onProgress` in order.
 * The result waits until the last line was received; interrupting the operation interrupts
 * the drain with it. Without a sink, `emit` is undefined and nothing is queued.
 */
const withProgress = <A, E>(
  onProgress: Progress | undefined,
  body: (emit: ((line: string) => void) | undefined) => Effect.Effect<A, E>
): Effect.Effect<A, E> =>
  onProgress === undefined
    ? body(undefined)
    : Effect.scoped(
        Effect.gen(function* () {
          // `Queue.end` ends the drain once the lines before it are taken
          const queue = yield* Effect.acquireRelease(Queue.unbounded<string, Cause.Done>(), Queue.shutdown)
          const drain = yield* Stream.fromQueue(queue).pipe(Stream.runForEach(onProgress), Effect.forkScoped)
          const exit = yield* Effect.exit(body((line) => void Queue.offerUnsafe(queue, line)))
          yield* Queue.end(queue)
          yield* Fiber.join(drain)
          return yield* exit
        })
      )

/**
 * Builds the podman runtime: detects the engine once (`podman version`, and the default
 * network's gateway), then serves every port method with one podman process per call.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.fn("PodmanRuntime.make")(function* (options: Options = {}) {
  const binary = options.binary ?? "podman"
  const cwd = options.workDir === undefined ? {} : { cwd: options.workDir }

  const run = (argv: ReadonlyArray<string>, runOptions: RunOptions = {}): Effect.Effect<RunResult, EngineUnavailable> =>
    Command.run(binary, argv, { ...cwd, ...runOptions }).pipe(Effect.tap((r) => Effect.logDebug("podman", { argv, exitCode: r.exitCode })))

  const failed = (argv: ReadonlyArray<string>, r: RunResult, target: Failure.Target) =>
    Failure.classify(argv, r.exitCode, r.stderr, target)

  const decoded = <A>(argv: ReadonlyArray<string>, result: Result.Result<A, string>) =>
    Result.match(result, {
      onFailure: (message) => Effect.fail(new CommandFailed({ argv: [binary, ...argv], exitCode: 0, stderr: message })),
      onSuccess: (a) => Effect.succeed(a)
    })

  const checked = (argv: ReadonlyArray<string>, target: Failure.Target, runOptions?: RunOptions) =>
    run(argv, runOptions).pipe(
      Effect.flatMap((r) => (r.exitCode === 0 ? Effect.succeed(r) : Effect.fail(failed(argv, r, target))))
    )

  // With target None, classify never yields the not-found errors: reaching them is a bug.
  const engineOnly = <A>(effect: Effect.Effect<A, ContainerNotFound | ImageNotFound | EngineUnavailable | CommandFailed>) =>
    effect.pipe(Effect.catchTags({ ContainerNotFound: (e) => Effect.die(e), ImageNotFound: (e) => Effect.die(e) }))

  const versionRun = yield* run(Argv.versionArgv)
  if (versionRun.exitCode !== 0) {
    return yield* Effect.fail(Command.unavailable(binary, Failure.lastErrorLine(versionRun.stderr) || `exit ${versionRun.exitCode}`))
  }
  const detected = yield* Result.match(Json.decodeVersion(versionRun.stdout), {
    onFailure: (reason) => Effect.fail(Command.unavailable(binary, reason)),
    onSuccess: Effect.succeed
  })
  const eventsFile =
    options.events === "process" ? Result.fail("asked for the podman events process") : yield* eventsFileOf(versionRun.stderr)
  const network = yield* run(Argv.networkInspectArgv)
  const gateway = network.exitCode === 0 ? Result.getOrUndefined(Json.decodeGateway(network.stdout)) : undefined
  const info: EngineInfo = gateway === undefined ? detected : { ...detected, hostGateway: gateway }
  yield* Effect.logDebug("podman engine", info, Result.match(eventsFile, { onFailure: (why) => `events through podman events: ${why}`, onSuccess: (path) => `events from ${path}` }))

  // The health of containers probed from outside (OutsideProbe), by container id: podman knows
  // nothing of it, so every view of a probed container takes its health from here.
  const probed = new Map<string, OutsideProbe.Kept>()
  const withProbedHealth = <C extends { readonly id: string; readonly state: string; readonly labels: Readonly<Record<string, string>>; readonly health?: "healthy" | "unhealthy" | "starting" }>(c: C): C => {
    if (OutsideProbe.decode(c.labels[OutsideProbe.label]) === undefined) return c
    if (c.state !== "running") {
      probed.delete(c.id)
      return c
    }
    return { ...c, health: probed.get(c.id)?.health ?? "starting" }
  }

  const list = Effect.fn("PodmanRuntime.list")(function* () {
    const r = yield* engineOnly(checked(Argv.listArgv, { _tag: "None" }))
    const rows = yield* decoded(Argv.listArgv, Json.decodePs(r.stdout))
    return rows.map(withProbedHealth)
  })

  const inspect = Effect.fn("PodmanRuntime.inspect")(function* (names: ReadonlyArray<string>) {
    if (names.length === 0) return [] as ReadonlyArray<ContainerDetails>
    const argv = Argv.inspectArgv(names)
    const r = yield* run(argv)
    if (r.exitCode !== 0 && !Failure.onlyMissingContainers(r.stderr)) {
      return yield* engineOnly(Effect.fail(failed(argv, r, { _tag: "None" })))
    }
    const details = yield* decoded(argv, Json.decodeInspect(r.stdout))
    return details.map(withProbedHealth)
  })

  const imageExists = Effect.fn("PodmanRuntime.imageExists")(function* (ref: string) {
    const argv = Argv.imageExistsArgv(ref)
    const r = yield* run(argv)
    if (r.exitCode === 0) return true
    if (r.exitCode === 1) return false
    return yield* engineOnly(Effect.fail(failed(argv, r, { _tag: "None" })))
  })

  const pull = Effect.fn("PodmanRuntime.pull")(function* (request: PullRequest, onProgress?: Progress) {
    return yield* withProgress(onProgress, (emit) =>
      Effect.gen(function* () {
        const say = (line: string) => Effect.sync(() => emit?.(line))
        const tried: Array<string> = []
        for (const candidate of request.candidates) {
          const argv = Argv.pullArgv(candidate)
          yield* say(`pulling ${candidate.ref}`)
          const r = yield* run(argv, emit !== undefined ? { onLine: emit } : {})
          if (r.exitCode === 0) {
            if (candidate.ref !== request.ref) {
              yield* engineOnly(checked(Argv.tagArgv(candidate.ref, request.ref), { _tag: "None" }))
            }
            return candidate
          }
          const error = failed(argv, r, { _tag: "Image", ref: candidate.ref })
          if (error._tag === "EngineUnavailable") return yield* Effect.fail(error)
          const why = `${candidate.ref}: ${Failure.lastErrorLine(r.stderr) || `exit ${r.exitCode}`}`
          tried.push(why)
          yield* say(`failed ${why}`)
          yield* Effect.logWarning("pull failed", why)
        }
        return yield* Effect.fail(new ImageNotFound({ ref: request.ref, tried }))
      })
    )
  })

  const build = Effect.fn("PodmanRuntime.build")(function* (request: BuildRequest, onProgress?: Progress) {
    yield* withProgress(onProgress, (emit) =>
      engineOnly(checked(Argv.buildArgv(request), { _tag: "None" }, {
        ...(emit !== undefined ? { onLine: emit } : {}),
        // podman leaves an interrupted build's working container and RUN process behind
        onInterrupt: (running) => BuildLeftovers.interruptBuild(running, (argv) => run(argv))
      }))
    )
  })

  const removeImage = Effect.fn("PodmanRuntime.removeImage")(function* (ref: string) {
    yield* checked(Argv.removeImageArgv(ref), { _tag: "Image", ref }).pipe(
      Effect.catchTag("ContainerNotFound", (e) => Effect.die(e))
    )
  })

  const imageDigest = Effect.fn("PodmanRuntime.imageDigest")(function* (ref: string) {
    const argv = Argv.imageIdArgv(ref)
    const r = yield* run(argv)
    if (r.exitCode === 0) {
      const id = r.stdout.trim()
      return /^[0-9a-f]{64}$/.test(id) ? Option.some(`sha256:${id}`) : Option.none()
    }
    const error = failed(argv, r, { _tag: "Image", ref })
    if (error._tag === "ImageNotFound") return Option.none<string>()
    return yield* engineOnly(Effect.fail(error))
  })

  const tagImage = Effect.fn("PodmanRuntime.tagImage")(function* (source: string, target: string) {
    yield* checked(Argv.tagArgv(source, target), { _tag: "Image", ref: source }).pipe(
      Effect.catchTag("ContainerNotFound", (e) => Effect.die(e))
    )
  })

  const untagImage = Effect.fn("PodmanRuntime.untagImage")(function* (ref: string) {
    yield* checked(Argv.untagArgv(ref), { _tag: "Image", ref }).pipe(
      Effect.catchTag("ContainerNotFound", (e) => Effect.die(e))
    )
  })

  const withEnvFile = <A, E>(content: string | undefined, use: (path: string | undefined) => Effect.Effect<A, E>) =>
    content === undefined
      ? use(undefined)
      : Effect.acquireUseRelease(
          Effect.tryPromise({
            try: async () => {
              const dir = await mkdtemp(join(tmpdir(), "archipelago-env-"))
              const file = join(dir, "env")
              await writeFile(file, content, { mode: 0o600 })
              return { dir, file }
            },
            catch: (e) => new CommandFailed({ argv: [binary, "create"], exitCode: -1, stderr: `cannot write env-file: ${String(e)}` })
          }),
          ({ file }) => use(file),
          ({ dir }) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
        )

  const create = Effect.fn("PodmanRuntime.create")(function* (spec: ContainerSpec) {
    const bad = Argv.invalidEnv(spec.env)
    if (bad.length > 0) {
      return yield* Effect.fail(
        new CommandFailed({
          argv: [binary, "create", "--name", spec.name],
          exitCode: -1,
          stderr: `environment variables podman's env-file cannot carry (bad name, or a line break in the value): ${bad.join(", ")}`
        })
      )
    }
    const command = Argv.createCommand(spec, info)
    const r = yield* withEnvFile(command.envFile, (file) =>
      checked(
        command.argv.map((a) => (a === Argv.envFilePlaceholder && file !== undefined ? file : a)),
        { _tag: "Image", ref: spec.image }
      ).pipe(Effect.catchTag("ContainerNotFound", (e) => Effect.die(e)))
    )
    return r.stdout.trim()
  })

  const containerCall = (argv: ReadonlyArray<string>, name: string) =>
    checked(argv, { _tag: "Container", name }).pipe(Effect.catchTag("ImageNotFound", (e) => Effect.die(e)))

  const start = Effect.fn("PodmanRuntime.start")(function* (name: string) {
    yield* containerCall(Argv.startArgv(name), name)
  })

  const stop = Effect.fn("PodmanRuntime.stop")(function* (name: string, timeoutSec: number) {
    yield* containerCall(Argv.stopArgv(name, timeoutSec), name)
  })

  const restart = Effect.fn("PodmanRuntime.restart")(function* (name: string, timeoutSec: number) {
    yield* containerCall(Argv.restartArgv(name, timeoutSec), name)
  })

  const remove = Effect.fn("PodmanRuntime.remove")(function* (name: string, removeOptions?: { readonly force?: boolean }) {
    yield* containerCall(Argv.removeArgv(name, removeOptions?.force === true), name)
  })

  const logs = Effect.fn("PodmanRuntime.logs")(function* (name: string, logOptions?: { readonly tail?: number }) {
    const argv = Argv.logsArgv(name, logOptions?.tail)
    const r = yield* run(argv, { all: true })
    if (r.exitCode === 0) return r.all
    return yield* Effect.fail(failed(argv, r, { _tag: "Container", name })).pipe(
      Effect.catchTag("ImageNotFound", (e) => Effect.die(e))
    )
  })

  const followLogs = (name: string, logOptions?: { readonly tail?: number }) =>
    Stream.callback<string, ContainerNotFound | EngineUnavailable | CommandFailed>((queue) =>
      Effect.gen(function* () {
        const argv = Argv.followLogsArgv(name, logOptions?.tail)
        const controller = new AbortController()
        // the podman process lives exactly as long as the stream: closing it kills podman
        yield* Effect.addFinalizer(() => Effect.sync(() => controller.abort()))
        const child = launch(binary, argv, { ...cwd, all: true, cancelSignal: controller.signal, buffer: false })
        let stderr = ""
        child.stderr?.on("data", (chunk: Buffer) => {
          if (stderr.length < 64 * 1024) stderr += chunk.toString()
        })
        const splitter = splitLines((line) => void Queue.offerUnsafe(queue, line))
        child.all?.on("data", splitter.push)
        void child.then((r) => {
          splitter.flush()
          if (controller.signal.aborted) return
          if (r.exitCode === undefined) {
            Queue.failCauseUnsafe(queue, Cause.fail(Command.unavailable(binary, notRunReason(r))))
          } else if (r.exitCode !== 0) {
            const error = failed(argv, { exitCode: r.exitCode, stdout: "", stderr, all: "" }, { _tag: "Container", name })
            Queue.failCauseUnsafe(queue, error._tag === "ImageNotFound" ? Cause.die(error) : Cause.fail(error))
          } else Queue.endUnsafe(queue)
        })
      })
    )

  // A container stopping between podman's listing and its cgroup read fails the whole sample:
  // sample again (the set of running containers has changed), a few times at most.
  const stats = Effect.fn("PodmanRuntime.stats")(function* () {
    const r = yield* engineOnly(checked(Argv.statsArgv, { _tag: "None" })).pipe(
      Effect.retry({
        times: 4,
        while: (e) => e._tag === "CommandFailed" && Failure.isContainerLeftMidSample(e.stderr)
      })
    )
    return yield* decoded(Argv.statsArgv, Json.decodeStats(r.stdout))
  })

  const healthcheck = Effect.fn("PodmanRuntime.healthcheck")(function* (name: string) {
    const [found] = yield* inspect([name])
    if (found === undefined) return yield* Effect.fail(new ContainerNotFound({ name }))
    const probe = OutsideProbe.decode(found.labels[OutsideProbe.label])
    if (probe !== undefined) {
      const to = found.state === "running" ? OutsideProbe.target(found, probe) : undefined
      const result = to === undefined ? { ok: false, why: "the container is not running or has no address" } : yield* OutsideProbe.run(to, probe)
      const now = yield* Clock.currentTimeMillis
      const kept = OutsideProbe.next(probed.get(found.id), result.ok, probe, found.startedAt, now)
      probed.set(found.id, kept)
      yield* Effect.logDebug(`outside probe of ${name}: ${result.why}`)
      return result.ok ? ("healthy" as const) : ("unhealthy" as const)
    }
    const argv = Argv.healthcheckArgv(name)
    const r = yield* run(argv)
    if (r.exitCode === 0) return "healthy" as const
    if (r.exitCode === 1) return "unhealthy" as const
    return yield* Effect.fail(failed(argv, r, { _tag: "Container", name })).pipe(
      Effect.catchTag("ImageNotFound", (e) => Effect.die(e))
    )
  })

  const watchOnce = (since: number | undefined) =>
    Stream.callback<string, EngineUnavailable>((queue) =>
      Effect.gen(function* () {
        const argv = [...Argv.eventsArgv, ...(since === undefined ? [] : sinceArg(since))]
        const controller = new AbortController()
        yield* Effect.addFinalizer(() => Effect.sync(() => controller.abort()))
        const child = launch(binary, argv, { ...cwd, cancelSignal: controller.signal, buffer: false })
        const splitter = splitLines((line) => void Queue.offerUnsafe(queue, line))
        child.stdout?.on("data", splitter.push)
        void child.then((r) => {
          splitter.flush()
          if (r.exitCode === undefined && r.code === "ENOENT") {
            Queue.failCauseUnsafe(queue, Cause.fail(Command.unavailable(binary, "not found on PATH")))
          } else Queue.endUnsafe(queue)
        })
      })
    )

  const skipLine = (source: string, line: string, reason: string) =>
    Effect.logWarning("skipping a podman event line").pipe(
      Effect.annotateLogs({ source, reason, line: line.length > 300 ? `${line.slice(0, 300)}…` : line }),
      Effect.as(undefined)
    )

  const decodedWith = (source: string, decode: (line: string) => Result.Result<RuntimeEvent | undefined, string>) =>
    (line: string): Effect.Effect<RuntimeEvent | undefined> =>
      Result.match(decode(line), { onFailure: (why) => skipLine(source, line, why), onSuccess: Effect.succeed })

  // One stream's watchers share where they left off: a restart (or a fallback to `podman events`,
  // from the time the last watcher ended) loses no event.
  const events = (): Stream.Stream<RuntimeEvent, EngineUnavailable> =>
    Stream.unwrap(
      Effect.gen(function* () {
        const lastExit = yield* Ref.make<number | undefined>(undefined)
        const markExit = Effect.flatMap(Effect.clockWith((c) => c.currentTimeMillis), (t) => Ref.set(lastExit, t))
        let position: EventsTail.Position | undefined
        let fileFailures = 0
        const fromFile = (path: string) =>
          Stream.suspend(() =>
            EventsTail.tail(path, position === undefined ? { _tag: "End" } : { _tag: "At", position }, {
              pollMs: eventsFilePollMs,
              onPosition: (p) => {
                position = p
                fileFailures = 0
              }
            })
          ).pipe(
            Stream.mapEffect(decodedWith(path, Json.decodeEventFileLine)),
            Stream.catchTag("EventsFileError", (e) =>
              Effect.logWarning("podman events file watcher failed; restarting").pipe(
                Effect.annotateLogs({ path: e.path, reason: e.reason, failures: ++fileFailures }),
                Stream.fromEffect,
                Stream.drain
              )
            )
          )
        const fromProcess = (why: string) =>
          Stream.unwrap(
            Effect.map(Ref.get(lastExit), (since) =>
              watchOnce(since).pipe(
                Stream.mapEffect(decodedWith("podman events", Json.decodeEvent)),
                Stream.onEnd(Effect.logWarning("podman events exited; restarting").pipe(Effect.annotateLogs({ why })))
              )
            )
          )
        const watcher = Stream.unwrap(
          Effect.sync(() => {
            const source = Result.flatMap(eventsFile, (path) =>
              fileFailures >= eventsFileMaxFailures
                ? Result.fail(`${path}: failed ${fileFailures} times in a row`)
                : Result.map(readable(path), () => path)
            )
            return Result.match(source, { onFailure: fromProcess, onSuccess: fromFile }).pipe(Stream.ensuring(markExit))
          })
        )
        return watcher.pipe(
          Stream.repeat(eventsRestartSchedule),
          Stream.filter((e): e is RuntimeEvent => e !== undefined)
        )
      })
    )

  const service: Service = {
    info: Effect.succeed(info),
    list,
    inspect,
    imageExists,
    pull,
    build,
    removeImage,
    imageDigest,
    tagImage,
    untagImage,
    create,
    start,
    stop,
    restart,
    remove,
    logs,
    followLogs,
    stats,
    healthcheck,
    events
  }
  return service
})

/**
 * The podman runtime as a layer; fails with `EngineUnavailable` (naming the install command)
 * when podman is missing or broken.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<ContainerRuntime, EngineUnavailable> = Layer.effect(ContainerRuntime, make())

/**
 * The podman runtime with options (another binary path, the directory podman runs in).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWith = (options: Options): Layer.Layer<ContainerRuntime, EngineUnavailable> =>
  Layer.effect(ContainerRuntime, make(options))

/**
 * The one way a podman process (or another host tool the runtime needs, like `tar` for the base
 * image) is launched: execa with an argv and never a shell, stdin closed, `LC_ALL=C` so error
 * text is the one `PodmanFailure` classifies, and no signal-exit hook. `PodmanRuntime`,
 * `BaseImage`, `PodmanSelfHeal` and the server's engine probe all go through here.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { installHint } from "./PodmanFailure.js"
import { EngineUnavailable } from "./RuntimeError.js"
import { launch, notRunReason, splitLines } from "./internal/Launch.js"

/**
 * What a finished command left: its exit code and output (`all` is stdout and stderr
 * interleaved, filled only when asked for).
 *
 * @since 0.1.0
 * @category models
 */
export interface Result {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
  readonly all: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RunOptions {
  /** Called with each line of stdout and stderr as it arrives (pull and build progress). */
  readonly onLine?: (line: string) => void
  /** Collect stdout and stderr interleaved into `all`. */
  readonly all?: boolean
  /** Kill the process after this long; the run then fails as `EngineUnavailable`. */
  readonly timeoutMs?: number
  /** The directory the process runs in; default: this process's. */
  readonly cwd?: string
  /**
   * What an interruption does instead of only stopping the process: given the running process,
   * it must run `stop` (SIGTERM, then SIGKILL after 5 s, awaited) and may look at the process
   * before and clean up after (see `BuildLeftovers`). The interruption waits for it.
   */
  readonly onInterrupt?: (running: Running) => Effect.Effect<void>
}

/**
 * A process being interrupted (see `RunOptions.onInterrupt`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Running {
  /** Undefined when the process never started. */
  readonly pid: number | undefined
  /** SIGTERM, SIGKILL after 5 s if it is still there; completes once it exited. */
  readonly stop: Effect.Effect<void>
}

/**
 * The engine is unusable: `binary` could not run (missing, killed by the timeout).
 *
 * @since 0.1.0
 * @category errors
 */
export const unavailable = (binary: string, reason: string): EngineUnavailable =>
  new EngineUnavailable({ reason: `${binary}: ${reason}`, hint: installHint })

/**
 * Runs `binary argv` to completion, interruptibly (interruption kills the process). Any exit
 * code is a success here (callers classify non-zero exits); failing to run at all is
 * `EngineUnavailable`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (binary: string, argv: ReadonlyArray<string>, options: RunOptions = {}): Effect.Effect<Result, EngineUnavailable> =>
  options.onInterrupt === undefined ? runAborted(binary, argv, options) : runWithInterrupt(binary, argv, options, options.onInterrupt)

const settle = (
  binary: string,
  r: { readonly exitCode?: number | undefined; readonly stdout?: unknown; readonly stderr?: unknown; readonly all?: unknown; readonly code?: string | undefined; readonly shortMessage?: string | undefined }
): Effect.Effect<Result, EngineUnavailable> =>
  r.exitCode === undefined
    ? Effect.fail(unavailable(binary, notRunReason(r)))
    : Effect.succeed({
      exitCode: r.exitCode,
      stdout: typeof r.stdout === "string" ? r.stdout : "",
      stderr: typeof r.stderr === "string" ? r.stderr : "",
      all: typeof r.all === "string" ? r.all : ""
    })

const forceKillAfterMs = 5_000

const runWithInterrupt = (
  binary: string,
  argv: ReadonlyArray<string>,
  options: RunOptions,
  onInterrupt: (running: Running) => Effect.Effect<void>
): Effect.Effect<Result, EngineUnavailable> =>
  Effect.callback<Result, EngineUnavailable>((resume) => {
    const child = launch(binary, argv, {
      all: options.all === true || options.onLine !== undefined,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.cwd === undefined ? {} : { cwd: options.cwd })
    })
    const splitter = options.onLine !== undefined ? splitLines(options.onLine) : undefined
    if (splitter !== undefined) child.all?.on("data", splitter.push)
    void child.then((r) => {
      splitter?.flush()
      resume(settle(binary, r))
    })
    const stop = Effect.promise(async () => {
      // nothing the process prints after the interruption reaches the caller
      if (splitter !== undefined) child.all?.off("data", splitter.push)
      child.kill("SIGTERM")
      const force = setTimeout(() => child.kill("SIGKILL"), forceKillAfterMs)
      await child
      clearTimeout(force)
    })
    return onInterrupt({ pid: child.pid, stop })
  })

const runAborted = (binary: string, argv: ReadonlyArray<string>, options: RunOptions): Effect.Effect<Result, EngineUnavailable> =>
  Effect.tryPromise({
    try: async (signal) => {
      const child = launch(binary, argv, {
        all: options.all === true || options.onLine !== undefined,
        cancelSignal: signal,
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
        ...(options.cwd === undefined ? {} : { cwd: options.cwd })
      })
      const splitter = options.onLine !== undefined ? splitLines(options.onLine) : undefined
      if (splitter !== undefined) child.all?.on("data", splitter.push)
      const r = await child
      splitter?.flush()
      return r
    },
    catch: (e) => unavailable(binary, e instanceof Error ? e.message : String(e))
  }).pipe(Effect.flatMap((r) => settle(binary, r)))

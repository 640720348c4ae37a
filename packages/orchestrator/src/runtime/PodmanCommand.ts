/**
 * The one way a podman process (or another host tool the runtime needs, like `tar` for the base
 * image) is launched: execa with an argv and never a shell, stdin closed, `LC_ALL=C` so error
 * text is the one `PodmanFailure` classifies, and no signal-exit hook. `PodmanRuntime`,
 * `BaseImage`, `PodmanSelfHeal` and the server's engine probe all go through here.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { execa } from "execa"
import { installHint } from "./PodmanFailure.js"
import { EngineUnavailable } from "./RuntimeError.js"

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
}

/**
 * @since 0.1.0
 * @category models
 */
export interface LaunchOptions {
  readonly all?: boolean
  /** False for long-lived processes read as streams (`podman events`, `logs --follow`). */
  readonly buffer?: boolean
  readonly cancelSignal?: AbortSignal
  readonly timeoutMs?: number
}

/**
 * Starts `binary argv` with the options every podman call shares; the caller reads or awaits
 * the child. Never rejects: a failure to run shows as an undefined `exitCode` and a `code`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const launch = (binary: string, argv: ReadonlyArray<string>, options: LaunchOptions = {}) => {
  const shared = {
    reject: false,
    stdin: "ignore",
    // no signal-exit hook: with two podman children alive it re-raises SIGTERM past
    // NodeRuntime's handler and kills the server before its clean shutdown
    cleanup: false,
    all: options.all === true,
    buffer: options.buffer ?? true,
    maxBuffer: 256 * 1024 * 1024,
    env: { LC_ALL: "C" },
    // 0: no timeout
    timeout: options.timeoutMs ?? 0
  } as const
  return options.cancelSignal === undefined
    ? execa(binary, argv, shared)
    : execa(binary, argv, { ...shared, cancelSignal: options.cancelSignal })
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
 * Why a launched process did not run to an exit code.
 *
 * @since 0.1.0
 * @category utils
 */
export const notRunReason = (r: { readonly code?: string | undefined; readonly shortMessage?: string | undefined }): string =>
  r.code === "ENOENT" ? "not found on PATH" : (r.shortMessage ?? "did not run")

/**
 * Splits chunks of output into lines (without `\r\n` or `\n`), calling `onLine` for each; `flush`
 * delivers a last line without a newline.
 *
 * @since 0.1.0
 * @category utils
 */
export const splitLines = (onLine: (line: string) => void) => {
  let buffer = ""
  return {
    push: (chunk: Buffer | string): void => {
      buffer += chunk.toString()
      let i: number
      while ((i = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, i).replace(/\r$/, "")
        buffer = buffer.slice(i + 1)
        onLine(line)
      }
    },
    flush: (): void => {
      if (buffer.trim() !== "") onLine(buffer)
      buffer = ""
    }
  }
}

/**
 * Runs `binary argv` to completion, interruptibly (interruption kills the process). Any exit
 * code is a success here (callers classify non-zero exits); failing to run at all is
 * `EngineUnavailable`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (binary: string, argv: ReadonlyArray<string>, options: RunOptions = {}): Effect.Effect<Result, EngineUnavailable> =>
  Effect.tryPromise({
    try: async (signal) => {
      const child = launch(binary, argv, {
        all: options.all === true || options.onLine !== undefined,
        cancelSignal: signal,
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs })
      })
      const splitter = options.onLine !== undefined ? splitLines(options.onLine) : undefined
      if (splitter !== undefined) child.all?.on("data", splitter.push)
      const r = await child
      splitter?.flush()
      return r
    },
    catch: (e) => unavailable(binary, e instanceof Error ? e.message : String(e))
  }).pipe(
    Effect.flatMap((r) =>
      r.exitCode === undefined
        ? Effect.fail(unavailable(binary, notRunReason(r)))
        : Effect.succeed({
            exitCode: r.exitCode,
            stdout: typeof r.stdout === "string" ? r.stdout : "",
            stderr: typeof r.stderr === "string" ? r.stderr : "",
            all: typeof r.all === "string" ? r.all : ""
          })
    )
  )

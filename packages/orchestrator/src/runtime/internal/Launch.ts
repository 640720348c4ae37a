/**
 * Where execa is called, with the options every podman process shares. `PodmanCommand` is the
 * public face; `PodmanRuntime` uses `launch` directly for its long-lived streams (`podman events`,
 * `logs --follow`). Internal: its types are execa's, which the library's public declarations
 * must not carry (a consumer would need execa's and Node's types to compile).
 */
import { execa } from "execa"

export interface LaunchOptions {
  readonly all?: boolean
  /** False for long-lived processes read as streams. */
  readonly buffer?: boolean
  readonly cancelSignal?: AbortSignal
  readonly timeoutMs?: number
  /** The directory the process runs in; default: this process's. */
  readonly cwd?: string
}

/**
 * Starts `binary argv`; the caller reads or awaits the child. Never rejects: a failure to run
 * shows as an undefined `exitCode` and a `code`.
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
    timeout: options.timeoutMs ?? 0,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd })
  } as const
  return options.cancelSignal === undefined
    ? execa(binary, argv, shared)
    : execa(binary, argv, { ...shared, cancelSignal: options.cancelSignal })
}

/** Why a launched process did not run to an exit code. */
export const notRunReason = (r: { readonly code?: string | undefined; readonly shortMessage?: string | undefined }): string =>
  r.code === "ENOENT" ? "not found on PATH" : (r.shortMessage ?? "did not run")

/**
 * Splits chunks of output into lines (without `\r\n` or `\n`), calling `onLine` for each; `flush`
 * delivers a last line without a newline.
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

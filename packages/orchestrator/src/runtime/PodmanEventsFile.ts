/**
 * Pure pieces of reading podman's events file ourselves (when its `events_logger` is `file`)
 * instead of through a `podman events` process, which polls that file and prints each line
 * 60-110 ms late: where the file is (from podman's own debug log and the configuration files it
 * merged), splitting appended bytes into whole lines, and where to resume after podman rotated
 * the file or a watcher restarted. The watcher around them lives in `PodmanRuntime`.
 *
 * @since 0.1.0
 */
import { Result } from "effect"

/**
 * What podman's debug log (`--log-level=debug`) says about its events: the backend it
 * initialised (`file`, `journald`, `none`), its temporary directory (the events file's default
 * home) and the configuration files it merged, in order.
 *
 * @since 0.1.0
 * @category models
 */
export interface Backend {
  readonly logger: string | undefined
  readonly tmpDir: string | undefined
  readonly configs: ReadonlyArray<string>
}

const unquote = (s: string): string => s.replace(/\\"/g, '"').replace(/\\\\/g, "\\")

/**
 * Reads the backend from the stderr of any podman command run with `--log-level=debug`
 * (podman 4.3: `msg="Initializing event backend file"`, `msg="Using tmp dir /run/libpod"`,
 * `msg="Merged system config \"/etc/containers/containers.conf\""`).
 *
 * @since 0.1.0
 * @category decoding
 */
export const backendOf = (stderr: string): Backend => {
  let logger: string | undefined
  let tmpDir: string | undefined
  const configs: Array<string> = []
  for (const line of stderr.split("\n")) {
    const msg = /\bmsg="((?:[^"\\]|\\.)*)"/.exec(line)?.[1]
    if (msg === undefined) continue
    const text = unquote(msg)
    const backend = /^Initializing event backend (\S+)$/.exec(text)
    if (backend !== null) logger = backend[1]
    const tmp = /^Using tmp dir (\/.*)$/.exec(text)
    if (tmp !== null) tmpDir = tmp[1]
    const config = /^Merged system config "(.+)"$/.exec(text)
    if (config !== null) configs.push(config[1]!)
  }
  return { logger, tmpDir, configs }
}

/**
 * What one containers.conf says about `events_logfile_path` in its `[engine]` table: unset, a
 * path, or written in a way this reader does not follow (then the caller must not guess).
 *
 * @since 0.1.0
 * @category models
 */
export type ConfiguredPath =
  | { readonly _tag: "Unset" }
  | { readonly _tag: "Set"; readonly path: string }
  | { readonly _tag: "Unreadable"; readonly line: number }

/**
 * Finds `events_logfile_path = "..."` (or single-quoted) in the `[engine]` table of a
 * containers.conf (TOML); the last assignment wins, as in podman.
 *
 * @since 0.1.0
 * @category decoding
 */
export const configuredPath = (toml: string): ConfiguredPath => {
  let table = ""
  let found: ConfiguredPath = { _tag: "Unset" }
  const lines = toml.split("\n")
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim()
    if (line.startsWith("#") || line === "") continue
    const header = /^\[\s*([^\]]+?)\s*\]\s*(#.*)?$/.exec(line)
    if (header !== null) {
      table = header[1]!
      continue
    }
    if (table !== "engine" || !/^["']?events_logfile_path["']?\s*=/.test(line)) continue
    const value = /^["']?events_logfile_path["']?\s*=\s*(?:"((?:[^"\\]|\\[\\"])*)"|'([^']*)')\s*(#.*)?$/.exec(line)
    if (value === null) return { _tag: "Unreadable", line: i + 1 }
    found = { _tag: "Set", path: value[2] ?? unquote(value[1]!) }
  }
  return found
}

/**
 * The events file podman writes, or why it cannot be read with confidence: podman's default is
 * `<tmp dir>/events/events.log` unless a merged configuration sets `events_logfile_path`.
 * `configs` holds each merged file's text in podman's order (undefined: could not be read).
 *
 * @since 0.1.0
 * @category utils
 */
export const eventsFilePath = (
  backend: Backend,
  configs: ReadonlyArray<{ readonly path: string; readonly text: string | undefined }>
): Result.Result<string, string> => {
  if (backend.logger !== "file") return Result.fail(`podman's events_logger is ${backend.logger ?? "not reported"}, not file`)
  if (backend.tmpDir === undefined) return Result.fail("podman did not report its tmp dir")
  let path = `${backend.tmpDir.replace(/\/+$/, "")}/events/events.log`
  for (const config of configs) {
    if (config.text === undefined) return Result.fail(`cannot read ${config.path}, which podman merged`)
    const set = configuredPath(config.text)
    if (set._tag === "Unreadable") return Result.fail(`${config.path}:${set.line}: events_logfile_path is not a plain string`)
    if (set._tag === "Set") path = set.path
  }
  return path.startsWith("/") ? Result.succeed(path) : Result.fail(`events_logfile_path is not absolute: ${path}`)
}

const newline = 10

/**
 * Splits `pending` (an unfinished line kept from before) followed by `chunk` into the whole
 * lines (without `\n`, blank lines dropped) and the unfinished rest: a line is only ever read
 * once podman has written its newline.
 *
 * @since 0.1.0
 * @category utils
 */
export const wholeLines = (
  pending: Uint8Array,
  chunk: Uint8Array
): { readonly lines: ReadonlyArray<string>; readonly rest: Uint8Array } => {
  const bytes = pending.length === 0 ? chunk : concat(pending, chunk)
  const decoder = new TextDecoder()
  const lines: Array<string> = []
  let start = 0
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== newline) continue
    const line = decoder.decode(bytes.subarray(start, i)).replace(/\r$/, "")
    if (line.trim() !== "") lines.push(line)
    start = i + 1
  }
  return { lines, rest: bytes.slice(start) }
}

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}

/**
 * The Unix milliseconds of an events-file line's `Time`, or undefined.
 *
 * @since 0.1.0
 * @category utils
 */
export const timeOfLine = (line: string): number | undefined => {
  const iso = /"Time":"([^"]+)"/.exec(line)?.[1]
  const t = iso === undefined ? Number.NaN : Date.parse(iso)
  return Number.isNaN(t) ? undefined : t
}

/**
 * How far back a resume by time reaches: podman stamps an event before taking the file's lock,
 * so lines are not in time order; a resume by time errs towards lines seen twice (an event is a
 * reason to look, so a duplicate costs a look; a lost one costs the truth).
 *
 * @since 0.1.0
 * @category constants
 */
export const resumeSlackMs = 10_000

/**
 * Where reading left off: the last whole line read and its time.
 *
 * @since 0.1.0
 * @category models
 */
export interface Seen {
  readonly lastLine: string | undefined
  readonly lastAt: number | undefined
}

/**
 * The lines of a file that replaced the one being read (podman's rotation: a new file holding
 * the old one's second half, then the event that rotated it and a `log-rotation` line) that are
 * new: those after the last line already read, found by its exact text (each line carries a
 * nanosecond time). When that line is not there (rotated twice, or a restart found a file that
 * never held it), the lines stamped at most `resumeSlackMs` before it, or all of them.
 *
 * @since 0.1.0
 * @category utils
 */
export const newAfterRotation = (lines: ReadonlyArray<string>, seen: Seen): ReadonlyArray<string> => {
  if (seen.lastLine !== undefined) {
    const at = lines.lastIndexOf(seen.lastLine)
    if (at >= 0) return lines.slice(at + 1)
  }
  return seen.lastAt === undefined ? lines : since(lines, seen.lastAt - resumeSlackMs)
}

/**
 * The lines stamped at or after `at` (Unix milliseconds), and those without a readable time (a
 * line is never dropped for being odd: the decoder reports it).
 *
 * @since 0.1.0
 * @category utils
 */
export const since = (lines: ReadonlyArray<string>, at: number): ReadonlyArray<string> =>
  lines.filter((line) => {
    const t = timeOfLine(line)
    return t === undefined || t >= at
  })

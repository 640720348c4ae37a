/**
 * The operator's journal: the logger of `archipelago serve` and the commands. One line per
 * entry, `pretty` (`2026-12-07T17:40:00.000Z INFO  stop done appId=lnd op=stop generation=4`) or
 * `json` (`{"timestamp", "logLevel", "message", "appId", "op", "generation"}`, the annotations
 * as top-level fields); no fiber ids. Under systemd (stdout connected to the journal,
 * `JOURNAL_STREAM` set) every line starts with its syslog priority (`<4>` for a warning), which
 * journald reads (`SyslogLevelPrefix=yes`, its default), so `journalctl -p warning` works.
 *
 * @since 0.1.0
 */
import { Cause, Logger, LogLevel, References } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly format: "pretty" | "json"
  /** Prefix each line with `<N>`, its syslog priority (for journald). */
  readonly priorities: boolean
}

/**
 * The syslog priority of a level: error 3, warning 4, info 6, debug and trace 7, fatal 2.
 *
 * @since 0.1.0
 * @category getters
 */
export const priority = (level: LogLevel.LogLevel): number => {
  switch (level) {
    case "Fatal":
      return 2
    case "Error":
      return 3
    case "Warn":
      return 4
    case "Info":
      return 6
    default:
      return 7
  }
}

/**
 * One entry as the journal gets it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Entry {
  readonly level: LogLevel.LogLevel
  readonly message: string
  readonly annotations: ReadonlyArray<readonly [string, unknown]>
  readonly date: Date
  /** The failure logged with the entry, in words (empty when none). */
  readonly cause: string
}

/**
 * The name of a level in a line: `INFO`, `WARN`, `ERROR`, `DEBUG`, `TRACE`, `FATAL` (`OFF` for none).
 *
 * @since 0.1.0
 * @category getters
 */
export const label = (level: LogLevel.LogLevel): string => level === "None" ? "OFF" : level.toUpperCase()

const shown = (v: unknown): string => {
  const s = typeof v === "string" ? v : JSON.stringify(v) ?? String(v)
  return /^[^\s"=]+$/.test(s) ? s : JSON.stringify(s)
}

const first = ["appId", "op", "generation"]
const rank = (k: string) => (first.includes(k) ? first.indexOf(k) : first.length)

/**
 * The entry's annotations in a stable order: `appId`, `op`, `generation`, then by name.
 *
 * @since 0.1.0
 * @category getters
 */
export const ordered = (annotations: ReadonlyArray<readonly [string, unknown]>): ReadonlyArray<readonly [string, unknown]> =>
  [...annotations].sort(([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0))

/**
 * The line of an entry, without its newline (pretty entries of several lines under journald
 * carry the prefix on each, so journald files every line at the entry's priority).
 *
 * @since 0.1.0
 * @category getters
 */
export const line = (options: Options, e: Entry): string => {
  const prefix = options.priorities ? `<${priority(e.level)}>` : ""
  if (options.format === "json") {
    const fields: Record<string, unknown> = { timestamp: e.date.toISOString(), logLevel: label(e.level), message: e.message }
    for (const [k, v] of ordered(e.annotations)) if (!(k in fields)) fields[k] = v
    if (e.cause !== "") fields["cause"] = e.cause
    return `${prefix}${JSON.stringify(fields)}`
  }
  const pairs = ordered(e.annotations).map(([k, v]) => ` ${k}=${shown(v)}`).join("")
  const cause = e.cause === "" ? "" : ` cause=${shown(e.cause)}`
  // under journald each line is one entry, which stamps its own time
  const time = options.priorities ? "" : `${e.date.toISOString()} `
  const text = `${prefix}${time}${label(e.level).padEnd(5)} ${e.message}${pairs}${cause}`
  return prefix === "" ? text : text.split("\n").join(`\n${prefix}`)
}

const messageOf = (message: unknown): string =>
  (Array.isArray(message) ? message : [message]).map((m) => (typeof m === "string" ? m : JSON.stringify(m) ?? String(m))).join(" ")

const causeOf = (cause: Cause.Cause<unknown>): string => {
  if (cause.reasons.length === 0) return ""
  const failure = Cause.findErrorOption(cause)
  if (failure._tag === "Some") {
    const f = failure.value as { readonly message?: unknown }
    return typeof f.message === "string" ? f.message : String(failure.value)
  }
  return Cause.pretty(cause).split("\n")[0] ?? ""
}

/**
 * The journal logger, writing to `write` (stdout by default).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options, write: (line: string) => void = (l) => void process.stdout.write(`${l}\n`)): Logger.Logger<unknown, void> =>
  Logger.make(({ cause, date, fiber, logLevel, message }) =>
    write(line(options, {
      level: logLevel,
      message: messageOf(message),
      annotations: Object.entries(fiber.getRef(References.CurrentLogAnnotations)),
      date,
      cause: causeOf(cause)
    }))
  )

/**
 * True when stdout is connected to the journal (systemd sets `JOURNAL_STREAM`).
 *
 * @since 0.1.0
 * @category getters
 */
export const underJournald = (env: Readonly<Record<string, string | undefined>> = process.env): boolean =>
  env["JOURNAL_STREAM"] !== undefined && env["JOURNAL_STREAM"] !== ""

/**
 * The layer replacing the default logger with the journal's.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (format: Options["format"], env: Readonly<Record<string, string | undefined>> = process.env) =>
  Logger.layer([make({ format, priorities: underJournald(env) })])

/**
 * Per-app install logs: progress lines of pulls and builds, hook runs, and the errors of
 * operations. Bounded per app, oldest lines dropped first. `layerFile` keeps them across
 * restarts (`<dir>/<appId>.jsonl`, one JSON line each): a restarted orchestrator shows the
 * lines written before it, and `seq` goes on from the last one, never reused.
 *
 * @since 0.1.0
 */
import * as NodePath from "node:path"
import { Chunk, Clock, Context, Effect, Layer, Ref, Semaphore } from "effect"
import * as SafeFile from "../fs/SafeFile.js"
import * as Fs from "../fs/internal/Files.js"

/**
 * One line of an app's install log (progress of pulls and builds, errors of operations).
 *
 * @since 0.1.0
 * @category models
 */
export interface LogLine {
  /** The line's number in its app's log: 1, 2, ... never reused, also after old lines are dropped. */
  readonly seq: number
  /** Unix milliseconds. */
  readonly at: number
  readonly level: "info" | "warn" | "error"
  readonly message: string
}

/**
 * Lines kept per app.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultMaxLines = 500

/**
 * Characters kept of one message; a longer one (say, a whole stderr) is cut, saying so.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxMessageLength = 4096

const clipMessage = (message: string): string =>
  message.length <= maxMessageLength
    ? message
    : `${message.slice(0, maxMessageLength)}… (${message.length - maxMessageLength} more characters)`

// The logs with `line` appended to the app's, its oldest dropped past `maxLines`.
const withLine = (
  logs: ReadonlyMap<string, Chunk.Chunk<LogLine>>,
  appId: string,
  line: LogLine,
  maxLines: number
): Map<string, Chunk.Chunk<LogLine>> => {
  const next = new Map(logs)
  const lines = Chunk.append(logs.get(appId) ?? Chunk.empty<LogLine>(), line)
  next.set(appId, lines.length > maxLines ? Chunk.drop(lines, lines.length - maxLines) : lines)
  return next
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly append: (appId: string, level: LogLine["level"], message: string) => Effect.Effect<void>
  /** Oldest first. */
  readonly lines: (appId: string) => Effect.Effect<ReadonlyArray<LogLine>>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class InstallLog extends Context.Service<InstallLog, Service>()("@archipelago/orchestrator/InstallLog") {}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (maxLines: number = defaultMaxLines): Effect.Effect<Service> =>
  Effect.gen(function*() {
    const logs = yield* Ref.make(new Map<string, Chunk.Chunk<LogLine>>())
    const counters = new Map<string, number>()
    const append = (appId: string, level: LogLine["level"], message: string) =>
      Effect.flatMap(Clock.currentTimeMillis, (at) =>
        Ref.update(logs, (m) => {
          const seq = (counters.get(appId) ?? 0) + 1
          counters.set(appId, seq)
          return withLine(m, appId, { seq, at, level, message: clipMessage(message) }, maxLines)
        }))
    const lines = (appId: string) =>
      Effect.map(Ref.get(logs), (m) => Chunk.toReadonlyArray(m.get(appId) ?? Chunk.empty<LogLine>()))
    return { append, lines }
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (maxLines: number = defaultMaxLines): Layer.Layer<InstallLog> =>
  Layer.effect(InstallLog, make(maxLines))

/**
 * The folder of the durable install logs inside a data dir.
 *
 * @since 0.1.0
 * @category constants
 */
export const dirName = "install-log"

const isLine = (u: unknown): u is LogLine => {
  if (typeof u !== "object" || u === null) return false
  const l = u as Record<string, unknown>
  return typeof l.seq === "number" && Number.isSafeInteger(l.seq) && l.seq > 0 && typeof l.at === "number" &&
    (l.level === "info" || l.level === "warn" || l.level === "error") && typeof l.message === "string"
}

/**
 * The lines of one app's log file, oldest first, each with a `seq` above the one before; a line
 * that is not one (a torn last line of a killed write, a hand edit) is skipped.
 *
 * @since 0.1.0
 * @category constructors
 */
export const parseFile = (text: string): ReadonlyArray<LogLine> => {
  const out: Array<LogLine> = []
  for (const raw of text.split("\n")) {
    if (raw.trim() === "") continue
    let u: unknown
    try {
      u = JSON.parse(raw)
    } catch {
      continue
    }
    if (isLine(u) && (out.length === 0 || u.seq > out[out.length - 1]!.seq)) out.push(u)
  }
  return out
}

const appFile = /^([a-z0-9][a-z0-9-]{0,62})\.jsonl$/

/**
 * The install log kept in `dir` (`<dir>/<appId>.jsonl`, 0600, the folder 0700): each line is
 * appended as it is written (`SafeFile.append`), and a file that grew past twice `maxLines` is
 * rewritten atomically with its newest `maxLines`. At start every app's file is read back.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeFile = (dir: string, maxLines: number = defaultMaxLines): Effect.Effect<Service, SafeFile.SafeFileError | SafeFile.UnsafePath> =>
  Effect.gen(function*() {
    const root = NodePath.dirname(dir)
    yield* SafeFile.makeDirectory(dir, { root, mode: 0o700 })
    const names = yield* Effect.promise(() => Fs.readdir(dir).catch(() => [] as Array<string>))
    const loaded = new Map<string, Chunk.Chunk<LogLine>>()
    const counters = new Map<string, number>()
    const onDisk = new Map<string, number>()
    for (const name of names) {
      const m = appFile.exec(name)
      if (m === null) continue
      const text = yield* SafeFile.readString(NodePath.join(dir, name), { root: dir })
      if (text._tag === "None") continue
      const lines = parseFile(text.value)
      loaded.set(m[1]!, Chunk.fromIterable(lines.slice(-maxLines)))
      counters.set(m[1]!, lines.at(-1)?.seq ?? 0)
      onDisk.set(m[1]!, lines.length)
    }
    const logs = yield* Ref.make(loaded)
    const lock = yield* Semaphore.make(1)
    const fileOf = (appId: string) => NodePath.join(dir, `${appId}.jsonl`)
    const persist = (appId: string, line: LogLine) =>
      Effect.gen(function*() {
        const count = (onDisk.get(appId) ?? 0) + 1
        if (count <= 2 * maxLines) {
          yield* SafeFile.append(fileOf(appId), `${JSON.stringify(line)}\n`, { root: dir, mode: 0o600 })
          onDisk.set(appId, count)
          return
        }
        const kept = Chunk.toReadonlyArray((yield* Ref.get(logs)).get(appId) ?? Chunk.empty<LogLine>())
        yield* SafeFile.write(fileOf(appId), kept.map((l) => `${JSON.stringify(l)}\n`).join(""), { root: dir, mode: 0o600 })
        onDisk.set(appId, kept.length)
      }).pipe(
        // the line stays in memory; a log that cannot be written is said once per failure
        Effect.catch((e) => Effect.logWarning(`install log of ${appId} not written: ${e.message}`))
      )
    const append = (appId: string, level: LogLine["level"], message: string) =>
      lock.withPermits(1)(Effect.gen(function*() {
        const at = yield* Clock.currentTimeMillis
        const seq = (counters.get(appId) ?? 0) + 1
        counters.set(appId, seq)
        const line: LogLine = { seq, at, level, message: clipMessage(message) }
        yield* Ref.update(logs, (m) => withLine(m, appId, line, maxLines))
        yield* persist(appId, line)
      }))
    const lines = (appId: string) =>
      Effect.map(Ref.get(logs), (m) => Chunk.toReadonlyArray(m.get(appId) ?? Chunk.empty<LogLine>()))
    return { append, lines }
  })

/**
 * The durable install log, kept in `dir` (see `makeFile`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFile = (dir: string, maxLines: number = defaultMaxLines): Layer.Layer<InstallLog, SafeFile.SafeFileError | SafeFile.UnsafePath> =>
  Layer.effect(InstallLog, makeFile(dir, maxLines))

/**
 * Per-app install logs: progress lines of pulls and builds, hook runs, and the errors of
 * operations. Bounded per app, oldest lines dropped first.
 *
 * @since 0.1.0
 */
import { Chunk, Clock, Context, Effect, Layer, Ref } from "effect"

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
export class InstallLog extends Context.Tag("@archipelago/orchestrator/InstallLog")<InstallLog, Service>() {}

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
          const next = new Map(m)
          const seq = (counters.get(appId) ?? 0) + 1
          counters.set(appId, seq)
          const line: LogLine = { seq, at, level, message: clipMessage(message) }
          const lines = Chunk.append(m.get(appId) ?? Chunk.empty<LogLine>(), line)
          next.set(appId, lines.length > maxLines ? Chunk.drop(lines, lines.length - maxLines) : lines)
          return next
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

/**
 * Automatic backups: an app whose manifest has `backup.schedule` is backed up every
 * `everyHours` hours, through the same `backup` request a person makes (its lock, transition and
 * install log). The last backup is the newest archive in the target, so nothing else is
 * persisted: a schedule missed while the node was down is due at once when it is back, and a
 * backup made by hand counts. An app that is not installed or busy with another operation is
 * looked at again on the next tick.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Schedule } from "effect"
import type { Schedule as BackupSchedule } from "../manifest/Manifest.js"
import { Apps, isInstalled } from "./Apps.js"
import { Backups } from "./Backups.js"
import { Lifecycle } from "./Lifecycle.js"
import { StateStore } from "./StateStore.js"

/**
 * When the next backup is due: `everyHours` after the last, or `now` when there is none yet.
 *
 * @since 0.1.0
 * @category constructors
 */
export const nextAt = (schedule: BackupSchedule, lastAt: number | undefined, now: number): number =>
  lastAt === undefined ? now : lastAt + schedule.everyHours * 3_600_000

/**
 * Whether a backup is due at `now`.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isDue = (schedule: BackupSchedule, lastAt: number | undefined, now: number): boolean =>
  nextAt(schedule, lastAt, now) <= now

/**
 * How often the scheduler looks (a backup runs at most this late).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultInterval = Duration.minutes(1)

/**
 * One look at every scheduled app: a due one that is installed and idle gets a `backup` request.
 * Answers the ids requested.
 *
 * @since 0.1.0
 * @category constructors
 */
export const tick = Effect.gen(function*() {
  const apps = yield* Apps
  const backups = yield* Backups
  const store = yield* StateStore
  const lifecycle = yield* Lifecycle
  const requested: Array<string> = []
  for (const def of apps.all) {
    const schedule = def.manifest.backup?.schedule
    if (schedule === undefined) continue
    const state = yield* store.get
    const entry = state.entries[def.id]
    if (!isInstalled(state, def.id) || entry === undefined || entry.transition !== undefined) continue
    const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
    const done = yield* Effect.result(backups.list(def.id))
    if (done._tag === "Failure") {
      yield* Effect.logWarning(`backup schedule: cannot list the backups of ${def.id}: ${done.failure.message}`)
      continue
    }
    if (!isDue(schedule, done.success.at(-1)?.createdAt, now)) continue
    const asked = yield* Effect.result(lifecycle.request("backup", def.id))
    if (asked._tag === "Failure") yield* Effect.logWarning(`backup schedule: ${def.id}: ${asked.failure.message}`)
    else {
      requested.push(def.id)
      yield* Effect.logInfo(`backup schedule: backing up ${def.id} (every ${schedule.everyHours} h)`)
    }
  }
  return requested as ReadonlyArray<string>
}).pipe(Effect.withSpan("BackupScheduler.tick"))

/**
 * `tick` at once (a backup missed while the node was down runs at boot), then every `interval`.
 * Runs until interrupted.
 *
 * @since 0.1.0
 * @category constructors
 */
export const loop = (interval: Duration.Input = defaultInterval) =>
  Effect.repeat(
    tick.pipe(Effect.catchCause((cause) => Effect.logWarning("backup schedule: a tick failed", cause))),
    Schedule.spaced(interval)
  )

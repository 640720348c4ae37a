/**
 * When each app's health check runs: on the app's own interval (its manifest's `health.interval`),
 * the first one a tick after its container started, so a verdict is shown within one interval of
 * a start, an update or a rollback whatever the tick. Pure: time comes in as an argument.
 *
 * @since 0.1.0
 */

/**
 * An app whose health is checked.
 *
 * @since 0.1.0
 * @category models
 */
export interface Subject {
  readonly id: string
  /** The manifest's interval, in milliseconds. */
  readonly intervalMs: number
  /** When its container started (Unix ms), when known: a new start restarts the cadence. */
  readonly startedAt?: number
}

/**
 * The last check of an app: when it ran, and the container start it was for.
 *
 * @since 0.1.0
 * @category models
 */
export interface LastCheck {
  readonly at: number
  readonly startedAt?: number
}

/**
 * When `subject` is next due, given its last check: a tick after its container's start (at once
 * when its start is unknown) for a start not checked yet, else its interval after the last
 * check.
 *
 * @since 0.1.0
 * @category getters
 */
export const nextDue = (subject: Subject, last: LastCheck | undefined, tickMs: number, now: number): number => {
  if (last === undefined || last.startedAt !== subject.startedAt) return subject.startedAt === undefined ? now : subject.startedAt + tickMs
  return last.at + Math.max(subject.intervalMs, tickMs)
}

/**
 * The apps due now, in the order given.
 *
 * @since 0.1.0
 * @category getters
 */
export const due = <S extends Subject>(
  subjects: ReadonlyArray<S>,
  last: ReadonlyMap<string, LastCheck>,
  tickMs: number,
  now: number
): ReadonlyArray<S> => subjects.filter((s) => nextDue(s, last.get(s.id), tickMs, now) <= now)

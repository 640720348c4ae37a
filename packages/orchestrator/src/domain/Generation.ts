/**
 * Request generations (Kubernetes' `metadata.generation` / `status.observedGeneration`): every
 * app's entry carries a counter that grows by one with each change of its intent or of its
 * transition (an operation beginning, succeeding, failing or expiring), and never otherwise.
 * An accepted request answers with the generation at which its transition was recorded, so a
 * client can tell a view taken before the request from one taken after it by a number instead
 * of guessing from fields.
 *
 * @since 0.1.0
 */
import type { AppEntry, Transition } from "./AppEntry.js"
import type { Intent } from "./Intent.js"

/**
 * The entry's generation; 0 for an entry that never had one (a state written before
 * generations existed).
 *
 * @since 0.1.0
 * @category getters
 */
export const of = (entry: AppEntry): number => entry.generation ?? 0

const sameTransition = (a: Transition | undefined, b: Transition | undefined): boolean =>
  a === b ||
  (a !== undefined && b !== undefined && a.op === b.op && a.since === b.since && a.deadline === b.deadline &&
    a.previous === b.previous)

const sameIntent = (a: Intent, b: Intent): boolean =>
  a === b ||
  (a.installed === b.installed && a.wantRunning === b.wantRunning && a.userStopped === b.userStopped &&
    a.updatedAt === b.updatedAt)

/**
 * True when going from `before` to `after` changes the app's intent or its transition: the
 * changes that advance the generation. Observed fields, health and crash-loop records do not.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRequestChange = (
  before: AppEntry,
  beforeIntent: Intent,
  after: AppEntry,
  afterIntent: Intent
): boolean => !sameTransition(before.transition, after.transition) || !sameIntent(beforeIntent, afterIntent)

/**
 * The entry `after` with its generation set from `before`: one more when the change is a
 * request change (see `isRequestChange`), the same otherwise. Whatever generation `after`
 * carried is ignored, so a function that rebuilds an entry from scratch cannot reset it.
 *
 * @example
 * const begun = Transition.begin(entry, "stop", now, 30)  // Success(entry in "stopping")
 * Generation.advance(entry, intent, begun.success, Intent.request(intent, "stop", now)).generation
 * // Generation.of(entry) + 1
 *
 * @since 0.1.0
 * @category combinators
 */
export const advance = (
  before: AppEntry,
  beforeIntent: Intent,
  after: AppEntry,
  afterIntent: Intent
): AppEntry => {
  const generation = of(before) + (isRequestChange(before, beforeIntent, after, afterIntent) ? 1 : 0)
  return after.generation === generation ? after : { ...after, generation }
}

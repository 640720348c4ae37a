/**
 * Merging a scan's observation into what the orchestrator believes: the fix for the founding bug.
 *
 * @since 0.1.0
 */
import type { AppEntry, Observation, Transition } from "./AppEntry.js"
import { recordRelease } from "./AppEntry.js"

/**
 * The result of a merge: the new entry, and the transition that was dropped because it ran
 * past its deadline (the caller logs a warning for it).
 *
 * @since 0.1.0
 * @category models
 */
export interface Merged {
  readonly entry: AppEntry
  readonly expired?: Transition
}

/**
 * Merges an observation into an entry at time `now` (Unix ms). While a transition is live the
 * state is kept and only the observed fields are taken; past its deadline observation wins and
 * the transition is dropped. Without a transition, observation wins. The release a container
 * shows is recorded; a vanished container's is kept (see `AppEntry.release`). Idempotent.
 *
 * @since 0.1.0
 * @category combinators
 */
export const merge = (existing: AppEntry, observation: Observation, now: number): Merged => {
  const t = existing.transition
  if (t !== undefined && now < t.deadline) {
    return { entry: recordRelease({ ...existing, observed: observation.observed }, observation.observed) }
  }
  const { transition: _t, ...rest } = existing
  const entry: AppEntry = recordRelease({ ...rest, state: observation.state, observed: observation.observed }, observation.observed)
  return t === undefined ? { entry } : { entry, expired: t }
}

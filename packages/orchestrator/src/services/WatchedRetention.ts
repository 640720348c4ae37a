/**
 * Which copies of a watched file (LND's `channel.backup`) the backup target keeps. LND started
 * without its `channel.db` rewrites `channel.backup` with no channels, again and again (lnd issue
 * 4377): counted like any other copy, a dozen of those push the last copy that had the channels
 * out of the kept set. So a copy that shrank sharply (below `shrinkRatio` of the newest good
 * copy) is a suspect: it never counts against the good copies. Kept: the newest `keep` good
 * copies, and the newest `keep` suspects made after the newest good one. Pure.
 *
 * @since 0.1.0
 */

/**
 * One copy in the target.
 *
 * @since 0.1.0
 * @category models
 */
export interface Copy {
  readonly name: string
  /** Unix milliseconds. */
  readonly createdAt: number
  readonly bytes: number
}

/**
 * What to keep and what to prune, the newest good copy (what a channel recovery uses) and,
 * when the newest copy is a suspect, how the file shrank.
 *
 * @since 0.1.0
 * @category models
 */
export interface Plan {
  readonly keep: ReadonlyArray<Copy>
  readonly prune: ReadonlyArray<Copy>
  readonly newestGood: Copy | undefined
  readonly shrank: { readonly from: number; readonly to: number } | undefined
}

/**
 * A copy smaller than this share of the newest good copy is a suspect (an emptied backup).
 *
 * @since 0.1.0
 * @category constants
 */
export const shrinkRatio = 0.5

/**
 * Whether a copy of `bytes` shrank sharply from a good copy of `baseline` bytes.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isShrink = (baseline: number, bytes: number): boolean => bytes < baseline * shrinkRatio

/**
 * The retention plan of `copies` (any order) keeping `keep` (at least 1) of each kind.
 *
 * @since 0.1.0
 * @category constructors
 */
export const plan = (copies: ReadonlyArray<Copy>, keep: number): Plan => {
  const n = Math.max(1, Math.floor(keep))
  const sorted = [...copies].sort((a, b) => a.createdAt - b.createdAt || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const good: Array<Copy> = []
  let suspects: Array<Copy> = []
  for (const c of sorted) {
    const baseline = good.at(-1)
    if (baseline !== undefined && isShrink(baseline.bytes, c.bytes)) suspects.push(c)
    else {
      good.push(c)
      // a good copy supersedes the suspects before it
      suspects = []
    }
  }
  const kept = new Set<Copy>([...good.slice(-n), ...suspects.slice(-n)])
  const newest = sorted.at(-1)
  const newestGood = good.at(-1)
  return {
    keep: sorted.filter((c) => kept.has(c)),
    prune: sorted.filter((c) => !kept.has(c)),
    newestGood,
    shrank: newest !== undefined && newestGood !== undefined && newest !== newestGood
      ? { from: newestGood.bytes, to: newest.bytes }
      : undefined
  }
}

/**
 * App versions in order: semver (with an optional `v`, pre-releases before their release) where
 * both sides are semver; otherwise no order is claimed, and a change is only a change.
 *
 * @since 0.1.0
 */

const semver = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/

const comparePre = (a: string | undefined, b: string | undefined): number => {
  if (a === b) return 0
  if (a === undefined) return 1
  if (b === undefined) return -1
  const xs = a.split(".")
  const ys = b.split(".")
  for (let i = 0; i < Math.max(xs.length, ys.length); i++) {
    const x = xs[i]
    const y = ys[i]
    if (x === undefined) return -1
    if (y === undefined) return 1
    const nx = /^\d+$/.test(x) ? Number(x) : undefined
    const ny = /^\d+$/.test(y) ? Number(y) : undefined
    if (nx !== undefined && ny !== undefined) {
      if (nx !== ny) return nx < ny ? -1 : 1
    } else if (nx !== undefined) return -1
    else if (ny !== undefined) return 1
    else if (x !== y) return x < y ? -1 : 1
  }
  return 0
}

/**
 * -1, 0 or 1 when both are semver (build metadata ignored); undefined when either is not.
 *
 * @since 0.1.0
 * @category getters
 */
export const compare = (a: string, b: string): -1 | 0 | 1 | undefined => {
  const x = semver.exec(a)
  const y = semver.exec(b)
  if (x === null || y === null) return undefined
  for (const i of [1, 2, 3]) {
    const d = Number(x[i]) - Number(y[i])
    if (d !== 0) return d < 0 ? -1 : 1
  }
  const p = comparePre(x[4], y[4])
  return p < 0 ? -1 : p > 0 ? 1 : 0
}

/**
 * What moving from `from` to `to` is: an `upgrade`, a `downgrade`, or a `change` when the two
 * cannot be ordered (not semver, or equal versions of another image or build).
 *
 * @since 0.1.0
 * @category getters
 */
export const direction = (from: string, to: string): "upgrade" | "downgrade" | "change" => {
  const c = compare(from, to)
  return c === -1 ? "upgrade" : c === 1 ? "downgrade" : "change"
}

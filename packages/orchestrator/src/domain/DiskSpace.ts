/**
 * How full the data disk is allowed to get before the dashboard warns: a full disk is the first
 * thing that ends a Bitcoin node (Bitcoin Core stops when it cannot write a block), so the
 * warning comes well before. Pure: the measurement comes in as numbers.
 *
 * @since 0.1.0
 */

/**
 * `ok`, `warn` (plan for more space) or `critical` (act now).
 *
 * @since 0.1.0
 * @category models
 */
export type Level = "ok" | "warn" | "critical"

/**
 * The levels, mildest first.
 *
 * @since 0.1.0
 * @category constants
 */
export const levels = ["ok", "warn", "critical"] as const satisfies ReadonlyArray<Level>

/**
 * A level is reached when the free space falls below EITHER its share of the disk or its
 * absolute amount: the share speaks for small disks, the amount for large ones (10 % of 4 TB is
 * still plenty of room, 20 GiB on a 250 GB disk is a few weeks of a chain's growth).
 *
 * @since 0.1.0
 * @category models
 */
export interface Thresholds {
  /** Warn below this share of the disk free (0-100). */
  readonly warnPercent: number
  /** Warn below this many bytes free. */
  readonly warnBytes: number
  /** Critical below this share of the disk free (0-100). */
  readonly criticalPercent: number
  /** Critical below this many bytes free. */
  readonly criticalBytes: number
}

const GiB = 1024 ** 3

/**
 * Warn below 10 % or 20 GiB free; critical below 5 % or 5 GiB free.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultThresholds: Thresholds = {
  warnPercent: 10,
  warnBytes: 20 * GiB,
  criticalPercent: 5,
  criticalBytes: 5 * GiB
}

/**
 * The share of the disk that is free, 0-100 (0 for a disk that reports no size).
 *
 * @since 0.1.0
 * @category getters
 */
export const freePercent = (freeBytes: number, totalBytes: number): number =>
  totalBytes <= 0 ? 0 : Math.min(100, Math.max(0, (freeBytes / totalBytes) * 100))

/**
 * The level of a disk with `freeBytes` of `totalBytes` free. Monotone: less free space never
 * gives a milder level; `critical` is checked first, so thresholds that overlap still answer.
 *
 * @example
 * import { DiskSpace } from "@archipelago/orchestrator/domain"
 * DiskSpace.level(20e9, 250e9) // "warn": 8 % free
 *
 * @since 0.1.0
 * @category combinators
 */
export const level = (freeBytes: number, totalBytes: number, t: Thresholds = defaultThresholds): Level => {
  const pct = freePercent(freeBytes, totalBytes)
  const free = Math.max(0, freeBytes)
  if (pct < t.criticalPercent || free < t.criticalBytes) return "critical"
  if (pct < t.warnPercent || free < t.warnBytes) return "warn"
  return "ok"
}

/**
 * The thresholds an environment sets, over the defaults: `ARCHIPELAGO_DISK_WARN_PERCENT`,
 * `ARCHIPELAGO_DISK_CRITICAL_PERCENT` (shares of the disk, 0-100) and `ARCHIPELAGO_DISK_WARN_GIB`,
 * `ARCHIPELAGO_DISK_CRITICAL_GIB` (GiB free). A value that is not a number in range is ignored.
 *
 * @since 0.1.0
 * @category constructors
 */
export const thresholdsFromEnv = (env: Readonly<Record<string, string | undefined>>, base: Thresholds = defaultThresholds): Thresholds => {
  const read = (name: string, max: number): number | undefined => {
    const raw = env[name]
    if (raw === undefined || raw.trim() === "") return undefined
    const n = Number(raw)
    return Number.isFinite(n) && n >= 0 && n <= max ? n : undefined
  }
  const warnPercent = read("ARCHIPELAGO_DISK_WARN_PERCENT", 100)
  const criticalPercent = read("ARCHIPELAGO_DISK_CRITICAL_PERCENT", 100)
  const warnGiB = read("ARCHIPELAGO_DISK_WARN_GIB", Number.MAX_SAFE_INTEGER / GiB)
  const criticalGiB = read("ARCHIPELAGO_DISK_CRITICAL_GIB", Number.MAX_SAFE_INTEGER / GiB)
  return {
    warnPercent: warnPercent ?? base.warnPercent,
    criticalPercent: criticalPercent ?? base.criticalPercent,
    warnBytes: warnGiB === undefined ? base.warnBytes : warnGiB * GiB,
    criticalBytes: criticalGiB === undefined ? base.criticalBytes : criticalGiB * GiB
  }
}

/**
 * Memory limits as manifests write them (`128Mi`, `1G`, `536870912`).
 *
 * @since 0.1.0
 */

const units: Readonly<Record<string, number>> = {
  "": 1,
  k: 1e3,
  m: 1e6,
  g: 1e9,
  t: 1e12,
  ki: 1024,
  mi: 1024 ** 2,
  gi: 1024 ** 3,
  ti: 1024 ** 4
}

const syntax = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?)?b?\s*$/i

/**
 * Parses a memory limit to bytes. Binary suffixes `Ki/Mi/Gi/Ti` are powers of 1024, decimal
 * `K/M/G/T` powers of 1000 (either case); a bare number is bytes. Returns `undefined` for
 * anything unparsable, zero, negative or not a whole number of bytes, so a bad limit is omitted
 * rather than emitted as 0.
 *
 * @example
 * parseMemoryLimit("128Mi") // 134217728
 * parseMemoryLimit("0")     // undefined
 *
 * @since 0.1.0
 * @category constructors
 */
export const parseMemoryLimit = (input: string | number): number | undefined => {
  if (typeof input === "number") {
    return Number.isSafeInteger(input) && input > 0 ? input : undefined
  }
  const m = syntax.exec(input)
  if (m === null) return undefined
  const factor = units[(m[2] ?? "").toLowerCase()]
  if (factor === undefined) return undefined
  const bytes = Number(m[1]) * factor
  if (!Number.isSafeInteger(bytes) || bytes <= 0) return undefined
  return bytes
}

const formats: ReadonlyArray<readonly [string, number]> = [
  ["Ti", 1024 ** 4],
  ["Gi", 1024 ** 3],
  ["Mi", 1024 ** 2],
  ["Ki", 1024],
  ["T", 1e12],
  ["G", 1e9],
  ["M", 1e6],
  ["K", 1e3]
]

/**
 * Formats bytes with the largest unit that divides them exactly; `parseMemoryLimit` reads it back.
 *
 * @since 0.1.0
 * @category getters
 */
export const formatMemoryLimit = (bytes: number): string => {
  for (const [suffix, factor] of formats) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${suffix}`
  }
  return String(bytes)
}

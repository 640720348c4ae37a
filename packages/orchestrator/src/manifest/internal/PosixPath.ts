/**
 * Pure POSIX path arithmetic, so manifest checks stay free of `node:path`.
 *
 * @internal
 */

/** @internal */
export const isAbsolute = (p: string): boolean => p.startsWith("/")

/**
 * Normalises `a/./b/../c` to `a/c`; returns undefined when `..` climbs above the start of a
 * relative path (an escape).
 *
 * @internal
 */
export const normalize = (p: string): string | undefined => {
  const abs = isAbsolute(p)
  const out: Array<string> = []
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue
    if (part === "..") {
      if (out.length > 0) out.pop()
      else if (!abs) return undefined
    } else out.push(part)
  }
  const joined = out.join("/")
  return abs ? `/${joined}` : joined === "" ? "." : joined
}

/** Joins and normalises; undefined when the relative part escapes the base. @internal */
export const join = (base: string, rel: string): string | undefined => {
  const r = normalize(rel)
  if (r === undefined) return undefined
  const b = base.endsWith("/") && base.length > 1 ? base.slice(0, -1) : base
  return r === "." ? b : `${b}/${r}`
}

/** True when `p` is `root` or inside it (both normalised absolute paths). @internal */
export const isWithin = (p: string, root: string): boolean => {
  const r = root === "/" ? "/" : root.replace(/\/+$/, "")
  return p === r || p.startsWith(r === "/" ? "/" : `${r}/`)
}

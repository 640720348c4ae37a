/**
 * What the simulator reads from a Containerfile: the `ENV` and `LABEL` instructions an image
 * carries, and how long its build takes. Pure: text in, values out (the simulated runtime reads
 * the file).
 *
 * @since 0.1.0
 */
import { Duration } from "effect"

const words = (text: string): ReadonlyArray<string> =>
  [...text.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : (m[2] ?? "")))

const pairs = (rest: string): Record<string, string> => {
  const out: Record<string, string> = {}
  const tokens = [...rest.matchAll(/([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)/g)]
  if (tokens.length === 0) {
    const [key, ...value] = words(rest)
    if (key !== undefined) out[key] = value.join(" ")
    return out
  }
  for (const m of tokens) out[m[1]!] = words(m[2] ?? "")[0] ?? ""
  return out
}

/** The instruction lines, with line continuations joined. */
const instructions = (text: string): ReadonlyArray<string> => text.replace(/\\\r?\n/g, " ").split(/\r?\n/)

/**
 * The `ENV` and `LABEL` instructions of a Containerfile (`KEY=value` pairs, quoted values, the
 * legacy `ENV KEY value` form; line continuations joined).
 *
 * @since 0.1.0
 * @category utils
 */
export const parseContainerfile = (
  text: string
): { readonly env: Readonly<Record<string, string>>; readonly labels: Readonly<Record<string, string>> } => {
  const env: Record<string, string> = {}
  const labels: Record<string, string> = {}
  for (const line of instructions(text)) {
    const m = /^\s*(ENV|LABEL)\s+(.*)$/i.exec(line)
    if (m === null) continue
    Object.assign(m[1]!.toUpperCase() === "ENV" ? env : labels, pairs(m[2]!))
  }
  return { env, labels }
}

/**
 * How long a Containerfile's build takes in the simulator: the sum of its `RUN sleep N` steps
 * (seconds, decimals allowed); other steps take no time.
 *
 * @since 0.1.0
 * @category utils
 */
export const buildTime = (text: string): Duration.Duration =>
  Duration.millis(
    instructions(text)
      .map((line) => /^\s*RUN\s+sleep\s+(\d+(?:\.\d+)?)\s*$/i.exec(line))
      .reduce((sum, m) => sum + (m === null ? 0 : Math.round(Number(m[1]) * 1000)), 0)
  )

/**
 * Edits of `lnd.conf` that touch only the `[Bitcoind]` keys Archipelago owns (RPC host, user,
 * password and ZMQ endpoints); every other line, including other keys of that section, is kept.
 * Section names compare case-insensitively, as lnd's parser does. Pure.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import { RenderError } from "./RenderError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Bitcoind {
  readonly rpchost: string
  readonly rpcuser: string
  readonly rpcpass: string
  readonly zmqpubrawblock: string
  readonly zmqpubrawtx: string
}

/**
 * The endpoints of bitcoind on the host, reached through podman's gateway name.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults = {
  rpchost: "host.containers.internal:8332",
  rpcuser: "archipelago",
  zmqpubrawblock: "tcp://host.containers.internal:28332",
  zmqpubrawtx: "tcp://host.containers.internal:28333"
} as const

const order: ReadonlyArray<keyof Bitcoind> = ["rpchost", "rpcuser", "rpcpass", "zmqpubrawblock", "zmqpubrawtx"]

const sectionHeader = /^\s*\[([^\]]*)\]\s*$/
const keyLine = /^\s*([^=;#\s]+)\s*=/

const splitLines = (text: string): Array<string> => {
  if (text === "") return []
  const lines = text.split(/\r?\n/)
  if (lines[lines.length - 1] === "") lines.pop()
  return lines
}

const validate = (values: Bitcoind): Result.Result<Bitcoind, RenderError> => {
  for (const key of order) {
    const value = values[key]
    if (value.length === 0) return Result.fail(new RenderError({ field: key, reason: "empty" }))
    if (/[\r\n\0]/.test(value) || value.trim() !== value) {
      return Result.fail(new RenderError({ field: key, reason: "contains a line break or surrounding spaces" }))
    }
  }
  return Result.succeed(values)
}

/**
 * Sets `bitcoind.<key>=<value>` for every owned key: the first occurrence of a key in any
 * `[Bitcoind]` section (lnd merges sections of the same name) is replaced in place, later
 * duplicates are dropped, and a missing key is added after the first such section's last entry
 * (a `[Bitcoind]` section is appended when there is none).
 * Idempotent; the result ends with a newline.
 *
 * @since 0.1.0
 * @category combinators
 */
export const setBitcoind = (text: string, values: Bitcoind): Result.Result<string, RenderError> =>
  Result.map(validate(values), (v) => {
    const owned = new Map<string, string>(order.map((k) => [`bitcoind.${k}`, `bitcoind.${k}=${v[k]}`]))
    const lines = splitLines(text)
    const out: Array<string> = []
    const seen = new Set<string>()
    let inBitcoind = false
    let firstSectionEnd = -1 // index in `out` after the first [Bitcoind] section's last non-blank line
    let sawBitcoind = false
    let inFirst = false
    for (const line of lines) {
      const header = sectionHeader.exec(line)
      if (header !== null) {
        inBitcoind = header[1]!.trim().toLowerCase() === "bitcoind"
        inFirst = inBitcoind && !sawBitcoind
        if (inBitcoind) sawBitcoind = true
        out.push(line)
        if (inFirst) firstSectionEnd = out.length
        continue
      }
      const key = keyLine.exec(line)?.[1]?.toLowerCase()
      if (inBitcoind && key !== undefined && owned.has(key)) {
        if (!seen.has(key)) {
          seen.add(key)
          out.push(owned.get(key)!)
          if (inFirst) firstSectionEnd = out.length
        }
        continue
      }
      out.push(line)
      if (inFirst && line.trim() !== "") firstSectionEnd = out.length
    }
    const missing = [...owned].filter(([key]) => !seen.has(key)).map(([, line]) => line)
    if (missing.length > 0) {
      if (firstSectionEnd === -1) {
        if (out.length > 0 && out[out.length - 1]!.trim() !== "") out.push("")
        out.push("[Bitcoind]", ...missing)
      } else {
        out.splice(firstSectionEnd, 0, ...missing)
      }
    }
    return `${out.join("\n")}\n`
  })

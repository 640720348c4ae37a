/**
 * Edits of `bitcoin.conf` that touch only the lines Archipelago owns: the `rpcauth=` line of its
 * RPC user. Everything else (comments, other users, network sections) is preserved byte for byte.
 * Pure.
 *
 * @since 0.1.0
 */
import { Option } from "effect"

const rpcauthPrefix = /^\s*rpcauth\s*=\s*/
const sectionHeader = /^\s*\[[^\]]*\]\s*$/

const splitLines = (text: string): Array<string> => {
  if (text === "") return []
  const lines = text.split(/\r?\n/)
  if (lines[lines.length - 1] === "") lines.pop()
  return lines
}

const rpcauthValue = (line: string): string | undefined => {
  const m = rpcauthPrefix.exec(line)
  return m === null ? undefined : line.slice(m[0].length).trim()
}

const isUserLine = (line: string, user: string): boolean => rpcauthValue(line)?.startsWith(`${user}:`) ?? false

/**
 * The value of the first `rpcauth=<user>:...` line, if any.
 *
 * @since 0.1.0
 * @category utils
 */
export const findRpcAuth = (text: string, user: string): Option.Option<string> => {
  for (const line of splitLines(text)) {
    if (isUserLine(line, user)) return Option.some(rpcauthValue(line)!)
  }
  return Option.none()
}

/**
 * Sets the user's `rpcauth=` line to `value` (`<user>:<salt>$<hash>`): it takes the place of the
 * user's first existing line, other lines of that user are dropped, and a new line goes before
 * the first network section (options there apply to one network only). Idempotent; the result
 * ends with a newline.
 *
 * @since 0.1.0
 * @category combinators
 */
export const setRpcAuth = (text: string, user: string, value: string): string => {
  const line = `rpcauth=${value}`
  const lines = splitLines(text)
  const out: Array<string> = []
  let placed = false
  for (const current of lines) {
    if (isUserLine(current, user)) {
      if (!placed) out.push(line)
      placed = true
    } else {
      out.push(current)
    }
  }
  if (!placed) {
    const section = out.findIndex((l) => sectionHeader.test(l))
    if (section === -1) out.push(line)
    else out.splice(section, 0, line)
  }
  return `${out.join("\n")}\n`
}

/**
 * An engine failure in the operator's words first, podman's stderr after: the one place the
 * text of a failed engine operation is made, for an app's `lastError`, its install log and the
 * journal.
 *
 * A message is `<sentence>\n\n<detail>`: the sentence names what failed and why in one line
 * (`lnd could not start: host port 9735 is already in use by another program`); the detail is
 * podman's stderr without the lines that are never the cause (its systemd health-check timer
 * complaints, retry warnings repeated by the final error, duplicates), with 64-hex ids shortened
 * and its length bounded. An unknown failure keeps podman's words behind `<app> could not <op>:`.
 * Pure and idempotent: formatting a formatted message returns it unchanged.
 *
 * @since 0.1.0
 */

/**
 * The longest detail (podman's cleaned stderr), in characters.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxDetailChars = 4000

/**
 * The longest line of the detail; a longer one is cut with `…`.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxLineChars = 1000

/**
 * The longest sentence (the message's first line).
 *
 * @since 0.1.0
 * @category constants
 */
export const maxSentenceChars = 400

const verbs: Readonly<Record<string, string>> = {
  install: "install",
  start: "start",
  stop: "stop",
  restart: "restart",
  update: "update",
  remove: "be removed",
  backup: "be backed up",
  restore: "be restored",
  reconcile: "be reconciled"
}

/**
 * The message's opening for `app` and `op`: `lnd could not start`.
 *
 * @since 0.1.0
 * @category getters
 */
export const opening = (app: string, op: string): string => `${oneLine(app)} could not ${verbs[op] ?? oneLine(op)}`

// podman's own log lines: `time="..." level=warning msg="..."`
const logLine = /^time="[^"]*" level=(\w+) msg=/
// podman 4.3 schedules health checks with systemd-run timers and complains on every create,
// start and stop when it cannot, at level=error: never the reason an operation failed
const timerNoise =
  /transient timer unit|systemd-run|Running timer as unit|Will run service as unit|Removing timer for container|unable to get systemd connection|\/run\/systemd\/private|healthcheck.*\btimer\b|\brun-r[0-9a-f]+\.(timer|service)\b/i
const progress = /^(Getting image source signatures|Copying (blob|config) |Writing manifest to image destination|Storing signatures)/
// eslint-disable-next-line no-control-regex
const controls = /\u001b\[[0-9;?]*[A-Za-z]|[\u0000-\u0008\u000b-\u001f\u007f]/g
const longHex = /\b[0-9a-f]{64}\b/g

const oneLine = (s: string): string => s.replace(/\s+/g, " ").trim()

const cut = (s: string, max: number): string => (s.length <= max ? s : `${s.slice(0, max - 1)}…`)

const normaliseLine = (line: string): string =>
  cut(line.replace(controls, "").replace(longHex, (h) => `${h.slice(0, 12)}…`).replace(/\s+$/, ""), maxLineChars)

const isLogLine = (line: string): boolean => logLine.test(line)
const isNoise = (line: string): boolean => {
  // podman's final error is the cause, whatever it names
  if (line.startsWith("Error:")) return false
  if (timerNoise.test(line)) return true
  if (progress.test(line)) return true
  const level = logLine.exec(line)?.[1]
  return level !== undefined && level !== "error" && level !== "fatal" && level !== "panic"
}

const leftOut = (n: number) => `… (${n} earlier line${n === 1 ? "" : "s"} left out)`
const leftOutLine = /^… \(\d+ earlier lines? left out\)$/

/**
 * podman's stderr without what is never the cause: empty lines, its systemd timer complaints,
 * warnings and info lines (a pull's retry warnings repeat its final error), pull progress,
 * repeated lines, trailing whitespace and control characters; 64-hex ids shortened to 12; each
 * line at most `maxLineChars` and the whole at most `maxDetailChars`, the last `Error:` line
 * always kept. When every line is noise, the last one is kept. Idempotent.
 *
 * @since 0.1.0
 * @category combinators
 */
export const clean = (stderr: string): string => {
  const seen = new Set<string>()
  const lines: Array<string> = []
  for (const raw of stderr.split(/\r?\n|\r/)) {
    const line = normaliseLine(raw)
    if (line.trim() === "" || seen.has(line)) continue
    seen.add(line)
    lines.push(line)
  }
  const kept = lines.filter((l) => !isNoise(l))
  const chosen = kept.length > 0 ? kept : lines.slice(-1)
  return bound(chosen)
}

const bound = (lines: ReadonlyArray<string>): string => {
  const total = lines.reduce((n, l) => n + l.length + 1, 0) - 1
  if (total <= maxDetailChars) return lines.join("\n")
  const key = keyIndex(lines)
  const marker = leftOut(lines.length).length + 1
  let budget = maxDetailChars - marker - (lines[key]!.length + 1)
  const keep = new Set<number>([key])
  for (let i = lines.length - 1; i >= 0; i--) {
    if (i === key || leftOutLine.test(lines[i]!)) continue
    if (lines[i]!.length + 1 > budget) break
    budget -= lines[i]!.length + 1
    keep.add(i)
  }
  const out = lines.filter((_, i) => keep.has(i))
  return [leftOut(lines.length - out.length), ...out].join("\n")
}

const keyIndex = (lines: ReadonlyArray<string>): number => {
  for (let i = lines.length - 1; i >= 0; i--) if (lines[i]!.startsWith("Error:")) return i
  for (let i = lines.length - 1; i >= 0; i--) if (!leftOutLine.test(lines[i]!)) return i
  return lines.length - 1
}

/**
 * The line that says why: the last `Error:` line (without `Error: `), else the last line
 * (a log line's `msg`), with podman's `unable to start container "<id>": ` prefix dropped.
 *
 * @since 0.1.0
 * @category getters
 */
export const reason = (detail: string): string => {
  const lines = detail.split("\n").filter((l) => l.trim() !== "" && !leftOutLine.test(l))
  if (lines.length === 0) return ""
  const line = lines[keyIndex(lines)]!
  const msg = isLogLine(line) ? (/msg="((?:[^"\\]|\\.)*)"/.exec(line)?.[1]?.replace(/\\"/g, "\"") ?? line) : line
  return oneLine(
    msg.replace(/^Error:\s*/, "").replace(/^unable to start container "[^"]*":\s*/, "").replace(/^runc: runc create failed: /, "")
  )
}

const imageRefIn = (text: string): string | undefined =>
  /docker:\/\/(\S+?): /.exec(text)?.[1] ??
    /Trying to pull (\S+?)\.\.\./.exec(text)?.[1] ??
    /image not found: (\S+)/.exec(text)?.[1]

interface Rule {
  readonly test: RegExp
  readonly say: (m: RegExpExecArray, open: string, text: string) => string
}

const pulling = (text: string, why: string, open: string): string => {
  const ref = imageRefIn(text)
  return ref === undefined ? `${open}: ${why}` : `pulling image ${ref} failed: ${why}`
}

// In order: the first rule matching any line of the detail speaks for it. Narrow patterns
// before broad ones (a missing mount source ends with podman's "command that was not found").
const rules: ReadonlyArray<Rule> = [
  {
    test: /listen (tcp|udp)\d? \[?([0-9a-fA-F.:]*?)\]?:(\d+): bind: address already in use/,
    say: (m, open) => `${open}: host port ${m[3]}${m[1] === "udp" ? "/udp" : ""} is already in use by another program`
  },
  {
    test: /no space left on device/i,
    say: (_m, open) => `${open}: no space left on device: the data disk is full`
  },
  {
    test: /server gave HTTP response to HTTPS client/,
    say: (_m, open, text) => pulling(text, "the registry answered over plain HTTP (mark it insecure in the registries setting)", open)
  },
  {
    test: /x509: |certificate signed by unknown authority|tls: /,
    say: (_m, open, text) => pulling(text, "the registry's TLS certificate is not trusted (mark it insecure in the registries setting, or trust its certificate)", open)
  },
  {
    test: /pinging container registry (\S+?): .*connect: connection refused/,
    say: (m, open, text) => pulling(text, `the registry ${m[1]} refused the connection (is it running?)`, open)
  },
  {
    test: /dial tcp: lookup (\S+?)(?: on \S+)?: (?:no such host|server misbehaving)/,
    say: (m, open, text) => pulling(text, `the registry host ${m[1]} could not be found (no network, or a wrong name)`, open)
  },
  {
    test: /manifest unknown|image not known|no such image|image not found|repository \S+ not found|name unknown/i,
    say: (_m, open, text) => pulling(text, "image not found", open)
  },
  {
    test: /error mounting "([^"]+)" to rootfs at "([^"]+)": (?:stat|lstat) [^:]+: no such file or directory/,
    say: (m, open) => `${open}: the folder ${m[1]} to mount at ${m[2]} does not exist`
  },
  {
    test: /exec: "([^"]+)": (?:stat [^:]+: no such file or directory|executable file not found)/,
    say: (m, open) => `${open}: the container's command ${m[1]} is not in its image`
  },
  {
    test: /(?:(\/[^\s:"]+):? )?permission denied/i,
    say: (m, open) => `${open}: permission denied${m[1] === undefined ? "" : ` on ${m[1]}`}`
  },
  {
    test: /read-only file system/i,
    say: (_m, open) => `${open}: the disk is read-only`
  },
  {
    test: /no container with name or ID|no such container/i,
    say: (_m, open) => `${open}: its container is gone`
  },
  {
    test: /did not finish by its deadline|context deadline exceeded|i\/o timeout|timed out/i,
    say: (_m, open) => `${open}: it timed out`
  },
  {
    test: /^container engine unavailable: |cannot connect to podman|could not get runtime/i,
    say: (_m, open) => `${open}: the container engine is unavailable`
  }
]

/**
 * The operator's sentence for a detail: a known failure in words, else the opening and the
 * detail's reason (`<app> could not <op>: <podman's words>`). One line, never empty.
 *
 * @since 0.1.0
 * @category getters
 */
export const sentence = (app: string, op: string, detail: string): string => {
  const open = opening(app, op)
  const lines = detail.split("\n")
  for (const rule of rules) {
    for (const line of lines) {
      const m = rule.test.exec(line)
      if (m !== null) return cut(oneLine(rule.say(m, open, detail)), maxSentenceChars)
    }
  }
  const why = reason(detail)
  return cut(oneLine(why === "" ? `${open} (the engine gave no reason)` : `${open}: ${why}`), maxSentenceChars)
}

const formatted = (app: string, op: string, text: string): boolean => {
  const at = text.indexOf("\n\n")
  if (at < 0) return text === sentence(app, op, "")
  const detail = text.slice(at + 2)
  return detail !== "" && clean(detail) === detail && text.slice(0, at) === sentence(app, op, detail)
}

/**
 * `<sentence>\n\n<detail>` for podman's stderr (or an engine error's words) `text`; the sentence
 * alone when nothing is left of it. A formatted message is returned unchanged.
 *
 * @example
 * format("lnd", "start", 'Error: unable to start container "990b…": cannot listen on the TCP port: listen tcp4 :9735: bind: address already in use')
 * // "lnd could not start: host port 9735 is already in use by another program\n\nError: unable to start …"
 *
 * @since 0.1.0
 * @category constructors
 */
export const format = (app: string, op: string, text: string): string => {
  if (formatted(app, op, text)) return text
  const detail = clean(text)
  const first = sentence(app, op, detail)
  return detail === "" ? first : `${first}\n\n${detail}`
}

/**
 * The first line of a message: the operator's sentence.
 *
 * @since 0.1.0
 * @category getters
 */
export const headline = (message: string): string => {
  const at = message.indexOf("\n")
  return at < 0 ? message : message.slice(0, at)
}

/**
 * What follows the sentence (podman's cleaned stderr), or "" when none.
 *
 * @since 0.1.0
 * @category getters
 */
export const detail = (message: string): string => {
  const at = message.indexOf("\n\n")
  return at < 0 ? "" : message.slice(at + 2)
}

/**
 * What an error of the engine says, by its tag (the fields of `RuntimeError`'s classes and the
 * deadline of an operation); undefined for any other error, whose message already speaks for
 * itself.
 *
 * @since 0.1.0
 * @category getters
 */
export const engineText = (error: { readonly _tag?: unknown; readonly message: string }): string | undefined => {
  const e = error as {
    readonly _tag?: unknown
    readonly message: string
    readonly stderr?: unknown
    readonly argv?: unknown
    readonly exitCode?: unknown
    readonly ref?: unknown
    readonly tried?: unknown
  }
  switch (e._tag) {
    case "CommandFailed": {
      const stderr = typeof e.stderr === "string" ? e.stderr : ""
      const argv = Array.isArray(e.argv) ? e.argv.join(" ") : "podman"
      return stderr.trim() === "" ? `${argv} exited ${String(e.exitCode)}` : stderr
    }
    case "ImageNotFound": {
      const tried = Array.isArray(e.tried) ? e.tried.filter((t): t is string => typeof t === "string") : []
      return [...tried, `image not found: ${String(e.ref)}`].join("\n")
    }
    case "EngineUnavailable":
    case "ContainerNotFound":
    case "DeadlineExceeded":
      return e.message
    default:
      return undefined
  }
}

/**
 * Why an operation failed, in one line, for a message that names the app and the operation
 * itself (`it did not start: host port 9735 is already in use by another program`): the
 * sentence of an engine error without its opening, any other error's first line.
 *
 * @since 0.1.0
 * @category getters
 */
export const why = (app: string, op: string, error: { readonly _tag?: unknown; readonly message: string }): string => {
  const first = headline(ofError(app, op, error))
  const open = `${opening(app, op)}: `
  return first.startsWith(open) ? first.slice(open.length) : first
}

/**
 * The message of a failed operation `op` of `app`: an engine error formatted (`format`), any
 * other error's own message as it is.
 *
 * @since 0.1.0
 * @category constructors
 */
export const ofError = (app: string, op: string, error: { readonly _tag?: unknown; readonly message: string }): string => {
  const text = engineText(error)
  return text === undefined ? error.message : format(app, op, text)
}

/**
 * The operator's settings of `archipelago`, from four sources in this order of precedence:
 * command-line flag > environment variable (`ARCHIPELAGO_*`) > config file
 * (`/etc/archipelago/config.yml` or `--config`) > default. Pure: the sources come in as values;
 * every problem is a `UsageError` naming where the bad value came from (`--port`,
 * `ARCHIPELAGO_PORT`, `config.yml:3:7 port`).
 *
 * Over 500 lines: every setting's four sources, its config-file schema and its located errors are
 * listed together, one entry a setting, so a new key is added in one place.
 *
 * @since 0.1.0
 */
import { Data, Duration, Result, Schema } from "effect"
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from "yaml"
import type { Node as YamlNode } from "yaml"
import { SchemaIssues } from "@archipelago/orchestrator"
import { AppId } from "@archipelago/orchestrator/domain"

/**
 * Which container engine `serve` drives.
 *
 * @since 0.1.0
 * @category models
 */
export type Engine = "auto" | "podman" | "sim"

/**
 * How log lines are written: `pretty` for people, `json` (one object per line, ISO timestamps)
 * for the journal and log shippers.
 *
 * @since 0.1.0
 * @category models
 */
export type LogFormat = "pretty" | "json"

/**
 * @since 0.1.0
 * @category models
 */
export type LogLevel = "all" | "trace" | "debug" | "info" | "warning" | "error" | "fatal" | "none"

/**
 * A registry the operator lists (`registries:`): where it is, whether it is plain HTTP
 * (`insecure`, pulled with `--tls-verify=false`), and the podman auth file for a private one.
 *
 * @since 0.1.0
 * @category models
 */
export interface RegistrySetting {
  readonly location: string
  readonly insecure: boolean
  /** An absolute path to an auth file as `podman login --authfile` writes it. */
  readonly authFile?: string
}

/**
 * Everything `serve` (and the commands that talk to it) runs with.
 *
 * @since 0.1.0
 * @category models
 */
export interface ServeOptions {
  readonly apps: string
  readonly data: string
  readonly host: string
  readonly port: number
  readonly engine: Engine
  readonly scanInterval: Duration.Duration
  readonly reconcileInterval: Duration.Duration
  readonly passwordFile?: string
  readonly allowOrigins: ReadonlyArray<string>
  /** Apps to install on first start: only those nobody has decided about yet. */
  readonly install: ReadonlyArray<string>
  /** Registries tried before docker.io. */
  readonly mirrors: ReadonlyArray<string>
  /** Extra host folders manifests may bind-mount. */
  readonly allowedBindRoots: ReadonlyArray<string>
  /** The operator's own registries (insecure, private). @since 0.1.0 */
  readonly registries: ReadonlyArray<RegistrySetting>
  /** Pull only from `mirrors` and `registries`: never docker.io, never another registry. @since 0.1.0 */
  readonly offline: boolean
  readonly logLevel: LogLevel
  readonly logFormat: LogFormat
  /** Print the login URL with its token even when stdout is not a terminal. */
  readonly printLoginUrl: boolean
  /** The backup target folder (default `<data>/backups`). @since 0.1.0 */
  readonly backupDir?: string
  /** Archives kept per app (default 5). @since 0.1.0 */
  readonly backupKeep?: number
  /** Encrypt backups (age) with the identity or passphrase in this file (absolute path). @since 0.1.0 */
  readonly backupKeyFile?: string
}

/**
 * The arguments or settings make no sense; `message` says why and where.
 *
 * @since 0.1.0
 * @category errors
 */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly reason: string }> {
  override get message(): string {
    return this.reason
  }
}

/**
 * The config file read when neither `--config` nor `ARCHIPELAGO_CONFIG` names one (a missing
 * default file is fine; a missing named one is an error).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultConfigFile = "/etc/archipelago/config.yml"

/**
 * @since 0.1.0
 * @category constants
 */
export const defaults = {
  apps: "apps",
  data: "/var/lib/archipelago",
  host: "127.0.0.1",
  port: 7420,
  engine: "auto" as Engine,
  interval: "30s",
  logLevel: "info" as LogLevel,
  logFormat: "pretty" as LogFormat
} as const

type Kind = "string" | "list" | "bool"

/**
 * One setting: its field in `ServeOptions` and the config file, its flag, and its variable.
 *
 * @since 0.1.0
 * @category models
 */
export interface Setting {
  readonly key: keyof ServeOptions
  readonly flag: string
  readonly env: string
  readonly kind: Kind
}

const setting = (key: keyof ServeOptions, flag: string, kind: Kind = "string"): Setting => ({
  key,
  flag,
  env: `ARCHIPELAGO_${flag.toUpperCase().replace(/-/g, "_")}`,
  kind
})

/**
 * Every setting, in help order. A list setting's variable holds a comma-separated list.
 *
 * @since 0.1.0
 * @category constants
 */
export const settings: ReadonlyArray<Setting> = [
  setting("apps", "apps"),
  setting("data", "data"),
  setting("host", "host"),
  setting("port", "port"),
  setting("engine", "engine"),
  setting("scanInterval", "scan-interval"),
  setting("reconcileInterval", "reconcile-interval"),
  setting("passwordFile", "password-file"),
  setting("allowOrigins", "allow-origin", "list"),
  setting("install", "install", "list"),
  setting("mirrors", "mirror", "list"),
  setting("registries", "registry", "list"),
  setting("offline", "offline", "bool"),
  setting("allowedBindRoots", "allowed-bind-root", "list"),
  setting("logLevel", "log-level"),
  setting("logFormat", "log-format"),
  setting("printLoginUrl", "print-login-url", "bool"),
  setting("backupDir", "backup-dir"),
  setting("backupKeep", "backup-keep"),
  setting("backupKeyFile", "backup-key-file")
]

/**
 * A value as it came from one source, before checking.
 *
 * @since 0.1.0
 * @category models
 */
export type Raw =
  | string
  | ReadonlyArray<string>
  | boolean
  | number
  | ReadonlyArray<string | { readonly location: string; readonly insecure?: boolean; readonly authFile?: string }>

/**
 * Values from one source, by `ServeOptions` key, with where each came from.
 *
 * @since 0.1.0
 * @category models
 */
export type Layer = Partial<Record<keyof ServeOptions, { readonly value: Raw; readonly where: string }>>

/**
 * Parses `500ms`, `1s`, `30s`, `5m`, `1h`; zero and anything else are refused.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseDuration = (text: string): Result.Result<Duration.Duration, string> => {
  const m = /^(\d+)(ms|s|m|h)$/.exec(text.trim())
  if (m === null) return Result.fail(`invalid duration ${JSON.stringify(text)}: expected e.g. 500ms, 1s, 30s, 5m`)
  const n = Number(m[1])
  if (n <= 0) return Result.fail(`invalid duration ${JSON.stringify(text)}: must be more than zero`)
  const unit = m[2] === "ms" ? "millis" : m[2] === "s" ? "seconds" : m[2] === "m" ? "minutes" : "hours"
  return Result.succeed(Duration.fromInputUnsafe(`${n} ${unit}`))
}

/**
 * The settings given as flags (`undefined` and empty lists mean "not given").
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromFlags = (flags: Partial<Record<keyof ServeOptions, Raw | undefined>>): Layer => {
  const out: Record<string, { value: Raw; where: string }> = {}
  for (const s of settings) {
    const v = flags[s.key]
    if (v === undefined || v === false || (Array.isArray(v) && v.length === 0)) continue
    out[s.key] = { value: v, where: `--${s.flag}` }
  }
  return out
}

/**
 * The settings given as `ARCHIPELAGO_*` variables; empty variables count as unset.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromEnv = (env: Readonly<Record<string, string | undefined>>): Layer => {
  const out: Record<string, { value: Raw; where: string }> = {}
  for (const s of settings) {
    const v = env[s.env]
    if (v === undefined || v.trim() === "") continue
    const value: Raw = s.kind === "list"
      ? v.split(",").map((x) => x.trim()).filter((x) => x !== "")
      : s.kind === "bool"
      ? /^(1|true|yes)$/i.test(v.trim())
      : v
    out[s.key] = { value, where: s.env }
  }
  return out
}

const asText = (r: Raw): string => (typeof r === "string" ? r : String(r))
const asList = (r: Raw): ReadonlyArray<string> =>
  Array.isArray(r) ? r.map((x) => typeof x === "string" ? x : x.location) : asText(r).split(",").filter((x) => x !== "")

const registryPattern = /^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._/-]+)?$/i

/**
 * A registry given as text: `host[:port][/path]` (TLS), `http://host[:port][/path]` (plain
 * HTTP, insecure); a `Left` says what is wrong.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseRegistry = (text: string): Result.Result<RegistrySetting, string> => {
  const insecure = text.startsWith("http://")
  const location = (insecure ? text.slice("http://".length) : text).replace(/\/+$/, "")
  return registryPattern.test(location)
    ? Result.succeed({ location, insecure })
    : Result.fail(`invalid registry ${JSON.stringify(text)}: expected a registry like registry.lan:5000 (http://127.0.0.1:5000 for one without TLS)`)
}

const levels: ReadonlyArray<LogLevel> = ["all", "trace", "debug", "info", "warning", "error", "fatal", "none"]

/**
 * The settings from the sources, highest precedence first (flags, environment, file); what
 * none gives takes its default. Only the value that wins is checked.
 *
 * @since 0.1.0
 * @category constructors
 */
export const resolve = (...layers: ReadonlyArray<Layer>): Result.Result<ServeOptions, UsageError> => {
  const pick = (key: keyof ServeOptions) => layers.map((l) => l[key]).find((v) => v !== undefined)
  const fail = (where: string, reason: string) => Result.fail(new UsageError({ reason: `${where}: ${reason}` }))
  const text = (key: keyof ServeOptions, fallback: string) => {
    const v = pick(key)
    return v === undefined ? { value: fallback, where: "default" } : { value: asText(v.value), where: v.where }
  }
  const list = (key: keyof ServeOptions) => {
    const v = pick(key)
    return v === undefined ? { value: [] as ReadonlyArray<string>, where: "default" } : { value: asList(v.value), where: v.where }
  }

  const engine = text("engine", defaults.engine)
  if (engine.value !== "auto" && engine.value !== "podman" && engine.value !== "sim") {
    return fail(engine.where, `invalid engine ${JSON.stringify(engine.value)}: expected auto, podman or sim`)
  }
  const port = text("port", String(defaults.port))
  const portNumber = /^\d+$/.test(port.value) ? Number(port.value) : NaN
  if (!(portNumber >= 0 && portNumber <= 65535)) {
    return fail(port.where, `invalid port ${JSON.stringify(port.value)}: expected 0-65535`)
  }
  const scanText = text("scanInterval", defaults.interval)
  const scan = parseDuration(scanText.value)
  if (Result.isFailure(scan)) return fail(scanText.where, scan.failure)
  const reconcileText = text("reconcileInterval", defaults.interval)
  const reconcile = parseDuration(reconcileText.value)
  if (Result.isFailure(reconcile)) return fail(reconcileText.where, reconcile.failure)
  const origins = list("allowOrigins")
  for (const o of origins.value) {
    if (!/^https?:\/\/[^/\s]+\/?$/.test(o)) {
      return fail(origins.where, `invalid origin ${JSON.stringify(o)}: expected e.g. https://node.example`)
    }
  }
  const install = list("install")
  for (const id of install.value) {
    if (!AppId.is(id)) return fail(install.where, `invalid app id ${JSON.stringify(id)}: expected app ids like demo-node`)
  }
  const roots = list("allowedBindRoots")
  for (const r of roots.value) {
    if (!r.startsWith("/")) return fail(roots.where, `invalid bind root ${JSON.stringify(r)}: expected an absolute path`)
  }
  const mirrors = list("mirrors")
  for (const m of mirrors.value) {
    if (!/^(http:\/\/)?[a-z0-9.-]+(:\d+)?(\/[a-z0-9._/-]+)?$/i.test(m)) {
      return fail(mirrors.where, `invalid mirror ${JSON.stringify(m)}: expected a registry like registry.local:5000 (http://registry.local:5000 for one without TLS)`)
    }
  }
  const registriesRaw = pick("registries")
  const registries: Array<RegistrySetting> = []
  for (const r of registriesRaw === undefined ? [] : Array.isArray(registriesRaw.value) ? registriesRaw.value : asList(registriesRaw.value)) {
    const parsed = typeof r === "string" ? parseRegistry(r) : Result.succeed<RegistrySetting>({
      location: r.location.replace(/\/+$/, ""),
      insecure: r.insecure ?? false,
      ...(r.authFile === undefined ? {} : { authFile: r.authFile })
    })
    if (Result.isFailure(parsed)) return fail(registriesRaw!.where, parsed.failure)
    registries.push(parsed.success)
  }
  const offline = pick("offline")
  const level = text("logLevel", defaults.logLevel)
  if (!levels.includes(level.value as LogLevel)) {
    return fail(level.where, `invalid log level ${JSON.stringify(level.value)}: expected one of ${levels.join(", ")}`)
  }
  const format = text("logFormat", defaults.logFormat)
  if (format.value !== "pretty" && format.value !== "json") {
    return fail(format.where, `invalid log format ${JSON.stringify(format.value)}: expected pretty or json`)
  }
  const passwordFile = pick("passwordFile")
  const print = pick("printLoginUrl")
  const backupDir = pick("backupDir")
  if (backupDir !== undefined && !asText(backupDir.value).startsWith("/")) {
    return fail(backupDir.where, `invalid backup dir ${JSON.stringify(asText(backupDir.value))}: expected an absolute path`)
  }
  const keyFile = pick("backupKeyFile")
  if (keyFile !== undefined && !asText(keyFile.value).startsWith("/")) {
    return fail(keyFile.where, `invalid backup key file ${JSON.stringify(asText(keyFile.value))}: expected an absolute path`)
  }
  const keepRaw = pick("backupKeep")
  const keep = keepRaw === undefined ? undefined : asText(keepRaw.value)
  if (keepRaw !== undefined && (keep === undefined || !/^\d+$/.test(keep) || Number(keep) < 1 || Number(keep) > 1000)) {
    return fail(keepRaw.where, `invalid backup keep ${JSON.stringify(keep)}: expected a number of archives, 1-1000`)
  }
  return Result.succeed({
    apps: text("apps", defaults.apps).value,
    data: text("data", defaults.data).value,
    host: text("host", defaults.host).value,
    port: portNumber,
    engine: engine.value,
    scanInterval: scan.success,
    reconcileInterval: reconcile.success,
    allowOrigins: origins.value,
    install: install.value,
    mirrors: mirrors.value,
    allowedBindRoots: roots.value,
    registries,
    offline: offline === undefined ? false : offline.value === true || /^(1|true|yes)$/i.test(asText(offline.value)),
    logLevel: level.value as LogLevel,
    logFormat: format.value,
    printLoginUrl: print === undefined ? false : print.value === true || /^(1|true|yes)$/i.test(asText(print.value)),
    ...(passwordFile === undefined ? {} : { passwordFile: asText(passwordFile.value) }),
    ...(backupDir === undefined ? {} : { backupDir: asText(backupDir.value) }),
    ...(keep === undefined ? {} : { backupKeep: Number(keep) }),
    ...(keyFile === undefined ? {} : { backupKeyFile: asText(keyFile.value) })
  })
}

// ---------------------------------------------------------------------------------------------
// the config file

const opt = <S extends Schema.Top>(schema: S) => Schema.optionalKey(schema)

/**
 * The config file's fields: the `ServeOptions` keys, in camelCase, with YAML lists for lists.
 *
 * @since 0.1.0
 * @category models
 */
export const FileSchema = Schema.Struct({
  apps: opt(Schema.String),
  data: opt(Schema.String),
  host: opt(Schema.String),
  port: opt(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 }))),
  engine: opt(Schema.Literals(["auto", "podman", "sim"])),
  scanInterval: opt(Schema.String),
  reconcileInterval: opt(Schema.String),
  passwordFile: opt(Schema.String),
  allowOrigins: opt(Schema.Array(Schema.String)),
  install: opt(Schema.Array(Schema.String)),
  mirrors: opt(Schema.Array(Schema.String)),
  allowedBindRoots: opt(Schema.Array(Schema.String)),
  registries: opt(Schema.Array(Schema.Union([Schema.String.check(Schema.isPattern(/^(http:\/\/)?[a-z0-9.-]+(:\d+)?(\/[a-z0-9._/-]+)?\/?$/i)), Schema.Struct({
      location: Schema.String.check(Schema.isPattern(registryPattern)),
      insecure: opt(Schema.Boolean),
      authFile: opt(Schema.String.check(Schema.isPattern(/^\//)))
    })]))),
  offline: opt(Schema.Boolean),
  logLevel: opt(Schema.Literals(levels)),
  logFormat: opt(Schema.Literals(["pretty", "json"])),
  printLoginUrl: opt(Schema.Boolean),
  backupDir: opt(Schema.String),
  backupKeep: opt(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1000 }))),
  backupKeyFile: opt(Schema.String)
})

const fileKeys = Object.keys(FileSchema.fields)

/**
 * What each key of the config file expects, in an operator's words (one message per bad value,
 * never the schema library's union of alternatives).
 *
 * @since 0.1.0
 * @category constants
 */
export const fileExpects: { readonly [K in keyof typeof FileSchema.fields]: string } = {
  apps: "a folder path",
  data: "a folder path",
  host: "an address such as 127.0.0.1",
  port: "a whole number from 0 to 65535",
  engine: "one of auto, podman, sim",
  scanInterval: "a duration such as 30s",
  reconcileInterval: "a duration such as 30s",
  passwordFile: "a file path",
  allowOrigins: "a list of origins",
  install: "a list of app ids",
  mirrors: "a list of registries",
  allowedBindRoots: "a list of folder paths",
  registries: "a list of registries",
  offline: "true or false",
  logLevel: `one of ${levels.join(", ")}`,
  logFormat: "one of pretty, json",
  printLoginUrl: "true or false",
  backupDir: "a folder path",
  backupKeep: "a whole number from 1 to 1000",
  backupKeyFile: "an absolute file path"
}

const registryKeys = ["location", "insecure", "authFile"]

const registryExpects: Readonly<Record<string, string>> = {
  "": "a registry: host[:port][/path], http://host[:port] for one without TLS, or { location, insecure, authFile }",
  location: "a registry location such as 127.0.0.1:5000 or registry.lan:5000/team",
  insecure: "true or false",
  authFile: "an absolute file path"
}

const distance = (a: string, b: string): number => {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!
    d[0] = i
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j]!
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1))
      prev = cur
    }
  }
  return d[b.length]!
}

/**
 * The closest of `candidates` to a misspelt word, if one is close enough to suggest.
 *
 * @since 0.1.0
 * @category getters
 */
export const closest = (word: string, candidates: ReadonlyArray<string>): string | undefined => {
  let best: string | undefined
  let bestD = Number.POSITIVE_INFINITY
  for (const c of candidates) {
    const dd = distance(word, c)
    if (dd < bestD) {
      best = c
      bestD = dd
    }
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined
}

/**
 * Reads a config file's text: every problem comes back as one `file:line:column field: detail`
 * line (unknown keys with a "did you mean").
 *
 * @since 0.1.0
 * @category constructors
 */
export const parseFile = (text: string, file: string): Result.Result<Layer, ReadonlyArray<string>> => {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines })
  const at = (node: YamlNode | null | undefined) => {
    const offset = node?.range?.[0] ?? 0
    const lp = lines.linePos(offset)
    return `${file}:${lp.line}:${lp.col}`
  }
  if (doc.errors.length > 0) {
    return Result.fail(doc.errors.map((e) => {
      const lp = e.linePos?.[0] ?? lines.linePos(e.pos[0])
      return `${file}:${lp.line}:${lp.col}: YAML syntax: ${(e.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "")}`
    }))
  }
  if (doc.contents === null) return Result.succeed({})
  if (!isMap(doc.contents)) return Result.fail([`${at(doc.contents)}: expected a map of settings`])
  const problems: Array<string> = []
  for (const pair of doc.contents.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : ""
    if (!fileKeys.includes(key)) {
      const hint = closest(key, fileKeys)
      problems.push(`${at(pair.key as YamlNode)} ${key}: unknown setting${hint === undefined ? "" : ` (did you mean ${hint}?)`}`)
    }
  }
  const registriesNode = doc.get("registries", true)
  if (isSeq(registriesNode)) {
    registriesNode.items.forEach((item, i) => {
      if (!isMap(item)) return
      for (const pair of item.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : ""
        if (!registryKeys.includes(key)) {
          const hint = closest(key, registryKeys)
          problems.push(`${at(pair.key as YamlNode)} registries[${i}].${key}: unknown setting${hint === undefined ? "" : ` (did you mean ${hint}?)`}`)
        }
      }
    })
  }
  const decoded = Schema.decodeUnknownResult(FileSchema)(doc.toJS(), { errors: "all", onExcessProperty: "ignore" })
  if (Result.isFailure(decoded) || problems.length > 0) {
    const seen = new Set<string>()
    const issues = Result.isSuccess(decoded) ? [] : SchemaIssues.leaves(decoded.failure.issue)
    const key = (path: ReadonlyArray<PropertyKey>) => path.map(String).join("\u0000")
    // a union's alternative that got further says more than the alternatives that did not
    const deeper = (path: ReadonlyArray<PropertyKey>) =>
      issues.some((o) => o.path.length > path.length && key(o.path.slice(0, path.length)) === key(path))
    const located = issues.filter((issue) => !deeper(issue.path)).flatMap((issue) => {
      const path = issue.path.map(String)
      // a missing field is located at the nearest node that is there (its map)
      const node = path.map((_, i) => doc.getIn(path.slice(0, path.length - i), true) as YamlNode | undefined).find((n) => n !== undefined)
      const where = path.reduce<string>((acc, k) => /^\d+$/.test(k) ? `${acc}[${k}]` : acc === "" ? k : `${acc}.${k}`, "")
      // a union (`pretty` or `json`) fails once per alternative: one message per value
      if (seen.has(where)) return []
      seen.add(where)
      const key = path[0] as keyof typeof fileExpects
      const expects = path.length === 1
        ? fileExpects[key]
        : key === "registries"
        ? registryExpects[path[2] ?? ""] ?? registryExpects[""]
        : "text"
      const value = doc.getIn(path)
      return expects === undefined ? [`${at(node)} ${where}: ${issue.message}`] : [`${at(node)} ${where}: expected ${expects}, got ${JSON.stringify(value) ?? "nothing"}`]
    })
    const lineOf = (p: string) => Number(/:(\d+):\d+/.exec(p)?.[1] ?? 0)
    return Result.fail([...problems, ...located].sort((x, y) => lineOf(x) - lineOf(y)))
  }
  const out: Record<string, { value: Raw; where: string }> = {}
  for (const [key, value] of Object.entries(decoded.success)) {
    if (value === undefined) continue
    const node = doc.get(key, true) as YamlNode | undefined
    out[key] = { value: value as Raw, where: `${at(node)} ${key}` }
  }
  return Result.succeed(out)
}

/**
 * Which config file to read: `--config`, else `ARCHIPELAGO_CONFIG`, else the default (which
 * may be missing).
 *
 * @since 0.1.0
 * @category getters
 */
export const configFileOf = (
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>
): { readonly path: string; readonly required: boolean } => {
  if (flag !== undefined && flag !== "") return { path: flag, required: true }
  const fromEnv = env["ARCHIPELAGO_CONFIG"]
  if (fromEnv !== undefined && fromEnv !== "") return { path: fromEnv, required: true }
  return { path: defaultConfigFile, required: false }
}

/**
 * A configured mirror as the orchestrator's settings take it: `http://host[:port]` is a mirror
 * reached without TLS (pulled with `--tls-verify=false`), anything else is pulled with TLS.
 *
 * @since 0.1.0
 * @category getters
 */
export const mirrorOf = (text: string): string | { readonly location: string; readonly insecure: boolean } =>
  text.startsWith("http://") ? { location: text.slice("http://".length), insecure: true } : text

/**
 * What `lstat` says about the config file or one of its folders.
 *
 * @since 0.1.0
 * @category models
 */
export interface FileFacts {
  readonly path: string
  readonly uid: number
  /** The full `st_mode` (type and permission bits). */
  readonly mode: number
  readonly isDirectory: boolean
}

/**
 * sshd's StrictModes check of a file the program trusts: the file, and each folder from it up to
 * `/`, must be owned by one of `owners`, and none may be writable by its group or by others; a
 * folder with the sticky bit (`/tmp`) is allowed, since no one else can replace a file in it.
 * Answers the first problem, naming `what`, the path and the fix, or undefined when it is safe.
 *
 * @since 0.1.0
 * @category guards
 */
export const strictModes = (
  what: string,
  file: FileFacts,
  folders: ReadonlyArray<FileFacts>,
  owners: ReadonlyArray<number>,
  ownerText: string
): string | undefined => {
  for (const f of [file, ...folders]) {
    const which = f === file ? `the ${what}` : `the ${what}'s folder ${f.path}`
    if (!owners.includes(f.uid)) {
      return `refusing ${file.path}: ${which} is owned by uid ${f.uid}, not by ${ownerText}; fix: chown root ${f.path}`
    }
    const sticky = f.isDirectory && (f.mode & 0o1000) !== 0
    if ((f.mode & 0o022) !== 0 && !sticky) {
      return `refusing ${file.path}: ${which} is writable by ${(f.mode & 0o002) !== 0 ? "everyone" : "its group"} ` +
        `(mode ${(f.mode & 0o7777).toString(8).padStart(4, "0")}); fix: chmod go-w ${f.path}`
    }
  }
  return undefined
}

/**
 * The config file's StrictModes check (`strictModes`): owned by root or by the user running the
 * program (`uid`). Whoever can write the config can bind the API to every address and mount `/`
 * into an app.
 *
 * @since 0.1.0
 * @category guards
 */
export const insecureConfig = (file: FileFacts, folders: ReadonlyArray<FileFacts>, uid: number): string | undefined =>
  strictModes("config file", file, folders, [0, uid], `root or the user running archipelago (uid ${uid})`)

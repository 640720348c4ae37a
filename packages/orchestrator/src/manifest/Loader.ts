/**
 * Reads `manifest.yml` text into a `Manifest`, or into every problem found, each located by
 * file, line, column and field path:
 * `apps/lnd/manifest.yml:12:9 ports[1].host: expected an integer 1-65535, got "80a"`.
 *
 * Pure: no file system, no clock.
 *
 * @since 0.1.0
 */
import { Either, ParseResult, Schema } from "effect"
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from "yaml"
import type { Document, Node as YamlNode, YAMLMap } from "yaml"
import { pattern as appIdPattern } from "../domain/AppId.js"
import { parseMemoryLimit } from "../domain/MemoryLimit.js"
import * as PosixPath from "./internal/PosixPath.js"
import { closest } from "./internal/Suggest.js"
import { Manifest } from "./Manifest.js"
import { ManifestError } from "./ManifestError.js"
import * as Settings from "./Settings.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The folder name the manifest lives in; `id` must equal it. */
  readonly expectedId?: string
  /** The registered pre-start hook names; when given, `hooks` may name only these. */
  readonly hookNames?: ReadonlyArray<string>
  /**
   * Hooks bound to the apps allowed to run them (hooks that render a secret): hook name → app
   * ids. A manifest of any other app naming such a hook is an error at `hooks[i]`.
   */
  readonly hookConsumers?: Readonly<Record<string, ReadonlyArray<string>>>
  readonly settings?: Settings.Settings
}

/**
 * A 1-based line and column.
 *
 * @since 0.1.0
 * @category models
 */
export interface Position {
  readonly line: number
  readonly column: number
}

/**
 * A manifest with the positions of its fields, so later checks (the catalog's) can point at
 * the right line.
 *
 * @since 0.1.0
 * @category models
 */
export interface Located {
  readonly manifest: Manifest
  readonly file: string
  /** The position of the field at `path` (`ports[1].host`), or of its nearest located parent. */
  readonly locate: (path: string) => Position
}

// ---------------------------------------------------------------------------------------------
// shapes: what each field may hold, with the words used in "expected ..."

type Shape =
  | { readonly _tag: "String"; readonly check?: (s: string) => string | undefined; readonly what?: string }
  | { readonly _tag: "Int"; readonly min: number; readonly max: number }
  | { readonly _tag: "Bool" }
  | { readonly _tag: "Enum"; readonly values: ReadonlyArray<string> }
  | { readonly _tag: "List"; readonly of: Shape; readonly nonEmpty?: boolean }
  | { readonly _tag: "Dict"; readonly key: (k: string) => string | undefined; readonly value: Shape }
  | { readonly _tag: "Struct"; readonly fields: Readonly<Record<string, Field>> }
  | { readonly _tag: "Tagged"; readonly variants: Readonly<Record<string, Struct>> }

type Struct = Extract<Shape, { _tag: "Struct" }>

interface Field {
  readonly shape: Shape
  readonly required?: boolean
}

const str = (check?: (s: string) => string | undefined, what?: string): Shape => ({
  _tag: "String",
  ...(check ? { check } : {}),
  ...(what ? { what } : {})
})
const int = (min: number, max: number): Shape => ({ _tag: "Int", min, max })
const bool: Shape = { _tag: "Bool" }
const oneOf = (...values: ReadonlyArray<string>): Shape => ({ _tag: "Enum", values })
const list = (of: Shape, nonEmpty = false): Shape => ({ _tag: "List", of, nonEmpty })
const struct = (fields: Record<string, Field | Shape>): Struct => ({
  _tag: "Struct",
  fields: Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, "shape" in f ? f : { shape: f }]))
})
const required = (shape: Shape): Field => ({ shape, required: true })

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/
const containerName = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/
const hostname = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/
const ipv4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/
const ipv6 = /^[0-9A-Fa-f:.]+$/
const isIp = (s: string): boolean => ipv4.test(s) || (s.includes(":") && ipv6.test(s))

const dict = (key: (k: string) => string | undefined, value: Shape): Shape => ({ _tag: "Dict", key, value })
const stringDict = (keyCheck: (k: string) => string | undefined) => dict(keyCheck, str())

const appIdWhat = "an app id (lowercase letters, digits and dashes)"
const appId = str((s) => (appIdPattern.test(s) ? undefined : appIdWhat), appIdWhat)
const dependencyWhat = "an app id or a capability (lowercase letters, digits and dashes)"
const dependency = str((s) => (appIdPattern.test(s) ? undefined : dependencyWhat), dependencyWhat)
const capabilityWhat = "a capability name (lowercase letters, digits and dashes)"
const capability = str((s) => (appIdPattern.test(s) ? undefined : capabilityWhat), capabilityWhat)
const endpointName = /^[a-z0-9][a-z0-9-]{0,62}$/
const singleLine = (s: string) => (/[\r\n]/.test(s) ? "a single-line value (no newline)" : undefined)
const printable = (what: string) => (s: string) => (s.trim() === "" || /[\u0000-\u001f]/.test(s) ? what : undefined)
const port = int(1, 65535)
const timing = { interval: int(1, 3600), timeout: int(1, 3600), retries: int(1, 100), startPeriod: int(0, 3600) }

const manifestShape: Struct = struct({
  id: required(appId),
  name: required(str(printable("a non-empty name"))),
  version: required(str(printable("a non-empty version"))),
  description: str(),
  role: oneOf("backend", "ui", "service"),
  image: str(),
  build: struct({
    context: required(str(printable("a folder"))),
    containerfile: str(printable("a file name")),
    args: dict((k) => (envName.test(k) ? undefined : "a build argument name (letters, digits and _)"), str(singleLine))
  }),
  container: struct({
    name: str((s) => (containerName.test(s) ? undefined : "a container name (letters, digits, _ . -)")),
    command: list(str()),
    entrypoint: list(str()),
    user: str(printable("a user")),
    workdir: str((s) => (s.startsWith("/") ? undefined : "an absolute path")),
    privileged: bool,
    network: oneOf("bridge", "host"),
    pid: oneOf("private", "host"),
    ipc: oneOf("private", "host"),
    capAdd: list(str())
  }),
  ports: list(struct({
    host: required(port),
    container: required(port),
    protocol: oneOf("tcp", "udp"),
    hostIp: str((s) => (isIp(s) ? undefined : "an IP address")),
    reason: str(printable("a sentence saying why the app needs this host port"))
  })),
  volumes: list(struct({
    source: required(str(printable("a path or volume name"))),
    target: required(str(printable("a path"))),
    readOnly: bool
  })),
  env: dict((k) => (envName.test(k) ? undefined : "an environment variable name (letters, digits and _)"), str(singleLine)),
  extraHosts: stringDict((k) => (hostname.test(k) ? undefined : "a host name")),
  memory: str(),
  stopTimeout: int(1, 3600),
  restart: oneOf("no", "always", "on-failure", "unless-stopped"),
  dependsOn: list(dependency),
  provides: list(struct({
    capability: required(capability),
    endpoints: dict((k) => (endpointName.test(k) ? undefined : "an endpoint name (lowercase letters, digits and dashes)"), port)
  })),
  conflicts: list(appId),
  hooks: list(str(printable("a hook name"))),
  health: {
    _tag: "Tagged",
    variants: {
      http: struct({ type: required(str()), port: required(port), path: str((s) => (s.startsWith("/") ? undefined : "a path starting with /")), ...timing }),
      tcp: struct({ type: required(str()), port: required(port), ...timing }),
      cmd: struct({ type: required(str()), command: required(list(str(), true)), ...timing })
    }
  },
  ui: struct({ port: required(port), path: str((s) => (s.startsWith("/") ? undefined : "a path starting with /")) }),
  backup: struct({
    liveHook: str(printable("a pre-backup hook name")),
    watch: list(struct({
      path: required(str((s) =>
        s.startsWith("./") && s.length > 2 && !s.split("/").slice(1).some((x) => x === "" || x === "." || x === "..")
          ? undefined
          : "a path ./... under the app's data folder, without . or .. segments"
      )),
      keep: int(1, 1000)
    }))
  })
})

/**
 * Every field path the loader knows, e.g. `ports[].host`, `health.command` (for documentation
 * and the docs sync test).
 *
 * @since 0.1.0
 * @category getters
 */
export const fieldPaths: ReadonlyArray<string> = (() => {
  const out = new Set<string>()
  const walk = (shape: Shape, prefix: string): void => {
    switch (shape._tag) {
      case "Struct":
        for (const [k, f] of Object.entries(shape.fields)) {
          const p = prefix === "" ? k : `${prefix}.${k}`
          out.add(p)
          walk(f.shape, p)
        }
        return
      case "Tagged":
        for (const v of Object.values(shape.variants)) walk(v, prefix)
        return
      case "List":
        return walk(shape.of, `${prefix}[]`)
      default:
        return
    }
  }
  walk(manifestShape, "")
  return [...out].sort()
})()

// ---------------------------------------------------------------------------------------------
// the walk

interface Ctx {
  readonly file: string
  readonly text: string
  readonly doc: Document.Parsed
  readonly lines: LineCounter
  readonly errors: Array<ManifestError>
  readonly positions: Map<string, Position>
  aliases: number
  /** Problems found past `maxErrors`, counted but not kept. */
  dropped: number
}

const Invalid: unique symbol = Symbol("Invalid")
type Invalid = typeof Invalid

const maxAliases = 200

/**
 * The largest manifest accepted, in bytes (UTF-16 code units for text already read). A real
 * manifest is a few KiB; a bigger file is refused before YAML parsing starts.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxBytes = 256 * 1024

/**
 * At most this many problems are reported per manifest; the rest are counted in a last one.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxErrors = 100

/**
 * The smallest memory limit accepted: below it no runtime starts a process at all.
 *
 * @since 0.1.0
 * @category constants
 */
export const minMemoryBytes = 4 * 1024 * 1024

/**
 * Host ports no app may publish, with the reason, besides the orchestrator's own
 * (`Settings.serverPort`).
 *
 * @since 0.1.0
 * @category constants
 */
export const reservedHostPorts: Readonly<Record<number, string>> = { 22: "ssh" }

/**
 * Mount targets refused together with everything below them: kernel interfaces and
 * runtime-provided trees; shadowing them hides the container's view of itself or lets it
 * write to the kernel.
 *
 * @since 0.1.0
 * @category constants
 */
export const forbiddenTargetTrees: ReadonlyArray<string> = ["/proc", "/sys", "/dev", "/run/secrets", "/run/.containerenv"]

/**
 * Mount targets refused exactly: whole system folders (mounting over one replaces the image's
 * programs, libraries or configuration) and the files that decide identity, name resolution and
 * loading (the runtime manages some of them; replacing one hijacks every process).
 *
 * @since 0.1.0
 * @category constants
 */
export const forbiddenTargets: ReadonlyArray<string> = [
  "/",
  "/bin",
  "/boot",
  "/etc",
  "/lib",
  "/lib32",
  "/lib64",
  "/libx32",
  "/sbin",
  "/usr",
  "/usr/bin",
  "/usr/lib",
  "/usr/lib64",
  "/usr/libexec",
  "/usr/sbin",
  "/usr/local/bin",
  "/usr/local/sbin",
  "/var",
  "/run",
  "/root",
  "/etc/passwd",
  "/etc/shadow",
  "/etc/group",
  "/etc/gshadow",
  "/etc/sudoers",
  "/etc/sudoers.d",
  "/etc/hosts",
  "/etc/hostname",
  "/etc/resolv.conf",
  "/etc/ld.so.preload",
  "/etc/ld.so.conf",
  "/etc/ld.so.conf.d",
  "/etc/ld.so.cache"
]

/**
 * Why a normalised absolute mount target is refused, or undefined when it is allowed.
 *
 * @since 0.1.0
 * @category getters
 */
export const forbiddenTarget = (target: string): string | undefined => {
  const tree = forbiddenTargetTrees.find((t) => PosixPath.isWithin(target, t))
  if (tree !== undefined) return `${tree} belongs to the kernel or the runtime; nothing may be mounted on or below it`
  if (forbiddenTargets.includes(target)) return `mounting over ${target} replaces a system folder or file of the container`
  return undefined
}

const position = (ctx: Ctx, node: YamlNode | null | undefined): Position => {
  const offset = node?.range?.[0]
  if (offset === undefined) return { line: 1, column: 1 }
  const p = ctx.lines.linePos(offset)
  return { line: p.line, column: p.col }
}

const full = (ctx: Ctx): boolean => ctx.errors.length >= maxErrors

const report = (ctx: Ctx, at: Position, path: string, rule: string, detail: string): void => {
  if (full(ctx)) {
    ctx.dropped++
    return
  }
  ctx.errors.push(new ManifestError({ file: ctx.file, line: at.line, column: at.column, path, rule, detail }))
}

const keyPath = (prefix: string, key: string): string =>
  /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? (prefix === "" ? key : `${prefix}.${key}`) : `${prefix}[${JSON.stringify(key)}]`

const render = (ctx: Ctx, node: unknown): string => {
  if (node === null || node === undefined) return "nothing"
  if (isMap(node)) return "a map"
  if (isSeq(node)) return "a list"
  if (isScalar(node)) {
    const v = node.value
    if (typeof v === "string") return JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v)
    if (v === null) return "nothing"
    const src = node.range ? ctx.text.slice(node.range[0], node.range[1]).trim() : String(v)
    return src.length > 80 ? `${src.slice(0, 77)}...` : src
  }
  return "an unsupported value"
}

const expectedOf = (shape: Shape): string => {
  switch (shape._tag) {
    case "String":
      return shape.what ?? "a string"
    case "Int":
      return `an integer ${shape.min}-${shape.max}`
    case "Bool":
      return "true or false"
    case "Enum":
      return `one of ${shape.values.map((v) => JSON.stringify(v)).join(", ")}`
    case "List":
      return shape.nonEmpty ? "a non-empty list" : "a list"
    case "Dict":
      return shape.value._tag === "String" ? "a map of strings" : "a map"
    case "Struct":
    case "Tagged":
      return "a map"
  }
}

const resolveAlias = (ctx: Ctx, node: unknown): unknown => {
  let n = node
  while (isAlias(n)) {
    if (++ctx.aliases > maxAliases) return undefined
    n = n.resolve(ctx.doc)
  }
  return n
}

const decode = (ctx: Ctx, raw: unknown, shape: Shape, path: string, at: Position): unknown => {
  const node = resolveAlias(ctx, raw)
  ctx.positions.set(path, at)
  const mismatch = (): Invalid => {
    const hint = shape._tag === "String" && isScalar(node) && node.value !== null ? " (quote it)" : ""
    report(ctx, at, path, "type", `expected ${expectedOf(shape)}${hint}, got ${render(ctx, node)}`)
    return Invalid
  }
  switch (shape._tag) {
    case "String": {
      if (!isScalar(node) || typeof node.value !== "string") return mismatch()
      const bad = node.value.includes("\u0000") ? "a string without NUL characters" : shape.check?.(node.value)
      if (bad !== undefined) {
        report(ctx, at, path, "type", `expected ${bad}, got ${render(ctx, node)}`)
        return Invalid
      }
      return node.value
    }
    case "Int": {
      if (!isScalar(node)) return mismatch()
      const v = node.value
      if (typeof v !== "number" || !Number.isInteger(v) || v < shape.min || v > shape.max) return mismatch()
      return v
    }
    case "Bool":
      return isScalar(node) && typeof node.value === "boolean" ? node.value : mismatch()
    case "Enum": {
      if (!isScalar(node) || typeof node.value !== "string" || !shape.values.includes(node.value)) {
        const near = isScalar(node) && typeof node.value === "string" ? closest(node.value, shape.values) : undefined
        if (near === undefined) return mismatch()
        report(ctx, at, path, "type", `expected ${expectedOf(shape)}, got ${render(ctx, node)}; did you mean ${JSON.stringify(near)}?`)
        return Invalid
      }
      return node.value
    }
    case "List": {
      if (!isSeq(node)) return mismatch()
      if (shape.nonEmpty && node.items.length === 0) return mismatch()
      const out: Array<unknown> = []
      node.items.forEach((item, i) => {
        const itemNode = item as YamlNode | null
        out.push(decode(ctx, itemNode, shape.of, `${path}[${i}]`, position(ctx, itemNode)))
      })
      // invalid items stay as placeholders so later checks keep the right indices
      return out
    }
    case "Dict":
    case "Struct":
    case "Tagged":
      return isMap(node) ? decodeMap(ctx, node, shape, path, at) : mismatch()
  }
}

const decodeMap = (
  ctx: Ctx,
  node: YAMLMap,
  shape: Extract<Shape, { _tag: "Dict" | "Struct" | "Tagged" }>,
  path: string,
  at: Position
): unknown => {
  const seen = new Map<string, Position>()
  const entries: Array<{ key: string; keyAt: Position; value: unknown; valueAt: Position }> = []
  let ok = true
  for (const pair of node.items) {
    if (!isPair(pair)) continue
    const keyNode = resolveAlias(ctx, pair.key) as YamlNode | null
    const keyAt = position(ctx, pair.key as YamlNode | null)
    if (!isScalar(keyNode) || (typeof keyNode.value !== "string" && typeof keyNode.value !== "number")) {
      report(ctx, keyAt, path, "key", `expected a plain key, got ${render(ctx, keyNode)}`)
      ok = false
      continue
    }
    const key = String(keyNode.value)
    if (key === "__proto__") {
      report(ctx, keyAt, path, "key", `expected a plain key, got "__proto__"`)
      ok = false
      continue
    }
    const first = seen.get(key)
    if (first !== undefined) {
      report(ctx, keyAt, keyPath(path, key), "duplicate-key", `duplicate key (first at line ${first.line})`)
      ok = false
      continue
    }
    seen.set(key, keyAt)
    const valueNode = pair.value as YamlNode | null
    entries.push({ key, keyAt, value: valueNode, valueAt: valueNode ? position(ctx, valueNode) : keyAt })
  }

  if (shape._tag === "Dict") {
    const out: Record<string, unknown> = {}
    for (const e of entries) {
      const p = keyPath(path, e.key)
      const bad = shape.key(e.key)
      if (bad !== undefined) {
        report(ctx, e.keyAt, p, "key", `expected ${bad}, got ${JSON.stringify(e.key)}`)
        ok = false
        continue
      }
      const v = decode(ctx, e.value, shape.value, p, e.valueAt)
      if (v === Invalid) ok = false
      else out[e.key] = v
    }
    // like a struct, a partly invalid map keeps its valid entries for the rules
    return ok ? out : Object.assign(out, { [Invalid]: true })
  }

  let struct: Struct
  if (shape._tag === "Tagged") {
    const tags = Object.keys(shape.variants)
    const typeEntry = entries.find((e) => e.key === "type")
    const typeNode = typeEntry ? resolveAlias(ctx, typeEntry.value) : undefined
    const tag = isScalar(typeNode) && typeof typeNode.value === "string" ? typeNode.value : undefined
    const variant = tag !== undefined && Object.hasOwn(shape.variants, tag) ? shape.variants[tag] : undefined
    if (variant === undefined) {
      const tagShape: Shape = { _tag: "Enum", values: tags }
      if (typeEntry === undefined) report(ctx, at, keyPath(path, "type"), "required", `required field missing; expected ${expectedOf(tagShape)}`)
      else decode(ctx, typeEntry.value, tagShape, keyPath(path, "type"), typeEntry.valueAt)
      return Invalid
    }
    struct = variant
  } else struct = shape

  const known = Object.keys(struct.fields)
  const out: Record<string, unknown> = {}
  for (const e of entries) {
    const p = keyPath(path, e.key)
    const field = Object.hasOwn(struct.fields, e.key) ? struct.fields[e.key] : undefined
    if (field === undefined) {
      ok = false
      if (full(ctx)) {
        ctx.dropped++
        continue
      }
      const alias = path === "" && Object.hasOwn(topLevelAliases, e.key) ? topLevelAliases[e.key] : undefined
      const near = alias ?? closest(e.key, known)
      report(
        ctx,
        e.keyAt,
        p,
        "unknown-key",
        near === undefined
          ? `unknown key; expected one of ${known.join(", ")}`
          : `unknown key; did you mean ${JSON.stringify(near)}?`
      )
      continue
    }
    const v = decode(ctx, e.value, field.shape, p, e.valueAt)
    if (v === Invalid) ok = false
    else out[e.key] = v
  }
  for (const [k, f] of Object.entries(struct.fields)) {
    if (f.required && !seen.has(k)) {
      report(ctx, at, keyPath(path, k), "required", `required field missing; expected ${expectedOf(f.shape)}`)
      ok = false
    }
  }
  // a partly invalid struct keeps its valid fields, so the semantic checks still see them
  return ok ? out : Object.assign(out, { [Invalid]: true })
}

const topLevelAliases: Readonly<Record<string, string>> = {
  privileged: "container.privileged",
  network: "container.network",
  network_mode: "container.network",
  networkMode: "container.network",
  pid: "container.pid",
  ipc: "container.ipc",
  cap_add: "container.capAdd",
  capAdd: "container.capAdd",
  command: "container.command",
  entrypoint: "container.entrypoint",
  user: "container.user",
  container_name: "container.name",
  depends_on: "dependsOn",
  extra_hosts: "extraHosts",
  environment: "env",
  mem_limit: "memory",
  stop_grace_period: "stopTimeout",
  healthcheck: "health"
}

// ---------------------------------------------------------------------------------------------
// rules that look at more than one field

type Raw = Record<string, unknown>

const asRecord = (u: unknown): Raw | undefined => (typeof u === "object" && u !== null && !Array.isArray(u) ? (u as Raw) : undefined)
const asArray = (u: unknown): ReadonlyArray<unknown> => (Array.isArray(u) ? u : [])
const asString = (u: unknown): string | undefined => (typeof u === "string" ? u : undefined)

const imageRef =
  /^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(@sha256:[a-f0-9]{64})?$/
const volumeName = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

const checkRules = (ctx: Ctx, m: Raw, options: Options): void => {
  const settings = options.settings ?? Settings.defaults
  const at = (p: string): Position => locateIn(ctx.positions, p)
  const fail = (p: string, rule: string, detail: string): void => report(ctx, at(p), p, rule, detail)
  const id = asString(m.id)

  if (options.expectedId !== undefined && id !== undefined && id !== options.expectedId) {
    fail("id", "id-folder", `expected ${JSON.stringify(options.expectedId)} (the name of the manifest's folder), got ${JSON.stringify(id)}`)
  }

  // image XOR build
  const hasImage = "image" in m
  const hasBuild = "build" in m
  if (hasImage && hasBuild) fail("build", "image-xor-build", `give either "image" or "build", not both`)
  if (!hasImage && !hasBuild && ctx.errors.every((e) => e.path !== "image" && e.path !== "build")) {
    fail("image", "image-xor-build", `required field missing; give either "image" (a pinned reference) or "build" (a local build)`)
  }
  const image = asString(m.image)
  if (image !== undefined) {
    const match = imageRef.exec(image)
    if (match === null) {
      fail("image", "image", `expected an image reference such as "lightninglabs/lnd:v0.18.4-beta", got ${JSON.stringify(image)}`)
    } else if ((match[1] === undefined || match[1] === "latest") && match[2] === undefined) {
      fail("image", "image-pinned", `expected a pinned tag or digest (not "latest"), got ${JSON.stringify(image)}`)
    }
  }
  const build = asRecord(m.build)
  const context = asString(build?.context)
  if (context !== undefined) {
    const norm = PosixPath.isAbsolute(context) ? undefined : PosixPath.normalize(context)
    if (norm === undefined) {
      fail("build.context", "build-context", `expected a folder inside the app's folder, got ${JSON.stringify(context)}`)
    }
    const containerfile = asString(build?.containerfile)
    if (containerfile !== undefined && (PosixPath.isAbsolute(containerfile) || PosixPath.normalize(containerfile) === undefined)) {
      fail("build.containerfile", "build-context", `expected a file inside the build context, got ${JSON.stringify(containerfile)}`)
    }
  }

  // security
  const container = asRecord(m.container) ?? {}
  if (container.privileged === true) {
    fail("container.privileged", "privileged", "privileged mode is not allowed: it gives the app full control of the host")
  }
  if (container.network === "host") {
    fail("container.network", "host-network", "host networking is not allowed: publish ports instead")
  }
  if (container.pid === "host") fail("container.pid", "host-pid", "the host PID namespace is not allowed")
  if (container.ipc === "host") fail("container.ipc", "host-ipc", "the host IPC namespace is not allowed")
  asArray(container.capAdd).forEach((cap, i) => {
    fail(`container.capAdd[${i}]`, "cap-add", `added capabilities are not allowed, got ${JSON.stringify(cap)}`)
  })

  // volumes
  const dataDir = id === undefined ? undefined : PosixPath.join(settings.dataDir, id)
  const roots = settings.allowedBindRoots.flatMap((r) => {
    const n = PosixPath.normalize(r)
    return n !== undefined && PosixPath.isAbsolute(n) ? [n] : []
  })
  const targets = new Map<string, number>()
  asArray(m.volumes).forEach((v, i) => {
    const vol = asRecord(v)
    const source = asString(vol?.source)
    const target = asString(vol?.target)
    const sp = `volumes[${i}].source`
    if (source !== undefined) {
      if (/[:,]/.test(source)) {
        fail(sp, "volume-source", `expected a path without ":" or ",", got ${JSON.stringify(source)}`)
      } else if (source === "." || source.startsWith("./")) {
        if (dataDir !== undefined && PosixPath.normalize(source) === undefined) {
          fail(sp, "bind-mount", `expected a path inside the app's data directory ${dataDir}, got ${JSON.stringify(source)}`)
        }
      } else if (PosixPath.isAbsolute(source)) {
        const norm = PosixPath.normalize(source) ?? source
        const allowed = (dataDir !== undefined && PosixPath.isWithin(norm, dataDir)) || roots.some((r) => PosixPath.isWithin(norm, r))
        if (!allowed && dataDir !== undefined) {
          fail(
            sp,
            "bind-mount",
            `bind mounts must lie under ${dataDir}${roots.length > 0 ? ` or an allowed bind root (${roots.join(", ")})` : ""}, got ${JSON.stringify(source)}`
          )
        }
      } else if (!volumeName.test(source)) {
        fail(sp, "volume-source", `expected "./path" (in the app's data directory), an absolute path or a volume name, got ${JSON.stringify(source)}`)
      } else if (id !== undefined && source !== id && !source.startsWith(`${id}-`)) {
        fail(
          sp,
          "volume-owner",
          `a named volume must belong to the app: name it ${JSON.stringify(id)} or "${id}-<name>", got ${JSON.stringify(source)}`
        )
      }
    }
    if (target !== undefined) {
      const tp = `volumes[${i}].target`
      const norm = PosixPath.normalize(target)
      if (!PosixPath.isAbsolute(target) || /[:,]/.test(target) || norm === undefined) {
        fail(tp, "volume-target", `expected an absolute path in the container, got ${JSON.stringify(target)}`)
      } else if (forbiddenTarget(norm) !== undefined) {
        fail(tp, "volume-target", `${forbiddenTarget(norm)}, got ${JSON.stringify(target)}`)
      } else {
        const first = targets.get(norm)
        if (first !== undefined) fail(tp, "volume-target", `${norm} is already mounted by volumes[${first}]`)
        else targets.set(norm, i)
      }
    }
  })

  // ports
  const published = new Map<string, number>()
  asArray(m.ports).forEach((p, i) => {
    const rec = asRecord(p)
    const host = rec?.host
    if (typeof host !== "number") return
    const proto = asString(rec?.protocol) ?? "tcp"
    const hp = `ports[${i}].host`
    const reserved = host === (settings.serverPort ?? Settings.defaultServerPort) ? "the orchestrator's own API and dashboard" : reservedHostPorts[host]
    if (reserved !== undefined) {
      fail(hp, "host-port", `host port ${host} is reserved for ${reserved}`)
    } else if (host < 1024 && asString(rec?.reason) === undefined) {
      fail(hp, "host-port", `host port ${host} is privileged (below 1024); say why the app needs it in ports[${i}].reason, or publish a port from 1024 up`)
    }
    const key = `${host}/${proto}`
    const first = published.get(key)
    if (first !== undefined) fail(`ports[${i}].host`, "port-collision", `host port ${key} is already published by ports[${first}]`)
    else published.set(key, i)
  })

  // extra hosts
  for (const [host, address] of Object.entries(asRecord(m.extraHosts) ?? {})) {
    if (typeof address !== "string") continue
    const p = keyPath("extraHosts", host)
    if (host === "host.containers.internal") {
      if (address !== "host-gateway") {
        fail(p, "host-gateway", `host.containers.internal must be "host-gateway" (the host itself, never the LAN router), got ${JSON.stringify(address)}`)
      }
    } else if (address !== "host-gateway" && !isIp(address)) {
      fail(p, "extra-host", `expected an IP address or "host-gateway", got ${JSON.stringify(address)}`)
    }
  }

  const memory = asString(m.memory)
  if (memory !== undefined) {
    const bytes = parseMemoryLimit(memory)
    if (bytes === undefined) {
      fail("memory", "memory", `expected a size such as "128Mi", "2Gi" or "512M", got ${JSON.stringify(memory)}`)
    } else if (bytes < minMemoryBytes) {
      fail("memory", "memory", `expected at least 4Mi (no process starts in less), got ${JSON.stringify(memory)}`)
    }
  }

  // references to other apps and hooks
  const depends = asArray(m.dependsOn)
  const listRule = (field: string, rule: string, self?: string) => {
    const seen = new Set<unknown>()
    asArray(m[field]).forEach((d, i) => {
      if (typeof d !== "string") return
      if (self !== undefined && d === id) fail(`${field}[${i}]`, rule, self)
      else if (seen.has(d)) fail(`${field}[${i}]`, rule, `${JSON.stringify(d)} is listed twice`)
      seen.add(d)
    })
  }
  listRule("dependsOn", "depends-on", "an app cannot depend on itself")
  listRule("conflicts", "conflicts", "an app cannot conflict with itself")
  asArray(m.conflicts).forEach((c, i) => {
    if (typeof c === "string" && depends.includes(c) && c !== id) {
      fail(`conflicts[${i}]`, "conflicts", `${JSON.stringify(c)} is also in dependsOn: an app cannot need what it excludes`)
    }
  })
  listRule("hooks", "hook")

  // capabilities provided: each once, each endpoint a published container port
  const capabilitiesSeen = new Map<string, number>()
  const containerPorts = new Set(asArray(m.ports).map((p) => asRecord(p)?.container).filter((p) => typeof p === "number"))
  asArray(m.provides).forEach((p, i) => {
    const rec = asRecord(p)
    const name = asString(rec?.capability)
    if (name !== undefined) {
      const first = capabilitiesSeen.get(name)
      if (first !== undefined) fail(`provides[${i}].capability`, "provides", `${JSON.stringify(name)} is already provided by provides[${first}]`)
      else capabilitiesSeen.set(name, i)
      const dep = depends.indexOf(name)
      if (dep >= 0 && first === undefined) fail(`dependsOn[${dep}]`, "depends-on", `${JSON.stringify(name)} is provided by this app itself (provides[${i}]): an app cannot depend on itself`)
    }
    for (const [endpoint, port] of Object.entries(asRecord(rec?.endpoints) ?? {})) {
      if (typeof port !== "number" || containerPorts.has(port)) continue
      fail(
        keyPath(`provides[${i}].endpoints`, endpoint),
        "provides",
        `container port ${port} is not published in ports: consumers reach an endpoint through its host port; publish it or name a published container port (${
          containerPorts.size === 0 ? "none" : [...containerPorts].join(", ")
        })`
      )
    }
  })
  if (options.hookNames !== undefined) {
    const names = options.hookNames
    asArray(m.hooks).forEach((h, i) => {
      if (typeof h !== "string" || names.includes(h)) return
      const near = closest(h, names)
      fail(
        `hooks[${i}]`,
        "hook",
        near !== undefined
          ? `unknown hook ${JSON.stringify(h)}; did you mean ${JSON.stringify(near)}?`
          : `unknown hook ${JSON.stringify(h)}; known hooks: ${names.length === 0 ? "none" : names.join(", ")}`
      )
    })
  }
  if (options.hookConsumers !== undefined) {
    const consumers = options.hookConsumers
    asArray(m.hooks).forEach((h, i) => {
      if (typeof h !== "string" || !Object.hasOwn(consumers, h)) return
      const allowed = consumers[h]!
      if (typeof id === "string" && allowed.includes(id)) return
      fail(
        `hooks[${i}]`,
        "hook-consumer",
        `hook ${JSON.stringify(h)} renders a secret for ${allowed.length === 0 ? "no app" : allowed.join(", ")} only; ${typeof id === "string" ? JSON.stringify(id) : "this app"} may not run it`
      )
    })
  }
}

const locateIn = (positions: ReadonlyMap<string, Position>, path: string): Position => {
  let p = path
  for (;;) {
    const hit = positions.get(p)
    if (hit !== undefined) return hit
    if (p === "") return { line: 1, column: 1 }
    const cut = Math.max(p.lastIndexOf("."), p.lastIndexOf("["))
    p = cut <= 0 ? "" : p.slice(0, cut)
  }
}

const yamlDetail = (message: string): string =>
  (message.split("\n")[0] ?? message).replace(/ at line \d+, column \d+:?$/, "").trim()

const issuePath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>((acc, k) => (typeof k === "number" ? `${acc}[${k}]` : keyPath(acc, String(k))), "")

/**
 * Parses a manifest and keeps the positions of its fields.
 *
 * @since 0.1.0
 * @category constructors
 */
export const parseLocated = (
  text: string,
  file: string,
  options: Options = {}
): Either.Either<Located, ReadonlyArray<ManifestError>> => {
  if (text.length > maxBytes) {
    return Either.left([
      new ManifestError({ file, line: 1, column: 1, path: "", rule: "size", detail: `the manifest is larger than ${maxBytes / 1024} KiB` })
    ])
  }
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false })
  const ctx: Ctx = { file, text, doc, lines, errors: [], positions: new Map(), aliases: 0, dropped: 0 }
  for (const e of doc.errors) {
    const lp = e.linePos?.[0] ?? lines.linePos(e.pos[0])
    report(ctx, { line: lp.line, column: lp.col }, "", "yaml", `YAML syntax: ${yamlDetail(e.message)}`)
  }
  if (ctx.errors.length > 0) return Either.left(ctx.errors)
  const root = resolveAlias(ctx, doc.contents)
  if (!isMap(root)) {
    report(ctx, position(ctx, root as YamlNode | null), "", "type", `expected a map of manifest fields, got ${render(ctx, root)}`)
    return Either.left(ctx.errors)
  }
  const raw = decode(ctx, root, manifestShape, "", position(ctx, root))
  if (ctx.aliases > maxAliases) {
    return Either.left([new ManifestError({ file, line: 1, column: 1, path: "", rule: "yaml", detail: `more than ${maxAliases} alias expansions` })])
  }
  const rec = asRecord(raw)
  if (rec !== undefined) checkRules(ctx, rec, options)
  ctx.errors.sort((a, b) => a.line - b.line || a.column - b.column)
  if (ctx.dropped > 0) {
    const last = ctx.errors[ctx.errors.length - 1]!
    ctx.errors.push(new ManifestError({
      file,
      line: last.line,
      column: last.column,
      path: "",
      rule: "too-many-errors",
      detail: `${ctx.dropped} more ${ctx.dropped === 1 ? "problem" : "problems"} not shown (at most ${maxErrors} per manifest)`
    }))
  }
  if (ctx.errors.length > 0) return Either.left(ctx.errors)
  const positions = ctx.positions
  const locate = (path: string) => locateIn(positions, path)
  return Schema.decodeUnknownEither(Manifest)(raw, { errors: "all", onExcessProperty: "error" }).pipe(
    Either.map((manifest): Located => ({ manifest, file, locate })),
    Either.mapLeft((error) =>
      ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => {
        const path = issuePath(issue.path)
        const at = locate(path)
        return new ManifestError({ file, line: at.line, column: at.column, path, rule: "schema", detail: issue.message })
      })
    )
  )
}

/**
 * Parses and validates one manifest. `file` is only used in messages (keep it relative, e.g.
 * `apps/lnd/manifest.yml`). Never throws: every problem comes back located.
 *
 * @example
 * parseManifest(text, "apps/lnd/manifest.yml", { expectedId: "lnd", hookNames: ["lnd-conf"] })
 *
 * @since 0.1.0
 * @category constructors
 */
export const parseManifest = (
  text: string,
  file: string,
  options: Options = {}
): Either.Either<Manifest, ReadonlyArray<ManifestError>> =>
  Either.map(parseLocated(text, file, options), (l) => l.manifest)

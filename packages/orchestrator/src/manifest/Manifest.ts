/**
 * The manifest of an app, `apps/<id>/manifest.yml`: the contract between an app packager and
 * the orchestrator. `Loader.parseManifest` reads the YAML with located errors; this schema is
 * the type and the last word on what a valid manifest is.
 *
 * Over 500 lines: it is the manifest's whole schema, each field with the packager's words as
 * annotations; docs/manifest.md is checked against it field by field.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import { AppId, pattern as namePattern } from "../domain/AppId.js"
import { parseMemoryLimit } from "../domain/MemoryLimit.js"
import * as PosixPath from "./internal/PosixPath.js"

// ---------------------------------------------------------------------------------------------
// the packager's words, as annotations

/**
 * Annotation key: the words that follow "expected" when a field holds the wrong kind of value
 * (`an integer 1-65535`). Without it the words come from the schema's type (`a string`,
 * `a list`, `one of "tcp", "udp"`). Annotating a schema that has checks puts it on its last
 * check, where `Loader` reads it.
 *
 * @since 0.1.0
 * @category annotations
 */
export const ExpectedId = "@archipelago/orchestrator/Manifest/Expected"

/**
 * Annotation key on a check (a filter or refinement): the rule its failures are reported under
 * and how its message reads: `expected` gives "expected <message>, got <value>", `got` gives
 * "<message>, got <value>", `plain` gives the message alone. Without it: rule `type`, format
 * `expected`.
 *
 * @since 0.1.0
 * @category annotations
 */
export const ProblemId = "@archipelago/orchestrator/Manifest/Problem"

/**
 * The value of a `ProblemId` annotation.
 *
 * @since 0.1.0
 * @category models
 */
export interface Problem {
  readonly rule: string
  readonly format: "expected" | "got" | "plain"
}

/**
 * Annotation key on the manifest's check: top-level keys other tools use (compose's
 * `depends_on`, `privileged`) and the field a packager means by them, for "did you mean".
 *
 * @since 0.1.0
 * @category annotations
 */
export const KeyAliasesId = "@archipelago/orchestrator/Manifest/KeyAliases"

const expected = (words: string) => ({ [ExpectedId]: words })
const problem = (rule: string, format: Problem["format"] = "expected") => ({ [ProblemId]: { rule, format } satisfies Problem })

/**
 * A check that ends the checks of its value when it fails, as a chain of refinements did: the
 * checks after it may assume it holds (`forbiddenTarget` needs a normalisable path).
 */
const filter = <T>(predicate: (value: T) => Schema.FilterOutput, annotations?: Schema.Annotations.Filter) =>
  Schema.makeFilter<T>(predicate, annotations, true)

/** A string without NUL characters: every string of a manifest is one. */
const Text = Schema.String.check(filter((s: string) => !s.includes("\u0000") || "a string without NUL characters"))

/** A string that is not blank and holds no control characters; `what` names it in errors. */
const printable = (what: string) =>
  Text.check(filter((s: string) => !(s.trim() === "" || /[\u0000-\u001f]/.test(s)) || what))

const singleLine = Text.check(filter((s: string) => !/[\r\n]/.test(s) || "a single-line value (no newline)"))

const matching = (re: RegExp, what: string) =>
  Text.check(filter((s: string) => re.test(s) || what)).pipe(Schema.annotate(expected(what)))

const int = (min: number, max: number) =>
  Schema.Int.check(Schema.isBetween({ minimum: min, maximum: max })).pipe(
    Schema.annotate(expected(`an integer ${min}-${max}`))
  )

/** A struct field that may be left out (or `undefined`): decoding gives it `value`. */
const withDefault = <S extends Schema.Top>(schema: S, value: S["Type"]) =>
  Schema.withDecodingDefaultType<S>(Effect.succeed(value))(schema)

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/
const hostname =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/
const ipv4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/
const ipv6 = /^[0-9A-Fa-f:.]+$/

/**
 * Whether `s` is an IPv4 or IPv6 address.
 *
 * @since 0.1.0
 * @category getters
 */
export const isIp = (s: string): boolean => ipv4.test(s) || (s.includes(":") && ipv6.test(s))

const absolutePath = Text.check(filter((s: string) => s.startsWith("/") || "an absolute path"))
const urlPath = Text.check(filter((s: string) => s.startsWith("/") || "a path starting with /"))

/**
 * The smallest memory limit accepted: below it no runtime starts a process at all.
 *
 * @since 0.1.0
 * @category constants
 */
export const minMemoryBytes = 4 * 1024 * 1024

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

const PortNumber = int(1, 65535)

/**
 * A published port: `host` on the host (optionally bound to `hostIp`) forwards to `container`.
 *
 * @since 0.1.0
 * @category models
 */
export const Port = Schema.Struct({
  host: PortNumber,
  container: PortNumber,
  protocol: withDefault(Schema.Literals(["tcp", "udp"]), "tcp" as const),
  hostIp: Schema.optional(Text.check(filter((s: string) => isIp(s) || "an IP address"))),
  /** Why the app needs a host port below 1024 (required for those). */
  reason: Schema.optional(printable("a sentence saying why the app needs this host port"))
})

const volumeName = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

/**
 * A mount: `source` is `./path` (under the app's data directory), an absolute path (under the
 * app's data directory or an allowed bind root) or a bare name (a named volume).
 *
 * @since 0.1.0
 * @category models
 */
export const Volume = Schema.Struct({
  source: printable("a path or volume name").check(
    filter((s: string) => !/[:,]/.test(s) || `a path without ":" or ","`, problem("volume-source")),
    filter(
      (s: string) =>
        s === "." || s.startsWith("./") || PosixPath.isAbsolute(s) || volumeName.test(s) ||
        `"./path" (in the app's data directory), an absolute path or a volume name`,
      problem("volume-source")
    )
  ),
  target: printable("a path").check(
    filter(
      (s: string) => (PosixPath.isAbsolute(s) && !/[:,]/.test(s) && PosixPath.normalize(s) !== undefined) || "an absolute path in the container",
      problem("volume-target")
    ),
    filter((s: string) => forbiddenTarget(PosixPath.normalize(s)!) ?? true, problem("volume-target", "got"))
  ),
  readOnly: withDefault(Schema.Boolean, false)
})

/**
 * A local image build; `context` is relative to the manifest's folder and never escapes it.
 *
 * @since 0.1.0
 * @category models
 */
export const Build = Schema.Struct({
  context: printable("a folder").check(
    filter(
      (s: string) => (!PosixPath.isAbsolute(s) && PosixPath.normalize(s) !== undefined) || "a folder inside the app's folder",
      problem("build-context")
    )
  ),
  containerfile: Schema.optional(printable("a file name").check(
    filter(
      (s: string) => (!PosixPath.isAbsolute(s) && PosixPath.normalize(s) !== undefined) || "a file inside the build context",
      problem("build-context")
    )
  )),
  args: withDefault(
    Schema.Record(matching(envName, "a build argument name (letters, digits and _)"), singleLine),
    {}
  )
})

const probeTiming = {
  interval: withDefault(int(1, 3600), 30),
  timeout: withDefault(int(1, 3600), 5),
  retries: withDefault(int(1, 100), 3),
  startPeriod: withDefault(int(0, 3600), 0)
}

/**
 * How the engine checks the app is healthy: an HTTP GET, a TCP connect, or a command, all run
 * inside the container. Times are seconds.
 *
 * @since 0.1.0
 * @category models
 */
export const Health = Schema.Union([Schema.Struct({
    type: Schema.Literal("http"),
    port: PortNumber,
    path: withDefault(urlPath, "/"),
    ...probeTiming
  }),
  Schema.Struct({ type: Schema.Literal("tcp"), port: PortNumber, ...probeTiming }),
  Schema.Struct({ type: Schema.Literal("cmd"), command: Schema.NonEmptyArray(Text), ...probeTiming })])

/** The namespace setting a packager may write (`private`); `message` says why `host` is refused. */
const privateNamespace = (rule: string, message: string) =>
  Schema.Literals(["private", "host"]).pipe(
    Schema.refine((v): v is "private" => v === "private", { ...problem(rule, "plain"), message })
  )

/**
 * Container settings. The security fields exist so that a manifest can state the safe value;
 * the dangerous values (privileged, host namespaces, added capabilities) are refused.
 *
 * @since 0.1.0
 * @category models
 */
export const Container = Schema.Struct({
  name: Schema.optional(matching(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/, "a container name (letters, digits, _ . -)")),
  command: Schema.optional(Schema.Array(Text)),
  entrypoint: Schema.optional(Schema.Array(Text)),
  user: Schema.optional(printable("a user")),
  workdir: Schema.optional(absolutePath),
  privileged: Schema.optional(
    Schema.Boolean.pipe(Schema.refine((b): b is false => b === false, {
      ...problem("privileged", "plain"),
      message: "privileged mode is not allowed: it gives the app full control of the host"
    }))
  ),
  network: Schema.optional(
    Schema.Literals(["bridge", "host"]).pipe(Schema.refine((v): v is "bridge" => v === "bridge", {
      ...problem("host-network", "plain"),
      message: "host networking is not allowed: publish ports instead"
    }))
  ),
  pid: Schema.optional(privateNamespace("host-pid", "the host PID namespace is not allowed")),
  ipc: Schema.optional(privateNamespace("host-ipc", "the host IPC namespace is not allowed")),
  /** Always empty: each item is reported as refused. */
  capAdd: Schema.optional(
    Schema.Tuple([]).pipe(Schema.annotate({ ...problem("cap-add", "got"), message: "added capabilities are not allowed" }))
  )
})

/**
 * The app's web UI inside its container, when it has one.
 *
 * @since 0.1.0
 * @category models
 */
export const Ui = Schema.Struct({
  port: PortNumber,
  path: withDefault(urlPath, "/")
})

/**
 * The name of a capability (`bitcoin-node`): spelled like an app id, and never equal to one in
 * the same catalog, so a `dependsOn` entry means one thing.
 *
 * @since 0.1.0
 * @category models
 */
export const CapabilityName = Text.check(
  Schema.isPattern(namePattern, {
    message: "a capability name: 1-63 lowercase letters, digits or dashes, not starting with a dash"
  })
).pipe(
  Schema.annotate(expected("a capability name (lowercase letters, digits and dashes)"))
)

/**
 * What a `dependsOn` entry names: an app id or a capability (resolved to the one installed
 * provider, see `Capability.resolve`).
 *
 * @since 0.1.0
 * @category models
 */
export const DependencyName = CapabilityName.annotate(expected("an app id or a capability (lowercase letters, digits and dashes)"))

/** An app id in a manifest: the domain's `AppId`, in a packager's words. */
const ManifestAppId = AppId.annotate(expected("an app id (lowercase letters, digits and dashes)"))

/**
 * A capability the app provides to others, with the endpoints its consumers reach: endpoint
 * name → container port (published in `ports`; consumers reach the matching host port through
 * `host.containers.internal`).
 *
 * @since 0.1.0
 * @category models
 */
export const Provide = Schema.Struct({
  capability: CapabilityName,
  endpoints: withDefault(
    Schema.Record(matching(namePattern, "an endpoint name (lowercase letters, digits and dashes)"), PortNumber),
    {}
  )
})

const dataPath = Text.check(
  filter((p: string) =>
    (p.startsWith("./") && p.length > 2 && !p.split("/").slice(1).some((s) => s === "" || s === "." || s === ".." || s.includes("*"))) ||
    "a path ./... under the app's data folder, without . or .. segments"
  )
).pipe(
  Schema.annotate(expected("a path ./... under the app's data folder"))
)

// `*` stands for any run of characters within one segment (`./data/graph/*/channel.db`).
const dataPattern = Text.check(
  filter((p: string) =>
    (p.startsWith("./") && p.length > 2 && !p.split("/").slice(1).some((s) => s === "" || s === "." || s === "..")) ||
    "a path ./... under the app's data folder (a * matches within one segment), without . or .. segments"
  )
).pipe(
  Schema.annotate(expected("a path pattern ./... under the app's data folder"))
)

/**
 * A file the orchestrator copies into the backup target each time it changes (LND's
 * `channel.backup`): `path` is `./...` under the app's data folder; the newest `keep` copies
 * are kept, and a copy that shrank sharply (an emptied backup) never pushes the
 * earlier ones out (see `WatchedRetention`).
 *
 * @since 0.1.0
 * @category models
 */
export const WatchedFile = Schema.Struct({
  path: dataPath,
  keep: withDefault(int(1, 1000), 10)
})

/**
 * Files holding state a peer may have seen superseded (LND's `channel.db`): `files` are path
 * patterns under the data folder (a folder covers everything below it). The orchestrator never
 * brings them back from an archive: a restore keeps the live ones, and when there are none it
 * runs `recovery` (only when the owner confirmed it): the newest good copy of the watched file
 * `recovery.from` (LND's `channel.backup`) is written to `recovery.to` in the data folder and
 * `recovery.command` runs in the restored app's container (LND's `lncli restorechanbackup
 * --multi_file <file>`), once the restored app passed its health gate.
 *
 * @since 0.1.0
 * @category models
 */
export const ChannelState = Schema.Struct({
  files: Schema.Array(dataPattern).check(Schema.isMinLength(1)),
  recovery: Schema.Struct({
    from: dataPath,
    to: dataPath,
    command: Schema.Array(printable("a command argument")).check(Schema.isMinLength(1))
  })
})

/**
 * Automatic backups of the app: one every `everyHours` hours (a backup missed while the node was
 * down runs when it is back); the newest `keep` archives of the app are kept.
 *
 * @since 0.1.0
 * @category models
 */
export const BackupSchedule = Schema.Struct({
  everyHours: int(1, 24 * 366),
  keep: Schema.optional(int(1, 1000))
})

/**
 * How the app is backed up: `liveHook` names a pre-backup hook that makes a copy of the running
 * app safe (without one the app is stopped for its backup); `watch` lists files copied into the
 * backup target whenever they change; `exclude` lists path patterns left out of archives (data
 * the network gives back, such as bitcoind's blocks and chainstate); `channelState` declares the
 * files no restore brings back and the recovery that replaces them; `schedule` makes backups
 * automatic.
 *
 * @since 0.1.0
 * @category models
 */
export const Backup = Schema.Struct({
  liveHook: Schema.optional(printable("a pre-backup hook name")),
  watch: withDefault(Schema.Array(WatchedFile), []),
  exclude: withDefault(Schema.Array(dataPattern), []),
  channelState: Schema.optional(ChannelState),
  schedule: Schema.optional(BackupSchedule)
}).check(
  filter((b) =>
    b.channelState === undefined || b.watch.some((w) => w.path === b.channelState!.recovery.from) ||
    { path: ["channelState", "recovery", "from"], issue: "one of backup.watch's paths (the copies a recovery is made from)" }
  )
)

/**
 * @since 0.1.0
 * @category models
 */
export const Role = Schema.Literals(["backend", "ui", "service"])

/**
 * @since 0.1.0
 * @category models
 */
export const Restart = Schema.Literals(["no", "always", "on-failure", "unless-stopped"])

const imageRef =
  /^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(@sha256:[a-f0-9]{64})?$/

/** A registry reference (`lightninglabs/lnd:v0.18.4-beta`). */
const Image = Text.check(
  filter((s: string) => imageRef.test(s) || `an image reference such as "lightninglabs/lnd:v0.18.4-beta"`, problem("image"))
)

/**
 * Whether an image reference is pinned: a tag other than `latest`, or a digest. A catalog's
 * manifests must pin theirs (`Rules`); code building a manifest may name a local `:latest`.
 *
 * @since 0.1.0
 * @category getters
 */
export const isPinnedImage = (ref: string): boolean => {
  const match = imageRef.exec(ref)
  return match !== null && !((match[1] === undefined || match[1] === "latest") && match[2] === undefined)
}

const Memory = Text.check(filter((s: string) => {
  const bytes = parseMemoryLimit(s)
  if (bytes === undefined) return `a size such as "128Mi", "2Gi" or "512M"`
  return bytes >= minMemoryBytes || "at least 4Mi (no process starts in less)"
}, problem("memory")))

/**
 * Keys other tools use for a manifest field, mapped to the field (see `KeyAliasesId`).
 *
 * @since 0.1.0
 * @category constants
 */
export const keyAliases: Readonly<Record<string, string>> = {
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

/**
 * The rule that a manifest gives exactly one of `image` and `build`: the problem at its path,
 * or undefined. The schema checks it on a whole manifest, the loader's rules on a partly
 * valid one (so it is reported together with other problems).
 *
 * @since 0.1.0
 * @category getters
 */
export const imageOrBuild = (m: {
  readonly image?: unknown
  readonly build?: unknown
}): { readonly path: readonly [string]; readonly message: string } | undefined =>
  m.image !== undefined && m.build !== undefined
    ? { path: ["build"], message: `give either "image" or "build", not both` }
    : m.image === undefined && m.build === undefined
    ? { path: ["image"], message: `required field missing; give either "image" (a pinned reference) or "build" (a local build)` }
    : undefined

/**
 * The schema of a manifest, with defaults applied on decode. Its annotations hold the words a
 * packager reads in `Loader`'s located errors.
 *
 * @since 0.1.0
 * @category models
 */
export const Manifest = Schema.Struct({
  id: ManifestAppId,
  name: printable("a non-empty name"),
  version: printable("a non-empty version"),
  description: Schema.optional(Text),
  /** `ui` companions get container name `archy-<id>` by default. */
  role: withDefault(Role, "service" as const),
  image: Schema.optional(Image),
  build: Schema.optional(Build),
  container: withDefault(Container, {}),
  ports: withDefault(Schema.Array(Port), []),
  volumes: withDefault(Schema.Array(Volume), []),
  env: withDefault(
    Schema.Record(matching(envName, "an environment variable name (letters, digits and _)"), singleLine),
    {}
  ),
  extraHosts: withDefault(Schema.Record(matching(hostname, "a host name"), Text), {}),
  memory: Schema.optional(Memory),
  stopTimeout: withDefault(int(1, 3600), 10),
  restart: withDefault(Restart, "always" as const),
  /** Apps or capabilities this one needs installed (and running) first. */
  dependsOn: withDefault(Schema.Array(DependencyName), []),
  /** Capabilities this app provides, with their endpoints. */
  provides: withDefault(Schema.Array(Provide), []),
  /** Apps never installed together with this one (alternatives such as bitcoin-core and bitcoin-knots). */
  conflicts: withDefault(Schema.Array(ManifestAppId), []),
  hooks: withDefault(Schema.Array(printable("a hook name")), []),
  health: Schema.optional(Health),
  ui: Schema.optional(Ui),
  backup: Schema.optional(Backup)
}).check(
  filter((m) => {
    const p = imageOrBuild(m)
    return p === undefined || { path: p.path, issue: p.message }
  }, { ...problem("image-xor-build", "plain"), [KeyAliasesId]: keyAliases })
)

/**
 * A decoded, validated manifest.
 *
 * @since 0.1.0
 * @category models
 */
export type Manifest = typeof Manifest.Type

/**
 * The manifest as written in YAML, before defaults.
 *
 * @since 0.1.0
 * @category models
 */
export type Encoded = typeof Manifest.Encoded

/**
 * @since 0.1.0
 * @category models
 */
export type Port = typeof Port.Type

/**
 * @since 0.1.0
 * @category models
 */
export type Volume = typeof Volume.Type

/**
 * @since 0.1.0
 * @category models
 */
export type Provide = typeof Provide.Type

/**
 * @since 0.1.0
 * @category models
 */
export type Health = typeof Health.Type

/**
 * @since 0.1.0
 * @category models
 */
export type Watched = typeof WatchedFile.Type

/**
 * @since 0.1.0
 * @category models
 */
export type ChannelStateSpec = typeof ChannelState.Type

/**
 * @since 0.1.0
 * @category models
 */
export type Schedule = typeof BackupSchedule.Type

/**
 * The manifest's file name inside an app's folder.
 *
 * @since 0.1.0
 * @category constants
 */
export const fileName = "manifest.yml"

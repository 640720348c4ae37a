/**
 * The manifest of an app, `apps/<id>/manifest.yml`: the contract between an app packager and
 * the orchestrator. `Loader.parseManifest` reads the YAML with located errors; this schema is
 * the type and the last word on what a valid manifest is.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { AppId, pattern as namePattern } from "../domain/AppId.js"

const PortNumber = Schema.Int.pipe(Schema.between(1, 65535))

/**
 * A published port: `host` on the host (optionally bound to `hostIp`) forwards to `container`.
 *
 * @since 0.1.0
 * @category models
 */
export const Port = Schema.Struct({
  host: PortNumber,
  container: PortNumber,
  protocol: Schema.optionalWith(Schema.Literal("tcp", "udp"), { default: () => "tcp" as const }),
  hostIp: Schema.optional(Schema.String),
  /** Why the app needs a host port below 1024 (required for those). */
  reason: Schema.optional(Schema.String)
})

/**
 * A mount: `source` is `./path` (under the app's data directory), an absolute path (under the
 * app's data directory or an allowed bind root) or a bare name (a named volume).
 *
 * @since 0.1.0
 * @category models
 */
export const Volume = Schema.Struct({
  source: Schema.String,
  target: Schema.String,
  readOnly: Schema.optionalWith(Schema.Boolean, { default: () => false })
})

/**
 * A local image build; `context` is relative to the manifest's folder and never escapes it.
 *
 * @since 0.1.0
 * @category models
 */
export const Build = Schema.Struct({
  context: Schema.String,
  containerfile: Schema.optional(Schema.String),
  args: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { default: () => ({}) })
})

const probeTiming = {
  interval: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 3600)), { default: () => 30 }),
  timeout: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 3600)), { default: () => 5 }),
  retries: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 100)), { default: () => 3 }),
  startPeriod: Schema.optionalWith(Schema.Int.pipe(Schema.between(0, 3600)), { default: () => 0 })
}

/**
 * How the engine checks the app is healthy: an HTTP GET, a TCP connect, or a command, all run
 * inside the container. Times are seconds.
 *
 * @since 0.1.0
 * @category models
 */
export const Health = Schema.Union(
  Schema.Struct({
    type: Schema.Literal("http"),
    port: PortNumber,
    path: Schema.optionalWith(Schema.String, { default: () => "/" }),
    ...probeTiming
  }),
  Schema.Struct({ type: Schema.Literal("tcp"), port: PortNumber, ...probeTiming }),
  Schema.Struct({ type: Schema.Literal("cmd"), command: Schema.NonEmptyArray(Schema.String), ...probeTiming })
)

/**
 * Container settings. The security fields exist so that a manifest can state the safe value;
 * the dangerous values (privileged, host namespaces, added capabilities) are refused.
 *
 * @since 0.1.0
 * @category models
 */
export const Container = Schema.Struct({
  name: Schema.optional(Schema.String),
  command: Schema.optional(Schema.Array(Schema.String)),
  entrypoint: Schema.optional(Schema.Array(Schema.String)),
  user: Schema.optional(Schema.String),
  workdir: Schema.optional(Schema.String),
  privileged: Schema.optional(Schema.Literal(false)),
  network: Schema.optional(Schema.Literal("bridge")),
  pid: Schema.optional(Schema.Literal("private")),
  ipc: Schema.optional(Schema.Literal("private")),
  capAdd: Schema.optional(Schema.Tuple())
})

/**
 * The app's web UI inside its container, when it has one.
 *
 * @since 0.1.0
 * @category models
 */
export const Ui = Schema.Struct({
  port: PortNumber,
  path: Schema.optionalWith(Schema.String, { default: () => "/" })
})

/**
 * The name of a capability (`bitcoin-node`): spelled like an app id, and never equal to one in
 * the same catalog, so a `dependsOn` entry means one thing.
 *
 * @since 0.1.0
 * @category models
 */
export const CapabilityName = Schema.String.pipe(
  Schema.pattern(namePattern, {
    message: () => "a capability name: 1-63 lowercase letters, digits or dashes, not starting with a dash"
  })
)

/**
 * What a `dependsOn` entry names: an app id or a capability (resolved to the one installed
 * provider, see `Capability.resolve`).
 *
 * @since 0.1.0
 * @category models
 */
export const DependencyName = CapabilityName

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
  endpoints: Schema.optionalWith(Schema.Record({ key: Schema.String, value: PortNumber }), { default: () => ({}) })
})

/**
 * A file the orchestrator copies into the backup target each time it changes (LND's
 * `channel.backup`): `path` is `./...` under the app's data folder; the newest `keep` copies
 * are kept.
 *
 * @since 0.3.0
 * @category models
 */
export const WatchedFile = Schema.Struct({
  path: Schema.String.pipe(
    Schema.filter((p) =>
      (p.startsWith("./") && p.length > 2 && !p.split("/").slice(1).some((s) => s === "" || s === "." || s === "..")) ||
      "a path ./... under the app's data folder, without . or .. segments"
    )
  ),
  keep: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 1000)), { default: () => 10 })
})

/**
 * How the app is backed up: `liveHook` names a pre-backup hook that makes a copy of the running
 * app safe (without one the app is stopped for its backup); `watch` lists files copied into the
 * backup target whenever they change.
 *
 * @since 0.3.0
 * @category models
 */
export const Backup = Schema.Struct({
  liveHook: Schema.optional(Schema.String),
  watch: Schema.optionalWith(Schema.Array(WatchedFile), { default: () => [] })
})

/**
 * @since 0.1.0
 * @category models
 */
export const Role = Schema.Literal("backend", "ui", "service")

/**
 * @since 0.1.0
 * @category models
 */
export const Restart = Schema.Literal("no", "always", "on-failure", "unless-stopped")

/**
 * The schema of a manifest, with defaults applied on decode.
 *
 * @since 0.1.0
 * @category models
 */
export const Manifest = Schema.Struct({
  id: AppId,
  name: Schema.String,
  version: Schema.String,
  description: Schema.optional(Schema.String),
  /** `ui` companions get container name `archy-<id>` by default. */
  role: Schema.optionalWith(Role, { default: () => "service" as const }),
  image: Schema.optional(Schema.String),
  build: Schema.optional(Build),
  container: Schema.optionalWith(Container, { default: () => ({}) }),
  ports: Schema.optionalWith(Schema.Array(Port), { default: () => [] }),
  volumes: Schema.optionalWith(Schema.Array(Volume), { default: () => [] }),
  env: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { default: () => ({}) }),
  extraHosts: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { default: () => ({}) }),
  memory: Schema.optional(Schema.String),
  stopTimeout: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 3600)), { default: () => 10 }),
  restart: Schema.optionalWith(Restart, { default: () => "always" as const }),
  /** Apps or capabilities this one needs installed (and running) first. */
  dependsOn: Schema.optionalWith(Schema.Array(DependencyName), { default: () => [] }),
  /** Capabilities this app provides, with their endpoints. */
  provides: Schema.optionalWith(Schema.Array(Provide), { default: () => [] }),
  /** Apps never installed together with this one (alternatives such as bitcoin-core and bitcoin-knots). */
  conflicts: Schema.optionalWith(Schema.Array(AppId), { default: () => [] }),
  hooks: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  health: Schema.optional(Health),
  ui: Schema.optional(Ui),
  backup: Schema.optional(Backup)
}).pipe(
  Schema.filter((m) => (m.image === undefined) !== (m.build === undefined) || "exactly one of image or build")
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
 * @since 0.3.0
 * @category models
 */
export type Watched = typeof WatchedFile.Type

/**
 * The manifest's file name inside an app's folder.
 *
 * @since 0.1.0
 * @category constants
 */
export const fileName = "manifest.yml"

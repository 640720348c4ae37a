/**
 * Operator settings that shape how manifests are checked and turned into containers.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"

/**
 * A registry mirror of Docker Hub: a host (`mirror.example:5000`), or `{ location, insecure }`
 * where `insecure: true` pulls from it over plain HTTP without TLS verification
 * (`--tls-verify=false`; meant for a loopback or LAN mirror).
 *
 * @since 0.1.0
 * @category models
 */
export const Mirror = Schema.Union([Schema.String, Schema.Struct({
    location: Schema.String,
    insecure: Schema.Boolean.pipe(Schema.withDecodingDefaultType(Effect.succeed(false)))
  })])

/**
 * @since 0.1.0
 * @category models
 */
export type Mirror = typeof Mirror.Type

/**
 * A registry the operator lists: its `location` (`127.0.0.1:5000`, `registry.lan:5000/team`),
 * whether it is reached over plain HTTP without TLS verification (`insecure: true`, pulled with
 * `--tls-verify=false`), and the podman auth file (`auth.json`, as `podman login --authfile`
 * writes it) its pulls use (`--authfile`). An image naming the location is pulled with these;
 * with `offline`, the listed registries (and the mirrors) are the only ones ever contacted.
 *
 * @since 0.1.0
 * @category models
 */
export const Registry = Schema.Struct({
  location: Schema.String,
  insecure: Schema.Boolean.pipe(Schema.withDecodingDefaultType(Effect.succeed(false))),
  authFile: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type Registry = typeof Registry.Type

/**
 * `dataDir` holds each app's data in `<dataDir>/<id>`; `mirrors` are registries tried, in order,
 * before docker.io for Docker Hub images; `allowedBindRoots` are extra host folders manifests
 * may bind-mount; `serverPort` is the orchestrator's own port, which no app may publish (default
 * `defaultServerPort`); `instanceId` (one per data dir) is stamped on every container as
 * `io.archipelago.instance`. `registries` are the operator's own registries (insecure, private);
 * `offline: true` pulls only from them and the mirrors: never docker.io, never another registry.
 *
 * @since 0.1.0
 * @category models
 */
export const Settings = Schema.Struct({
  dataDir: Schema.String.pipe(Schema.withDecodingDefaultType(Effect.succeed("/var/lib/archipelago"))),
  mirrors: Schema.Array(Mirror).pipe(Schema.withDecodingDefaultType(Effect.succeed([]))),
  allowedBindRoots: Schema.Array(Schema.String).pipe(Schema.withDecodingDefaultType(Effect.succeed([]))),
  /** None when absent. */
  registries: Schema.optional(Schema.Array(Registry)),
  /** False when absent. */
  offline: Schema.optional(Schema.Boolean),
  /** The orchestrator's own port (API and dashboard); no app may publish it. */
  serverPort: Schema.optional(Schema.Number),
  instanceId: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type Settings = typeof Settings.Type

/**
 * The settings of a stock Archipelago node.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults: Settings = { dataDir: "/var/lib/archipelago", mirrors: [], allowedBindRoots: [] }

/**
 * The orchestrator's port when `serverPort` is not set.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultServerPort = 7420

/**
 * Settings from a partial object, the rest taken from `defaults`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (partial: Partial<Settings> = {}): Settings => ({ ...defaults, ...partial })

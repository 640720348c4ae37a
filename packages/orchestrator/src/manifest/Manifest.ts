/**
 * The manifest of an app, `apps/<id>/manifest.yml`: the contract between an app packager and
 * the orchestrator.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { AppId } from "../domain/AppId.js"

/**
 * @since 0.1.0
 * @category models
 */
export const Port = Schema.Struct({
  host: Schema.Int.pipe(Schema.between(1, 65535)),
  container: Schema.Int.pipe(Schema.between(1, 65535)),
  protocol: Schema.optionalWith(Schema.Literal("tcp", "udp"), { default: () => "tcp" as const })
})

/**
 * @since 0.1.0
 * @category models
 */
export const Volume = Schema.Struct({
  source: Schema.String,
  target: Schema.String,
  readOnly: Schema.optionalWith(Schema.Boolean, { default: () => false })
})

/**
 * @since 0.1.0
 * @category models
 */
export const Build = Schema.Struct({
  context: Schema.String,
  containerfile: Schema.optional(Schema.String),
  args: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { default: () => ({}) })
})

/**
 * @since 0.1.0
 * @category models
 */
export const Health = Schema.Union(
  Schema.Struct({ type: Schema.Literal("http"), port: Schema.Int, path: Schema.optionalWith(Schema.String, { default: () => "/" }) }),
  Schema.Struct({ type: Schema.Literal("tcp"), port: Schema.Int }),
  Schema.Struct({ type: Schema.Literal("cmd"), command: Schema.Array(Schema.String) })
)

/**
 * @since 0.1.0
 * @category models
 */
export const Manifest = Schema.Struct({
  id: AppId,
  name: Schema.String,
  version: Schema.String,
  description: Schema.optional(Schema.String),
  /** `ui` companions get container name `archy-<id>` by default. */
  role: Schema.optionalWith(Schema.Literal("backend", "ui", "service"), { default: () => "service" as const }),
  image: Schema.optional(Schema.String),
  build: Schema.optional(Build),
  container: Schema.optionalWith(
    Schema.Struct({
      name: Schema.optional(Schema.String),
      command: Schema.optional(Schema.Array(Schema.String)),
      entrypoint: Schema.optional(Schema.Array(Schema.String)),
      user: Schema.optional(Schema.String)
    }),
    { default: () => ({}) }
  ),
  ports: Schema.optionalWith(Schema.Array(Port), { default: () => [] }),
  volumes: Schema.optionalWith(Schema.Array(Volume), { default: () => [] }),
  env: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { default: () => ({}) }),
  extraHosts: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { default: () => ({}) }),
  memory: Schema.optional(Schema.String),
  stopTimeout: Schema.optionalWith(Schema.Int, { default: () => 10 }),
  restart: Schema.optionalWith(Schema.Literal("no", "always", "on-failure", "unless-stopped"), {
    default: () => "always" as const
  }),
  dependsOn: Schema.optionalWith(Schema.Array(AppId), { default: () => [] }),
  hooks: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  health: Schema.optional(Health),
  /** The container port of the app's web UI, when it has one. */
  ui: Schema.optional(Schema.Struct({ port: Schema.Int, path: Schema.optionalWith(Schema.String, { default: () => "/" }) }))
})

/**
 * A decoded, validated manifest.
 *
 * @since 0.1.0
 * @category models
 */
export type Manifest = typeof Manifest.Type

/**
 * The plugin API: a pre-start hook has a name (the one manifests list under `hooks:`) and
 * renders the files an app needs from a context. It never writes them itself: the registry
 * writes each file atomically, refuses paths outside the data dir, and restarts the app when a
 * file changed.
 *
 * @example
 * ```ts
 * import { PreStartHook } from "@archipelago/hooks"
 * import { Effect } from "effect"
 *
 * export const motd = PreStartHook.make({
 *   name: "motd",
 *   render: (ctx) =>
 *     Effect.succeed([{ path: `${ctx.appDataDir}/motd.txt`, content: `Welcome to ${ctx.manifest.name}\n` }])
 * })
 * ```
 *
 * @since 0.1.0
 */
import type { AppId, Capability, HookRegistry, Manifest, Settings } from "@archipelago/orchestrator"
import type { Effect, Option, Redacted } from "effect"
import { Data } from "effect"

/**
 * The error of a hook; its message never carries a secret.
 *
 * @since 0.1.0
 * @category errors
 */
export type HookFailed = HookRegistry.HookFailed

/**
 * A file of a provider's data folder could not be read for a hook: absent (not yet written by the
 * provider), not a regular file (a symlink is never followed), larger than the limit, outside the
 * provider's folder, or an I/O error. Names the file, the provider and the app; never the content.
 *
 * @since 0.1.0
 * @category errors
 */
export class ProviderFileError extends Data.TaggedError("ProviderFileError")<{
  readonly hook: string
  /** The app whose hook asked (the consumer). */
  readonly appId: string
  /** The provider whose data folder holds the file. */
  readonly provider: string
  /** The file, as asked (relative to the provider's data folder). */
  readonly path: string
  readonly reason: string
}> {
  override get message(): string {
    return `cannot read ${this.path} of ${this.provider} for ${this.appId} (hook ${this.hook}): ${this.reason}`
  }
}

/**
 * The default bound of `Provided.readFile`: 1 MiB.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultMaxFileBytes = 1024 * 1024

/**
 * A file a hook wants on disk.
 *
 * @since 0.1.0
 * @category models
 */
export interface RenderedFile {
  /** Absolute path; it must lie under the data dir, anything else is refused. */
  readonly path: string
  readonly content: string
  /** Permission bits; default 0600 for a secret file, 0644 otherwise. */
  readonly mode?: number
  /** The content holds a secret: the file gets 0600 and new directories 0700. */
  readonly secret?: boolean
  /**
   * What the render read at `path` and merged into `content` (`null`: the file was absent), as
   * `ctx.read` returned it. Given, the file is written only if it still holds exactly that: when
   * the app rewrote it in between (ThunderHub re-dumps its config, a user edits bitcoin.conf), the
   * hook renders again from the new content instead of overwriting it. Omit it for a file rendered
   * from scratch.
   */
  readonly basedOn?: string | null
}

/**
 * The installed app providing a capability the hooked app depends on, with the endpoints of that
 * capability (from the provider's manifest).
 *
 * @since 0.1.0
 * @category models
 */
export interface Provided {
  readonly capability: string
  readonly appId: AppId.AppId
  readonly manifest: Manifest.Manifest
  readonly endpoints: Readonly<Record<string, Capability.Endpoint>>
  /** One endpoint; fails naming the provider and the endpoint when the provider does not declare it. */
  readonly endpoint: (name: string) => Effect.Effect<Capability.Endpoint, HookFailed>
  /**
   * The bytes of a file in the provider's data folder (`<dataDir>/<provider>/<path>`), e.g. LND's
   * `tls.cert` or its admin macaroon. `path` is relative and may not leave that folder (`..`, an
   * absolute path, a symlinked folder on the way are refused); a symlink or non-regular file at the
   * file is never followed; more than `maxBytes` (default 1 MiB) is refused without reading it. Only
   * a hook with `secretConsumers` may read (what it reads is treated as a secret). The provider may
   * be writing the file: only a settled read is returned (`SafeFile.readSettled`); one that keeps
   * changing for about 2 s fails with `ProviderFileError` ("... kept changing while it was read").
   * Since 0.3.0.
   */
  readonly readFile: (
    path: string,
    options?: { readonly maxBytes?: number }
  ) => Effect.Effect<Uint8Array, ProviderFileError | HookFailed>
}

/**
 * What a hook renders from.
 *
 * @since 0.1.0
 * @category models
 */
export interface HookContext {
  readonly appId: AppId.AppId
  readonly manifest: Manifest.Manifest
  /** The node's settings (mirrors, bind roots); `settings.dataDir` equals `dataDir`. */
  readonly settings: Settings.Settings
  /** The node's data dir, e.g. `/var/lib/archipelago`. */
  readonly dataDir: string
  /** `<dataDir>/<appId>`. */
  readonly appDataDir: string
  /** A canonical secret, generated on first use. Unwrap with `Redacted.value` only to render it. */
  readonly secret: (name: string) => Effect.Effect<Redacted.Redacted<string>, HookFailed>
  /**
   * The current text of a file under the data dir (to preserve what a hook does not own), if any;
   * a settled read (`SafeFile.readSettled`), never one torn by the app rewriting it in place.
   */
  readonly read: (path: string) => Effect.Effect<Option.Option<string>, HookFailed>
  /** The installed apps the app's `dependsOn` resolves to, with everything they provide. */
  readonly providers: ReadonlyArray<Capability.Provider>
  /**
   * The installed provider of `capability` among the app's dependencies (the manifest names the
   * capability, or an app providing it, in `dependsOn`). Fails naming the capability otherwise.
   */
  readonly provider: (capability: string) => Effect.Effect<Provided, HookFailed>
  /** A `HookFailed` naming this hook and app, for `return yield* ctx.fail("why")`. */
  readonly fail: (reason: string) => HookFailed
}

/**
 * A named pre-start hook.
 *
 * @since 0.1.0
 * @category models
 */
export interface PreStartHook {
  /** 1-63 lowercase letters, digits or dashes; unique within a registry. */
  readonly name: string
  /**
   * The apps allowed to receive what this hook renders, e.g. `["lnd"]`. Required for a hook that
   * renders a secret (calls `ctx.secret` or returns a `secret: true` file): without it the registry
   * refuses both. A manifest of any other app naming the hook fails `archipelago validate` (and the
   * catalog) at `hooks[i]`, and the registry refuses to run it for that app (`HookNotAllowed`).
   */
  readonly secretConsumers?: ReadonlyArray<string>
  /** Renders the files; a `ProviderFileError` fails the run as a `HookFailed` carrying its message. */
  readonly render: (ctx: HookContext) => Effect.Effect<ReadonlyArray<RenderedFile>, HookFailed | ProviderFileError>
}

/**
 * The pattern a hook name matches.
 *
 * @since 0.1.0
 * @category models
 */
export const namePattern = /^[a-z0-9][a-z0-9-]{0,62}$/

/**
 * Defines a hook. Only an identity with a checked shape: the registry validates the name.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (hook: PreStartHook): PreStartHook => hook

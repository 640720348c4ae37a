/**
 * The port for pre-start hooks: named plugins that render files an app needs before its
 * container is created or started. Implementations live in `@archipelago/hooks`.
 *
 * @since 0.1.0
 */
import { Context, Data, Effect, Layer } from "effect"
import type { AppId } from "../domain/AppId.js"
import type { Provider } from "../manifest/Capability.js"
import type { Manifest } from "../manifest/Manifest.js"

/**
 * A hook failed; the message never carries a secret.
 *
 * @since 0.1.0
 * @category errors
 */
export class HookFailed extends Data.TaggedError("HookFailed")<{
  readonly hook: string
  readonly appId: string
  readonly reason: string
}> {
  override get message(): string {
    return `pre-start hook ${this.hook} failed for ${this.appId}: ${this.reason}`
  }
}

/**
 * A hook that renders a secret was asked to run for an app it is not bound to: the hook is not
 * rendered, nothing is written, and the app is not created or started.
 *
 * @since 0.1.0
 * @category errors
 */
export class HookNotAllowed extends Data.TaggedError("HookNotAllowed")<{
  readonly hook: string
  readonly appId: string
  /** The apps the hook is bound to. */
  readonly allowed: ReadonlyArray<string>
}> {
  /** Why, in the words of `HookFailed.reason`. */
  get reason(): string {
    return `it renders a secret for ${this.allowed.length === 0 ? "no app" : this.allowed.join(", ")} only`
  }
  override get message(): string {
    return `pre-start hook ${this.hook} refused for ${this.appId}: ${this.reason}`
  }
}

/**
 * What a registry's `run` can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type HookError = HookFailed | HookNotAllowed

/**
 * What the orchestrator asks of the registry before it creates or starts an app.
 *
 * @since 0.1.0
 * @category models
 */
export interface HookRun {
  readonly appId: AppId
  readonly manifest: Manifest
  /** The names from the manifest's `hooks`, in order. */
  readonly hooks: ReadonlyArray<string>
  /**
   * The installed apps the manifest's `dependsOn` resolves to (a capability to its one installed
   * provider), with the endpoints they provide: what a hook renders a consumer's config from.
   * @since 0.1.0
   */
  readonly providers?: ReadonlyArray<Provider>
}

/**
 * A file a hook wrote, or found already up to date.
 *
 * @since 0.1.0
 * @category models
 */
export interface HookFile {
  readonly hook: string
  readonly path: string
  readonly changed: boolean
  readonly sha256: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface HookResult {
  /** True when any file changed on disk: the app must restart to pick it up. */
  readonly changed: boolean
  readonly files: ReadonlyArray<HookFile>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The names of the registered hooks (manifests may name only these). */
  readonly names: ReadonlyArray<string>
  /**
   * The hooks bound to the apps allowed to run them (those that render a secret): hook name →
   * app ids. The catalog refuses a manifest of any other app naming one; `run` refuses it again.
   */
  readonly consumers: Readonly<Record<string, ReadonlyArray<string>>>
  readonly run: (request: HookRun) => Effect.Effect<HookResult, HookError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class HookRegistry extends Context.Service<HookRegistry, Service>()("@archipelago/orchestrator/HookRegistry") {}

/**
 * A registry with no hooks; running a named hook fails loudly.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerEmpty: Layer.Layer<HookRegistry> = Layer.succeed(HookRegistry, {
  names: [],
  consumers: {},
  run: (request) =>
    request.hooks.length === 0
      ? Effect.succeed({ changed: false, files: [] })
      : Effect.fail(
        new HookFailed({ hook: request.hooks[0]!, appId: request.appId, reason: "no hook of that name is registered" })
      )
})

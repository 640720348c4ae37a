/**
 * The port for pre-backup hooks: named plugins that make a copy of a running app safe (flush,
 * checkpoint, freeze), so its backup need not stop it. A manifest names one under
 * `backup.liveHook`; without one, or when no registry is provided, the app is stopped for its
 * backup and started again after.
 *
 * @since 0.3.0
 */
import { Context, Data, Effect, Layer } from "effect"
import type { AppId } from "../domain/AppId.js"
import type { Manifest } from "../manifest/Manifest.js"

/**
 * A pre-backup hook failed, or none of that name is registered; the backup is not made.
 *
 * @since 0.3.0
 * @category errors
 */
export class PreBackupFailed extends Data.TaggedError("PreBackupFailed")<{
  readonly hook: string
  readonly appId: string
  readonly reason: string
}> {
  override get message(): string {
    return `pre-backup hook ${this.hook} failed for ${this.appId}: ${this.reason}`
  }
}

/**
 * What a pre-backup hook is given.
 *
 * @since 0.3.0
 * @category models
 */
export interface HookContext {
  readonly appId: AppId
  readonly manifest: Manifest
  /** `<dataDir>/<appId>`. */
  readonly appDataDir: string
}

/**
 * A named pre-backup hook. `prepare` runs before the copy; `release` (if any) after it, also
 * when the copy failed.
 *
 * @since 0.3.0
 * @category models
 */
export interface PreBackupHook {
  readonly name: string
  readonly prepare: (ctx: HookContext) => Effect.Effect<void, PreBackupFailed>
  readonly release?: (ctx: HookContext) => Effect.Effect<void, PreBackupFailed>
}

/**
 * @since 0.3.0
 * @category models
 */
export interface Service {
  readonly get: (name: string) => PreBackupHook | undefined
}

/**
 * @since 0.3.0
 * @category tags
 */
export class PreBackupHooks extends Context.Tag("@archipelago/orchestrator/PreBackupHooks")<PreBackupHooks, Service>() {}

/**
 * A registry of the given hooks.
 *
 * @since 0.3.0
 * @category layers
 */
export const layer = (hooks: ReadonlyArray<PreBackupHook>): Layer.Layer<PreBackupHooks> => {
  const byName = new Map(hooks.map((h) => [h.name, h]))
  return Layer.succeed(PreBackupHooks, { get: (name) => byName.get(name) })
}

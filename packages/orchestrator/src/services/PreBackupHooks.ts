/**
 * The port for pre-backup hooks: named plugins that make a copy of a running app safe (flush,
 * checkpoint, freeze), so its backup need not stop it. A manifest names one under
 * `backup.liveHook`; without one, or when no registry is provided, the app is stopped for its
 * backup and started again after.
 *
 * Built in: `freeze` (`podmanFreeze()`), which pauses the app's container (the cgroup freezer)
 * for the copy and resumes it after. Its processes keep their memory, connections and open
 * files, and the copy is the exact on-disk state at one instant, what a power cut would leave,
 * which the stock backends' databases are built to recover from (LND's bbolt, bitcoind's
 * LevelDB); without a freeze a copy taken while the app writes can mix two states.
 *
 * @since 0.1.0
 */
import { Context, Data, Effect, Layer } from "effect"
import type { AppId } from "../domain/AppId.js"
import type { Manifest } from "../manifest/Manifest.js"
import * as PodmanCommand from "../runtime/PodmanCommand.js"

/**
 * A pre-backup hook failed, or none of that name is registered; the backup is not made.
 *
 * @since 0.1.0
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
 * @since 0.1.0
 * @category models
 */
export interface HookContext {
  readonly appId: AppId
  readonly manifest: Manifest
  /** `<dataDir>/<appId>`. */
  readonly appDataDir: string
  /** The app's container (its adopted name when it has one). Since 0.3.0. */
  readonly containerName: string
}

/**
 * A named pre-backup hook. `prepare` runs before the copy; `release` (if any) after it, also
 * when the copy failed.
 *
 * @since 0.1.0
 * @category models
 */
export interface PreBackupHook {
  readonly name: string
  readonly prepare: (ctx: HookContext) => Effect.Effect<void, PreBackupFailed>
  readonly release?: (ctx: HookContext) => Effect.Effect<void, PreBackupFailed>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly get: (name: string) => PreBackupHook | undefined
}

/**
 * @since 0.1.0
 * @category tags
 */
export class PreBackupHooks extends Context.Service<PreBackupHooks, Service>()("@archipelago/orchestrator/PreBackupHooks") {}

/**
 * A registry of the given hooks.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (hooks: ReadonlyArray<PreBackupHook>): Layer.Layer<PreBackupHooks> => {
  const byName = new Map(hooks.map((h) => [h.name, h]))
  return Layer.succeed(PreBackupHooks, { get: (name) => byName.get(name) })
}

/**
 * The name of the built-in freezing hook, for `backup.liveHook: freeze`.
 *
 * @since 0.1.0
 * @category constants
 */
export const freezeName = "freeze"

/**
 * The `freeze` hook over the given pause and resume steps: `prepare` pauses the container,
 * `release` resumes it (also after a failed copy). A failure names the container.
 *
 * @since 0.1.0
 * @category constructors
 */
export const freeze = (steps: {
  readonly pause: (containerName: string) => Effect.Effect<void, string>
  readonly resume: (containerName: string) => Effect.Effect<void, string>
}): PreBackupHook => {
  const step = (what: "pause" | "resume") => (ctx: HookContext) =>
    steps[what](ctx.containerName).pipe(
      Effect.mapError((reason) =>
        new PreBackupFailed({ hook: freezeName, appId: ctx.appId, reason: `cannot ${what} container ${ctx.containerName}: ${reason}` })
      ),
      Effect.tap(() => Effect.logInfo(`backup: container ${ctx.containerName} ${what === "pause" ? "frozen for the copy" : "resumed"}`))
    )
  return { name: freezeName, prepare: step("pause"), release: step("resume") }
}

/**
 * `freeze` through podman: `podman pause` and `podman unpause`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const podmanFreeze = (binary = "podman"): PreBackupHook => {
  const run = (verb: "pause" | "unpause") => (name: string) =>
    PodmanCommand.run(binary, [verb, name], { timeoutMs: 60_000 }).pipe(
      Effect.mapError((e) => e.message),
      Effect.flatMap((r) => (r.exitCode === 0 ? Effect.void : Effect.fail(`${binary} ${verb} exited ${r.exitCode}: ${r.stderr.trim().slice(-500)}`)))
    )
  return freeze({ pause: run("pause"), resume: run("unpause") })
}

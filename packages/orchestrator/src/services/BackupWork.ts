/**
 * The work of the `backup` and `restore` operations, run by `Orchestrator.perform` under the
 * app's lock, inside its transition and deadline:
 *
 * - backup: a consistent copy. A running app is stopped for it and started again after, unless
 *   its manifest's `backup.liveHook` names a registered pre-backup hook that makes a live copy
 *   safe. Left out: files the app's pre-start hooks render (they may hold other apps' secrets;
 *   the hooks run with the app's providers, as at a start), the manifest's `backup.exclude`
 *   (data the network gives back) and its channel state (`ChannelState`); the canonical secrets
 *   go once to `<target>/secrets.tar` (0600).
 * - restore: the archive is verified (checksums, app id) and extracted next to the live folders
 *   before the app is touched; then the app is stopped, the folders swapped (renames), the app
 *   started and held to the health gate. Healthy: the previous folders are deleted and the app
 *   returns to the state it was in. Not healthy: the previous folders are put back and the
 *   restore fails with `RestoreUnhealthy`. Channel state never comes from the archive: the live
 *   files are kept, and without them the restore is a channel recovery the owner confirmed
 *   (`ChannelState`), run once the app passed its gate (a failed recovery counts as unhealthy).
 *
 * @since 0.1.0
 */
import * as NodePath from "node:path"
import { Clock, Data, Effect, Option } from "effect"
import * as FailureMessage from "../domain/FailureMessage.js"
import * as Journal from "../domain/Journal.js"
import type { Observation } from "../domain/AppEntry.js"
import type { Provider } from "../manifest/Capability.js"
import * as SafeFile from "../fs/SafeFile.js"
import { ContainerRuntime } from "../runtime/ContainerRuntime.js"
import type { Service as Runtime } from "../runtime/ContainerRuntime.js"
import type { AppDef } from "./Apps.js"
import type { BackupError, Service as Backups } from "./Backups.js"
import * as ChannelState from "./ChannelState.js"
import * as HealthGate from "./HealthGate.js"
import type { HookError, Service as HookRegistry } from "./HookRegistry.js"
import type { Service as InstallLog } from "./InstallLog.js"
import type { PreBackupFailed, Service as PreBackupHooks } from "./PreBackupHooks.js"
import { PreBackupFailed as PreBackupFailedError } from "./PreBackupHooks.js"

/**
 * The restored app did not pass its health gate; its previous data was put back.
 *
 * @since 0.1.0
 * @category errors
 */
export class RestoreUnhealthy extends Data.TaggedError("RestoreUnhealthy")<{
  readonly appId: string
  readonly archive: string
  readonly reason: string
  /** Why the app, started again on its previous data, did not prove healthy either (when so). */
  readonly afterRevert?: string
}> {
  override get message(): string {
    return `restore of ${this.appId} from ${this.archive} did not pass the health gate (${this.reason}); the previous data was put back` +
      (this.afterRevert === undefined ? "" : `, but the app is not healthy on it either: ${this.afterRevert}`)
  }
}

/**
 * Whether the app proves healthy after a start: `None` when it does, else why not.
 *
 * @since 0.1.0
 * @category models
 */
export type Gate = (def: AppDef, containerName: string) => Effect.Effect<Option.Option<string>>

/**
 * The steps of the orchestrator the work uses (from `Orchestrator.Steps`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Steps<E> {
  readonly start: (def: AppDef) => Effect.Effect<void, E>
  readonly stop: (def: AppDef) => Effect.Effect<void, E>
  readonly observe: (def: AppDef) => Effect.Effect<Option.Option<Observation>>
}

/**
 * What the work needs.
 *
 * @since 0.1.0
 * @category models
 */
export interface Deps<E> {
  readonly steps: Steps<E>
  readonly backups: Backups
  readonly hooks: HookRegistry
  readonly log: InstallLog
  readonly preBackupHooks: Option.Option<PreBackupHooks>
  readonly gate: Gate
  /** The app's journal: each step is recorded (persisted) before it changes anything. */
  readonly journal?: JournalAccess
  /** The installed providers of the app's capabilities, which its pre-start hooks read. @since 0.1.0 */
  readonly providers: (def: AppDef) => Effect.Effect<ReadonlyArray<Provider>>
  /** Runs a channel recovery's command in the app's container (default `ChannelState.podmanExec()`). @since 0.1.0 */
  readonly exec?: ChannelState.Exec
}

/**
 * What a restore is asked: the archive (a file name in the target, or the newest when
 * undefined), and whether the owner confirmed that a channel recovery closes the channels.
 *
 * @since 0.1.0
 * @category models
 */
export interface RestoreRequest {
  readonly archive?: string | undefined
  readonly closeChannels?: boolean | undefined
}

/**
 * The app's journal record as the work sees it: the current one, and a write of the next.
 *
 * @since 0.1.0
 * @category models
 */
export interface JournalAccess {
  readonly current: Effect.Effect<Journal.Entry | undefined>
  readonly record: (next: Journal.Entry | undefined) => Effect.Effect<void>
}

// Records the op's next step over its current record (opened by the request), or a fresh one.
const step = <E>(
  deps: Deps<E>,
  op: "backup" | "restore",
  next: Journal.BackupStep | Journal.RestoreStep,
  more: Record<string, unknown> = {}
): Effect.Effect<void> =>
  deps.journal === undefined
    ? Effect.void
    : Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const current = yield* deps.journal!.current
      const base = current?.op === op ? current : Journal.open(op, { version: "", image: "" }, now)!
      yield* deps.journal!.record(Journal.advance(base, next as typeof base.step, now, more))
    })

/**
 * Errors of the work.
 *
 * @since 0.1.0
 * @category errors
 */
export type Error =
  | BackupError
  | PreBackupFailed
  | RestoreUnhealthy
  | HookError
  | ChannelState.RecoveryUnconfirmed
  | ChannelState.NoChannelBackup
  | ChannelState.ChannelStateError

// The hooks run as at a start, with the app's providers (lnd-conf reads bitcoin-node's endpoints).
const renderedFiles = <E>(deps: Deps<E>, def: AppDef): Effect.Effect<ReadonlyArray<string>, HookError> =>
  def.manifest.hooks.length === 0
    ? Effect.succeed([])
    : Effect.flatMap(deps.providers(def), (providers) =>
      Effect.map(
        deps.hooks.run({ appId: def.id, manifest: def.manifest, hooks: def.manifest.hooks, providers }),
        (r) => r.files.map((f) => f.path)
      ))

const channelPatterns = (def: AppDef): ReadonlyArray<string> => def.manifest.backup?.channelState?.files ?? []

// What an archive leaves out besides the rendered files: `backup.exclude` and the channel state.
// A pattern without `*` is left out even when absent now (it may appear before the copy).
const excludedPaths = (def: AppDef) => {
  const patterns = [...(def.manifest.backup?.exclude ?? []), ...channelPatterns(def)]
  const literal = patterns.filter((p) => !p.includes("*")).map((p) => NodePath.join(def.dataDir, p))
  return Effect.map(ChannelState.expand(def.dataDir, patterns), (found) => [...new Set([...literal, ...found])])
}

const liveChannelFiles = (def: AppDef) => ChannelState.expand(def.dataDir, channelPatterns(def), { files: "only" })

const isRunning = (seen: Option.Option<Observation>) => Option.exists(seen, (o) => o.state === "running")

const humanBytes = (n: number): string =>
  n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : n < 1024 ** 3 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : `${(n / 1024 ** 3).toFixed(2)} GiB`

/**
 * Backs the app up (see the module's description). Answers the archive's path.
 *
 * @since 0.1.0
 * @category constructors
 */
export const backup = <E>(deps: Deps<E>, def: AppDef): Effect.Effect<string, E | Error> =>
  Effect.gen(function*() {
    const seen = yield* deps.steps.observe(def)
    const running = isRunning(seen)
    const containerName = Option.getOrElse(Option.flatMap(seen, (o) => Option.fromNullishOr(o.observed.containerName)), () => def.containerName)
    const ctx = { appId: def.id, manifest: def.manifest, appDataDir: def.dataDir, containerName }
    const hookName = def.manifest.backup?.liveHook
    const hook = running && hookName !== undefined
      ? yield* Option.match(Option.flatMap(deps.preBackupHooks, (r) => Option.fromNullishOr(r.get(hookName))), {
        onNone: () =>
          Effect.fail(new PreBackupFailedError({ hook: hookName, appId: def.id, reason: "no pre-backup hook of that name is registered" })),
        onSome: Effect.succeed
      })
      : undefined
    const exclude = [...(yield* renderedFiles(deps, def)), ...(yield* excludedPaths(def))]
    let stopped = false
    yield* step(deps, "backup", "copying", {
      ...(hook === undefined ? {} : { hook: hook.name }),
      ...(hook === undefined && running ? { stopped: true } : {})
    })
    if (hook !== undefined) {
      yield* deps.log.append(def.id, "info", `backup: pre-backup hook ${hook.name} (the app keeps running)`)
      yield* hook.prepare(ctx)
    } else if (running) {
      yield* deps.log.append(def.id, "info", "backup: stopping the app for a consistent copy")
      yield* deps.steps.stop(def)
      stopped = true
    }
    const image = Option.flatMap(seen, (o) => Option.fromNullishOr(o.observed.image))
    const keep = def.manifest.backup?.schedule?.keep
    const made = yield* deps.backups.create(def, {
      live: hook !== undefined,
      exclude,
      ...(keep === undefined ? {} : { keep }),
      ...(Option.isSome(image) ? { image: image.value } : {})
    }).pipe(Effect.exit)
    if (made._tag === "Success") yield* step(deps, "backup", "written", { archive: made.value.path })
    if (hook?.release !== undefined) yield* hook.release(ctx)
    if (stopped) {
      yield* deps.log.append(def.id, "info", "backup: starting the app again")
      yield* deps.steps.start(def)
    }
    const info = yield* made
    yield* deps.backups.secrets
    yield* deps.log.append(
      def.id,
      "info",
      `backup: wrote ${info.path} (${info.manifest.entries.length} entries, ${humanBytes(info.manifest.bytes)} of files, ` +
        `${humanBytes(info.bytes)} archive; ${info.manifest.excluded.length} left out)`
    )
    return info.path
  })

/**
 * The channel-state step of a restore, before anything is touched: what happens to the channel
 * state (`ChannelState.decide`), refused when it is a recovery the owner did not confirm or that
 * has no good copy to start from. Answers the decision and, for a recovery, the copy.
 *
 * @since 0.1.0
 * @category constructors
 */
export const channelPlan = <E>(deps: Deps<E>, def: AppDef, request: RestoreRequest) =>
  Effect.gen(function*() {
    const spec = def.manifest.backup?.channelState
    const decision = ChannelState.decide(spec, yield* liveChannelFiles(def))
    if (decision._tag !== "Recover" || spec === undefined) return { decision, copy: undefined }
    if (request.closeChannels !== true) return yield* Effect.fail(new ChannelState.RecoveryUnconfirmed({ appId: def.id }))
    const summary = yield* deps.backups.summary(def)
    const copy = summary.watched.find((w) => w.path === spec.recovery.from)?.goodCopy ?? null
    if (copy === null) return yield* Effect.fail(new ChannelState.NoChannelBackup({ appId: def.id, path: spec.recovery.from }))
    return { decision, copy }
  })

// The recovery, once the restored app passed its gate: the newest good copy into the data
// folder, then the manifest's command in the container. `None` when it ran, else why not.
const recover = <E>(deps: Deps<E>, def: AppDef, containerName: string, copy: string) =>
  Effect.gen(function*() {
    const spec = def.manifest.backup!.channelState!
    const content = yield* SafeFile.read(copy)
    if (Option.isNone(content)) return Option.some(`the channel backup copy ${copy} is gone`)
    yield* SafeFile.write(NodePath.join(def.dataDir, spec.recovery.to), content.value, {
      root: def.dataDir,
      mode: SafeFile.secretFileMode,
      dirMode: SafeFile.secretDirMode
    })
    yield* deps.log.append(def.id, "info", `restore: channel recovery from ${copy}: ${spec.recovery.command.join(" ")}`)
    const ran = yield* Effect.result((deps.exec ?? ChannelState.podmanExec())(containerName, spec.recovery.command))
    return ran._tag === "Failure" ? Option.some(`the channel recovery failed: ${ran.failure}`) : Option.none<string>()
  })

/**
 * Restores the app from `request.archive` (a file name in the target, or its newest when
 * undefined; see the module's description). Answers the archive's path.
 *
 * @since 0.1.0
 * @category constructors
 */
export const restore = <E>(
  deps: Deps<E>,
  def: AppDef,
  containerName: string,
  request: RestoreRequest | string | undefined
): Effect.Effect<string, E | Error> =>
  Effect.gen(function*() {
    const asked: RestoreRequest = typeof request === "string" || request === undefined ? { archive: request } : request
    const path = yield* deps.backups.locate(def.id, asked.archive)
    const channels = yield* channelPlan(deps, def, asked)
    yield* deps.log.append(def.id, "info", `restore: verifying and unpacking ${path}`)
    const carry = yield* renderedFiles(deps, def)
    const staged = yield* deps.backups.stage(def, path, carry)
    const fresh = staged.swaps.find((s) => s.live === def.dataDir)?.fresh
    if (fresh !== undefined && channels.decision._tag !== "None") {
      // never from the archive (one made before the rule may hold them)
      const dropped = yield* ChannelState.strip(fresh, channelPatterns(def)).pipe(Effect.tapError(() => deps.backups.discard(staged)))
      if (dropped.length > 0) {
        yield* deps.log.append(def.id, "warn", `restore: left out the archive's channel state (${dropped.join(", ")}); it is never restored`)
      }
    }
    const running = isRunning(yield* deps.steps.observe(def))
    yield* step(deps, "restore", "staged", { archive: path, wasRunning: running, swaps: staged.swaps })
    if (running) {
      yield* deps.log.append(def.id, "info", "restore: stopping the app")
      yield* deps.steps.stop(def).pipe(Effect.tapError(() => deps.backups.discard(staged)))
    }
    if (fresh !== undefined && channels.decision._tag === "KeepLive") {
      // looked at again now that the app stopped: its newest state goes on
      const live = yield* liveChannelFiles(def)
      if (live.length === 0) {
        // gone while the app stopped: that is a recovery, which was not what was decided
        yield* Effect.andThen(deps.backups.discard(staged), running ? deps.steps.start(def) : Effect.void)
        return yield* Effect.fail(
          new ChannelState.ChannelStateError({ appId: def.id, path: def.dataDir, reason: "the channel state vanished while the app stopped; nothing was restored" })
        )
      }
      yield* ChannelState.linkLive(def.id, def.dataDir, fresh, live).pipe(
        Effect.tapError(() => Effect.andThen(deps.backups.discard(staged), running ? deps.steps.start(def) : Effect.void))
      )
      yield* deps.log.append(def.id, "info", `restore: keeping the live channel state (${live.map((f) => NodePath.relative(def.dataDir, f)).join(", ")})`)
    }
    yield* step(deps, "restore", "swapped")
    yield* deps.backups.swap(staged)
    yield* deps.log.append(def.id, "info", "restore: data swapped in; starting the app for its health gate")
    const gated = yield* deps.steps.start(def).pipe(
      Effect.matchEffect({
        onFailure: (e) => {
          const m = (e as { message?: unknown }).message
          return Effect.succeed(Option.some(`it did not start: ${typeof m === "string" ? FailureMessage.why(def.id, "start", e as { readonly message: string }) : String(e)}`))
        },
        onSuccess: () => deps.gate(def, containerName)
      })
    )
    const verdict = Option.isNone(gated) && channels.copy !== undefined
      ? yield* recover(deps, def, containerName, channels.copy).pipe(
        Effect.catch((e) => Effect.succeed(Option.some(`the channel recovery failed: ${e.message}`)))
      )
      : gated
    if (Option.isNone(verdict)) {
      yield* step(deps, "restore", "committing")
      if (!running) yield* deps.steps.stop(def)
      yield* deps.backups.commit(staged)
      yield* deps.log.append(def.id, "info", `restore: healthy; restored ${staged.manifest.entries.length} entries from ${path}`)
      return path
    }
    yield* step(deps, "restore", "reverting", { reason: verdict.value })
    yield* deps.log.append(def.id, "warn", `restore: not healthy (${verdict.value}); putting the previous data back`)
    const stopped = yield* Effect.result(deps.steps.stop(def))
    if (stopped._tag === "Failure") {
      yield* deps.log.append(def.id, "warn", `restore: stopping the restored app failed: ${String((stopped.failure as { message?: string }).message ?? stopped.failure)}`)
    }
    const previous = staged.swaps.find((s) => s.live === def.dataDir)?.previous
    if (previous !== undefined && channels.decision._tag !== "None") {
      const carried = yield* ChannelState.carryBack(def.id, def.dataDir, previous, channelPatterns(def))
      if (carried.length > 0) yield* deps.log.append(def.id, "info", `restore: the channel state it ran on goes back with the previous data (${carried.join(", ")})`)
    }
    yield* deps.backups.revert(staged)
    // the restore is over when the app it leaves running is healthy again, or it says why not
    const again = running ? yield* Effect.flatMap(deps.steps.start(def), () => deps.gate(def, containerName)) : Option.none<string>()
    return yield* Effect.fail(new RestoreUnhealthy({
      appId: def.id,
      archive: path,
      reason: verdict.value,
      ...(Option.isSome(again) ? { afterRevert: again.value } : {})
    }))
  })

/**
 * The health gate of updates (`HealthGate`) as a restore's gate: the manifest's health check
 * passing after its start period, or, without one, the container running without a restart for
 * the settle period.
 *
 * @since 0.1.0
 * @category constructors
 */
export const healthGate = (runtime: Runtime): Gate => (def, name) =>
  HealthGate.run({ name, policy: HealthGate.policy(def.manifest.health) }).pipe(
    Effect.provideService(ContainerRuntime, runtime),
    Effect.map((verdict) => (verdict._tag === "Healthy" ? Option.none() : Option.some(HealthGate.reason(verdict))))
  )

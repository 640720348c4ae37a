/**
 * The operations on apps, awaiting completion: install, start, stop, restart, update, remove,
 * backup, restore. Each holds the app's lock and runs its work through the one runner,
 * `Operation`: the user's intent and the transition are recorded, the work runs, and the app
 * lands in what the engine then shows, or the previous state is restored and the error written
 * to the app's install log.
 *
 * @since 0.1.0
 */
import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Clock, Context, Data, Duration, Effect, Either, Layer, Option, Schedule } from "effect"
import * as Admission from "../domain/Admission.js"
import type { AppEntry, Observation, PendingUpdate, Release } from "../domain/AppEntry.js"
import * as SafeFile from "../fs/SafeFile.js"
import * as Journal from "../domain/Journal.js"
import * as Op from "../domain/Op.js"
import * as Transition from "../domain/Transition.js"
import { foreignReason, ownership, strangerReason } from "../reconcile/Plan.js"
import { ContainerRuntime } from "../runtime/ContainerRuntime.js"
import type { ContainerDetails, ContainerSummary } from "../runtime/ContainerRuntime.js"
import { Labels } from "../runtime/ContainerSpec.js"
import type { CommandFailed, RuntimeError } from "../runtime/RuntimeError.js"
import { AppLocks } from "./AppLocks.js"
import { admissionFacts, Apps, containerNames, providersOf } from "./Apps.js"
import * as BackupWork from "./BackupWork.js"
import * as ChannelState from "./ChannelState.js"
import { Backups } from "./Backups.js"
import { PreBackupHooks } from "./PreBackupHooks.js"
import type { AppDef } from "./Apps.js"
import type { HookError } from "./HookRegistry.js"
import { HookRegistry } from "./HookRegistry.js"
import { InstallLog } from "./InstallLog.js"
import * as GroupCommit from "./internal/GroupCommit.js"
import * as Operation from "./Operation.js"
import type { DeadlineExceeded } from "./Operation.js"
import type { RequestOptions } from "./Request.js"
import * as HealthGate from "./HealthGate.js"
import { answeredOf, digestOf, isLabelled, observationOf } from "./Observation.js"
import { OperationFailed, UnknownApp, UnsafeMount } from "./ServiceError.js"
import { StateStore } from "./StateStore.js"

/**
 * The operation is not something this orchestrator can do (backups and restores without a
 * backup target: provide `Backups.layer`).
 *
 * @since 0.1.0
 * @category errors
 */
export class Unsupported extends Data.TaggedError("Unsupported")<{ readonly op: string }> {
  override get message(): string {
    return `${this.op} is not supported by this orchestrator yet`
  }
}

/**
 * The work ran past the operation's deadline and was interrupted (defined with the runner,
 * `Operation`).
 *
 * @since 0.1.0
 * @category errors
 */
export { DeadlineExceeded } from "./Operation.js"

/**
 * The app's container belongs to another orchestrator instance: nothing was touched.
 *
 * @since 0.1.0
 * @category errors
 */
export class ForeignContainer extends Data.TaggedError("ForeignContainer")<{
  readonly appId: string
  readonly name: string
  readonly instance: string
}> {
  override get message(): string {
    return `container ${this.name} is ${foreignReason(this.appId, this.instance)}`
  }
}

/**
 * A container holding the app's name carries none of Archipelago's labels (made by hand or by
 * another tool): it was not stopped, removed or replaced.
 *
 * @since 0.1.0
 * @category errors
 */
export class StrangerContainer extends Data.TaggedError("StrangerContainer")<{
  readonly appId: string
  readonly name: string
}> {
  override get message(): string {
    return strangerReason(this.appId, this.name)
  }
}

/**
 * A health-gated update did not prove healthy (or could not finish) and the app was put back on
 * the release it ran before, by digest.
 *
 * @since 0.1.0
 * @category errors
 */
export class RolledBack extends Data.TaggedError("RolledBack")<{
  readonly to: string
  readonly from: string
  readonly reason: string
}> {
  override get message(): string {
    return `update to ${this.to} rolled back: ${this.reason}`
  }
}

/**
 * An update cannot start: the running container's image digest is unknown, so there would be
 * nothing certain to roll back to.
 *
 * @since 0.1.0
 * @category errors
 */
export class NoRollbackTarget extends Data.TaggedError("NoRollbackTarget")<{ readonly appId: string; readonly name: string }> {
  override get message(): string {
    return `cannot update ${this.appId}: the image digest of its container ${this.name} is unknown, so there is nothing to roll back to`
  }
}

/**
 * A data operation was interrupted by a restart of the orchestrator and, replayed from its
 * journal at boot, put back as it was (`reason` says what happened and where the app stands).
 *
 * @since 0.1.0
 * @category errors
 */
export class Interrupted extends Data.TaggedError("Interrupted")<{ readonly op: string; readonly reason: string }> {
  override get message(): string {
    return this.reason
  }
}

/**
 * A repair cannot bring back the release the app ran: its image (by digest) is gone from this
 * machine. Only an explicit update moves the app to the release its manifest now asks for.
 *
 * @since 0.1.0
 * @category errors
 */
export class ReleaseUnavailable extends Data.TaggedError("ReleaseUnavailable")<{
  readonly appId: string
  readonly version: string
  readonly digest: string
  readonly offered: string
}> {
  override get message(): string {
    return `cannot recreate ${this.appId} on ${this.version}, the release it ran: its image ${this.digest} is gone; update it to move to ${this.offered}`
  }
}

/**
 * The app's image may not be pulled: `offline` is on and no mirror or listed registry has a
 * place for it. `reason` names the manifest, the image and what to change.
 *
 * @since 0.1.0
 * @category errors
 */
export class PullRefused extends Data.TaggedError("PullRefused")<{ readonly appId: string; readonly ref: string; readonly reason: string }> {
  override get message(): string {
    return `cannot fetch the image of ${this.appId}: ${this.reason}`
  }
}

/**
 * Everything the work of an operation can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type WorkError =
  | RuntimeError
  | HookError
  | UnsafeMount
  | PlatformError
  | Unsupported
  | DeadlineExceeded
  | ForeignContainer
  | StrangerContainer
  | BackupWork.Error
  | RolledBack
  | NoRollbackTarget
  | ReleaseUnavailable
  | Interrupted
  | PullRefused

/**
 * The errors a user operation answers with.
 *
 * @since 0.1.0
 * @category errors
 */
export type OperationError = UnknownApp | Transition.Conflict | Transition.NotAllowed | OperationFailed

/**
 * The engine-level steps of operations, for the reconciler (which holds the app's lock itself
 * and records its own transitions). None of them changes the user's intent.
 *
 * @since 0.1.0
 * @category models
 */
export interface Steps {
  /**
   * Run hooks, create (keeping a container with the same spec hash; the image fetched when its
   * one `image inspect` finds it missing), start when asked. A container that vanished comes back on the
   * release it ran (by digest) while the manifest offers another: only `update` moves versions.
   * Answers with what the engine's create and start showed (`Operation.Answered`).
   */
  readonly install: (def: AppDef, start: boolean) => Effect.Effect<void | Operation.Answered, WorkError>
  /** Run hooks, then start the container (creating it if it vanished). */
  readonly start: (def: AppDef) => Effect.Effect<void | Operation.Answered, WorkError>
  /**
   * Start the container a reconcile pass has just listed, trusting the listing (taken under the
   * app's lock, seconds old) for its ownership and id: hooks, then ONE `start` by its id, no
   * inspect before or after. A container gone since the listing takes the full `start`.
   *
   * @since 0.1.0
   */
  readonly startListed: (def: AppDef, listed: ContainerSummary) => Effect.Effect<void | Operation.Answered, WorkError>
  readonly stop: (def: AppDef) => Effect.Effect<void, WorkError>
  /** Run hooks, then restart the container in one engine call (creating it if it vanished). */
  readonly restart: (def: AppDef) => Effect.Effect<void | Operation.Answered, WorkError>
  /** Replace the container with one of the current spec (volumes kept). */
  readonly recreate: (def: AppDef, start: boolean) => Effect.Effect<void, WorkError>
  readonly remove: (def: AppDef, purge: boolean) => Effect.Effect<void, WorkError>
  /** Run the app's pre-start hooks; true when a file changed. */
  readonly hooks: (def: AppDef) => Effect.Effect<boolean, HookError>
  /** The app's container now, by one inspect. Engine errors read as "unknown" (None). */
  readonly observe: (def: AppDef) => Effect.Effect<Option.Option<Observation>>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Runs `op` to completion: intent, transition, work, final state (or revert + install log). */
  readonly perform: (op: Op.Op, appId: string, options?: RequestOptions) => Effect.Effect<void, OperationError>
  readonly install: (appId: string) => Effect.Effect<void, OperationError>
  readonly start: (appId: string) => Effect.Effect<void, OperationError>
  readonly stop: (appId: string) => Effect.Effect<void, OperationError>
  readonly restart: (appId: string) => Effect.Effect<void, OperationError>
  readonly update: (appId: string) => Effect.Effect<void, OperationError>
  /** Keeps the app's data folder unless `purge`. */
  readonly remove: (appId: string, options?: RequestOptions) => Effect.Effect<void, OperationError>
  /** Archives the app's data into the backup target (`Backups`); see `BackupWork`. @since 0.1.0 */
  readonly backup: (appId: string) => Effect.Effect<void, OperationError>
  /** Restores the app from an archive of the target (`options.archive`, else the newest); see `BackupWork`. @since 0.1.0 */
  readonly restore: (appId: string, options?: RequestOptions) => Effect.Effect<void, OperationError>
  /**
   * Replays the app's journal record, if it has one (boot does, for every app): finishes the
   * operation it records or puts the app back as it was (`Journal.recover`), under the app's
   * lock and the op's transition, and records the outcome truthfully (`lastError`, install log).
   */
  readonly recover: (appId: string) => Effect.Effect<void, OperationError>
  readonly steps: Steps
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Orchestrator extends Context.Tag("@archipelago/orchestrator/Orchestrator")<Orchestrator, Service>() {}


/**
 * How long a create waits out a container name still held by a removal in progress (podman
 * finishes a `rm -f` done behind our back a moment after the container leaves `list()`).
 *
 * @since 0.1.0
 * @category constants
 */
export const nameReleaseRetry = Schedule.spaced(Duration.millis(250)).pipe(Schedule.intersect(Schedule.recurs(8)))

const nameInUse = (e: RuntimeError): e is CommandFailed =>
  e._tag === "CommandFailed" && /container name "[^"]*" is already in use/.test(e.stderr)

const isInside = (dir: string, p: string): boolean => p === dir || p.startsWith(`${dir}/`)

/**
 * The name that keeps an update's rollback image while the update is not settled (a prune or
 * a removed tag cannot take it away): `localhost/archipelago/hold/<id>:rollback`.
 *
 * @since 0.1.0
 * @category getters
 */
export const holdTag = (appId: string): string => `localhost/archipelago/hold/${appId}:rollback`

/**
 * Options of the orchestrator service.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** How long an app without a health check must stay running after an update; default 30 s. */
  readonly settlePeriod?: Duration.DurationInput
  /**
   * Called right after each journal step is persisted, with `<op>:<step>` (`update:fetching`):
   * a test switch kills the process there to prove every step survives a crash.
   */
  readonly onStep?: (point: string) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}) => Effect.gen(function*() {
  const settleMs = Duration.toMillis(Duration.decode(options.settlePeriod ?? Duration.millis(HealthGate.defaultSettleMs)))
  const apps = yield* Apps
  const store = yield* StateStore
  const locks = yield* AppLocks
  const log = yield* InstallLog
  const operation = yield* Operation.make
  const runtime = yield* ContainerRuntime
  const hookRegistry = yield* HookRegistry
  const fs = yield* FileSystem.FileSystem
  const backups = yield* Effect.serviceOption(Backups)
  const preBackupHooks = yield* Effect.serviceOption(PreBackupHooks)
  const onStep = options.onStep ?? (() => Effect.void)
  const recoveryRunner = yield* Effect.serviceOption(ChannelState.RecoveryRunner)

  const names = (def: AppDef, entry: AppEntry) => containerNames(def, entry.observed.containerName)
  const targetName = (def: AppDef) => Effect.map(store.entry(def.id), (e) => names(def, e)[0]!)

  // Concurrent operations share their reads (installs of many apps at once ask podman twice,
  // not once each): a read is never older than its request (see `GroupCommit`).
  const inspectShared = GroupCommit.make((wanted: ReadonlyArray<string>) => runtime.inspect(wanted))
  const digestShared = GroupCommit.make((refs: ReadonlyArray<string>) =>
    Effect.forEach(refs, (ref) => Effect.map(runtime.imageDigest(ref), (digest) => [ref, digest] as const), {
      concurrency: "unbounded"
    }))
  const imageDigestOf = (ref: string) =>
    Effect.map(digestShared([ref]), (answers) => answers.find(([r]) => r === ref)?.[1] ?? Option.none<string>())

  // Every step that touches a container looks first: another instance's container is refused,
  // and so is one without Archipelago's labels that merely holds the app's name.
  const inspectOwn = (def: AppDef): Effect.Effect<ContainerDetails | undefined, RuntimeError | ForeignContainer | StrangerContainer> =>
    Effect.gen(function*() {
      const entry = yield* store.entry(def.id)
      const wanted = names(def, entry)
      // in the order of the app's names, and only those (the call may have asked for others')
      const all = yield* inspectShared(wanted)
      const found = wanted.flatMap((name) => all.filter((c) => c.name === name))
      for (const c of found) {
        if (!isLabelled(c)) return yield* Effect.fail(new StrangerContainer({ appId: def.id, name: c.name }))
        const owner = ownership(c.labels[Labels.instance], def.spec.labels[Labels.instance])
        if (owner._tag === "Foreign") {
          return yield* Effect.fail(new ForeignContainer({ appId: def.id, name: c.name, instance: owner.instance }))
        }
      }
      return found[0]
    })

  const progress = (def: AppDef) => (line: string) => log.append(def.id, "info", line)

  // The reference containers of the app are created from (a pull is tagged so, a build too).
  const imageOf = (def: AppDef): string => def.source._tag === "Image" ? def.source.ref : def.source.tag

  // Pulls (mirrors first) or builds the app's image; `force` keeps a local image no registry has.
  const fetchImage = (def: AppDef, force: boolean): Effect.Effect<string, WorkError> =>
    Effect.gen(function*() {
      const source = def.source
      if (source._tag === "Image") {
        const refused = source.refused
        if (refused !== undefined) yield* log.append(def.id, "error", refused)
        else yield* log.append(def.id, "info", `fetching ${source.ref} (trying ${source.candidates.map((c) => c.ref).join(", ")})`)
        const keepLocal = <E extends WorkError>(e: E): Effect.Effect<string, E | WorkError> =>
          force
            ? Effect.flatMap(runtime.imageExists(source.ref), (present) =>
              present
                ? Effect.as(log.append(def.id, "warn", `no registry has ${source.ref}; keeping the local image`), source.ref)
                : Effect.fail(e))
            : Effect.fail(e)
        const pulled = yield* (refused === undefined
          ? runtime.pull({ ref: source.ref, candidates: source.candidates }, progress(def)).pipe(
            Effect.map((candidate) => candidate.ref),
            Effect.catchTag("ImageNotFound", keepLocal)
          )
          : keepLocal(new PullRefused({ appId: def.id, ref: source.ref, reason: refused })))
        yield* log.append(def.id, "info", pulled === source.ref ? `image ${pulled} ready` : `image ${source.ref} ready (pulled from ${pulled})`)
        return source.ref
      }
      yield* log.append(def.id, "info", `building ${source.tag} from ${source.context}`)
      yield* runtime.build(
        { tag: source.tag, context: source.context, containerfile: source.containerfile, args: source.args, labels: {} },
        progress(def)
      )
      yield* log.append(def.id, "info", `built ${source.tag}`)
      return source.tag
    })

  const ensureImage = (def: AppDef, force: boolean): Effect.Effect<string, WorkError> =>
    !force
      ? Effect.flatMap(runtime.imageExists(imageOf(def)), (present) => present ? Effect.succeed(imageOf(def)) : fetchImage(def, false))
      : fetchImage(def, true)

  const hooks = (def: AppDef): Effect.Effect<boolean, HookError> =>
    def.manifest.hooks.length === 0
      ? Effect.succeed(false)
      : Effect.gen(function*() {
        const providers = providersOf(apps, def, yield* store.get)
        const result = yield* hookRegistry.run({ appId: def.id, manifest: def.manifest, hooks: def.manifest.hooks, providers })
        for (const f of result.files) {
          if (f.changed) yield* log.append(def.id, "info", `hook ${f.hook} wrote ${f.path}`)
        }
        return result.changed
      })

  // The app's container can write in its data folder, so a bind source there may have been
  // swapped for a symlink (`www -> /etc`); podman would follow it at create and at every start.
  const checkMounts = (def: AppDef) =>
    Effect.forEach(
      def.spec.volumes.filter((v) => isInside(def.dataDir, v.source)),
      (v) =>
        SafeFile.checkNoSymlinks(v.source, def.dataDir).pipe(
          Effect.mapError((e) => new UnsafeMount({ appId: def.id, path: e.path, reason: e.reason })),
          Effect.tapError((e) => Effect.logWarning(e.message))
        ),
      { discard: true }
    )

  // Bind sources under the app's data folder must exist before podman mounts them; they are
  // created 0700 (the app's folder and everything created under it), no other local user's.
  const prepareDirs = (def: AppDef) =>
    Effect.zipRight(
      checkMounts(def),
      Effect.forEach(
        def.spec.volumes.filter((v) => isInside(def.dataDir, v.source)),
        (v) =>
          Effect.flatMap(fs.exists(v.source), (ok) =>
            ok ? Effect.void : fs.makeDirectory(v.source, { recursive: true, mode: 0o700 })),
        { discard: true }
      )
    )

  const removeIfPresent = (name: string) =>
    runtime.remove(name, { force: true }).pipe(Effect.catchTag("ContainerNotFound", () => Effect.void))

  // The release a container is created for is stamped on it (outside the spec hash): the
  // image's digest, the version and the image reference; a rollback passes the previous ones.
  // `digest`: the caller's answer when it asked already (or the image is named by its digest).
  // Returns the container as created (see `Observation.answeredOf`).
  const create = (
    def: AppDef,
    image: string,
    release: { readonly version: string; readonly image: string } = { version: def.manifest.version, image: def.spec.image },
    // what the caller's `inspectOwn` found a moment ago under the app's lock: not asked again
    inspected?: { readonly found: ContainerDetails | undefined },
    known?: { readonly digest: string | undefined }
  ): Effect.Effect<ContainerSummary, WorkError> =>
    Effect.gen(function*() {
      // no `rm` when the inspect found none of the app's names (a fresh install)
      const found = inspected === undefined ? yield* inspectOwn(def) : inspected.found
      if (found !== undefined) {
        for (const name of yield* Effect.map(store.entry(def.id), (e) => names(def, e))) yield* removeIfPresent(name)
      }
      const digest = known !== undefined
        ? known.digest
        : image.startsWith("sha256:")
        ? image
        : Option.getOrUndefined(yield* runtime.imageDigest(image))
      const labels = {
        ...def.spec.labels,
        [Labels.version]: release.version,
        [Labels.imageRef]: release.image,
        ...(digest === undefined ? {} : { [Labels.imageDigest]: digest })
      }
      const id = yield* runtime.create({ ...def.spec, image, labels }).pipe(
        Effect.retry({ schedule: nameReleaseRetry, while: nameInUse })
      )
      yield* log.append(
        def.id,
        "info",
        `created container ${def.spec.name} (${id.slice(0, 12)}) of ${release.version}${digest === undefined ? "" : ` on ${shortDigest(digest)}`}`
      )
      return {
        id,
        name: def.spec.name,
        image,
        state: "created",
        labels,
        ports: def.spec.ports.map((p) => ({ host: p.host, container: p.container, protocol: p.protocol }))
      } satisfies ContainerSummary
    })

  // Creates the app's container from its image. ONE `image inspect` answers both whether the
  // image is here (podman's "image not known" is the answer no) and its digest, which the
  // container is labelled with so the release it runs is recorded when the install settles (a
  // repair brings back that release by digest, issue 14): no `image exists` first.
  const createFetching = (def: AppDef, found: ContainerDetails | undefined): Effect.Effect<ContainerSummary, WorkError> =>
    Effect.gen(function*() {
      const image = imageOf(def)
      const here = yield* imageDigestOf(image)
      const digest = Option.isSome(here)
        ? here.value
        : Option.getOrUndefined(yield* Effect.zipRight(fetchImage(def, false), imageDigestOf(image)))
      return yield* create(def, image, undefined, { found }, { digest })
    })

  // The observation a successful start (or create) answered, for a container the work held.
  const answered = (def: AppDef, c: ContainerSummary, state: "running" | "created") =>
    Operation.answered(answeredOf(c, state, def.spec.healthCheck !== undefined))

  const stopContainer = (def: AppDef): Effect.Effect<void, WorkError> =>
    Effect.gen(function*() {
      const name = yield* targetName(def)
      yield* inspectOwn(def)
      yield* runtime.stop(name, def.manifest.stopTimeout).pipe(Effect.catchTag("ContainerNotFound", () => Effect.void))
    })

  // The release the app ran, when it is another than the manifest's (an update is on offer): a
  // repair of a vanished container brings that one back; only an explicit update moves on.
  const recordedRelease = (def: AppDef): Effect.Effect<Release | undefined> =>
    Effect.map(store.entry(def.id), (e) =>
      e.release !== undefined && (e.release.version !== def.manifest.version || e.release.image !== def.spec.image)
        ? e.release
        : undefined)

  const reinstate = (def: AppDef, release: Release, start: boolean): Effect.Effect<Operation.Answered, WorkError> =>
    Effect.gen(function*() {
      yield* log.append(
        def.id,
        "info",
        `recreating ${def.spec.name} on ${release.version} (${shortDigest(release.digest)}), the release it ran; ${def.manifest.version} stays on offer as an update`
      )
      yield* hooks(def)
      yield* prepareDirs(def)
      // created from the digest itself: podman's "image not known" says the release is gone
      const made = yield* create(def, release.digest, { version: release.version, image: release.image }, { found: undefined }, {
        digest: release.digest
      }).pipe(
        Effect.catchTag("ImageNotFound", () =>
          Effect.fail(
            new ReleaseUnavailable({ appId: def.id, version: release.version, digest: release.digest, offered: def.manifest.version })
          ))
      )
      if (!start) return answered(def, made, "created")
      yield* runtime.start(made.id)
      return answered(def, made, "running")
    })

  // `repair`: the container vanished behind our back (a start, a restart, the reconciler), so it
  // comes back on the release it ran; an explicit install or update creates the manifest's.
  const install = (def: AppDef, start: boolean, repair = false): Effect.Effect<void | Operation.Answered, WorkError> =>
    Effect.gen(function*() {
      // this inspect, under the app's lock, is what the whole install decides on: not asked again
      const found = yield* inspectOwn(def)
      if (repair && found === undefined) {
        const release = yield* recordedRelease(def)
        if (release !== undefined) return yield* reinstate(def, release, start)
      }
      yield* hooks(def)
      yield* prepareDirs(def)
      if (found !== undefined && found.labels[Labels.specHash] === def.specHash) {
        if (!start) return
        yield* runtime.start(found.id)
        return answered(def, found, "running")
      }
      const made = yield* createFetching(def, found)
      if (!start) return answered(def, made, "created")
      yield* runtime.start(made.id)
      return answered(def, made, "running")
    })

  const startContainer = (def: AppDef): Effect.Effect<void | Operation.Answered, WorkError> =>
    Effect.gen(function*() {
      const changed = yield* hooks(def)
      const existing = yield* inspectOwn(def)
      if (existing === undefined) return yield* install(def, true, true)
      if (existing.state === "running") {
        if (!changed) return
        yield* log.append(def.id, "info", "a hook changed a file: restarting to pick it up")
        yield* checkMounts(def)
        yield* runtime.restart(existing.id, def.manifest.stopTimeout)
        return answered(def, existing, "running")
      }
      yield* checkMounts(def)
      yield* runtime.start(existing.id)
      return answered(def, existing, "running")
    })

  // The reconciler's repair of a container its pass has just listed (seconds old, under the
  // app's lock, owned: the plan refuses another instance's): no inspect, started by its id, so
  // a container replaced since the listing is never the one started; one gone since is looked
  // for again (and re-created) by the full start.
  const startListed = (def: AppDef, listed: ContainerSummary): Effect.Effect<void | Operation.Answered, WorkError> =>
    listed.state === "running"
      ? startContainer(def)
      : Effect.gen(function*() {
        yield* hooks(def)
        yield* checkMounts(def)
        const started = yield* runtime.start(listed.id).pipe(
          Effect.as(true),
          Effect.catchTag("ContainerNotFound", () => Effect.succeed(false))
        )
        if (!started) return yield* startContainer(def)
        return answered(def, listed, "running")
      })

  // One engine call (`podman restart`), not a stop and a start with their inspects around them.
  const restartContainer = (def: AppDef): Effect.Effect<void | Operation.Answered, WorkError> =>
    Effect.gen(function*() {
      yield* hooks(def)
      const existing = yield* inspectOwn(def)
      if (existing === undefined) return yield* install(def, true, true)
      yield* checkMounts(def)
      return yield* runtime.restart(existing.id, def.manifest.stopTimeout).pipe(
        Effect.as<void | Operation.Answered>(answered(def, existing, "running")),
        Effect.catchTag("ContainerNotFound", () => install(def, true, true))
      )
    })

  const recreate = (def: AppDef, start: boolean, force = false): Effect.Effect<void, WorkError> =>
    Effect.gen(function*() {
      yield* inspectOwn(def)
      const image = yield* ensureImage(def, force)
      yield* hooks(def)
      yield* prepareDirs(def)
      yield* stopContainer(def)
      yield* create(def, image)
      if (start) yield* runtime.start(def.spec.name)
    })

  // The journal: a step is recorded (persisted) before it changes anything, then the step
  // switch of the tests may kill the process right there (`Options.onStep`).
  const record = (def: AppDef, next: Journal.Entry | undefined) =>
    Effect.zipRight(
      store.update(def.id, (e) => {
        const { journal: _j, ...rest } = e
        return { entry: next === undefined ? rest : { ...rest, journal: next } }
      }),
      next === undefined ? Effect.void : onStep(`${next.op}:${next.step}`)
    )
  const journalOf = (def: AppDef) => Effect.map(store.entry(def.id), (e) => e.journal)

  const unhold = (def: AppDef) =>
    runtime.untagImage(holdTag(def.id)).pipe(
      Effect.catchAll((e) => e._tag === "ImageNotFound" ? Effect.void : Effect.logWarning(`could not drop ${holdTag(def.id)}: ${e.message}`))
    )

  const gate = (def: AppDef, since: number) =>
    HealthGate.run({
      name: def.spec.name,
      policy: HealthGate.policy(def.manifest.health, { settleMs }),
      since,
      onFailure: (failure, count) => log.append(def.id, "warn", `health check failed (${count}): ${failure}`)
    }).pipe(Effect.provideService(ContainerRuntime, runtime))

  // Puts the app back on `from`, by digest (the hold tag kept the image), volumes untouched,
  // and holds it to its health check again: a rollback is over when the release it leaves
  // running is healthy, or it says why not.
  const rollBack = (def: AppDef, pending: PendingUpdate & { readonly from: Release }, reason: string): Effect.Effect<never, WorkError> =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      yield* record(def, Journal.advance(pending, "rolling-back", now, { reason }))
      yield* log.append(
        def.id,
        "error",
        `update to ${pending.to.version} failed: ${reason}; rolling back to ${pending.from.version} (${shortDigest(pending.from.digest)})`
      )
      yield* stopContainer(def)
      yield* create(def, pending.from.digest, { version: pending.from.version, image: pending.from.image })
      yield* runtime.start(def.spec.name)
      const since = yield* Clock.currentTimeMillis
      const verdict = yield* gate(def, since)
      const health = verdict._tag === "Healthy"
        ? `healthy again (${HealthGate.reason(verdict)})`
        : `but it is not healthy: ${HealthGate.reason(verdict)}`
      yield* log.append(def.id, verdict._tag === "Healthy" ? "info" : "warn", `rolled back to ${pending.from.version} (${shortDigest(pending.from.digest)}), ${health}`)
      // the record stays until the runner writes the outcome with it: a kill in between rolls
      // back again, never reads as a finished update
      yield* unhold(def)
      return yield* Effect.fail(
        new RolledBack({ to: pending.to.version, from: pending.from.version, reason: verdict._tag === "Healthy" ? reason : `${reason}; ${health}` })
      )
    })

  const proveOrRollBack = (def: AppDef, pending: PendingUpdate & { readonly from: Release }): Effect.Effect<void, WorkError> =>
    Effect.gen(function*() {
      const verdict = yield* gate(def, pending.since)
      if (verdict._tag !== "Healthy") return yield* rollBack(def, pending, HealthGate.reason(verdict))
      yield* log.append(def.id, "info", `update to ${pending.to.version} proved: ${HealthGate.reason(verdict)}`)
      yield* unhold(def)
    })

  // The health-gated update: remember what runs (persisted before anything changes), fetch the
  // new image, run the hooks, recreate, then prove it healthy or roll back by digest.
  const update = (def: AppDef): Effect.Effect<void, WorkError> =>
    Effect.gen(function*() {
      const journal = yield* journalOf(def)
      if (journal?.op === "update" && journal.step !== "requested" && journal.from !== undefined) {
        return yield* resumeUpdate(def, { ...journal, from: journal.from })
      }
      const requested: PendingUpdate = journal?.op === "update"
        ? journal
        : { op: "update", step: "requested", since: yield* Clock.currentTimeMillis, to: { version: def.manifest.version, image: def.spec.image } }
      const found = yield* inspectOwn(def)
      // a vanished container is brought back on the release it ran first, so the update is
      // gated and has something to roll back to; with no release recorded (or its image gone
      // too) there is nothing to roll back to, and the update is an install
      const kept = found === undefined ? yield* recordedRelease(def) : undefined
      const recorded = kept !== undefined && Option.isSome(yield* runtime.imageDigest(kept.digest)) ? kept : undefined
      if (found === undefined && recorded === undefined) return yield* Effect.zipRight(record(def, undefined), install(def, true))
      if (recorded !== undefined) yield* reinstate(def, recorded, true)
      const existing = found ?? (yield* inspectOwn(def))
      if (existing === undefined) return yield* Effect.zipRight(record(def, undefined), install(def, true))
      const digest = digestOf(existing) ?? Option.getOrUndefined(yield* runtime.imageDigest(existing.image))
      if (digest === undefined) return yield* Effect.fail(new NoRollbackTarget({ appId: def.id, name: existing.name }))
      const from: Release = {
        version: existing.labels[Labels.version] ?? "the previous release",
        image: existing.labels[Labels.imageRef] ?? existing.image,
        digest
      }
      const pending = Journal.advance(requested, "fetching", yield* Clock.currentTimeMillis, {
        from,
        to: { version: def.manifest.version, image: def.spec.image }
      }) as PendingUpdate & { readonly from: Release }
      yield* record(def, pending)
      yield* log.append(def.id, "info", `updating from ${from.version} (${shortDigest(from.digest)}) to ${pending.to.version}`)
      yield* runtime.tagImage(from.digest, holdTag(def.id))
      // Until the old container is stopped, a failure leaves it running as it was.
      const prepared = yield* Effect.gen(function*() {
        const image = yield* ensureImage(def, true)
        yield* hooks(def)
        yield* prepareDirs(def)
        return image
      }).pipe(Effect.either)
      if (Either.isLeft(prepared)) {
        yield* unhold(def)
        return yield* Effect.fail(prepared.left)
      }
      const started = yield* Effect.gen(function*() {
        yield* stopContainer(def)
        yield* create(def, prepared.right)
        yield* runtime.start(def.spec.name)
      }).pipe(Effect.either)
      if (Either.isLeft(started)) return yield* rollBack(def, pending, started.left.message)
      const [created] = yield* runtime.inspect([def.spec.name])
      const gating = Journal.advance(pending, "gating", yield* Clock.currentTimeMillis, {
        to: { ...pending.to, ...(created === undefined || digestOf(created) === undefined ? {} : { digest: digestOf(created)! }) }
      })
      yield* record(def, gating)
      yield* log.append(def.id, "info", `proving ${pending.to.version} healthy (${describePolicy(def, settleMs)})`)
      yield* proveOrRollBack(def, gating)
    })

  // An update found in the journal at a later step (the orchestrator stopped in its middle):
  // `Journal.recover` decides from the record and the container now; never leave the app on an
  // unproved image undecided.
  const resumeUpdate = (def: AppDef, pending: PendingUpdate & { readonly from: Release }): Effect.Effect<void, WorkError> =>
    Effect.gen(function*() {
      yield* log.append(def.id, "info", `resuming the update to ${pending.to.version} (was ${pending.step})`)
      const decision = Journal.recover(pending, Option.getOrUndefined(yield* observeStrict(def)))
      return yield* applyRecovery(def, pending, decision)
    })

  // What the engine shows of the app's container; another instance's container fails.
  const observeStrict = (def: AppDef): Effect.Effect<Option.Option<Observation>, WorkError> =>
    Effect.zip(inspectOwn(def), store.intent(def.id)).pipe(
      Effect.map(([c, intent]) => c === undefined ? Option.none<Observation>() : Option.some(observationOf(c, intent)))
    )

  // Carries out boot's decision about a journal record (see `Journal.Recovery`).
  const applyRecovery = (def: AppDef, entry: Journal.Entry, decision: Journal.Recovery): Effect.Effect<void, WorkError> =>
    Effect.gen(function*() {
      yield* Effect.logInfo(`recovering ${entry.op} of ${def.id} from its journal (${entry.step}): ${decision._tag}`)
      switch (decision._tag) {
        case "Redo":
          // only a purging remove is journaled and redone whole
          if (entry.op === "remove") return yield* removeContainer(def, true)
          break
        case "ResumeGate":
        case "RollBack": {
          if (entry.op !== "update" || entry.from === undefined) break
          const pending = { ...entry, from: entry.from }
          return decision._tag === "ResumeGate"
            ? yield* proveOrRollBack(def, pending)
            : yield* rollBack(def, pending, decision.reason)
        }
        case "Abandon":
          yield* cleanUpAbandoned(def, entry)
          if (decision.startAgain) yield* Effect.asVoid(startContainer(def))
          if (entry.op === "update") yield* unhold(def)
          return yield* Effect.fail(new Interrupted({ op: entry.op, reason: decision.message }))
        case "Revert":
        case "Commit":
        case "Finish":
          return yield* finishRecovery(def, entry, decision)
      }
      return yield* Effect.fail(new Interrupted({ op: entry.op, reason: `${entry.op} interrupted by a restart (${entry.step}); nothing could be resumed` }))
    })

  // A purge moves the data folder aside in one rename (journaled first), then deletes it: the
  // folder is whole in place or gone, never half deleted in place. Safe to run again.
  const removeContainer = (def: AppDef, purge: boolean): Effect.Effect<void, WorkError> =>
    Effect.gen(function*() {
      yield* stopContainer(def)
      for (const name of yield* Effect.map(store.entry(def.id), (e) => names(def, e))) yield* removeIfPresent(name)
      if (!purge) return
      const journal = yield* journalOf(def)
      const now = yield* Clock.currentTimeMillis
      const trash = journal?.op === "remove" && journal.trash !== undefined ? journal.trash : `${def.dataDir}.purging-${now}`
      yield* record(def, { op: "remove", step: "purging", since: now, trash })
      if ((yield* fs.exists(def.dataDir)) && !(yield* fs.exists(trash))) yield* fs.rename(def.dataDir, trash)
      if (yield* fs.exists(trash)) {
        yield* fs.remove(trash, { recursive: true })
        yield* log.append(def.id, "info", `purged ${def.dataDir}`)
      }
    })

  // What an abandoned operation's step left: a restore's unpacked folders, a backup's staging
  // folder and partial archive, a freeze that was never released.
  const cleanUpAbandoned = (def: AppDef, entry: Journal.Entry): Effect.Effect<void, WorkError> =>
    Effect.gen(function*() {
      if (entry.op !== "restore" && entry.op !== "backup") return
      if (Option.isNone(backups)) return
      const target = backups.value
      if (entry.op === "restore" && entry.swaps !== undefined) yield* target.discard({ archive: entry.archive ?? def.id, swaps: entry.swaps })
      const removed = yield* target.sweep(def)
      for (const path of removed) yield* log.append(def.id, "info", `removed ${path}, left by the interrupted ${entry.op}`)
      if (entry.op === "backup" && entry.hook !== undefined) yield* releaseHook(def, entry.hook)
    })

  // The freeze a killed backup may have left (its record says the hook ran or was about to):
  // released again; a release that finds nothing frozen is said in the log, not an error.
  const releaseHook = (def: AppDef, name: string) =>
    Option.match(Option.flatMap(preBackupHooks, (r) => Option.fromNullable(r.get(name))), {
      onNone: () => Effect.void,
      onSome: (hook) =>
        hook.release === undefined
          ? Effect.void
          : Effect.flatMap(targetName(def), (containerName) =>
            hook.release!({ appId: def.id, manifest: def.manifest, appDataDir: def.dataDir, containerName }).pipe(
              Effect.zipRight(log.append(def.id, "info", `pre-backup hook ${name} released`)),
              Effect.catchAll((e) => log.append(def.id, "info", `pre-backup hook ${name} had nothing to release: ${e.message}`))
            ))
    })

  // Revert, Commit and Finish of `Journal.recover`.
  const finishRecovery = (def: AppDef, entry: Journal.Entry, decision: Journal.Recovery): Effect.Effect<void, WorkError> =>
    Effect.gen(function*() {
      if (entry.op === "remove") return yield* removeContainer(def, true)
      if (entry.op === "backup") {
        if (entry.hook !== undefined) yield* releaseHook(def, entry.hook)
        if (entry.stopped === true) yield* Effect.asVoid(startContainer(def))
        if (Option.isSome(backups)) yield* Effect.ignore(backups.value.sweep(def))
        yield* log.append(def.id, "info", decision._tag === "Finish" ? decision.message : "backup finished")
        return
      }
      if (entry.op !== "restore" || Option.isNone(backups)) return yield* Effect.fail(new Unsupported({ op: entry.op }))
      const staged = { archive: entry.archive ?? def.id, swaps: entry.swaps ?? [] }
      if (decision._tag === "Commit") {
        yield* backups.value.commit(staged)
        // the app was started for the gate: it ends as it was before the restore
        yield* entry.wasRunning === true ? Effect.asVoid(startContainer(def)) : stopContainer(def)
        yield* log.append(def.id, "info", decision.message)
        return
      }
      yield* record(def, Journal.advance(entry, "reverting", yield* Clock.currentTimeMillis))
      yield* stopContainer(def)
      // the channel state the restored app ran on goes back with the previous data, never an
      // older one (see `ChannelState.carryBack`)
      const patterns = def.manifest.backup?.channelState?.files ?? []
      const previous = staged.swaps.find((w) => w.live === def.dataDir)?.previous
      if (patterns.length > 0 && previous !== undefined) {
        const carried = yield* ChannelState.carryBack(def.id, def.dataDir, previous, patterns)
        if (carried.length > 0) yield* log.append(def.id, "info", `restore: the channel state it ran on goes back with the previous data (${carried.join(", ")})`)
      }
      yield* backups.value.revert(staged)
      yield* backups.value.discard(staged)
      const message = decision._tag === "Revert" ? decision.message : "restore interrupted"
      if (entry.wasRunning !== true) return yield* Effect.fail(new Interrupted({ op: entry.op, reason: message }))
      // over when the app it leaves running is healthy again, or it says why not
      yield* Effect.asVoid(startContainer(def))
      const again = yield* Effect.flatMap(targetName(def), (name) => BackupWork.healthGate(runtime)(def, name))
      return yield* Effect.fail(new Interrupted({
        op: entry.op,
        reason: Option.isNone(again) ? message : `${message}, but the app is not healthy on it: ${again.value}`
      }))
    })

  const recoverWork = (def: AppDef): Effect.Effect<void, WorkError> =>
    Effect.gen(function*() {
      const journal = yield* journalOf(def)
      if (journal === undefined) return
      const decision = Journal.recover(journal, Option.getOrUndefined(yield* observeStrict(def)))
      return yield* applyRecovery(def, journal, decision)
    })

  const observe = (def: AppDef): Effect.Effect<Option.Option<Observation>> =>
    Effect.zip(inspectOwn(def), store.intent(def.id)).pipe(
      Effect.map(([c, intent]) => Option.some(observationOf(c, intent))),
      Effect.catchAll(() => Effect.succeedNone)
    )

  const work = (op: Op.Op, def: AppDef, options: RequestOptions): Effect.Effect<void | Operation.Answered, WorkError> => {
    switch (op) {
      case "install":
        return install(def, true)
      case "start":
        return startContainer(def)
      case "stop":
        return stopContainer(def)
      case "restart":
        return restartContainer(def)
      case "update":
        return update(def)
      case "remove":
        return removeContainer(def, options.purge === true)
      case "backup":
      case "restore":
        return Option.match(backups, {
          onNone: () => Effect.fail(new Unsupported({ op })),
          onSome: (target) => {
            const deps: BackupWork.Deps<WorkError> = {
              steps: { start: (d) => Effect.asVoid(startContainer(d)), stop: stopContainer, observe },
              backups: target,
              hooks: hookRegistry,
              log,
              preBackupHooks,
              gate: BackupWork.healthGate(runtime),
              journal: {
                current: journalOf(def),
                record: (next) => record(def, next)
              },
              providers: (d) => Effect.map(store.get, (state) => providersOf(apps, d, state)),
              ...(Option.isSome(recoveryRunner) ? { exec: recoveryRunner.value } : {})
            }
            return op === "backup"
              ? Effect.asVoid(BackupWork.backup(deps, def))
              : Effect.flatMap(targetName(def), (name) => Effect.asVoid(BackupWork.restore(deps, def, name, { archive: options.archive, closeChannels: options.closeChannels })))
          }
        })
    }
  }

  const getDef = (appId: string) =>
    Option.match(apps.get(appId), {
      onNone: () => Effect.fail(new UnknownApp({ appId })),
      onSome: Effect.succeed
    })

  // lock + the one runner; the begin records the user's intent with the transition, and takes
  // up the op Lifecycle.request already recorded
  const perform = Effect.fn("Orchestrator.perform")(function*(op: Op.Op, appId: string, options: RequestOptions = {}) {
    const def = yield* getDef(appId)
    return yield* locks.withLock(def.id, Effect.gen(function*() {
      const facts = admissionFacts(apps, def, yield* store.get)
      yield* operation.run({
        def,
        op,
        begin: Operation.requested(op, def.manifest.stopTimeout, journalRequest(def, options), {
          facts,
          cascade: options.cascade === true
        }),
        work: Effect.zipRight(
          Effect.flatMap(journalOf(def), (j) => j?.op === op && j.step === "requested" ? onStep(`${op}:requested`) : Effect.void),
          work(op, def, options)
        ),
        observe: observe(def)
      })
    }))
  })

  // boot's replay: under the lock and the recorded op's transition (taken up, or begun again
  // when its deadline passed while we were down), never changing the user's intent
  const recover = Effect.fn("Orchestrator.recover")(function*(appId: string) {
    const def = yield* getDef(appId)
    return yield* locks.withLock(def.id, Effect.gen(function*() {
      const journal = yield* journalOf(def)
      if (journal === undefined) return
      yield* operation.run({
        def,
        op: journal.op,
        begin: (entry, intent, now) =>
          Either.map(Admission.admit({ op: journal.op, entry, installed: intent.installed }), (verdict) => ({
            entry: verdict._tag === "TakeUp"
              ? Transition.resume(entry, now, def.manifest.stopTimeout)
              : Transition.enter(entry, journal.op, now, def.manifest.stopTimeout)
          })),
        work: recoverWork(def),
        observe: observe(def)
      })
    }))
  })

  const service: Service = {
    perform,
    install: (id) => perform("install", id),
    start: (id) => perform("start", id),
    stop: (id) => perform("stop", id),
    restart: (id) => perform("restart", id),
    update: (id) => perform("update", id),
    remove: (id, options) => perform("remove", id, options),
    backup: (id) => perform("backup", id),
    restore: (id, options) => perform("restore", id, options),
    recover,
    steps: {
      install: (def, start) => install(def, start, true),
      start: startContainer,
      startListed,
      stop: stopContainer,
      restart: restartContainer,
      recreate: (def, start) => recreate(def, start),
      remove: removeContainer,
      hooks,
      observe
    }
  }
  return service
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = Layer.effect(Orchestrator, make())

/**
 * The service with options (the settle period of updates).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWith = (options: Options) => Layer.effect(Orchestrator, make(options))

/**
 * What a journaled operation's first record needs from the app and the request.
 *
 * @since 0.1.0
 * @category getters
 */
export const journalRequest = (def: AppDef, options: RequestOptions = {}): Journal.Request => ({
  version: def.manifest.version,
  image: def.spec.image,
  ...(options.archive === undefined ? {} : { archive: options.archive }),
  ...(options.purge === undefined ? {} : { purge: options.purge })
})

const shortDigest = (digest: string): string => digest.replace(/^sha256:/, "").slice(0, 12)

const describePolicy = (def: AppDef, settleMs: number): string => {
  const p = HealthGate.policy(def.manifest.health, { settleMs })
  return p._tag === "Probe"
    ? `${p.describe} after ${p.startPeriodMs / 1000}s, up to ${p.retries} failures, within ${p.deadlineMs / 1000}s`
    : `running without a restart for ${p.settleMs / 1000}s`
}

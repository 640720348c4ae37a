/**
 * The shared engine of the orchestrator's operations: the services they use, the ownership
 * check every step that touches a container makes first (never stop, remove or replace a
 * container without Archipelago's labels, nor another instance's), the shared reads (inspect,
 * image digest), the image fetch (pull through mirrors and registries, or build), the app's
 * pre-start hooks, container creation, the owned stop, and the journal record. The operations
 * (`Install`, `StartStop`, `Update`, `Remove`, `Recover`, `Backup`) take it as a record.
 *
 * @since 0.1.0
 * @internal
 */
import { Duration, Effect, FileSystem, Option, Schedule } from "effect"
import type { AppEntry, Observation } from "../../domain/AppEntry.js"
import * as SafeFile from "../../fs/SafeFile.js"
import type * as Journal from "../../domain/Journal.js"
import { ownership } from "../../reconcile/Plan.js"
import { ContainerRuntime } from "../../runtime/ContainerRuntime.js"
import type { ContainerDetails, ContainerSummary } from "../../runtime/ContainerRuntime.js"
import { Labels } from "../../runtime/ContainerSpec.js"
import type { CommandFailed, RuntimeError } from "../../runtime/RuntimeError.js"
import { Apps, containerNames, providersOf } from "../Apps.js"
import type { AppDef } from "../Apps.js"
import * as ChannelState from "../ChannelState.js"
import { Backups } from "../Backups.js"
import { PreBackupHooks } from "../PreBackupHooks.js"
import type { HookError } from "../HookRegistry.js"
import { HookRegistry } from "../HookRegistry.js"
import { InstallLog } from "../InstallLog.js"
import * as GroupCommit from "./GroupCommit.js"
import * as Operation from "../Operation.js"
import * as HealthGate from "../HealthGate.js"
import { answeredOf, isLabelled, observationOf } from "../../reconcile/Observation.js"
import { UnsafeMount } from "../../domain/ServiceError.js"
import { StateStore } from "../StateStore.js"
import { ForeignContainer, PullRefused, StrangerContainer } from "./WorkError.js"
import type { WorkError } from "./WorkError.js"

/**
 * How long a create waits out a container name still held by a removal in progress (podman
 * finishes a `rm -f` done behind our back a moment after the container leaves `list()`).
 *
 * @since 0.1.0
 * @category constants
 */
export const nameReleaseRetry = Schedule.max([Schedule.spaced(Duration.millis(250)), Schedule.recurs(8)])

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
  readonly settlePeriod?: Duration.Input
  /**
   * Called right after each journal step is persisted, with `<op>:<step>` (`update:fetching`):
   * a test switch kills the process there to prove every step survives a crash.
   */
  readonly onStep?: (point: string) => Effect.Effect<void>
}

/**
 * Builds the engine from the services in context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}) => Effect.gen(function*() {
  const settleMs = Duration.toMillis(Duration.fromInputUnsafe(options.settlePeriod ?? Duration.millis(HealthGate.defaultSettleMs)))
  const apps = yield* Apps
  const store = yield* StateStore
  const log = yield* InstallLog
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
    Effect.andThen(
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
        : Option.getOrUndefined(yield* Effect.andThen(fetchImage(def, false), imageDigestOf(image)))
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

  // The journal: a step is recorded (persisted) before it changes anything, then the step
  // switch of the tests may kill the process right there (`Options.onStep`).
  const record = (def: AppDef, next: Journal.Entry | undefined) =>
    Effect.andThen(
      store.update(def.id, (e) => {
        const { journal: _j, ...rest } = e
        return { entry: next === undefined ? rest : { ...rest, journal: next } }
      }),
      next === undefined ? Effect.void : onStep(`${next.op}:${next.step}`)
    )
  const journalOf = (def: AppDef) => Effect.map(store.entry(def.id), (e) => e.journal)

  const unhold = (def: AppDef) =>
    runtime.untagImage(holdTag(def.id)).pipe(
      Effect.catch((e) => e._tag === "ImageNotFound" ? Effect.void : Effect.logWarning(`could not drop ${holdTag(def.id)}: ${e.message}`))
    )

  // What the engine shows of the app's container; another instance's container fails.
  const observeStrict = (def: AppDef): Effect.Effect<Option.Option<Observation>, WorkError> =>
    Effect.zip(inspectOwn(def), store.intent(def.id)).pipe(
      Effect.map(([c, intent]) => c === undefined ? Option.none<Observation>() : Option.some(observationOf(c, intent)))
    )

  const observe = (def: AppDef): Effect.Effect<Option.Option<Observation>> =>
    Effect.zip(inspectOwn(def), store.intent(def.id)).pipe(
      Effect.map(([c, intent]) => Option.some(observationOf(c, intent))),
      Effect.catch(() => Effect.succeedNone)
    )

  return {
    settleMs,
    apps,
    store,
    log,
    runtime,
    hookRegistry,
    fs,
    backups,
    preBackupHooks,
    onStep,
    recoveryRunner,
    names,
    targetName,
    imageDigestOf,
    inspectOwn,
    imageOf,
    fetchImage,
    ensureImage,
    hooks,
    checkMounts,
    prepareDirs,
    removeIfPresent,
    create,
    createFetching,
    answered,
    stopContainer,
    record,
    journalOf,
    unhold,
    observeStrict,
    observe
  }
})

/**
 * The engine's record, as `make` builds it.
 *
 * @since 0.1.0
 * @category models
 */
export type Engine = Effect.Success<ReturnType<typeof make>>

/**
 * An image digest as the log shows it: twelve hex digits.
 *
 * @since 0.1.0
 * @category getters
 */
export const shortDigest = (digest: string): string => digest.replace(/^sha256:/, "").slice(0, 12)

/**
 * The backup target: archives of apps (`<dir>/<appId>/<appId>-<time>.tar`, the newest `keep`
 * kept), the node's canonical secrets (`<dir>/secrets.tar`, 0600, the only place they are
 * backed up), copies of watched files such as LND's `channel.backup`
 * (`<dir>/<appId>/watched/<name>/`), and the folder swaps of a restore. The lifecycle around
 * them (stopping the app, the health gate, putting data back) is `BackupWork`'s.
 *
 * A named volume is read and swapped through its host folder when it has one (`local` driver, no
 * options); any other volume goes through `podman volume export` / `import` tar streams, unpacked
 * into (or packed from) a staging folder in the target (see `PodmanVolumes`).
 *
 * Over 500 lines: the target's layout, its retention and the restore's folder swaps share one
 * set of paths and one rollback; the swaps are the next candidate to move into a module of
 * their own. File access goes through `fs/internal/Files` (see its header).
 *
 * @since 0.1.0
 */
import * as NodePath from "node:path"
import { Clock, Context, Data, Duration, Effect, Layer, Option, Queue, Schedule, Stream } from "effect"
import type { Scope } from "effect"
import * as Archive from "../backup/Archive.js"
import * as ArchiveFile from "../backup/ArchiveFile.js"
import type { ArchiveManifest } from "../backup/Archive.js"
import * as SafeFile from "../fs/SafeFile.js"
import * as Fs from "../fs/internal/Files.js"
import * as WatchedRetention from "./WatchedRetention.js"
import type { Watched } from "../manifest/Manifest.js"
import * as PodmanCommand from "../runtime/PodmanCommand.js"
import { CommandFailed } from "../runtime/RuntimeError.js"
import type { EngineUnavailable } from "../runtime/RuntimeError.js"
import * as PodmanVolumes from "../runtime/PodmanVolumes.js"
import { Apps } from "./Apps.js"
import type { AppDef } from "./Apps.js"

/**
 * No archive to restore: none made yet, or the named one is not in the target.
 *
 * @since 0.1.0
 * @category errors
 */
export class NoBackup extends Data.TaggedError("NoBackup")<{
  readonly appId: string
  readonly dir: string
  readonly archive?: string
}> {
  override get message(): string {
    return this.archive === undefined
      ? `no backup of ${this.appId} in ${this.dir}`
      : `${this.archive} is not a backup of ${this.appId} in ${this.dir}`
  }
}

/**
 * Errors of the backup target.
 *
 * @since 0.1.0
 * @category errors
 */
export type BackupError =
  | ArchiveFile.ReadError
  | NoBackup
  | CommandFailed
  | EngineUnavailable
  | SafeFile.SafeFileError
  | SafeFile.UnsafePath
  | SafeFile.FileUnsettled

/**
 * An archive in the target.
 *
 * @since 0.1.0
 * @category models
 */
export interface ArchiveInfo {
  readonly appId: string
  readonly file: string
  readonly path: string
  /** Unix milliseconds, from the file name. */
  readonly createdAt: number
  /** The archive's size on disk. */
  readonly bytes: number
  /** True for an age-encrypted archive (`.tar.age`). */
  readonly encrypted?: boolean
}

/**
 * The last copy of a watched file.
 *
 * @since 0.1.0
 * @category models
 */
export interface WatchedInfo {
  /** As in the manifest (`./data/.../channel.backup`). */
  readonly path: string
  readonly copies: number
  /** Unix milliseconds of the newest copy, when there is one. */
  readonly lastCopyAt: number | null
  readonly lastCopy: string | null
  /** The newest copy that did not shrink sharply (what a channel recovery starts from). @since 0.1.0 */
  readonly goodCopy: string | null
  /** When the newest copy shrank sharply from the newest good one: their sizes (the good copies are kept). @since 0.1.0 */
  readonly shrank: { readonly from: number; readonly to: number } | null
}

/**
 * What the dashboard shows of an app's backups.
 *
 * @since 0.1.0
 * @category models
 */
export interface Summary {
  readonly appId: string
  readonly archives: ReadonlyArray<ArchiveInfo>
  readonly watched: ReadonlyArray<WatchedInfo>
}

/**
 * The fresh folders of a restore, extracted and verified, each paired with the live folder it
 * replaces.
 *
 * @since 0.1.0
 * @category models
 */
export interface Staged {
  readonly appId: string
  readonly archive: string
  readonly manifest: ArchiveManifest
  readonly swaps: ReadonlyArray<Swap>
}

/**
 * The folders of a restore as its journal records them (a `Staged` is one).
 *
 * @since 0.1.0
 * @category models
 */
export interface SwapSet {
  readonly archive: string
  readonly swaps: ReadonlyArray<Swap>
}

/**
 * One folder of a restore: `fresh` (extracted) replaces `live`, which is kept at `previous` until
 * the restore is committed. For a volume without a host folder (`volume` set), `live` is unused,
 * `previous` is a tar stream of its content (`podman volume export`) and the swap replaces the
 * volume's content from `fresh` (`podman volume import`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Swap {
  readonly live: string
  readonly fresh: string
  readonly previous: string
  readonly volume?: string
}

/**
 * How the target reaches named volumes (default: podman, see `PodmanVolumes`).
 *
 * @since 0.1.0
 * @category models
 */
export interface VolumeAccess {
  readonly access: (name: string) => Effect.Effect<PodmanVolumes.Access, CommandFailed | EngineUnavailable>
  /** Writes the volume's content as a tar stream to a file. */
  readonly exportTo: (name: string, file: string) => Effect.Effect<void, CommandFailed | EngineUnavailable>
  /** Replaces the volume's content by the tar stream in a file. */
  readonly replaceFrom: (name: string, file: string) => Effect.Effect<void, CommandFailed | EngineUnavailable>
}

/**
 * Named volumes through podman: a folder for a plain `local` volume, tar streams otherwise.
 *
 * @since 0.1.0
 * @category constructors
 */
export const podmanVolumes = (binary = "podman"): VolumeAccess => ({
  access: (name) => Effect.map(PodmanVolumes.inspect(name, binary), PodmanVolumes.access),
  exportTo: (name, file) => PodmanVolumes.exportTo(name, file, binary),
  replaceFrom: (name, file) => PodmanVolumes.replaceFrom(name, file, binary)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly dir: string
  readonly keep: number
  /** The archives of an app, oldest first. */
  readonly list: (appId: string) => Effect.Effect<ReadonlyArray<ArchiveInfo>, ArchiveFile.ArchiveIoError>
  readonly summary: (def: AppDef) => Effect.Effect<Summary, ArchiveFile.ArchiveIoError>
  /** Archives the app's data folder and named volumes (minus `exclude`), then prunes to `keep`. */
  readonly create: (
    def: AppDef,
    options: {
      readonly live: boolean
      readonly exclude: ReadonlyArray<string>
      readonly image?: string
      /** How many of the app's archives to keep (default: the target's `keep`). @since 0.1.0 */
      readonly keep?: number
    }
  ) => Effect.Effect<ArchiveInfo & { readonly manifest: ArchiveManifest }, BackupError>
  /** Snapshots `<dataDir>/secrets` into `<dir>/secrets.tar` (0600); None when there are none. */
  readonly secrets: Effect.Effect<Option.Option<string>, BackupError>
  /** The archive to restore: the named file of the app, or its newest. */
  readonly locate: (appId: string, file?: string) => Effect.Effect<string, NoBackup | ArchiveFile.ArchiveIoError>
  /** Verifies and extracts the archive next to the live folders, copying `carry` files over from the live data folder. */
  readonly stage: (def: AppDef, archive: string, carry: ReadonlyArray<string>) => Effect.Effect<Staged, BackupError>
  /** Moves the live folders aside and the fresh ones in (each a rename on the same file system; a stream volume is exported, then replaced). */
  readonly swap: (staged: Staged) => Effect.Effect<void, BackupError>
  /** Puts the previous folders back (the restored ones are deleted). Safe to run again. */
  readonly revert: (staged: SwapSet) => Effect.Effect<void, BackupError>
  /** Deletes the previous folders (the restore is kept), or the fresh ones of a stage never swapped. */
  readonly commit: (staged: SwapSet) => Effect.Effect<void, BackupError>
  readonly discard: (staged: SwapSet) => Effect.Effect<void, BackupError>
  /**
   * Removes what an interrupted backup or restore of the app left (a process killed mid-step):
   * partial archives in the app's target folder (and the staging folders older versions kept
   * there), staging folders, private archive copies and folders unpacked beside its data folder
   * (`<data>.restore-*`, `.<app>.backup-staging-*`, `.<app>.volume-*.restore-*`,
   * `.<app>.archive-copy-*`). Never a previous folder of a restore: only the journal
   * knows whether that is the data to keep. Answers the paths removed.
   */
  readonly sweep: (def: AppDef) => Effect.Effect<ReadonlyArray<string>, BackupError>
  /**
   * Copies a watched file into the target when its content changed since the last copy; answers
   * the copy. Only a settled read is copied (`SafeFile.readSettled`): a file the app keeps
   * rewriting in place fails with `FileUnsettled` and the existing copies stay; the copy itself
   * is written atomically (temp file, fsync, rename).
   */
  readonly copyWatched: (def: AppDef, watched: Watched) => Effect.Effect<Option.Option<string>, BackupError>
  /**
   * The id of each app whose `summary` changed (an archive written and the old ones pruned, a
   * watched file copied), for the scope's lifetime; subscribed when this effect completes. Each
   * subscriber keeps the latest `changesCapacity` ids.
   *
   * @since 0.1.0
   */
  readonly subscribeChanges: Effect.Effect<Queue.Dequeue<string>, never, Scope.Scope>
  /**
   * `subscribeChanges` as a stream (subscribed when first pulled).
   *
   * @since 0.1.0
   */
  readonly changes: Stream.Stream<string>
}

/**
 * How many unread change notices a subscriber of `Backups.changes` keeps (the oldest go first).
 *
 * @since 0.1.0
 * @category constants
 */
export const changesCapacity = 64

/**
 * @since 0.1.0
 * @category tags
 */
export class Backups extends Context.Service<Backups, Service>()("@archipelago/orchestrator/Backups") {}

/**
 * @since 0.1.0
 * @category models
 */
export interface Config {
  /** The backup target folder (a mounted USB disk, a network share). Created 0700. */
  readonly dir: string
  /** Archives kept per app; default `Archive.defaultKeep`. */
  readonly keep?: number
  /** The node's data dir, whose `secrets/` folder holds the canonical secrets. */
  readonly dataDir: string
  /** The host folder of every named volume (the simulator's stand-in folders); when absent, `volumes`. */
  readonly volumePath?: (name: string) => Effect.Effect<string, CommandFailed | EngineUnavailable>
  /** How named volumes are reached; default `podmanVolumes()`. */
  readonly volumes?: VolumeAccess
  /**
   * Encrypts archives and `secrets.tar` at rest (age), and makes a restore accept only archives
   * that decrypt with this key (a plaintext one is refused: it cannot be authenticated).
   */
  readonly encryption?: Archive.Encryption | undefined
}

/**
 * The named volumes an app mounts (sources without a slash).
 *
 * @since 0.1.0
 * @category getters
 */
export const namedVolumes = (def: AppDef): ReadonlyArray<string> =>
  [...new Set(def.spec.volumes.filter((v) => !v.source.includes("/")).map((v) => v.source))]

const slug = (s: string): string => s.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "") || "file"

/**
 * The folder copies of a watched file go to, under the app's folder of the target.
 *
 * @since 0.1.0
 * @category getters
 */
export const watchedDir = (dir: string, appId: string, path: string): string =>
  NodePath.join(dir, appId, "watched", slug(path.replace(/^\.\//, "")))

const io = <A>(path: string, f: () => Promise<A>) =>
  Effect.tryPromise({
    try: f,
    catch: (e) => new ArchiveFile.ArchiveIoError({ path, reason: e instanceof Error ? ((e as NodeJS.ErrnoException).code ?? e.message) : String(e) })
  })

const missing = (e: unknown) => (e as NodeJS.ErrnoException).code === "ENOENT"

const stamp = (ms: number) => new Date(ms).toISOString().replace(/[-:.]/g, "")

/** GNU tar, keeping modes and numeric owners (as root, owners too). */
const tar = (argv: ReadonlyArray<string>): Effect.Effect<void, CommandFailed | EngineUnavailable> =>
  PodmanCommand.run("tar", argv, { timeoutMs: 3_600_000 }).pipe(
    Effect.flatMap((r) =>
      r.exitCode === 0 ? Effect.void : Effect.fail(new CommandFailed({ argv: ["tar", ...argv], exitCode: r.exitCode, stderr: r.stderr.slice(-2000) }))
    )
  )

/**
 * The service over a target folder.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (config: Config): Effect.Effect<Service> =>
  Effect.sync(() => {
    const dir = NodePath.resolve(config.dir)
    const keep = Math.max(1, config.keep ?? Archive.defaultKeep)
    const podman = config.volumes ?? podmanVolumes()
    const volumes: VolumeAccess = config.volumePath === undefined ? podman : {
      ...podman,
      access: (name) => Effect.map(config.volumePath!(name), (path): PodmanVolumes.Access => ({ _tag: "Folder", path }))
    }
    const volumePath = (name: string) =>
      Effect.map(volumes.access(name), (a) => (a._tag === "Folder" ? a.path : undefined))
    const appDir = (appId: string) => NodePath.join(dir, appId)
    /** A folder of the node (not of the target) for private copies and staging: the app folder's parent. */
    const scratchOf = (def: AppDef) => NodePath.dirname(def.dataDir)
    const readOptions: ArchiveFile.ReadOptions = { key: config.encryption, requireEncrypted: config.encryption !== undefined }
    const ensure = (path: string) => io(path, () => Fs.mkdir(path, { recursive: true, mode: 0o700 }).then(() => undefined))
    const listeners = new Set<(appId: string) => void>()
    const changed = (appId: string) =>
      Effect.sync(() => {
        for (const listener of listeners) listener(appId)
      })
    const subscribeChanges = Effect.flatMap(Queue.sliding<string>(changesCapacity), (q) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          const listener = (appId: string) => void Queue.offerUnsafe(q, appId)
          listeners.add(listener)
          return listener
        }),
        (listener) => Effect.andThen(Effect.sync(() => listeners.delete(listener)), Queue.shutdown(q))
      ).pipe(Effect.as(q as Queue.Dequeue<string>)))

    const list = (appId: string) =>
      io(appDir(appId), async () => {
        const names = await Fs.readdir(appDir(appId)).catch((e) => (missing(e) ? [] : Promise.reject(e)))
        const out: Array<ArchiveInfo> = []
        for (const file of names) {
          const parsed = Archive.parseFileName(file)
          if (parsed === undefined || parsed.appId !== appId || !Archive.isArchiveName(file)) continue
          const path = NodePath.join(appDir(appId), file)
          // only regular files: a FIFO, device or link named like an archive is not one
          const st = await Fs.lstat(path)
          if (!st.isFile()) continue
          out.push({ appId, file, path, createdAt: parsed.createdAt, bytes: st.size, encrypted: file.endsWith(Archive.encryptedSuffix) })
        }
        return out.sort((a, b) => a.createdAt - b.createdAt)
      })

    const copiesOf = (folder: string) =>
      io(folder, async (): Promise<ReadonlyArray<WatchedRetention.Copy>> => {
        const out: Array<WatchedRetention.Copy> = []
        for (const name of await Fs.readdir(folder).catch((e) => (missing(e) ? [] : Promise.reject(e)))) {
          const p = Archive.parseFileName(name)
          if (p === undefined || !name.endsWith(".copy")) continue
          const st = await Fs.lstat(NodePath.join(folder, name)).catch((e) => (missing(e) ? undefined : Promise.reject(e)))
          if (st?.isFile() === true) out.push({ name, createdAt: p.createdAt, bytes: st.size })
        }
        return out
      })

    const watchedInfo = (def: AppDef, w: Watched) =>
      Effect.map(copiesOf(watchedDir(dir, def.id, w.path)), (copies): WatchedInfo => {
        const folder = watchedDir(dir, def.id, w.path)
        const plan = WatchedRetention.plan(copies, w.keep)
        const last = plan.keep.at(-1)
        return {
          path: w.path,
          copies: plan.keep.length,
          lastCopyAt: last?.createdAt ?? null,
          lastCopy: last === undefined ? null : NodePath.join(folder, last.name),
          goodCopy: plan.newestGood === undefined ? null : NodePath.join(folder, plan.newestGood.name),
          shrank: plan.shrank ?? null
        }
      })

    const summary = (def: AppDef) =>
      Effect.map(
        Effect.zip(list(def.id), Effect.forEach(def.manifest.backup?.watch ?? [], (w) => watchedInfo(def, w))),
        ([archives, watched]): Summary => ({ appId: def.id, archives, watched })
      )

    const prune = (folder: string, n: number) =>
      io(folder, async () => {
        const names = await Fs.readdir(folder)
        for (const name of Archive.prune(names, n)) await Fs.rm(NodePath.join(folder, name), { force: true })
        // temp files of a write that crashed
        for (const name of names) if (/\.partial-[0-9a-f]+$/.test(name)) await Fs.rm(NodePath.join(folder, name), { force: true })
      })

    /** The folders to archive; a stream volume is exported and unpacked into a staging folder of the target, removed by `release`. */
    const sources = (def: AppDef, staging: string) =>
      Effect.map(
        Effect.forEach(namedVolumes(def), (name) =>
          Effect.gen(function*() {
            const root = { kind: "volume" as const, name, prefix: Archive.volumePrefix(name) }
            const path = yield* volumePath(name)
            if (path !== undefined) return { root, dir: path } satisfies ArchiveFile.Source
            const dir = NodePath.join(staging, `volume-${slug(name)}`)
            const stream = `${dir}.tar`
            yield* ensure(dir)
            yield* volumes.exportTo(name, stream)
            yield* tar(["-x", "-p", "--numeric-owner", "-f", stream, "-C", dir])
            yield* io(stream, () => Fs.rm(stream, { force: true }))
            return { root, dir } satisfies ArchiveFile.Source
          })),
        (vols): ReadonlyArray<ArchiveFile.Source> => [{ root: { kind: "data", prefix: "data" }, dir: def.dataDir }, ...vols]
      )

    const create: Service["create"] = (def, options) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const file = Archive.fileName(def.id, now, config.encryption !== undefined)
        const target = NodePath.join(appDir(def.id), file)
        // on the node, never on the target (whoever can write the target could plant links in it)
        const staging = NodePath.join(scratchOf(def), `.${def.id}.backup-staging-${stamp(now)}`)
        const manifest = yield* Effect.flatMap(sources(def, staging), (sourcesOf) => ArchiveFile.write({
          target,
          root: dir,
          encryption: config.encryption,
          sources: sourcesOf,
          exclude: options.exclude,
          meta: {
            appId: def.id,
            version: def.manifest.version,
            ...(options.image === undefined ? {} : { image: options.image }),
            createdAt: now,
            live: options.live
          }
        })).pipe(Effect.ensuring(Effect.ignore({ log: "Debug" })(io(staging, () => Fs.rm(staging, { recursive: true, force: true })))))
        yield* prune(appDir(def.id), Math.max(1, options.keep ?? keep))
        // each archive has a new name, so no later write cleans the temp file of a killed one
        yield* SafeFile.removeDeadTemps(appDir(def.id), { root: dir })
        const bytes = yield* io(target, () => Fs.stat(target).then((s) => s.size))
        yield* changed(def.id)
        return { appId: def.id, file, path: target, createdAt: now, bytes, manifest }
      })

    const secrets: Service["secrets"] = Effect.gen(function*() {
      const source = NodePath.join(config.dataDir, "secrets")
      const present = yield* io(source, () => Fs.stat(source).then(() => true, (e) => (missing(e) ? false : Promise.reject(e))))
      if (!present) return Option.none()
      const plain = NodePath.join(dir, "secrets.tar")
      const target = config.encryption === undefined ? plain : `${plain}${Archive.encryptedSuffix}`
      yield* ArchiveFile.write({
        target,
        root: dir,
        encryption: config.encryption,
        sources: [{ root: { kind: "data", prefix: "data" }, dir: source }],
        exclude: [],
        meta: { appId: "secrets", version: "1", createdAt: yield* Clock.currentTimeMillis, live: true }
      })
      // once encrypted, no plaintext copy of the secrets stays on the target
      if (target !== plain) yield* io(plain, () => Fs.rm(plain, { force: true }))
      return Option.some(target)
    })

    const locate: Service["locate"] = (appId, file) =>
      Effect.gen(function*() {
        const all = yield* list(appId)
        const found = file === undefined ? all.at(-1) : all.find((a) => a.file === file || a.path === file)
        if (found === undefined) {
          return yield* Effect.fail(new NoBackup({ appId, dir: appDir(appId), ...(file === undefined ? {} : { archive: file }) }))
        }
        return found.path
      })

    const stage: Service["stage"] = (def, archive, carry) =>
      Effect.scoped(Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const scratch = scratchOf(def)
        // One private copy, taken (and decrypted) once and verified: the archive on the target is
        // not read again, so replacing it after the check changes nothing.
        const opened = yield* ArchiveFile.open(archive, { appId: def.id, scratch, ...readOptions })
        const swaps: Array<Swap & { readonly prefix: string }> = []
        for (const root of opened.manifest.roots) {
          const at = (path: string) => ({ prefix: root.prefix, live: path, fresh: `${path}.restore-${stamp(now)}`, previous: `${path}.previous-${stamp(now)}` })
          if (root.kind === "data") swaps.push(at(def.dataDir))
          else if (namedVolumes(def).includes(root.name)) {
            const path = yield* volumePath(root.name)
            if (path !== undefined) swaps.push(at(path))
            else {
              // no host folder: unpacked on the node beside the app's folder, streamed into the volume by the swap
              const base = NodePath.join(scratch, `.${def.id}.volume-${slug(root.name)}`)
              swaps.push({ prefix: root.prefix, volume: root.name, live: "", fresh: `${base}.restore-${stamp(now)}`, previous: `${base}.previous-${stamp(now)}.tar` })
            }
          }
        }
        const staged: Staged = { appId: def.id, archive, manifest: opened.manifest, swaps }
        const extracted = yield* ArchiveFile.unpack(opened, new Map(swaps.map((s) => [s.prefix, s.fresh]))).pipe(
          Effect.tapError(() => discard(staged))
        )
        // Files the app's hooks render are not in archives; the live ones carry over, read and
        // written without following a link (the archive's own links included: one in the way
        // fails the restore with UnsafePath naming it).
        const data = swaps.find((s) => s.prefix === "data")
        if (data !== undefined) {
          yield* Effect.forEach(carry, (path) => carryOver(def, path, data.fresh), { discard: true }).pipe(
            Effect.tapError(() => discard(staged))
          )
        }
        return { ...staged, manifest: extracted }
      }))

    const carryOver = (def: AppDef, path: string, fresh: string) =>
      Effect.gen(function*() {
        if (!SafeFile.isWithin(def.dataDir, path) || NodePath.resolve(path) === NodePath.resolve(def.dataDir)) return
        const content = yield* SafeFile.read(path, { root: def.dataDir })
        if (Option.isNone(content)) return
        const mode = yield* io(path, () => Fs.lstat(path).then((st) => st.mode & 0o1777))
        yield* SafeFile.write(NodePath.join(fresh, NodePath.relative(def.dataDir, path)), content.value, { root: fresh, mode, dirMode: 0o700 })
      })

    const streamOf = (s: Swap) => `${s.fresh}.tar`

    const swap: Service["swap"] = (staged) =>
      Effect.forEach(staged.swaps, (s): Effect.Effect<void, BackupError> =>
        s.volume === undefined
          ? io(staged.archive, async () => {
            await Fs.rename(s.live, s.previous).catch((e) => (missing(e) ? undefined : Promise.reject(e)))
            await Fs.rename(s.fresh, s.live)
          })
          : Effect.gen(function*() {
            yield* volumes.exportTo(s.volume!, s.previous)
            yield* tar(["-c", "--numeric-owner", "-f", streamOf(s), "-C", s.fresh, "."])
            yield* volumes.replaceFrom(s.volume!, streamOf(s))
          }), { discard: true })

    const revert: Service["revert"] = (staged) =>
      Effect.forEach(staged.swaps, (s): Effect.Effect<void, BackupError> =>
        s.volume === undefined
          ? io(staged.archive, async () => {
            const hadPrevious = await Fs.lstat(s.previous).then(() => true, (e) => (missing(e) ? false : Promise.reject(e)))
            if (!hadPrevious) return
            await Fs.rm(s.live, { recursive: true, force: true })
            await Fs.rename(s.previous, s.live)
          })
          : Effect.gen(function*() {
            const hadPrevious = yield* io(s.previous, () => Fs.lstat(s.previous).then(() => true, (e) => (missing(e) ? false : Promise.reject(e))))
            if (hadPrevious) yield* volumes.replaceFrom(s.volume!, s.previous)
            yield* removeStaged(s)
          }), { discard: true })

    const removeStaged = (s: Swap) =>
      io(s.fresh, async () => {
        await Fs.rm(s.fresh, { recursive: true, force: true })
        if (s.volume !== undefined) {
          await Fs.rm(streamOf(s), { force: true })
          await Fs.rm(s.previous, { force: true })
        }
      })

    const commit: Service["commit"] = (staged) =>
      Effect.forEach(staged.swaps, (s): Effect.Effect<void, BackupError> =>
        s.volume === undefined ? io(staged.archive, () => Fs.rm(s.previous, { recursive: true, force: true })) : removeStaged(s), { discard: true })

    const discard: Service["discard"] = (staged) =>
      Effect.forEach(staged.swaps, (s): Effect.Effect<void, BackupError> =>
        s.volume === undefined ? io(staged.archive, () => Fs.rm(s.fresh, { recursive: true, force: true })) : removeStaged(s), { discard: true })

    const copyWatched: Service["copyWatched"] = (def, w) =>
      Effect.gen(function*() {
        const source = NodePath.join(def.dataDir, w.path)
        // An app may rewrite the file in place: only a settled read is copied (a torn one fails
        // with FileUnsettled, and the copies made so far stay as they are).
        const content = yield* SafeFile.readSettled(source, { root: def.dataDir })
        if (Option.isNone(content)) return Option.none()
        const info = yield* watchedInfo(def, w)
        if (info.lastCopy !== null) {
          const last = yield* io(info.lastCopy, () => Fs.readFile(info.lastCopy!))
          if (Buffer.from(content.value).equals(last)) return Option.none()
        }
        const folder = watchedDir(dir, def.id, w.path)
        yield* ensure(folder)
        const now = yield* Clock.currentTimeMillis
        const target = NodePath.join(folder, `${slug(NodePath.basename(w.path))}-${stamp(now)}.copy`)
        yield* SafeFile.write(target, content.value, { root: dir, mode: SafeFile.secretFileMode, dirMode: SafeFile.secretDirMode })
        // an emptied copy never pushes the good ones out (see `WatchedRetention`)
        const plan = WatchedRetention.plan(yield* copiesOf(folder), w.keep)
        yield* io(folder, async () => {
          for (const c of plan.prune) await Fs.rm(NodePath.join(folder, c.name), { force: true })
        })
        if (plan.shrank !== undefined) {
          yield* Effect.logWarning(
            `backup: ${def.id} ${w.path} shrank from ${plan.shrank.from} to ${plan.shrank.to} bytes; the earlier copies are kept`
          )
        }
        // each copy has a new name, so no later write cleans the temp file of a killed one
        yield* SafeFile.removeDeadTemps(folder, { root: dir })
        yield* changed(def.id)
        return Option.some(target)
      })

    const sweep: Service["sweep"] = (def) =>
      io(appDir(def.id), async () => {
        const removed: Array<string> = []
        const within = async (folder: string, match: (name: string) => boolean) => {
          const names = await Fs.readdir(folder).catch((e) => (missing(e) ? [] : Promise.reject(e)))
          for (const name of names.filter(match).sort()) {
            const path = NodePath.join(folder, name)
            await Fs.rm(path, { recursive: true, force: true })
            removed.push(path)
          }
        }
        await within(appDir(def.id), (n) =>
          /^\.staging-/.test(n) || /^\..+\.partial-[0-9a-f]+$/.test(n) || /^\.volume-.+\.restore-/.test(n) ||
          /^\..+\.tar(\.age)?\.tmp-\d+-[0-9a-f]+$/.test(n))
        const base = NodePath.basename(def.dataDir)
        await within(scratchOf(def), (n) =>
          n.startsWith(`${base}.restore-`) || n.startsWith(`.${def.id}.backup-staging-`) || n.startsWith(`.${def.id}.archive-copy-`) ||
          (n.startsWith(`.${def.id}.volume-`) && n.includes(".restore-")))
        return removed
      })

    const service: Service = {
      dir,
      keep,
      list,
      summary,
      create,
      secrets,
      locate,
      stage,
      swap,
      revert,
      commit,
      discard,
      sweep,
      copyWatched,
      subscribeChanges,
      changes: Stream.unwrap(Effect.map(subscribeChanges, (q) => Stream.fromQueue(q)))
    }
    return service
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (config: Config): Layer.Layer<Backups> => Layer.effect(Backups, make(config))

/**
 * How often watched files are looked at.
 *
 * @since 0.1.0
 * @category constants
 */
export const watchSchedule = Schedule.spaced(Duration.seconds(2))

/**
 * Copies every watched file of every app into the target when it changed (see `copyWatched`),
 * on `watchSchedule`; a failure (a file that kept changing while read among them) is logged with
 * the file and the loop goes on: the next round tries again. Runs until
 * interrupted.
 *
 * @since 0.1.0
 * @category constructors
 */
export const watchLoop = (schedule: Schedule.Schedule<unknown> = watchSchedule) =>
  Effect.gen(function*() {
    const apps = yield* Apps
    const backups = yield* Backups
    const watched = apps.all.flatMap((def) => (def.manifest.backup?.watch ?? []).map((w) => [def, w] as const))
    if (watched.length === 0) return
    const round = Effect.forEach(watched, ([def, w]) =>
      backups.copyWatched(def, w).pipe(
        Effect.tap(Option.match({
          onNone: () => Effect.void,
          onSome: (copy) => Effect.logInfo(`backup: copied ${def.id} ${w.path} to ${copy}`)
        })),
        Effect.catch((e) => Effect.logWarning(`backup: cannot copy ${def.id} ${w.path}: ${e.message}`))
      ), { discard: true })
    yield* Effect.repeat(round, schedule)
  }).pipe(Effect.withSpan("Backups.watchLoop"))

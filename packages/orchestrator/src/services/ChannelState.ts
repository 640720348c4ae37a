/**
 * Files holding state a peer may have seen superseded (LND's `channel.db`), declared by the
 * manifest's `backup.channelState`. Running on an older copy of them lets a peer take a whole
 * channel's balance with a penalty transaction, so no restore brings them back from an archive:
 *
 * - a backup leaves them out of the archive (`excludes`);
 * - a restore drops any the archive holds (`strip`, for archives made before this rule), and
 *   keeps the live ones, linked into the restored folder once the app stopped (`linkLive`):
 *   the app goes on from its own newest state;
 * - with no live ones (the disk was lost) the restore is a channel recovery (`decide`): only
 *   when the owner confirmed it (`closeChannels`), the newest good copy of the recovery file
 *   (LND's `channel.backup`) is placed in the restored folder and the recovery command runs in
 *   the app's container (LND's `lncli restorechanbackup --multi_file`): the peers close the
 *   channels and the funds return to the on-chain wallet after their timelocks.
 *
 * @since 0.1.0
 */
import * as NodePath from "node:path"
import { Context, Data, Effect } from "effect"
import * as Fs from "../fs/internal/Files.js"
import type { ChannelStateSpec } from "../manifest/Manifest.js"
import * as PodmanCommand from "../runtime/PodmanCommand.js"

/**
 * The words the RPC and the dashboard show before a channel recovery.
 *
 * @since 0.1.0
 * @category constants
 */
export const recoveryWarning =
  "This node's channel state is not in the backup (restoring it could lose every channel's funds). " +
  "The channels will be closed; funds return to your on-chain wallet once the channels' timelocks expire."

/**
 * The request field that confirms a channel recovery.
 *
 * @since 0.1.0
 * @category constants
 */
export const confirmField = "closeChannels"

/**
 * A restore would run a channel recovery and the owner did not confirm it.
 *
 * @since 0.1.0
 * @category errors
 */
export class RecoveryUnconfirmed extends Data.TaggedError("RecoveryUnconfirmed")<{
  readonly appId: string
}> {
  override get message(): string {
    return `restoring ${this.appId} closes its channels: ${recoveryWarning} Confirm with ${confirmField}: true`
  }
}

/**
 * A channel recovery has no good copy of its recovery file to start from.
 *
 * @since 0.1.0
 * @category errors
 */
export class NoChannelBackup extends Data.TaggedError("NoChannelBackup")<{
  readonly appId: string
  readonly path: string
}> {
  override get message(): string {
    return `restoring ${this.appId} needs a channel recovery, but the backup target holds no copy of ${this.path}; nothing was changed`
  }
}

/**
 * The recovery command failed (or the channel files could not be handled).
 *
 * @since 0.1.0
 * @category errors
 */
export class ChannelStateError extends Data.TaggedError("ChannelStateError")<{
  readonly appId: string
  readonly path: string
  readonly reason: string
}> {
  override get message(): string {
    return `channel state of ${this.appId} (${this.path}): ${this.reason}`
  }
}

/**
 * What a restore does with the channel state.
 *
 * @since 0.1.0
 * @category models
 */
export type Decision =
  | { readonly _tag: "None" }
  | { readonly _tag: "KeepLive"; readonly files: ReadonlyArray<string> }
  | { readonly _tag: "Recover" }

const segmentsOf = (pattern: string): ReadonlyArray<string> => pattern.replace(/^\.\//, "").split("/")

const segmentMatches = (pattern: string, segment: string): boolean =>
  pattern.includes("*")
    ? new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^/]*")}$`).test(segment)
    : pattern === segment

/**
 * Whether a path relative to the data folder (`data/graph/mainnet/channel.db`) is covered by
 * one of the patterns: it matches one, or lies below a folder that does.
 *
 * @since 0.1.0
 * @category predicates
 */
export const covers = (patterns: ReadonlyArray<string>, rel: string): boolean => {
  const parts = rel.split("/")
  return patterns.some((p) => {
    const ps = segmentsOf(p)
    return ps.length <= parts.length && ps.every((s, i) => segmentMatches(s, parts[i]!))
  })
}

/**
 * Whether a folder relative to the data folder may hold a path one of the patterns covers.
 *
 * @since 0.1.0
 * @category predicates
 */
export const mayHold = (patterns: ReadonlyArray<string>, rel: string): boolean => {
  if (rel === "") return patterns.length > 0
  const parts = rel.split("/")
  return patterns.some((p) => {
    const ps = segmentsOf(p)
    return parts.every((s, i) => i >= ps.length || segmentMatches(ps[i]!, s))
  })
}

/**
 * What a restore does: nothing declared, keep the live files, or recover (the live files are gone).
 *
 * @since 0.1.0
 * @category constructors
 */
export const decide = (spec: ChannelStateSpec | undefined, live: ReadonlyArray<string>): Decision =>
  spec === undefined ? { _tag: "None" } : live.length > 0 ? { _tag: "KeepLive", files: live } : { _tag: "Recover" }

const missing = (e: unknown) => (e as NodeJS.ErrnoException).code === "ENOENT"

/**
 * The paths under `root` the patterns cover, absolute: the topmost covered entry of each branch
 * (`files: "only"` lists the regular files at and below them instead). Symlinks are never followed.
 *
 * @since 0.1.0
 * @category constructors
 */
export const expand = (
  root: string,
  patterns: ReadonlyArray<string>,
  options: { readonly files?: "only" } = {}
): Effect.Effect<ReadonlyArray<string>, ChannelStateError> =>
  Effect.tryPromise({
    try: async () => {
      const out: Array<string> = []
      const filesBelow = async (abs: string): Promise<void> => {
        const st = await Fs.lstat(abs).catch((e) => (missing(e) ? undefined : Promise.reject(e)))
        if (st === undefined) return
        if (st.isFile()) out.push(abs)
        else if (st.isDirectory()) for (const n of (await Fs.readdir(abs)).sort()) await filesBelow(NodePath.join(abs, n))
      }
      const walk = async (rel: string): Promise<void> => {
        const abs = rel === "" ? root : NodePath.join(root, rel)
        if (rel !== "" && covers(patterns, rel)) {
          if (options.files === "only") await filesBelow(abs)
          else out.push(abs)
          return
        }
        if (!mayHold(patterns, rel)) return
        const st = await Fs.lstat(abs).catch((e) => (missing(e) ? undefined : Promise.reject(e)))
        if (st === undefined || !st.isDirectory()) return
        for (const n of (await Fs.readdir(abs)).sort()) await walk(rel === "" ? n : `${rel}/${n}`)
      }
      if (patterns.length > 0) await walk("")
      return out
    },
    catch: (e) => new ChannelStateError({ appId: NodePath.basename(root), path: root, reason: (e as NodeJS.ErrnoException).code ?? String(e) })
  })

/**
 * Removes what the patterns cover from a restored (not yet live) folder; answers the paths removed,
 * relative to it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const strip = (folder: string, patterns: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<string>, ChannelStateError> =>
  Effect.flatMap(expand(folder, patterns), (found) =>
    Effect.tryPromise({
      try: async () => {
        for (const p of found) await Fs.rm(p, { recursive: true, force: true })
        return found.map((p) => NodePath.relative(folder, p))
      },
      catch: (e) => new ChannelStateError({ appId: NodePath.basename(folder), path: folder, reason: String(e) })
    }))

/**
 * Hard-links the live channel-state files (absolute, under `live`) into the restored folder
 * `fresh` at the same relative paths. Run once the app stopped: both names share the file, so a
 * restore put back or committed keeps it either way. A parent that is not a plain folder (a
 * symlink planted in the restored tree) is refused, never followed.
 *
 * @since 0.1.0
 * @category constructors
 */
export const linkLive = (
  appId: string,
  live: string,
  fresh: string,
  files: ReadonlyArray<string>
): Effect.Effect<void, ChannelStateError> =>
  Effect.forEach(files, (file) =>
    Effect.tryPromise({
      try: async () => {
        const rel = NodePath.relative(live, file)
        let dir = fresh
        for (const part of NodePath.dirname(rel).split(NodePath.sep).filter((p) => p !== "." && p !== "")) {
          dir = NodePath.join(dir, part)
          const st = await Fs.lstat(dir).catch((e) => (missing(e) ? undefined : Promise.reject(e)))
          if (st === undefined) await Fs.mkdir(dir, { mode: 0o700 })
          else if (!st.isDirectory()) throw new Error(`${dir} is not a folder (not followed)`)
        }
        await Fs.link(file, NodePath.join(fresh, rel))
      },
      catch: (e) => new ChannelStateError({ appId, path: file, reason: e instanceof Error ? e.message : String(e) })
    }), { discard: true })

/**
 * Before a restore is put back: the channel state the restored app ran on (in `live`, which it
 * may have moved on, replacing files by renames as bbolt's compaction does) replaces the one in
 * the folder being put back (`previous`). Whatever ran last is what the app starts on again, never
 * an older one.
 *
 * @since 0.1.0
 * @category constructors
 */
export const carryBack = (
  appId: string,
  live: string,
  previous: string,
  patterns: ReadonlyArray<string>
): Effect.Effect<ReadonlyArray<string>, ChannelStateError> =>
  Effect.gen(function*() {
    const ran = yield* expand(live, patterns, { files: "only" })
    // no previous folder: nothing is put back, the restored one (with what ran) stays
    const there = yield* Effect.promise(() => Fs.lstat(previous).then((st) => st.isDirectory(), () => false))
    if (ran.length === 0 || !there) return []
    yield* strip(previous, patterns)
    yield* linkLive(appId, live, previous, ran)
    return ran.map((f) => NodePath.relative(live, f))
  })

/**
 * Runs the recovery command in the app's container (`podman exec`).
 *
 * @since 0.1.0
 * @category models
 */
export type Exec = (containerName: string, argv: ReadonlyArray<string>) => Effect.Effect<void, string>

/**
 * Runs recovery commands instead of `podmanExec()` (an embedder's engine, a test's recorder).
 *
 * @since 0.1.0
 * @category tags
 */
export class RecoveryRunner extends Context.Service<RecoveryRunner, Exec>()("@archipelago/orchestrator/ChannelState/RecoveryRunner") {}

/**
 * `podman exec <name> <argv...>`, failing with podman's or the command's last words.
 *
 * @since 0.1.0
 * @category constructors
 */
export const podmanExec = (binary = "podman"): Exec => (name, argv) =>
  PodmanCommand.run(binary, ["exec", name, ...argv], { timeoutMs: 300_000 }).pipe(
    Effect.mapError((e) => e.message),
    Effect.flatMap((r) =>
      r.exitCode === 0
        ? Effect.void
        : Effect.fail(`${argv.join(" ")} exited ${r.exitCode}: ${(r.stderr.trim() || r.stdout.trim()).slice(-500)}`)
    )
  )

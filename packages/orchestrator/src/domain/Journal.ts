/**
 * The journal of an app's data operation: a write-ahead record of the step an update, restore,
 * backup or purging remove has reached, with what is needed to undo it (the release it ran, the
 * folders a restore moved aside). It is persisted with the app's entry before the step changes
 * anything, and cleared in the same write that records the operation's outcome; an orchestrator
 * killed between two steps finds it at boot, and `recover` decides, from the record and what the
 * engine shows, whether to finish the operation or to put the app back as it was. Pure.
 *
 * @since 0.1.0
 */
import type { AppState } from "./AppState.js"
import type * as Op from "./Op.js"

/**
 * A release an update leaves (its rollback target): version, image reference, image digest.
 * (The shape of `AppEntry.Release`, which holds a record.)
 *
 * @since 0.1.0
 * @category models
 */
export interface Release {
  readonly version: string
  readonly image: string
  readonly digest: string
}

/**
 * What `recover` reads of the app's container now (an `AppEntry.Observation` is one).
 *
 * @since 0.1.0
 * @category models
 */
export interface Seen {
  readonly state: AppState
  readonly observed: { readonly version?: string; readonly digest?: string }
}

/**
 * The steps of a health-gated update: `requested` (nothing changed yet), `fetching` (the hold tag
 * keeps the release it ran; the new image is fetched, then the old container replaced), `gating`
 * (the new container runs; its health is proved since `since`), `rolling-back`.
 *
 * @since 0.1.0
 * @category models
 */
export type UpdateStep = "requested" | "fetching" | "gating" | "rolling-back"

/**
 * An update's record. `from` is known from `fetching` on (the rollback target, by digest).
 *
 * @since 0.1.0
 * @category models
 */
export interface UpdateEntry {
  readonly op: "update"
  readonly step: UpdateStep
  /** When the step began, Unix ms (the gate's deadline counts from it). */
  readonly since: number
  readonly to: { readonly version: string; readonly image: string; readonly digest?: string }
  readonly from?: Release
  /** For `rolling-back`: why. */
  readonly reason?: string
}

/**
 * One folder of a restore: `fresh` (unpacked from the archive) replaces `live`, which is kept at
 * `previous` until the restore is committed (`volume`: a named volume without a host folder,
 * whose previous content is a tar stream).
 *
 * @since 0.1.0
 * @category models
 */
export interface SwapRecord {
  readonly live: string
  readonly fresh: string
  readonly previous: string
  readonly volume?: string
}

/**
 * The steps of a restore: `requested` (the archive is being verified and unpacked beside the live
 * folders; nothing live changed), `staged` (unpacked; the app may be stopping), `swapped` (the
 * folders are being swapped, or were, and the app is proving healthy on the restored data),
 * `reverting` (the previous data is being put back), `committing` (healthy: the previous folders
 * are being deleted).
 *
 * @since 0.1.0
 * @category models
 */
export type RestoreStep = "requested" | "staged" | "swapped" | "reverting" | "committing"

/**
 * A restore's record.
 *
 * @since 0.1.0
 * @category models
 */
export interface RestoreEntry {
  readonly op: "restore"
  readonly step: RestoreStep
  readonly since: number
  /** The archive's path (from `staged` on) or the name asked for (absent: the newest). */
  readonly archive?: string
  /** Whether the app ran when the restore began: it runs again after it, whatever the outcome. */
  readonly wasRunning?: boolean
  readonly swaps?: ReadonlyArray<SwapRecord>
  readonly reason?: string
}

/**
 * The steps of a backup: `requested` (nothing changed), `copying` (the app may be stopped, or
 * frozen by a pre-backup hook, while the archive is written), `written` (the archive is in the
 * target; the app is being started again).
 *
 * @since 0.1.0
 * @category models
 */
export type BackupStep = "requested" | "copying" | "written"

/**
 * A backup's record.
 *
 * @since 0.1.0
 * @category models
 */
export interface BackupEntry {
  readonly op: "backup"
  readonly step: BackupStep
  readonly since: number
  /** The backup stopped the app for its copy (it is started again, whatever the outcome). */
  readonly stopped?: boolean
  /** The pre-backup hook that froze the app (released again, whatever the outcome). */
  readonly hook?: string
  /** The archive written, from `written` on. */
  readonly archive?: string
}

/**
 * The steps of a remove that purges the app's data: `requested` (the container is being stopped
 * and removed), `purging` (the data folder was moved to `trash` in one rename and is being
 * deleted: it is either whole in place or gone, never half deleted in place).
 *
 * @since 0.1.0
 * @category models
 */
export type RemoveStep = "requested" | "purging"

/**
 * A purging remove's record.
 *
 * @since 0.1.0
 * @category models
 */
export interface RemoveEntry {
  readonly op: "remove"
  readonly step: RemoveStep
  readonly since: number
  readonly trash?: string
}

/**
 * An app's journal record.
 *
 * @since 0.1.0
 * @category models
 */
export type Entry = UpdateEntry | RestoreEntry | BackupEntry | RemoveEntry

/**
 * Every step of every journaled operation, in order (the crash-point harness kills at each).
 *
 * @since 0.1.0
 * @category constants
 */
export const steps = {
  update: ["requested", "fetching", "gating", "rolling-back"],
  restore: ["requested", "staged", "swapped", "reverting", "committing"],
  backup: ["requested", "copying", "written"],
  remove: ["requested", "purging"]
} as const satisfies { readonly [K in Entry["op"]]: ReadonlyArray<Extract<Entry, { op: K }>["step"]> }

/**
 * What a journaled operation is asked with, for its first record.
 *
 * @since 0.1.0
 * @category models
 */
export interface Request {
  /** The release the manifest now names (an update's target). */
  readonly version: string
  readonly image: string
  /** A restore's archive, as asked (absent: the newest). */
  readonly archive?: string
  /** A remove's purge flag: only a purging remove is journaled. */
  readonly purge?: boolean
}

/**
 * The first record of an operation, written with its transition before any work: `requested`,
 * or undefined for an operation that needs none (start, stop, restart, install, a remove that
 * keeps the data: each is safe to run again from the start).
 *
 * @since 0.1.0
 * @category constructors
 */
export const open = (op: Op.Op, request: Request, now: number): Entry | undefined => {
  switch (op) {
    case "update":
      return { op, step: "requested", since: now, to: { version: request.version, image: request.image } }
    case "restore":
      return { op, step: "requested", since: now, ...(request.archive === undefined ? {} : { archive: request.archive }) }
    case "backup":
      return { op, step: "requested", since: now }
    case "remove":
      return request.purge === true ? { op, step: "requested", since: now } : undefined
    default:
      return undefined
  }
}

/**
 * Moves a record to its next step (stamped `now`), keeping what it knew.
 *
 * @since 0.1.0
 * @category combinators
 */
export const advance = <E extends Entry>(entry: E, step: E["step"], now: number, more: Partial<Omit<E, "op" | "step" | "since">> = {}): E =>
  ({ ...entry, ...more, step, since: now }) as E

/**
 * What boot does with a record it finds (`recover`).
 *
 * - `Abandon`: nothing the owner would see changed; clean up what the step left (staged folders),
 *   put the app back as it ran (`startAgain`), and record the operation as failed with `message`.
 * - `RollBack`: an update's new release may be in place: put the app back on `from` by digest.
 * - `ResumeGate`: the new release runs: go on proving it healthy (or roll it back).
 * - `Revert`: a restore moved the live data aside: put the previous data back, record `message`.
 * - `Commit`: a restore proved healthy: delete the previous data; the restore succeeded.
 * - `Finish`: a backup's archive is written, or a purge moved the data out: finish it; success.
 * - `Redo`: the operation changed nothing that needs undoing and is safe to run again whole.
 *
 * @since 0.1.0
 * @category models
 */
export type Recovery =
  | { readonly _tag: "Abandon"; readonly message: string; readonly startAgain: boolean }
  | { readonly _tag: "RollBack"; readonly reason: string }
  | { readonly _tag: "ResumeGate" }
  | { readonly _tag: "Revert"; readonly message: string }
  | { readonly _tag: "Commit"; readonly message: string }
  | { readonly _tag: "Finish"; readonly message: string }
  | { readonly _tag: "Redo" }

const stillOn = (e: UpdateEntry, seen: Seen | undefined): string =>
  seen?.observed.version ?? e.from?.version ?? "the release it ran"

const archiveName = (e: RestoreEntry): string => e.archive === undefined ? "the newest archive" : baseName(e.archive)

const baseName = (p: string): string => p.slice(p.lastIndexOf("/") + 1)

const interruptedIn: Readonly<Record<RestoreStep, string>> = {
  requested: "while verifying and unpacking the archive",
  staged: "before the data was swapped",
  swapped: "in its health gate",
  reverting: "while putting the previous data back",
  committing: "after it proved healthy"
}

/**
 * Decides what to do with a record found at boot, from what the engine shows of the app's
 * container now (`seen`, undefined when there is none). Total and pure; see `Recovery`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const recover = (entry: Entry, seen: Seen | undefined): Recovery => {
  switch (entry.op) {
    case "update": {
      const digest = seen?.observed.digest
      const running = seen?.state === "running"
      switch (entry.step) {
        case "requested":
          return {
            _tag: "Abandon",
            message: `update to ${entry.to.version} interrupted by a restart before it started; still on ${stillOn(entry, seen)}`,
            startAgain: false
          }
        case "fetching":
          if (entry.from !== undefined && running && digest === entry.from.digest) {
            return {
              _tag: "Abandon",
              message: `update to ${entry.to.version} interrupted by a restart before the new release ran; still on ${entry.from.version}`,
              startAgain: false
            }
          }
          return { _tag: "RollBack", reason: `interrupted by a restart while replacing the container (it is ${seen?.state ?? "gone"})` }
        case "gating":
          if (seen !== undefined && digest !== undefined && digest !== entry.from?.digest) {
            return running ? { _tag: "ResumeGate" } : { _tag: "RollBack", reason: `the new container is ${seen.state}` }
          }
          return { _tag: "RollBack", reason: `interrupted by a restart in its health gate (the container is ${seen?.state ?? "gone"})` }
        case "rolling-back":
          return { _tag: "RollBack", reason: entry.reason ?? "interrupted by a restart while rolling back" }
      }
    }
    // falls through: every update step returns above
    case "restore": {
      const what = `restore of ${archiveName(entry)} interrupted by a restart ${interruptedIn[entry.step]}`
      switch (entry.step) {
        case "requested":
        case "staged":
          return { _tag: "Abandon", message: `${what}; the data was not changed`, startAgain: entry.wasRunning === true }
        case "swapped":
        case "reverting":
          return { _tag: "Revert", message: `${what}; the previous data was put back` }
        case "committing":
          return { _tag: "Commit", message: `${what}; the restored data is kept` }
      }
    }
    // falls through: every restore step returns above
    case "backup":
      return entry.step === "written"
        ? { _tag: "Finish", message: `backup interrupted by a restart after its archive was written; it is kept` }
        : {
          _tag: "Abandon",
          message: `backup interrupted by a restart ${entry.step === "requested" ? "before it copied anything" : "while copying"}; no archive was written`,
          startAgain: entry.stopped === true
        }
    case "remove":
      return entry.step === "purging"
        ? { _tag: "Finish", message: "remove interrupted by a restart while deleting the data; finished" }
        : { _tag: "Redo" }
  }
}

/**
 * True when the outcome of `recover` ends the operation as a success.
 *
 * @since 0.1.0
 * @category predicates
 */
export const recoversAsSuccess = (r: Recovery): boolean => r._tag === "Commit" || r._tag === "Finish"

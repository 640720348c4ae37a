/**
 * Moves the app folders of a data dir written by a release that kept them at `<dataDir>/<id>`
 * (beside the orchestrator's own `secrets` and `backups`) to `<dataDir>/apps/<id>`
 * (`Spec.appDataDir`). Each move is one `rename` on the same file system: nothing is copied, modes
 * and owners stay, open files stay open. A relative link `<dataDir>/<id> -> apps/<id>` is left
 * behind so a container created before the move still finds its bind sources until the
 * reconciler recreates it with the new spec.
 *
 * @since 0.1.0
 */
import * as NodePath from "node:path"
import { Data, Effect } from "effect"
import * as Fs from "../fs/internal/Files.js"
import { appDataDir, appsFolderName, reservedNames } from "../manifest/Spec.js"

/**
 * A folder could not be moved, or both its old and new places hold data.
 *
 * @since 0.1.0
 * @category errors
 */
export class AppFolderError extends Data.TaggedError("AppFolderError")<{
  readonly path: string
  readonly reason: string
}> {
  override get message(): string {
    return `app folder ${this.path}: ${this.reason}`
  }
}

/**
 * What is at a name in the data dir.
 *
 * @since 0.1.0
 * @category models
 */
export type Kind = "absent" | "directory" | "symlink" | "other"

/**
 * What to do for one app.
 *
 * @since 0.1.0
 * @category models
 */
export type Step =
  | { readonly _tag: "Move"; readonly id: string }
  | { readonly _tag: "Keep"; readonly id: string; readonly reason: string }
  | { readonly _tag: "Conflict"; readonly id: string; readonly reason: string }

/**
 * The migration step of an app, from what is at its old place (`<dataDir>/<id>`) and at its new
 * one (`<dataDir>/apps/<id>`). Reserved names are never moved: they are the orchestrator's.
 *
 * @since 0.1.0
 * @category combinators
 */
export const step = (id: string, old: Kind, current: Kind): Step => {
  if (reservedNames.has(id)) return { _tag: "Keep", id, reason: "a reserved name: the orchestrator's own" }
  if (old !== "directory") return { _tag: "Keep", id, reason: old === "absent" ? "nothing at the old place" : `the old place is a ${old}` }
  if (current === "absent") return { _tag: "Move", id }
  return { _tag: "Conflict", id, reason: `both the old folder and the new place (a ${current}) exist` }
}

const kindOf = (path: string): Promise<Kind> =>
  Fs.lstat(path).then(
    (s) => (s.isSymbolicLink() ? "symlink" : s.isDirectory() ? "directory" : "other"),
    (e: NodeJS.ErrnoException) => (e.code === "ENOENT" ? "absent" : Promise.reject(e))
  )

/**
 * Moves every listed app's folder from `<dataDir>/<id>` to `<dataDir>/apps/<id>` (created 0700),
 * leaving a relative link at the old name; a moved folder and a data dir others can enter become
 * 0700 (what is inside keeps its modes). Returns the ids moved. Idempotent: a moved folder's
 * old name is a link, which is kept. Fails, moving nothing more, when both places hold a folder
 * (the owner decides which one is the app's data) or a move fails.
 *
 * @since 0.1.0
 * @category constructors
 */
export const migrate = Effect.fn("AppFolders.migrate")(function*(dataDir: string, ids: ReadonlyArray<string>) {
  const root = NodePath.join(dataDir, appsFolderName)
  const io = <A>(path: string, f: () => Promise<A>) =>
    Effect.tryPromise({ try: f, catch: (e) => new AppFolderError({ path, reason: e instanceof Error ? e.message : String(e) }) })
  yield* io(root, () => Fs.mkdir(root, { recursive: true, mode: 0o700 }))
  const moved: Array<string> = []
  for (const id of ids) {
    const from = NodePath.join(dataDir, id)
    const to = appDataDir({ dataDir }, id)
    const s = step(id, yield* io(from, () => kindOf(from)), yield* io(to, () => kindOf(to)))
    if (s._tag === "Conflict") {
      return yield* new AppFolderError({
        path: from,
        reason: `${s.reason} (${to}); keep the one holding the app's data at ${to}, move the other away, and start again`
      })
    }
    if (s._tag === "Keep") continue
    yield* io(from, () => Fs.rename(from, to))
    yield* io(from, () => Fs.symlink(NodePath.join(appsFolderName, id), from))
    // the folder itself becomes the owner's alone, as a new one is; what is inside keeps its modes
    yield* io(to, () => Fs.chmod(to, 0o700))
    yield* Effect.logInfo(`moved the app folder ${from} to ${to} (a link stays at the old name for containers created before)`)
    moved.push(id)
  }
  // an older release created the data dir 0755 (0750 under the unit's UMask)
  const mode = (yield* io(dataDir, () => Fs.stat(dataDir))).mode & 0o777
  if ((mode & 0o077) !== 0) {
    yield* io(dataDir, () => Fs.chmod(dataDir, 0o700))
    yield* Effect.logWarning(`the data dir ${dataDir} was ${mode.toString(8).padStart(4, "0")}: now 0700, the owner's alone`)
  }
  return moved
})

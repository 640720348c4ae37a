/**
 * The orchestrator's one door to `node:fs`: every module of `src` that touches a file imports
 * from here (or uses `SafeFile`, which is built on this module), never from `node:fs` itself;
 * `test/fs/Files.test.ts` fails when a raw import appears anywhere else.
 *
 * What to use:
 * - the node's own files under a trusted root (state.json, the token, secrets, rendered config,
 *   install logs, backup copies): `SafeFile`, which opens every folder without following a
 *   link and writes atomically;
 * - everything else goes through the primitives below, unchanged from Node's: folders the
 *   orchestrator creates and walks itself (app folders, backup staging, channel state, disk
 *   usage), archive packing and unpacking that needs raw descriptors and `O_NOFOLLOW` opens of
 *   its own (`ArchiveFile`), and runtime adapters' scratch files and the podman events file.
 *
 * They are the Node functions themselves, re-exported by name (no wrapper), so routing a call
 * site through this module never changes what it does; a name not listed here is a decision
 * to make in this file, where the next reader of the orchestrator's file access will look.
 * `attempt` and `hasCode` lift one call into Effect with Node's error kept whole, for callers
 * that map it to their own error.
 *
 * Internal: not exported from the package.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"

/** @since 0.1.0 */
export {
  access,
  chmod,
  lchown,
  link,
  lstat,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  readlink,
  realpath,
  rename,
  rm,
  stat,
  statfs,
  symlink,
  unlink,
  writeFile
} from "node:fs/promises"

/** @since 0.1.0 */
export type { FileHandle } from "node:fs/promises"

/**
 * The synchronous calls: `constants` for open flags, and the few places that cannot wait (the
 * podman events tail reads a growing file by descriptor; start-up probes).
 *
 * @since 0.1.0
 */
export { accessSync, closeSync, constants, existsSync, fstatSync, openSync, readFileSync, readSync, statSync, watch } from "node:fs"

/** @since 0.1.0 */
export type { BigIntStats, FSWatcher, Stats } from "node:fs"

/**
 * One call of the primitives above as an Effect; its failure is Node's error (its message names
 * the call and the path, `code` says why).
 *
 * @since 0.1.0
 * @category constructors
 */
export const attempt = <A>(f: () => Promise<A>): Effect.Effect<A, NodeJS.ErrnoException> =>
  Effect.tryPromise({ try: f, catch: (e) => e instanceof Error ? e : new Error(String(e)) })

/**
 * True when a failure is Node's error with this code (`ENOENT`, `EEXIST`).
 *
 * @since 0.1.0
 * @category guards
 */
export const hasCode = (e: unknown, code: string): boolean =>
  typeof e === "object" && e !== null && "code" in e && e.code === code

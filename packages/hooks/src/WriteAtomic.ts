/**
 * Crash-safe file writes: a reader (or a container that bind-mounts the file) sees either the
 * complete old content or the complete new content, never a torn file, whatever moment the
 * writing process dies at.
 *
 * @since 0.1.0
 */
import { createHash, randomBytes } from "node:crypto"
import * as Fs from "node:fs/promises"
import * as NodePath from "node:path"
import { Data, Effect } from "effect"

/**
 * Writing a file failed. Carries the path and the system's reason, never the content.
 *
 * @since 0.1.0
 * @category errors
 */
export class WriteFailed extends Data.TaggedError("WriteFailed")<{
  readonly path: string
  readonly reason: string
}> {
  override get message(): string {
    return `cannot write ${this.path}: ${this.reason}`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface WriteOptions {
  /** The file's permission bits, applied exactly (umask does not narrow them). Default 0644. */
  readonly mode?: number
  /** The permission bits of directories this write creates (existing ones are left alone). Default 0755. */
  readonly dirMode?: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface WriteResult {
  /** False when the file already held exactly this content: nothing was written, mtime is unchanged. */
  readonly written: boolean
  /** Hex SHA-256 of the content. */
  readonly sha256: string
}

/**
 * Permission bits for files holding a secret.
 *
 * @since 0.1.0
 * @category constants
 */
export const secretFileMode = 0o600

/**
 * Permission bits for directories created to hold a secret.
 *
 * @since 0.1.0
 * @category constants
 */
export const secretDirMode = 0o700

/**
 * Hex SHA-256 of a content.
 *
 * @since 0.1.0
 * @category utils
 */
export const sha256 = (content: string | Uint8Array): string => createHash("sha256").update(content).digest("hex")

const reasonOf = (error: unknown): string => {
  if (typeof error === "object" && error !== null && "code" in error && typeof error.code === "string") {
    const syscall = "syscall" in error && typeof error.syscall === "string" ? ` (${error.syscall})` : ""
    return `${error.code}${syscall}`
  }
  return error instanceof Error ? error.message : String(error)
}

const attempt = <A>(path: string, f: () => Promise<A>): Effect.Effect<A, WriteFailed> =>
  Effect.tryPromise({ try: f, catch: (error) => new WriteFailed({ path, reason: reasonOf(error) }) })

const isErrno = (error: unknown, code: string): boolean =>
  typeof error === "object" && error !== null && "code" in error && error.code === code

const readIfExists = async (path: string): Promise<Buffer | undefined> => {
  try {
    return await Fs.readFile(path)
  } catch (error) {
    if (isErrno(error, "ENOENT")) return undefined
    throw error
  }
}

/** Creates the missing directories of `dir` with exactly `mode` (mkdir's mode is narrowed by umask). */
const ensureDir = async (dir: string, mode: number): Promise<void> => {
  const first = await Fs.mkdir(dir, { recursive: true, mode })
  if (first === undefined) return
  let current = dir
  const created: Array<string> = []
  while (current.length >= first.length) {
    created.push(current)
    const parent = NodePath.dirname(current)
    if (parent === current) break
    current = parent
  }
  for (const d of created.reverse()) await Fs.chmod(d, mode)
}

const fsyncDir = async (dir: string): Promise<void> => {
  const handle = await Fs.open(dir, "r")
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

const tempPrefix = (base: string): string => `.${base}.tmp-`

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return !isErrno(error, "ESRCH")
  }
}

/** Removes temp files left by writers of this file that were killed mid-write. */
const removeStaleTemps = async (dir: string, base: string): Promise<void> => {
  const prefix = tempPrefix(base)
  let names: Array<string>
  try {
    names = await Fs.readdir(dir)
  } catch {
    return
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue
    const pid = Number(name.slice(prefix.length).split("-")[0])
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !isAlive(pid)) {
      await Fs.rm(NodePath.join(dir, name), { force: true })
    }
  }
}

const write = async (path: string, data: Buffer, mode: number, dirMode: number): Promise<boolean> => {
  const dir = NodePath.dirname(path)
  const base = NodePath.basename(path)
  const existing = await readIfExists(path)
  const previous = existing === undefined ? undefined : await Fs.stat(path)
  if (existing !== undefined && previous !== undefined && existing.equals(data)) {
    // A permission drift is repaired in place: no new content, so no rename and no new mtime.
    if ((previous.mode & 0o7777) !== mode) await Fs.chmod(path, mode)
    return false
  }
  await ensureDir(dir, dirMode)
  await removeStaleTemps(dir, base)
  const temp = NodePath.join(dir, `${tempPrefix(base)}${process.pid}-${randomBytes(6).toString("hex")}`)
  try {
    const handle = await Fs.open(temp, "wx", mode)
    try {
      // The replacement keeps the owner of the file it replaces (a container may have chowned it to
      // its own user); without the privilege to do so, the writer's ownership stays.
      if (previous !== undefined && (previous.uid !== process.getuid?.() || previous.gid !== process.getgid?.())) {
        await handle.chown(previous.uid, previous.gid).catch((error: unknown) => {
          if (!isErrno(error, "EPERM")) throw error
        })
      }
      await handle.chmod(mode)
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await Fs.rename(temp, path)
  } catch (error) {
    await Fs.rm(temp, { force: true }).catch(() => undefined)
    throw error
  }
  await fsyncDir(dir)
  return true
}

/**
 * Writes `content` to `path` atomically: a temp file in the same directory is written, fsynced
 * and renamed over the target, then the directory is fsynced so the rename itself survives a
 * power loss. When the file already holds exactly this content nothing is written (its mtime
 * stays); only its permission bits are repaired if they drifted.
 *
 * @example
 * ```ts
 * import { WriteAtomic } from "@archipelago/hooks"
 * const result = WriteAtomic.writeAtomic("/var/lib/archipelago/lnd/lnd.conf", text, { mode: 0o600, dirMode: 0o700 })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const writeAtomic: (
  path: string,
  content: string | Uint8Array,
  options?: WriteOptions
) => Effect.Effect<WriteResult, WriteFailed> = Effect.fn("WriteAtomic.writeAtomic")(function*(
  path: string,
  content: string | Uint8Array,
  options?: WriteOptions
) {
  if (!NodePath.isAbsolute(path)) {
    return yield* new WriteFailed({ path, reason: "the path must be absolute" })
  }
  const data = typeof content === "string" ? Buffer.from(content, "utf8") : Buffer.from(content)
  const mode = options?.mode ?? 0o644
  const dirMode = options?.dirMode ?? 0o755
  const written = yield* attempt(path, () => write(path, data, mode, dirMode))
  return { written, sha256: sha256(data) }
})

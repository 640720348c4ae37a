/**
 * Safe file I/O under a trusted root: the one module every reader and writer of the node's own
 * files uses (state.json, rpc-token, secrets, files rendered by pre-start hooks).
 *
 * Folders under the data dir are bind-mounted read-write into containers, so a compromised app
 * can put a symlink, a FIFO or a folder link where the orchestrator expects its file. Here:
 * - every folder between the root and the file is opened one component at a time with
 *   `O_NOFOLLOW | O_DIRECTORY` through the previous folder's descriptor (`/proc/self/fd/<fd>/x`,
 *   Linux's `openat`), so a symlinked folder is refused with `UnsafePath` naming it;
 * - the file itself is opened with `O_NOFOLLOW | O_NONBLOCK`; a symlink or anything that is not a
 *   regular file is treated as absent, logged as a warning naming the path, and a write replaces
 *   it by a regular file through a rename (its target is never read, written or chmod'ed);
 * - writes are atomic: a temp file in the same folder, fsync, rename, fsync of the folder; nothing
 *   is written when the content is unchanged (only a drifted mode is repaired, on the descriptor).
 *
 * It reaches `node:fs` through `fs/internal/Files`, the orchestrator's one door to it. Over 500
 * lines: the descriptor-relative folder walk and every call built on it (read, settled read,
 * write, compare-and-swap, create, append, streamed write) share their internals, which must not
 * be exported.
 *
 * @since 0.1.0
 */
import { createHash, randomBytes } from "node:crypto"
import * as NodePath from "node:path"
import { Data, Effect, Option } from "effect"
import * as Fs from "./internal/Files.js"
import { type BigIntStats, constants, existsSync } from "./internal/Files.js"

/**
 * An I/O failure. Carries the path and the system's error code, never the content.
 *
 * @since 0.1.0
 * @category errors
 */
export class SafeFileError extends Data.TaggedError("SafeFileError")<{
  readonly path: string
  readonly reason: string
}> {
  override get message(): string {
    return `cannot use ${this.path}: ${this.reason}`
  }
}

/**
 * A path that would leave its root: a folder on the way is a symlink (or not a folder), or the
 * path lies outside the root. Names the offending path.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnsafePath extends Data.TaggedError("UnsafePath")<{
  readonly path: string
  readonly reason: string
}> {
  override get message(): string {
    return `refused ${this.path}: ${this.reason}`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * The trusted folder the path lies under (default: the path's own folder). Folders between
   * the root and the file must be real folders; the root itself may be reached through a symlink.
   */
  readonly root?: string
}

/**
 * A compare-and-swap write found the file changed since it was read (see `writeIfUnchanged`):
 * nothing was written.
 *
 * @since 0.1.0
 * @category errors
 */
export class FileChanged extends Data.TaggedError("FileChanged")<{
  readonly path: string
}> {
  override get message(): string {
    return `${this.path} changed since it was read: not overwritten`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface WriteOptions extends Options {
  /** The file's permission bits, applied exactly (umask does not narrow them). Default 0644. */
  readonly mode?: number
  /** The permission bits of folders this write creates (existing ones are left alone). Default 0755. */
  readonly dirMode?: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ReadOptions extends Options {
  /** Narrow a file readable or writable by group or others to its owner's bits (on the descriptor). */
  readonly narrow?: boolean
  /**
   * Refuse a file larger than this many bytes (`SafeFileError`, reason "larger than N bytes")
   * without reading more than one byte past it. Default: no limit.
   */
  readonly maxBytes?: number
}

/**
 * A file that kept changing while it was read (see `readSettled`): every attempt saw it modified
 * within the quiet window, or saw its size, times or inode change during the read. Nothing read
 * from it is returned.
 *
 * @since 0.1.0
 * @category errors
 */
export class FileUnsettled extends Data.TaggedError("FileUnsettled")<{
  readonly path: string
  readonly attempts: number
  /** What the last attempt saw change. */
  readonly reason: string
}> {
  override get message(): string {
    return `${this.path} kept changing while it was read (${this.attempts} attempts, last: ${this.reason}): not used`
  }
}

/**
 * When a file counts as settled for `readSettled`, and how long to wait for it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Settle {
  /** The file must have gone unchanged (size, mtime, ctime, inode) for this long before it is read. */
  readonly quietMs: number
  /** Reads tried before giving up with `FileUnsettled`. */
  readonly attempts: number
  /** The pause after an attempt that saw the file change. */
  readonly waitMs: number
}

/**
 * The default of `readSettled`: 100 ms of quiet, 10 attempts 50 ms apart (about 2 s at most).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultSettle: Settle = { quietMs: 100, attempts: 10, waitMs: 50 }

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
 * Permission bits for folders holding a secret.
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

/**
 * True when `path` is `root` itself or lies below it (lexically).
 *
 * @since 0.1.0
 * @category guards
 */
export const isWithin = (root: string, path: string): boolean => {
  const rel = NodePath.relative(root, path)
  return rel === "" || (!rel.startsWith("..") && !NodePath.isAbsolute(rel))
}

// ---------------------------------------------------------------------------------------------
// internals (Promise based, wrapped once below)

class Unsafe extends Error {
  constructor(readonly path: string, readonly why: string) {
    super(why)
  }
}

const codeOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : undefined

const reasonOf = (error: unknown): string => {
  const code = codeOf(error)
  if (code !== undefined) {
    const syscall = typeof error === "object" && error !== null && "syscall" in error && typeof error.syscall === "string"
      ? ` (${error.syscall})`
      : ""
    return `${code}${syscall}`
  }
  return error instanceof Error ? error.message : String(error)
}

const hasProcFd = existsSync("/proc/self/fd")
const dirFlags = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW

/** A folder opened without following links; `at(name)` names an entry through its descriptor. */
interface Dir {
  readonly handle: Fs.FileHandle
  readonly real: string
  readonly at: (name: string) => string
  readonly close: () => Promise<void>
}

const makeDir = (handle: Fs.FileHandle, real: string): Dir => ({
  handle,
  real,
  // Through the descriptor, a folder swapped for a symlink after the check cannot redirect the call.
  at: (name) => (hasProcFd ? `/proc/self/fd/${handle.fd}/${name}` : NodePath.join(real, name)),
  close: () => handle.close()
})

/** Why a folder component cannot be opened as a real folder. */
const notAFolder = async (path: string, shown: string): Promise<Unsafe> => {
  const link = await Fs.lstat(path).then((s) => s.isSymbolicLink(), () => false)
  return new Unsafe(shown, link ? "it is a symlink" : "it is not a folder")
}

/**
 * Opens `dir` (which must lie under `root`) component by component, refusing symlinks. Missing
 * folders are created with exactly `create` bits when given; otherwise `undefined` is returned.
 */
const openDir = async (root: string, dir: string, create?: number): Promise<Dir | undefined> => {
  if (!isWithin(root, dir)) throw new Unsafe(dir, `it lies outside ${root}`)
  if (create !== undefined) await Fs.mkdir(root, { recursive: true, mode: create })
  let real: string
  try {
    real = await Fs.realpath(root)
  } catch (error) {
    if (codeOf(error) === "ENOENT") return undefined
    throw error
  }
  let current = makeDir(await Fs.open(real, constants.O_RDONLY | constants.O_DIRECTORY), real)
  let shown = root
  try {
    for (const part of NodePath.relative(root, dir).split(NodePath.sep).filter((p) => p.length > 0)) {
      shown = NodePath.join(shown, part)
      const target = current.at(part)
      let next: Fs.FileHandle
      try {
        next = await Fs.open(target, dirFlags)
      } catch (error) {
        const code = codeOf(error)
        if (code === "ELOOP" || code === "ENOTDIR") throw await notAFolder(target, shown)
        if (code !== "ENOENT") throw error
        if (create === undefined) {
          await current.close()
          return undefined
        }
        await Fs.mkdir(target, { mode: create }).catch((e: unknown) => {
          if (codeOf(e) !== "EEXIST") throw e
        })
        try {
          next = await Fs.open(target, dirFlags)
        } catch (e) {
          const c = codeOf(e)
          if (c === "ELOOP" || c === "ENOTDIR") throw await notAFolder(target, shown)
          throw e
        }
        await next.chmod(create)
      }
      await current.close()
      current = makeDir(next, NodePath.join(current.real, part))
    }
    return current
  } catch (error) {
    await current.close().catch(() => undefined)
    throw error
  }
}

interface Found {
  readonly data: Buffer
  readonly uid: number
  readonly gid: number
  readonly mode: number
}

type Warn = (message: string) => void

/**
 * Opens `name` under `dir` for reading without following a symlink (nor blocking on a FIFO):
 * undefined when it is absent, or a symlink (warned, with what becomes of it).
 */
const openForReading = async (dir: Dir, name: string, shown: string, warn: Warn, fate: string): Promise<Fs.FileHandle | undefined> => {
  try {
    return await Fs.open(dir.at(name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch (error) {
    const code = codeOf(error)
    if (code === "ENOENT") return undefined
    if (code === "ELOOP") {
      warn(`${shown} is a symlink: not followed, ${fate}`)
      return undefined
    }
    throw error
  }
}

/** Reads `name` in `dir` without following a link; a link or a non-regular file is absent. */
const readIn = async (
  dir: Dir,
  name: string,
  shown: string,
  warn: Warn,
  fix?: (handle: Fs.FileHandle, mode: number, data: Buffer) => Promise<void>,
  fate = "treated as absent",
  maxBytes?: number
): Promise<Found | undefined> => {
  const handle = await openForReading(dir, name, shown, warn, fate)
  if (handle === undefined) return undefined
  try {
    const stat = await handle.stat()
    if (!stat.isFile()) {
      warn(`${shown} is not a regular file: not read, ${fate}`)
      return undefined
    }
    const data = maxBytes === undefined ? await handle.readFile() : await readBounded(handle, stat.size, maxBytes)
    if (fix !== undefined) await fix(handle, stat.mode & 0o7777, data)
    return { data, uid: stat.uid, gid: stat.gid, mode: stat.mode & 0o7777 }
  } finally {
    await handle.close()
  }
}

class TooLarge extends Error {
  constructor(readonly limit: number) {
    super(`larger than ${limit} bytes`)
  }
}

/** Reads at most `limit` bytes; a file holding more (also one grown since its stat) is refused. */
const readBounded = async (handle: Fs.FileHandle, size: number, limit: number): Promise<Buffer> => {
  if (size > limit) throw new TooLarge(limit)
  const buffer = Buffer.alloc(limit + 1)
  let filled = 0
  while (filled < buffer.length) {
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled)
    if (bytesRead === 0) break
    filled += bytesRead
  }
  if (filled > limit) throw new TooLarge(limit)
  return buffer.subarray(0, filled)
}

const tempPrefix = (base: string): string => `.${base}.tmp-`

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return codeOf(error) !== "ESRCH"
  }
}

const tempPattern = /^\.(.+)\.tmp-(\d+)-[0-9a-f]+$/

/**
 * The writer's pid of a temp file name of this module (`.<base>.tmp-<pid>-<hex>`), when it is one.
 *
 * @since 0.1.0
 * @category getters
 */
export const tempOwner = (name: string): { readonly base: string; readonly pid: number } | undefined => {
  const m = tempPattern.exec(name)
  if (m === null) return undefined
  const pid = Number(m[2])
  return Number.isSafeInteger(pid) && pid > 0 ? { base: m[1]!, pid } : undefined
}

/** Removes temp files left by writers (of `base` only, when given) that were killed mid-write. */
const removeStaleTemps = async (dir: Dir, base?: string): Promise<ReadonlyArray<string>> => {
  let names: Array<string>
  try {
    names = await Fs.readdir(dir.at("."))
  } catch {
    return []
  }
  const removed: Array<string> = []
  for (const name of names) {
    const owner = tempOwner(name)
    if (owner === undefined || (base !== undefined && owner.base !== base)) continue
    if (owner.pid !== process.pid && !isAlive(owner.pid)) {
      await Fs.unlink(dir.at(name)).then(() => removed.push(name), () => undefined)
    }
  }
  return removed
}

/** Writes a fresh temp file of `base` in `dir` (O_EXCL, fsynced) and returns its name. */
const writeTemp = async (dir: Dir, base: string, data: Buffer, mode: number, owner?: Found): Promise<string> => {
  const name = `${tempPrefix(base)}${process.pid}-${randomBytes(6).toString("hex")}`
  const handle = await Fs.open(
    dir.at(name),
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    mode
  )
  try {
    // The replacement keeps the owner of the file it replaces (a container may have chowned it to
    // its own user); without the privilege to do so, the writer's ownership stays.
    if (owner !== undefined && (owner.uid !== process.getuid?.() || owner.gid !== process.getgid?.())) {
      await handle.chown(owner.uid, owner.gid).catch((error: unknown) => {
        if (codeOf(error) !== "EPERM") throw error
      })
    }
    await handle.chmod(mode)
    await handle.writeFile(data)
    await handle.sync()
  } catch (error) {
    await handle.close().catch(() => undefined)
    await Fs.unlink(dir.at(name)).catch(() => undefined)
    throw error
  }
  await handle.close()
  return name
}

const split = (path: string, options: Options | undefined) => {
  const file = NodePath.resolve(path)
  return { file, dir: NodePath.dirname(file), base: NodePath.basename(file), root: NodePath.resolve(options?.root ?? NodePath.dirname(file)) }
}

const basicError = (path: string, error: unknown): SafeFileError | UnsafePath =>
  error instanceof Unsafe
    ? new UnsafePath({ path: error.path, reason: error.why })
    : new SafeFileError({ path, reason: reasonOf(error) })

const runAs = <A, E>(f: (warn: Warn) => Promise<A>, toError: (error: unknown) => E): Effect.Effect<A, E> =>
  Effect.gen(function*() {
    const warnings: Array<string> = []
    const result = yield* Effect.tryPromise({
      try: () => f((message) => warnings.push(message)),
      catch: toError
    }).pipe(Effect.ensuring(Effect.forEach(warnings, (w) => Effect.logWarning(w), { discard: true })))
    return result
  })

const run = <A>(path: string, f: (warn: Warn) => Promise<A>): Effect.Effect<A, SafeFileError | UnsafePath> =>
  runAs(f, (error) => basicError(path, error))

/** What tells one state of a file from another: a write in place changes mtime and ctime. */
interface Stamp {
  readonly dev: bigint
  readonly ino: bigint
  readonly size: bigint
  readonly mtimeNs: bigint
  readonly ctimeNs: bigint
}

const stampOf = (s: BigIntStats): Stamp => ({ dev: s.dev, ino: s.ino, size: s.size, mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs })

/** What changed between two stamps, or undefined when nothing did. */
const changeOf = (a: Stamp, b: Stamp): string | undefined =>
  a.dev !== b.dev || a.ino !== b.ino
    ? "it was replaced (a new inode)"
    : a.size !== b.size
    ? `its size changed (${a.size} to ${b.size} bytes)`
    : a.mtimeNs !== b.mtimeNs || a.ctimeNs !== b.ctimeNs
    ? "it was modified (mtime or ctime moved)"
    : undefined

// Stability is judged against the file system's own (real) clock, so these waits are real time,
// never an Effect clock a test may have frozen.
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))

/** A file changed longer ago than this is not looked for among the open files of processes. */
const writerCheckWindowMs = 60_000

/**
 * The pids of the processes holding the file `dev`/`ino` open for writing (`O_WRONLY` or
 * `O_RDWR`, from `/proc/<pid>/fdinfo`): a writer that stalls in the middle of an in-place write
 * (a loaded machine descheduling it) leaves a file that looks quiet but is torn. Processes whose
 * `/proc/<pid>/fd` this process may not read (another user's) are not seen.
 */
const openWriters = async (dev: bigint, ino: bigint): Promise<ReadonlyArray<number>> => {
  if (!hasProcFd) return []
  const pids = (await Fs.readdir("/proc").catch(() => [] as Array<string>)).filter((n) => /^\d+$/.test(n))
  const found = await Promise.all(pids.map(async (pid) => {
    const fds = await Fs.readdir(`/proc/${pid}/fd`).catch(() => [] as Array<string>)
    const writing = await Promise.all(fds.map(async (fd) => {
      const st = await Fs.stat(`/proc/${pid}/fd/${fd}`, { bigint: true }).catch(() => undefined)
      if (st === undefined || st.ino !== ino || st.dev !== dev) return false
      const info = await Fs.readFile(`/proc/${pid}/fdinfo/${fd}`, "utf8").catch(() => "")
      const flags = /^flags:\s*([0-7]+)/m.exec(info)
      // O_ACCMODE is 3 on Linux (not exported by node:fs)
      return flags !== null && (parseInt(flags[1]!, 8) & 3) !== constants.O_RDONLY
    }))
    return writing.some((w) => w) ? [Number(pid)] : []
  }))
  return found.flat()
}

class Unsettled extends Error {
  constructor(readonly attempts: number, readonly why: string) {
    super(why)
  }
}

/**
 * `readIn` for a file another process may be writing in place: an attempt reads only a file
 * whose ctime is at least `quietMs` old (or that stayed unchanged while waiting that long), and
 * keeps what it read only when size, times and inode (also of the name) are the same after the
 * read and the bytes read match the size. Throws `Unsettled` when no attempt succeeds.
 */
const readSettledIn = async (
  dir: Dir,
  name: string,
  shown: string,
  warn: Warn,
  settle: Settle,
  maxBytes?: number
): Promise<Found | undefined> => {
  let last = "never read"
  const attempts = Math.max(1, settle.attempts)
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await sleep(settle.waitMs)
    const handle = await openForReading(dir, name, shown, warn, "treated as absent")
    if (handle === undefined) return undefined
    try {
      const stat = await handle.stat({ bigint: true })
      if (!stat.isFile()) {
        warn(`${shown} is not a regular file: not read, treated as absent`)
        return undefined
      }
      const before = stampOf(stat)
      // A ctime in the future (the clock went back) is not trusted: the file is watched instead.
      const age = Date.now() - Number(stat.ctimeNs / 1_000_000n)
      if (age < settle.quietMs) {
        await sleep(settle.quietMs - Math.max(0, age))
        const change = changeOf(before, stampOf(await handle.stat({ bigint: true })))
        if (change !== undefined) {
          last = change
          continue
        }
      }
      const data = maxBytes === undefined ? await handle.readFile() : await readBounded(handle, Number(before.size), maxBytes)
      // Looked for between the read and the second stat: a writer that finishes after this
      // look moves the times the second stat sees.
      if (Date.now() - Number(stat.ctimeNs / 1_000_000n) < writerCheckWindowMs) {
        const writers = await openWriters(before.dev, before.ino)
        if (writers.length > 0) {
          last = `it is open for writing by pid ${writers.join(", ")}`
          continue
        }
      }
      const after = stampOf(await handle.stat({ bigint: true }))
      const change = changeOf(before, after) ??
        (BigInt(data.length) !== after.size ? `${data.length} bytes read of ${after.size}` : undefined)
      if (change !== undefined) {
        last = change
        continue
      }
      const named = await Fs.lstat(dir.at(name), { bigint: true }).catch((error: unknown) => {
        if (codeOf(error) === "ENOENT") return undefined
        throw error
      })
      if (named === undefined || named.dev !== before.dev || named.ino !== before.ino) {
        last = named === undefined ? "it was removed while read" : "it was replaced (a new inode)"
        continue
      }
      return { data, uid: Number(stat.uid), gid: Number(stat.gid), mode: Number(stat.mode) & 0o7777 }
    } finally {
      await handle.close()
    }
  }
  throw new Unsettled(attempts, last)
}

const absolute = (path: string): Effect.Effect<void, SafeFileError> =>
  NodePath.isAbsolute(path) ? Effect.void : Effect.fail(new SafeFileError({ path, reason: "the path must be absolute" }))

// ---------------------------------------------------------------------------------------------
// API

/**
 * Reads a file without following a symlink anywhere under `root`. `None` when it is absent, or
 * when it is a symlink or not a regular file (logged as a warning naming the path).
 *
 * @since 0.1.0
 * @category constructors
 */
export const read = (path: string, options?: ReadOptions): Effect.Effect<Option.Option<Uint8Array>, SafeFileError | UnsafePath> =>
  Effect.andThen(
    absolute(path),
    run(path, async (warn) => {
      const { base, dir, file, root } = split(path, options)
      const d = await openDir(root, dir)
      if (d === undefined) return Option.none()
      try {
        const found = await readIn(d, base, file, warn, options?.narrow === true ?
          async (handle, mode) => {
            if ((mode & 0o077) === 0) return
            warn(`${file} was accessible to others (mode ${mode.toString(8)}); narrowed to ${(mode & 0o700).toString(8)}`)
            await handle.chmod(mode & 0o700)
          } :
          undefined, undefined, options?.maxBytes)
        return found === undefined ? Option.none() : Option.some(new Uint8Array(found.data))
      } finally {
        await d.close()
      }
    })
  )

/**
 * `read` as UTF-8 text.
 *
 * @since 0.1.0
 * @category constructors
 */
export const readString = (path: string, options?: ReadOptions): Effect.Effect<Option.Option<string>, SafeFileError | UnsafePath> =>
  Effect.map(read(path, options), Option.map((bytes) => Buffer.from(bytes).toString("utf8")))

/**
 * `read` for a file another process may be rewriting in place (an app's `channel.backup`, LND's
 * macaroon or `tls.cert` while LND writes them): the bytes are returned only when the file had
 * been left alone for `settle.quietMs` and its size, mtime, ctime and inode were the same before
 * and after the read. Otherwise it waits `settle.waitMs` and tries again, up to
 * `settle.attempts` times, then fails with `FileUnsettled` naming the file: a torn read is never
 * returned. A file written by a temp file and a rename is always whole; the check is for writers
 * that truncate and write in place. A writer pausing longer than `quietMs` in the middle of a
 * write is caught while it holds the file open for writing: a file changed within the last
 * minute is also refused while any process this one can see (`/proc/<pid>/fdinfo`) holds it open
 * for writing, so a file an app keeps open read-write for good never settles (copying it would
 * not be safe either).
 *
 * @since 0.1.0
 * @category constructors
 */
export const readSettled = (
  path: string,
  options?: ReadOptions & { readonly settle?: Settle }
): Effect.Effect<Option.Option<Uint8Array>, SafeFileError | UnsafePath | FileUnsettled> =>
  Effect.andThen(
    absolute(path),
    runAs(async (warn) => {
      const { base, dir, file, root } = split(path, options)
      const d = await openDir(root, dir)
      if (d === undefined) return Option.none()
      try {
        const found = await readSettledIn(d, base, file, warn, options?.settle ?? defaultSettle, options?.maxBytes)
        return found === undefined ? Option.none() : Option.some(new Uint8Array(found.data))
      } finally {
        await d.close()
      }
    }, (error) =>
      error instanceof Unsettled
        ? new FileUnsettled({ path: NodePath.resolve(path), attempts: error.attempts, reason: error.why })
        : basicError(path, error))
  )

/**
 * Writes `content` to `path` atomically: a temp file in the same folder is written, fsynced and
 * renamed over the target, then the folder is fsynced so the rename survives a power loss. When
 * the file already holds exactly this content nothing is written (its mtime stays); only its
 * permission bits are repaired if they drifted. A symlink or a non-regular file at `path` is
 * replaced (logged as a warning); its target is never touched. Missing folders under `root` are
 * created with `dirMode`.
 *
 * @example
 * ```ts
 * import { SafeFile } from "@archipelago/orchestrator"
 * SafeFile.write("/var/lib/archipelago/lnd/lnd.conf", text, { root: "/var/lib/archipelago", mode: 0o600, dirMode: 0o700 })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const write = (
  path: string,
  content: string | Uint8Array,
  options?: WriteOptions
): Effect.Effect<WriteResult, SafeFileError | UnsafePath> =>
  Effect.flatMap(replace(path, content, options, undefined), (result) =>
    // without an expectation a write never conflicts
    result === conflict ? Effect.die("unreachable: a write without an expectation conflicted") : Effect.succeed(result))

/**
 * Appends `content` to the file at `path` (created with `mode` when absent, folders under `root`
 * with `dirMode`), in one `O_APPEND` write: a record a process killed right after the call
 * returned is in the file. The file is opened without following a symlink anywhere under
 * `root`; a symlink or non-regular file there fails. No fsync: for journals that must survive
 * the process, not a power loss (those use `write`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const append = (
  path: string,
  content: string | Uint8Array,
  options?: WriteOptions
): Effect.Effect<void, SafeFileError | UnsafePath> =>
  Effect.andThen(
    absolute(path),
    run(path, async () => {
      const { base, dir, root } = split(path, options)
      const d = await openDir(root, dir, options?.dirMode ?? 0o700)
      if (d === undefined) throw new Error(`cannot open ${dir}`)
      try {
        const handle = await Fs.open(
          d.at(base),
          constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK,
          options?.mode ?? 0o600
        )
        try {
          if (!(await handle.stat()).isFile()) throw new Unsafe(path, "it is not a regular file")
          await handle.write(typeof content === "string" ? Buffer.from(content, "utf8") : content)
        } finally {
          await handle.close()
        }
      } finally {
        await d.close()
      }
    })
  )

/**
 * Like `write`, but only when the file still holds `expected` (`null`: it must be absent, or be
 * a symlink or non-regular file, which reads as absent): the compare-and-swap of a
 * read-modify-write. A renderer that read a file, merged its own keys into it and writes it back
 * would otherwise overwrite a rewrite made in between by the app that owns the file; here it
 * gets `FileChanged` and reads again. The check and the rename are as close as one process can
 * make them (the content is compared under the folder's descriptor just before the temp file is
 * written and renamed), not a lock another process honours.
 *
 * @since 0.1.0
 * @category constructors
 */
export const writeIfUnchanged = (
  path: string,
  content: string | Uint8Array,
  options: WriteOptions & { readonly expected: string | Uint8Array | null }
): Effect.Effect<WriteResult, SafeFileError | UnsafePath | FileChanged> =>
  Effect.flatMap(
    replace(path, content, options, options.expected === null ? null : bufferOf(options.expected)),
    (result) => result === conflict ? Effect.fail(new FileChanged({ path })) : Effect.succeed(result)
  )

const bufferOf = (content: string | Uint8Array): Buffer =>
  typeof content === "string" ? Buffer.from(content, "utf8") : Buffer.from(content)

const conflict = Symbol("conflict")

const replace = (
  path: string,
  content: string | Uint8Array,
  options: WriteOptions | undefined,
  // undefined: no expectation; null: the file must read as absent
  expected: Buffer | null | undefined
): Effect.Effect<WriteResult | typeof conflict, SafeFileError | UnsafePath> =>
  Effect.andThen(
    absolute(path),
    Effect.suspend(() => {
      const data = bufferOf(content)
      const mode = options?.mode ?? 0o644
      const dirMode = options?.dirMode ?? 0o755
      return run(path, async (warn): Promise<WriteResult | typeof conflict> => {
        const { base, dir, file, root } = split(path, options)
        const d = (await openDir(root, dir, dirMode))!
        try {
          // A permission drift of identical content is repaired in place, on the descriptor: no
          // rename and no new mtime.
          const existing = await readIn(d, base, file, warn, async (handle, current, found) => {
            if (current !== mode && found.equals(data)) await handle.chmod(mode)
          }, "replaced by a regular file")
          if (expected !== undefined && !(expected === null ? existing === undefined : existing?.data.equals(expected) === true)) {
            return conflict
          }
          if (existing !== undefined && existing.data.equals(data)) return { written: false, sha256: sha256(data) }
          await removeStaleTemps(d, base)
          const temp = await writeTemp(d, base, data, mode, existing)
          try {
            await Fs.rename(d.at(temp), d.at(base))
          } catch (error) {
            await Fs.unlink(d.at(temp)).catch(() => undefined)
            throw error
          }
          await d.handle.sync()
          return { written: true, sha256: sha256(data) }
        } finally {
          await d.close()
        }
      })
    })
  )

/**
 * Creates `path` with `content` unless a regular file is already there, never replacing one: the
 * content is written and fsynced in a temp file which is hard-linked to the final name (`link`
 * fails if the name exists), so concurrent creators in several processes agree on one winner. A
 * symlink or non-regular file at `path` is removed first (logged as a warning), unless
 * `replaceNonFile` is false. Returns true when this call created the file.
 *
 * @since 0.1.0
 * @category constructors
 */
export const create = (
  path: string,
  content: string | Uint8Array,
  options?: WriteOptions & {
    /**
     * Default true: a symlink or non-regular file at `path` (planted in a folder a container can
     * write) is removed and the file created. False: any entry there counts as existing and is
     * kept (a file of the user's own, such as a systemd unit linked with `systemctl link`).
     */
    readonly replaceNonFile?: boolean
  }
): Effect.Effect<boolean, SafeFileError | UnsafePath> =>
  Effect.andThen(
    absolute(path),
    Effect.suspend(() => {
      const data = typeof content === "string" ? Buffer.from(content, "utf8") : Buffer.from(content)
      const mode = options?.mode ?? secretFileMode
      const dirMode = options?.dirMode ?? secretDirMode
      return run(path, async (warn) => {
        const { base, dir, file, root } = split(path, options)
        const d = (await openDir(root, dir, dirMode))!
        try {
          const temp = await writeTemp(d, base, data, mode)
          try {
            for (let attempt = 0;; attempt++) {
              try {
                await Fs.link(d.at(temp), d.at(base))
                break
              } catch (error) {
                if (codeOf(error) !== "EEXIST" || attempt > 0) {
                  if (codeOf(error) === "EEXIST") return false
                  throw error
                }
                const stat = await Fs.lstat(d.at(base))
                if (stat.isFile() || options?.replaceNonFile === false) return false
                if (stat.isDirectory()) throw error
                warn(`${file} is ${stat.isSymbolicLink() ? "a symlink" : "not a regular file"}: removed, not followed`)
                await Fs.unlink(d.at(base))
              }
            }
          } finally {
            await Fs.unlink(d.at(temp)).catch(() => undefined)
          }
          await d.handle.sync()
          return true
        } finally {
          await d.close()
        }
      })
    })
  )

/**
 * The temp file a `writeWith` fill writes to (Node's `FileHandle` is one; named here so the
 * package's declarations need no Node types).
 *
 * @since 0.1.0
 * @category models
 */
export interface Sink {
  readonly write: (data: Uint8Array, offset?: number, length?: number) => Promise<{ readonly bytesWritten: number }>
}

/**
 * Writes `path` atomically from content too large to hold in memory: `fill` gets a fresh temp
 * file's descriptor in the same folder (created `O_EXCL | O_NOFOLLOW` with `mode`, through the
 * folder's descriptor, every folder from `root` down opened without following a link), and when
 * it succeeds the file is fsynced, renamed over `path` (a symlink there is replaced, never
 * followed) and the folder fsynced. On any failure the temp file is removed and `path` is left
 * as it was.
 *
 * @since 0.1.0
 * @category constructors
 */
export const writeWith = <A, E, R>(
  path: string,
  options: WriteOptions,
  fill: (handle: Sink) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | SafeFileError | UnsafePath, R> =>
  Effect.andThen(
    absolute(path),
    Effect.suspend(() => {
      const mode = options.mode ?? secretFileMode
      const { base, dir, root } = split(path, options)
      return Effect.acquireUseRelease(
        run(path, async () => {
          const d = (await openDir(root, dir, options.dirMode ?? secretDirMode))!
          try {
            await removeStaleTemps(d, base)
            const name = `${tempPrefix(base)}${process.pid}-${randomBytes(6).toString("hex")}`
            const handle = await Fs.open(d.at(name), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode)
            return { d, name, handle, done: false }
          } catch (error) {
            await d.close()
            throw error
          }
        }),
        (t) =>
          Effect.flatMap(fill(t.handle), (a) =>
            run(path, async () => {
              await t.handle.chmod(mode)
              await t.handle.sync()
              await t.handle.close()
              await Fs.rename(t.d.at(t.name), t.d.at(base))
              t.done = true
              await t.d.handle.sync()
              return a
            })),
        (t) =>
          Effect.promise(async () => {
            await t.handle.close().catch(() => undefined)
            if (!t.done) await Fs.unlink(t.d.at(t.name)).catch(() => undefined)
            await t.d.close().catch(() => undefined)
          })
      )
    })
  )

/**
 * Removes the temp files this module's writers left in `dir` when they were killed mid-write
 * (`.<name>.tmp-<pid>-<hex>` of a pid no longer alive; those of live writers stay). Answers the
 * names removed. A write cleans up after earlier writers of its own file; this is for folders
 * whose files get new names (timestamped copies), which no later write of the same name visits.
 *
 * @since 0.1.0
 * @category constructors
 */
export const removeDeadTemps = (
  dir: string,
  options?: Options
): Effect.Effect<ReadonlyArray<string>, SafeFileError | UnsafePath> =>
  Effect.andThen(
    absolute(dir),
    run(dir, async () => {
      const d = await openDir(NodePath.resolve(options?.root ?? dir), NodePath.resolve(dir))
      if (d === undefined) return []
      try {
        return await removeStaleTemps(d)
      } finally {
        await d.close()
      }
    })
  )

/**
 * Creates the folder `dir` and its missing parents under `root` with exactly `mode`, refusing a
 * symlink on the way. An existing folder is left as it is.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeDirectory = (
  dir: string,
  options: { readonly root: string; readonly mode?: number }
): Effect.Effect<void, SafeFileError | UnsafePath> =>
  Effect.andThen(
    absolute(dir),
    run(dir, async () => {
      const d = await openDir(NodePath.resolve(options.root), NodePath.resolve(dir), options.mode ?? 0o755)
      await d?.close()
    })
  )

/**
 * Checks that no component of `path` below `root` (the last one included) is a symlink, e.g. a
 * bind-mount source a container could have swapped for a link to a host file. A missing path
 * passes (there is nothing to follow).
 *
 * @since 0.1.0
 * @category guards
 */
export const checkNoSymlinks = (path: string, root: string): Effect.Effect<void, SafeFileError | UnsafePath> =>
  run(path, async () => {
    const file = NodePath.resolve(path)
    const base = NodePath.resolve(root)
    if (!isWithin(base, file)) throw new Unsafe(file, `it lies outside ${base}`)
    let current = base
    for (const part of NodePath.relative(base, file).split(NodePath.sep).filter((p) => p.length > 0)) {
      current = NodePath.join(current, part)
      try {
        if ((await Fs.lstat(current)).isSymbolicLink()) throw new Unsafe(current, "it is a symlink")
      } catch (error) {
        if (codeOf(error) === "ENOENT") return
        throw error
      }
    }
  })

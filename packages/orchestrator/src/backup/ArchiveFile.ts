/**
 * Archives on disk: write one from folders (streamed, never a whole file in memory), read one
 * back checking every entry against its manifest, and extract one into fresh folders. The
 * format is `Archive`'s; an archive is written to a temp file, fsynced and renamed, so a crash
 * never leaves a half archive under an archive's name.
 *
 * @since 0.1.0
 */
import { createHash, randomBytes } from "node:crypto"
import { constants } from "node:fs"
import type { Stats } from "node:fs"
import * as Fs from "node:fs/promises"
import * as NodePath from "node:path"
import { Data, Effect, Either, Schema } from "effect"
import * as Archive from "./Archive.js"
import type { ArchiveManifest, ManifestEntry, Root, Seen } from "./Archive.js"

/**
 * An I/O failure while writing, reading or extracting an archive: names the path.
 *
 * @since 0.1.0
 * @category errors
 */
export class ArchiveIoError extends Data.TaggedError("ArchiveIoError")<{
  readonly path: string
  readonly reason: string
}> {
  override get message(): string {
    return `${this.path}: ${this.reason}`
  }
}

/**
 * The archive's content does not match its manifest (a flipped bit, a truncated copy, an edited
 * file): lists the entries that differ.
 *
 * @since 0.1.0
 * @category errors
 */
export class ArchiveChecksumMismatch extends Data.TaggedError("ArchiveChecksumMismatch")<{
  readonly archive: string
  readonly problems: ReadonlyArray<Archive.Problem>
}> {
  override get message(): string {
    const first = this.problems.slice(0, 3).map((p) => `${p.path}: ${p.reason}`).join("; ")
    const more = this.problems.length > 3 ? ` (and ${this.problems.length - 3} more)` : ""
    return `${this.archive} does not match its manifest: ${first}${more}`
  }
}

/**
 * The archive is another app's.
 *
 * @since 0.1.0
 * @category errors
 */
export class ArchiveWrongApp extends Data.TaggedError("ArchiveWrongApp")<{
  readonly archive: string
  readonly expected: string
  readonly found: string
}> {
  override get message(): string {
    return `${this.archive} is a backup of ${this.found}, not of ${this.expected}`
  }
}

/**
 * Everything reading an archive can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type ReadError = ArchiveIoError | Archive.ArchiveCorrupt | ArchiveChecksumMismatch | ArchiveWrongApp

/**
 * One folder to archive under a root.
 *
 * @since 0.1.0
 * @category models
 */
export interface Source {
  readonly root: Root
  /** The folder on the host. */
  readonly dir: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface WriteInput {
  /** The archive's final path; its folder must exist. */
  readonly target: string
  readonly sources: ReadonlyArray<Source>
  /** Absolute host paths left out (with everything below them). */
  readonly exclude: ReadonlyArray<string>
  readonly meta: Pick<ArchiveManifest, "appId" | "version" | "image" | "imageDigest" | "createdAt" | "live">
}

/**
 * The largest file ustar's size field holds (8 GiB - 1).
 *
 * @since 0.1.0
 * @category constants
 */
export const maxFileSize = 8 ** 11 - 1

const chunkSize = 1 << 20

const ioError = (path: string) => (e: unknown) =>
  new ArchiveIoError({ path, reason: e instanceof Error ? ((e as NodeJS.ErrnoException).code ?? e.message) : String(e) })

const tryIo = <A>(path: string, f: () => Promise<A>) => Effect.tryPromise({ try: f, catch: ioError(path) })

class Changed extends Error {}

const typeOf = (st: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }) =>
  st.isFile() ? "file" as const : st.isDirectory() ? "dir" as const : st.isSymbolicLink() ? "symlink" as const : undefined

const writeArchive = async (input: WriteInput): Promise<ArchiveManifest> => {
  const dir = NodePath.dirname(input.target)
  const temp = NodePath.join(dir, `.${NodePath.basename(input.target)}.partial-${randomBytes(6).toString("hex")}`)
  const out = await Fs.open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600)
  const entries: Array<ManifestEntry> = []
  const excluded: Array<string> = []
  const roots: Array<Root> = []
  let bytes = 0
  const skip = new Set(input.exclude)
  const emit = async (data: Uint8Array) => {
    let off = 0
    while (off < data.length) off += (await out.write(data, off, data.length - off)).bytesWritten
  }
  const addFile = async (host: string, path: string, st: Stats) => {
    const size = Number(st.size)
    if (size > maxFileSize) throw new Error(`${host} is larger than ${maxFileSize} bytes, the most a ustar entry holds`)
    const h = await Fs.open(host, constants.O_RDONLY | constants.O_NOFOLLOW)
    try {
      const header = { path, type: "file" as const, mode: st.mode & 0o7777, uid: Number(st.uid), gid: Number(st.gid), size, mtime: Math.floor(Number(st.mtimeMs) / 1000), linkname: "" }
      await emit(Archive.headerBlocks(header))
      const hash = createHash("sha256")
      const buf = Buffer.alloc(Math.min(chunkSize, Math.max(1, size)))
      let left = size
      while (left > 0) {
        const { bytesRead } = await h.read(buf, 0, Math.min(buf.length, left), null)
        if (bytesRead === 0) throw new Changed(`${host} shrank while it was archived`)
        hash.update(buf.subarray(0, bytesRead))
        await emit(buf.subarray(0, bytesRead))
        left -= bytesRead
      }
      await emit(new Uint8Array(Archive.padded(size) - size))
      entries.push({ path, type: "file", mode: header.mode, uid: header.uid, gid: header.gid, size, sha256: hash.digest("hex") })
      bytes += size
    } finally {
      await h.close()
    }
  }
  const walk = async (host: string, path: string): Promise<void> => {
    if (skip.has(host)) {
      excluded.push(path)
      return
    }
    const st = await Fs.lstat(host)
    const type = typeOf(st)
    if (type === undefined) {
      excluded.push(`${path} (not a file, folder or symlink)`)
      return
    }
    const base = { path, mode: st.mode & 0o7777, uid: Number(st.uid), gid: Number(st.gid), mtime: Math.floor(Number(st.mtimeMs) / 1000) }
    if (type === "file") return addFile(host, path, st)
    if (type === "symlink") {
      const linkname = await Fs.readlink(host)
      await emit(Archive.headerBlocks({ ...base, type, size: 0, linkname }))
      entries.push({ path, type, mode: base.mode, uid: base.uid, gid: base.gid, size: 0, linkname })
      return
    }
    await emit(Archive.headerBlocks({ ...base, type, size: 0, linkname: "" }))
    entries.push({ path, type, mode: base.mode, uid: base.uid, gid: base.gid, size: 0 })
    const names = (await Fs.readdir(host)).sort()
    for (const name of names) await walk(NodePath.join(host, name), `${path}/${name}`)
  }
  try {
    for (const source of input.sources) {
      const st = await Fs.lstat(source.dir).catch((e: NodeJS.ErrnoException) => {
        if (e.code === "ENOENT") return undefined
        throw e
      })
      if (st === undefined) continue
      if (!st.isDirectory()) throw new Error(`${source.dir} is not a folder`)
      roots.push(source.root)
      await walk(source.dir, source.root.prefix)
    }
    const manifest: ArchiveManifest = {
      format: Archive.formatVersion,
      ...input.meta,
      roots,
      excluded,
      entries,
      bytes
    }
    const body = Buffer.from(`${JSON.stringify(manifest, null, 1)}\n`, "utf8")
    await emit(Archive.headerBlocks({ path: Archive.manifestName, type: "file", mode: 0o600, uid: 0, gid: 0, size: body.length, mtime: Math.floor(input.meta.createdAt / 1000), linkname: "" }))
    await emit(body)
    await emit(new Uint8Array(Archive.padded(body.length) - body.length))
    await emit(Archive.endBlocks())
    await out.sync()
    await out.close()
    await Fs.rename(temp, input.target)
    const d = await Fs.open(dir, constants.O_RDONLY | constants.O_DIRECTORY)
    try {
      await d.sync()
    } finally {
      await d.close()
    }
    return manifest
  } catch (e) {
    await out.close().catch(() => undefined)
    await Fs.unlink(temp).catch(() => undefined)
    throw e
  }
}

/**
 * Writes an archive of the sources atomically (temp file, fsync, rename, fsync of the folder),
 * 0600. Folders are walked without following symlinks (a link is archived as a link); sockets,
 * FIFOs and devices are left out and listed in `excluded`, as are the `exclude` paths.
 *
 * @since 0.1.0
 * @category constructors
 */
export const write = (input: WriteInput): Effect.Effect<ArchiveManifest, ArchiveIoError> =>
  tryIo(input.target, () => writeArchive(input))

// ---------------------------------------------------------------------------------------------
// reading

/**
 * Where `scan` puts the content of the entries it reads.
 *
 * @since 0.1.0
 * @category models
 */
export interface Sink {
  readonly dir: (path: string, mode: number) => Promise<void>
  readonly symlink: (path: string, linkname: string) => Promise<void>
  readonly file: (path: string, mode: number) => Promise<{ readonly write: (chunk: Uint8Array) => Promise<void>; readonly close: () => Promise<void> }>
}

class Corrupt extends Error {
  constructor(readonly where: string, readonly why: string) {
    super(why)
  }
}

const readFull = async (h: Fs.FileHandle, buf: Buffer, position: number): Promise<number> => {
  let got = 0
  while (got < buf.length) {
    const { bytesRead } = await h.read(buf, got, buf.length - got, position + got)
    if (bytesRead === 0) break
    got += bytesRead
  }
  return got
}

interface ScanResult {
  readonly manifest: ArchiveManifest
  readonly seen: ReadonlyArray<Seen>
}

const decodeManifest = Schema.decodeUnknownEither(Schema.parseJson(Archive.ArchiveManifest))

const scanArchive = async (archive: string, sink: Sink | undefined): Promise<ScanResult> => {
  const h = await Fs.open(archive, constants.O_RDONLY)
  try {
    const seen: Array<Seen> = []
    let manifestText: string | undefined
    let pos = 0
    let pax: { path?: string; linkpath?: string } = {}
    const block = Buffer.alloc(Archive.blockSize)
    for (;;) {
      const got = await readFull(h, block, pos)
      if (got < Archive.blockSize) throw new Corrupt(`offset ${pos}`, "the archive ends before its end blocks (truncated)")
      const parsed = Archive.parseHeader(block)
      if (Either.isLeft(parsed)) throw new Corrupt(`offset ${pos}`, parsed.left)
      pos += Archive.blockSize
      const header = parsed.right
      if (header === undefined) break
      if (header.type === "pax") {
        const body = Buffer.alloc(header.size)
        if ((await readFull(h, body, pos)) < header.size) throw new Corrupt(`offset ${pos}`, "truncated PAX header")
        const records = Archive.parsePax(body)
        if (Either.isLeft(records)) throw new Corrupt(`offset ${pos}`, records.left)
        pax = records.right
        pos += Archive.padded(header.size)
        continue
      }
      const rawPath = pax.path ?? header.path
      const linkname = pax.linkpath ?? header.linkname
      pax = {}
      const checked = Archive.checkPath(rawPath)
      if (Either.isLeft(checked)) throw new Corrupt(rawPath, checked.left)
      const path = checked.right
      if (path === Archive.manifestName) {
        if (manifestText !== undefined) throw new Corrupt(path, "appears twice")
        if (header.size > 256 * 1024 * 1024) throw new Corrupt(path, "too large")
        const body = Buffer.alloc(header.size)
        if ((await readFull(h, body, pos)) < header.size) throw new Corrupt(path, "truncated")
        manifestText = body.toString("utf8")
        pos += Archive.padded(header.size)
        continue
      }
      if (header.type === "file") {
        const hash = createHash("sha256")
        const out = await sink?.file(path, header.mode)
        try {
          const buf = Buffer.alloc(Math.min(chunkSize, Math.max(1, header.size)))
          let left = header.size
          let at = pos
          while (left > 0) {
            const want = Math.min(buf.length, left)
            const n = await readFull(h, buf.subarray(0, want), at)
            if (n < want) throw new Corrupt(path, "truncated content")
            hash.update(buf.subarray(0, n))
            if (out !== undefined) await out.write(buf.subarray(0, n))
            left -= n
            at += n
          }
        } finally {
          await out?.close()
        }
        seen.push({ path, type: "file", mode: header.mode, size: header.size, sha256: hash.digest("hex"), linkname: "" })
        pos += Archive.padded(header.size)
      } else if (header.type === "dir") {
        await sink?.dir(path, header.mode)
        seen.push({ path, type: "dir", mode: header.mode, size: 0, linkname: "" })
      } else {
        await sink?.symlink(path, linkname)
        seen.push({ path, type: "symlink", mode: header.mode, size: 0, linkname })
      }
    }
    if (manifestText === undefined) throw new Corrupt(Archive.manifestName, "missing: not an Archipelago backup")
    const manifest = decodeManifest(manifestText)
    if (Either.isLeft(manifest)) throw new Corrupt(Archive.manifestName, `invalid: ${manifest.left.message.split("\n")[0]}`)
    return { manifest: manifest.right, seen }
  } finally {
    await h.close()
  }
}

const scan = (archive: string, sink?: Sink): Effect.Effect<ScanResult, ArchiveIoError | Archive.ArchiveCorrupt> =>
  Effect.tryPromise({
    try: () => scanArchive(archive, sink),
    catch: (e) =>
      e instanceof Corrupt
        ? new Archive.ArchiveCorrupt({ archive, where: e.where, reason: e.why })
        : ioError(archive)(e)
  })

const check = (archive: string, result: ScanResult, appId: string | undefined) =>
  Effect.gen(function*() {
    if (appId !== undefined && result.manifest.appId !== appId) {
      return yield* Effect.fail(new ArchiveWrongApp({ archive, expected: appId, found: result.manifest.appId }))
    }
    const problems = Archive.verify(result.manifest, result.seen)
    if (problems.length > 0) return yield* Effect.fail(new ArchiveChecksumMismatch({ archive, problems }))
    return result.manifest
  })

/**
 * Reads a whole archive without extracting it: every header, every file's sha256 against the
 * manifest, and (when given) the app id. Answers the manifest.
 *
 * @since 0.1.0
 * @category combinators
 */
export const verify = (archive: string, appId?: string): Effect.Effect<ArchiveManifest, ReadError> =>
  Effect.flatMap(scan(archive), (r) => check(archive, r, appId))

/**
 * Reads only the manifest's facts of an archive (for listings); checks nothing but its form.
 *
 * @since 0.1.0
 * @category combinators
 */
export const readManifest = (archive: string): Effect.Effect<ArchiveManifest, ArchiveIoError | Archive.ArchiveCorrupt> =>
  Effect.map(scan(archive), (r) => r.manifest)

const isRoot = process.getuid?.() === 0

/**
 * Extracts a verified archive: each root's entries into the fresh folder `targets` maps its
 * prefix to (which must not exist yet; it is created 0700 and gets the archived mode at the
 * end). Files are created exclusively and never through a link; modes and owners (when running as
 * root) are restored. Checks the content against the manifest again while
 * writing; on any failure the caller removes the fresh folders.
 *
 * @since 0.1.0
 * @category combinators
 */
export const extract = (
  archive: string,
  appId: string,
  targets: ReadonlyMap<string, string>
): Effect.Effect<ArchiveManifest, ReadError> =>
  Effect.gen(function*() {
    const first = yield* verify(archive, appId)
    const owners = new Map(first.entries.map((e) => [e.path, e]))
    const dirs: Array<{ host: string; mode: number; entry: ManifestEntry | undefined }> = []
    const hostOf = (path: string): string => {
      const { prefix, rest } = Archive.splitRoot(path)
      const base = targets.get(prefix)
      if (base === undefined) throw new Corrupt(path, "no target folder for its root")
      return rest === "" ? base : NodePath.join(base, rest)
    }
    const chown = async (host: string, path: string) => {
      const e = owners.get(path)
      if (isRoot && e !== undefined) await Fs.lchown(host, e.uid, e.gid)
    }
    const sink: Sink = {
      dir: async (path, mode) => {
        const host = hostOf(path)
        await Fs.mkdir(host, { mode: 0o700 })
        dirs.push({ host, mode, entry: owners.get(path) })
      },
      symlink: async (path, linkname) => {
        const host = hostOf(path)
        await Fs.symlink(linkname, host)
        await chown(host, path)
      },
      file: async (path, mode) => {
        const host = hostOf(path)
        const h = await Fs.open(host, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
        return {
          write: async (chunk) => {
            let off = 0
            while (off < chunk.length) off += (await h.write(chunk, off, chunk.length - off)).bytesWritten
          },
          close: async () => {
            try {
              await h.chmod(mode & 0o7777)
              const e = owners.get(path)
              if (isRoot && e !== undefined) await h.chown(e.uid, e.gid)
              await h.sync()
            } finally {
              await h.close()
            }
          }
        }
      }
    }
    const result = yield* scan(archive, sink)
    const manifest = yield* check(archive, result, appId)
    yield* tryIo(archive, async () => {
      // deepest first, so a read-only folder is made read-only after its children are written
      for (const d of dirs.reverse()) {
        await Fs.chmod(d.host, d.mode & 0o7777)
        if (isRoot && d.entry !== undefined) await Fs.lchown(d.host, d.entry.uid, d.entry.gid)
      }
    })
    return manifest
  })

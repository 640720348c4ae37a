/**
 * Archives on disk: write one from folders (streamed, never a whole file in memory), read one
 * back checking every entry against its manifest, and extract one into fresh folders. The
 * format is `Archive`'s; an archive is written to a temp file, fsynced and renamed, so a crash
 * never leaves a half archive under an archive's name.
 *
 * Over 500 lines: packing, checking and extracting walk the same entries with the same
 * refusals (links, non-regular files, paths leaving the root) and are kept side by side so they
 * cannot drift. It opens descriptors itself (`O_NOFOLLOW`, `O_EXCL`), through the primitives of
 * `fs/internal/Files`: `SafeFile`'s whole-file calls cannot stream an archive.
 *
 * @since 0.1.0
 */
import { createHash, randomBytes } from "node:crypto"
import * as NodePath from "node:path"
import * as Age from "age-encryption"
import { Data, Effect, Result, Option, Schema } from "effect"
import type { Scope } from "effect"
import * as SafeFile from "../fs/SafeFile.js"
import * as Fs from "../fs/internal/Files.js"
import { constants, type Stats } from "../fs/internal/Files.js"
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
 * An encrypted archive that the configured key does not open (another passphrase or key file).
 *
 * @since 0.1.0
 * @category errors
 */
export class ArchiveWrongKey extends Data.TaggedError("ArchiveWrongKey")<{
  readonly archive: string
}> {
  override get message(): string {
    return `${this.archive}: the backup key does not open this archive (it was encrypted with another passphrase or key file)`
  }
}

/**
 * An encrypted archive whose bytes were changed after it was written (its header or content fails
 * age's authentication): nothing of it is used.
 *
 * @since 0.1.0
 * @category errors
 */
export class ArchiveTampered extends Data.TaggedError("ArchiveTampered")<{
  readonly archive: string
  readonly reason: string
}> {
  override get message(): string {
    return `${this.archive}: tampered with or damaged, refused: ${this.reason}`
  }
}

/**
 * An encrypted archive, and no backup key is configured to open it.
 *
 * @since 0.1.0
 * @category errors
 */
export class ArchiveKeyMissing extends Data.TaggedError("ArchiveKeyMissing")<{
  readonly archive: string
}> {
  override get message(): string {
    return `${this.archive}: the archive is encrypted and no backup key is configured`
  }
}

/**
 * A plaintext archive where only encrypted ones are accepted (a backup key is configured): it was
 * made before encryption was set up, or planted by whoever can write the backup target; its
 * content cannot be authenticated.
 *
 * @since 0.1.0
 * @category errors
 */
export class ArchiveNotEncrypted extends Data.TaggedError("ArchiveNotEncrypted")<{
  readonly archive: string
}> {
  override get message(): string {
    return `${this.archive}: not encrypted, refused: with a backup key configured only archives encrypted with it are restored (a plaintext one cannot be authenticated)`
  }
}

/**
 * Everything reading an archive can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type ReadError =
  | ArchiveIoError
  | Archive.ArchiveCorrupt
  | ArchiveChecksumMismatch
  | ArchiveWrongApp
  | ArchiveWrongKey
  | ArchiveTampered
  | ArchiveKeyMissing
  | ArchiveNotEncrypted

/**
 * How an archive is read: the key that opens encrypted archives, and whether a plaintext one is
 * refused.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReadOptions {
  readonly key?: Archive.Encryption | undefined
  /** Refuse a plaintext archive (`ArchiveNotEncrypted`); default: when `key` is given. */
  readonly requireEncrypted?: boolean | undefined
}

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
  /** The archive's final path. */
  readonly target: string
  /**
   * The trusted folder the target lies under (default: the target's folder): every folder from
   * here down is opened without following a link, and missing ones are created 0700.
   */
  readonly root?: string
  /** Encrypts the archive (age) when given. */
  readonly encryption?: Archive.Encryption | undefined
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

const writeAll = async (out: SafeFile.Sink, data: Uint8Array) => {
  let off = 0
  while (off < data.length) off += (await out.write(data, off, data.length - off)).bytesWritten
}

/** Where the archive's bytes go: the file itself, or an age stream in front of it. */
interface Output {
  readonly emit: (data: Uint8Array) => Promise<void>
  readonly end: () => Promise<void>
  /** Stops the stream of a write that failed, so nothing waits on it. */
  readonly abort: (reason: unknown) => Promise<void>
}

const encrypterOf = async (key: Archive.Encryption): Promise<Age.Encrypter> => {
  const e = new Age.Encrypter()
  if (key._tag === "Passphrase") e.setPassphrase(key.passphrase)
  else e.addRecipient(await Age.identityToRecipient(key.identity))
  return e
}

const outputOf = async (out: SafeFile.Sink, key: Archive.Encryption | undefined): Promise<Output> => {
  if (key === undefined) return { emit: (data) => writeAll(out, data), end: async () => undefined, abort: async () => undefined }
  const plain = new TransformStream<Uint8Array, Uint8Array>()
  const writer = plain.writable.getWriter()
  const cipher = await (await encrypterOf(key)).encrypt(plain.readable)
  const pump = (async () => {
    const reader = cipher.getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return
      await writeAll(out, value)
    }
  })()
  // a failed write of the file must not leave the producer waiting forever
  pump.catch((e: unknown) => writer.abort(e).catch(() => undefined))
  return {
    // the caller reuses its buffers: the stream gets a copy (a Buffer's own slice() would share them)
    emit: async (data) => {
      await writer.ready
      await writer.write(new Uint8Array(data))
    },
    end: async () => {
      await writer.close()
      await pump
    },
    abort: async (reason) => {
      await writer.abort(reason).catch(() => undefined)
      await pump.catch(() => undefined)
    }
  }
}

const writeArchive = async (out: SafeFile.Sink, input: WriteInput): Promise<ArchiveManifest> => {
  const output = await outputOf(out, input.encryption)
  try {
    return await writeEntries(output, input)
  } catch (e) {
    await output.abort(e)
    throw e
  }
}

const writeEntries = async (output: Output, input: WriteInput): Promise<ArchiveManifest> => {
  const entries: Array<ManifestEntry> = []
  const excluded: Array<string> = []
  const roots: Array<Root> = []
  let bytes = 0
  const skip = new Set(input.exclude)
  const emit = output.emit
  const addFile = async (host: string, path: string, st: Stats) => {
    const size = Number(st.size)
    if (size > maxFileSize) throw new Error(`${host} is larger than ${maxFileSize} bytes, the most a ustar entry holds`)
    const h = await Fs.open(host, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
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
  await output.end()
  return manifest
}

/**
 * Writes an archive of the sources atomically through `SafeFile.writeWith` (temp file created
 * without following a link, fsync, rename, fsync of the folder), 0600, encrypted with age when
 * `encryption` is given. Folders are walked without following symlinks (a link is archived as a
 * link); sockets, FIFOs and devices are left out and listed in `excluded`, as are the `exclude`
 * paths.
 *
 * @since 0.1.0
 * @category constructors
 */
export const write = (input: WriteInput): Effect.Effect<ArchiveManifest, ArchiveIoError> =>
  SafeFile.writeWith(
    input.target,
    { root: input.root ?? NodePath.dirname(input.target), mode: 0o600, dirMode: 0o700 },
    (out) => tryIo(input.target, () => writeArchive(out, input))
  ).pipe(Effect.catchTags({
    SafeFileError: (e) => Effect.fail(new ArchiveIoError({ path: e.path, reason: e.reason })),
    UnsafePath: (e) => Effect.fail(new ArchiveIoError({ path: e.path, reason: `unsafe path: ${e.reason}` }))
  }))

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

class NotRegular extends Error {}
class Tampered extends Error {}
class WrongKey extends Error {}
class KeyMissing extends Error {}
class NotEncrypted extends Error {}

const readFull = async (h: Fs.FileHandle, buf: Uint8Array, position: number): Promise<number> => {
  let got = 0
  while (got < buf.length) {
    const { bytesRead } = await h.read(buf, got, buf.length - got, position + got)
    if (bytesRead === 0) break
    got += bytesRead
  }
  return got
}

/** Sequential reads of an archive's plaintext: fills `buf` as far as the data goes. */
interface Reader {
  readonly read: (buf: Uint8Array) => Promise<number>
}

const handleReader = (h: Fs.FileHandle): Reader => {
  let position = 0
  return {
    read: async (buf) => {
      const n = await readFull(h, buf, position)
      position += n
      return n
    }
  }
}

const fileStream = (h: Fs.FileHandle): ReadableStream<Uint8Array> => {
  let position = 0
  return new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      const buf = new Uint8Array(1 << 16)
      const n = await readFull(h, buf, position)
      position += n
      if (n === 0) controller.close()
      else controller.enqueue(buf.subarray(0, n))
    }
  })
}

/** A decrypted stream: an authentication failure of any chunk is `Tampered`. */
const streamReader = (stream: ReadableStream<Uint8Array>): Reader => {
  const reader = stream.getReader()
  let pending: Uint8Array = new Uint8Array(0)
  let done = false
  return {
    read: async (buf) => {
      let got = 0
      while (got < buf.length && !done) {
        if (pending.length === 0) {
          let next: ReadableStreamReadResult<Uint8Array>
          try {
            next = await reader.read()
          } catch (e) {
            throw new Tampered(e instanceof Error ? e.message : String(e))
          }
          if (next.done) {
            done = true
            break
          }
          pending = next.value
        }
        const n = Math.min(pending.length, buf.length - got)
        buf.set(pending.subarray(0, n), got)
        pending = pending.subarray(n)
        got += n
      }
      return got
    }
  }
}

const kindOf = (st: Stats): string =>
  st.isFIFO() ? "a FIFO" : st.isDirectory() ? "a folder" : st.isSocket() ? "a socket" : st.isCharacterDevice() || st.isBlockDevice() ? "a device" : "not a file"

/**
 * Opens an archive without following a link and without blocking (a FIFO or device answers at
 * once), then checks on the descriptor that it is a regular file.
 */
const openSource = async (archive: string): Promise<Fs.FileHandle> => {
  let h: Fs.FileHandle
  try {
    h = await Fs.open(archive, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ELOOP") throw new NotRegular("not a regular file (a symlink): refused, not followed")
    throw e
  }
  const st = await h.stat().catch(async (e: unknown) => {
    await h.close()
    throw e
  })
  if (!st.isFile()) {
    await h.close()
    throw new NotRegular(`not a regular file (${kindOf(st)}): refused`)
  }
  return h
}

const magic = new TextEncoder().encode(Archive.ageMagic)

/** The archive's plaintext: the file itself, or age's decryption of it with the key. */
const plaintextOf = async (h: Fs.FileHandle, options: ReadOptions | undefined): Promise<{ readonly reader: Reader; readonly encrypted: boolean }> => {
  const head = new Uint8Array(magic.length)
  const n = await readFull(h, head, 0)
  const encrypted = n === magic.length && head.every((b, i) => b === magic[i])
  if (!encrypted) {
    if (options?.requireEncrypted ?? options?.key !== undefined) throw new NotEncrypted()
    return { reader: handleReader(h), encrypted }
  }
  const key = options?.key
  if (key === undefined) throw new KeyMissing()
  const d = new Age.Decrypter()
  if (key._tag === "Passphrase") d.addPassphrase(key.passphrase)
  else d.addIdentity(key.identity)
  let plain: ReadableStream<Uint8Array>
  try {
    plain = await d.decrypt(fileStream(h))
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e)
    if (/no identity matched/.test(why)) throw new WrongKey()
    throw new Tampered(why)
  }
  return { reader: streamReader(plain), encrypted }
}

/** Reads to the end: age authenticates its last chunk only when it is read. */
const drain = async (reader: Reader): Promise<void> => {
  const buf = new Uint8Array(1 << 16)
  while ((await reader.read(buf)) > 0) {
    // nothing: the bytes after the end blocks are tar padding
  }
}

const skip = async (reader: Reader, n: number, where: string): Promise<void> => {
  if (n === 0) return
  if ((await reader.read(new Uint8Array(n))) < n) throw new Corrupt(where, "truncated padding")
}

interface ScanResult {
  readonly manifest: ArchiveManifest
  readonly seen: ReadonlyArray<Seen>
}

const decodeManifest = Schema.decodeUnknownResult(Schema.fromJsonString(Archive.ArchiveManifest))

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

const scanArchive = async (reader: Reader, sink: Sink | undefined): Promise<ScanResult> => {
  const seen: Array<Seen> = []
  let manifestText: string | undefined
  let pos = 0
  let pax: { path?: string; linkpath?: string } = {}
  const block = Buffer.alloc(Archive.blockSize)
  for (;;) {
    const got = await reader.read(block)
    if (got < Archive.blockSize) throw new Corrupt(`offset ${pos}`, "the archive ends before its end blocks (truncated)")
    const parsed = Archive.parseHeader(block)
    if (Result.isFailure(parsed)) throw new Corrupt(`offset ${pos}`, parsed.failure)
    pos += Archive.blockSize
    const header = parsed.success
    if (header === undefined) break
    if (header.type === "pax") {
      if (header.size > 1024 * 1024) throw new Corrupt(`offset ${pos}`, "PAX header too large")
      const body = Buffer.alloc(header.size)
      if ((await reader.read(body)) < header.size) throw new Corrupt(`offset ${pos}`, "truncated PAX header")
      const records = Archive.parsePax(body)
      if (Result.isFailure(records)) throw new Corrupt(`offset ${pos}`, records.failure)
      pax = records.success
      await skip(reader, Archive.padded(header.size) - header.size, `offset ${pos}`)
      pos += Archive.padded(header.size)
      continue
    }
    const rawPath = pax.path ?? header.path
    const linkname = pax.linkpath ?? header.linkname
    pax = {}
    const checked = Archive.checkPath(rawPath)
    if (Result.isFailure(checked)) throw new Corrupt(rawPath, checked.failure)
    const path = checked.success
    if (path === Archive.manifestName) {
      if (manifestText !== undefined) throw new Corrupt(path, "appears twice")
      if (header.size > 256 * 1024 * 1024) throw new Corrupt(path, "too large")
      const body = Buffer.alloc(header.size)
      if ((await reader.read(body)) < header.size) throw new Corrupt(path, "truncated")
      manifestText = body.toString("utf8")
      await skip(reader, Archive.padded(header.size) - header.size, path)
      pos += Archive.padded(header.size)
      continue
    }
    if (header.type === "file") {
      const hash = createHash("sha256")
      const out = await sink?.file(path, header.mode)
      try {
        const buf = Buffer.alloc(Math.min(chunkSize, Math.max(1, header.size)))
        let left = header.size
        while (left > 0) {
          const want = Math.min(buf.length, left)
          const n = await reader.read(buf.subarray(0, want))
          if (n < want) throw new Corrupt(path, "truncated content")
          hash.update(buf.subarray(0, n))
          if (out !== undefined) await out.write(buf.subarray(0, n))
          left -= n
        }
      } finally {
        await out?.close()
      }
      seen.push({ path, type: "file", mode: header.mode, size: header.size, sha256: hash.digest("hex"), linkname: "" })
      await skip(reader, Archive.padded(header.size) - header.size, path)
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
  if (Result.isFailure(manifest)) throw new Corrupt(Archive.manifestName, `invalid: ${manifest.failure.message.split("\n")[0]}`)
  return { manifest: manifest.success, seen }
}

const readError = (archive: string) => (e: unknown): ReadError =>
  e instanceof Corrupt
    ? new Archive.ArchiveCorrupt({ archive, where: e.where, reason: e.why })
    : e instanceof NotRegular
    ? new ArchiveIoError({ path: archive, reason: e.message })
    : e instanceof Tampered
    ? new ArchiveTampered({ archive, reason: e.message })
    : e instanceof WrongKey
    ? new ArchiveWrongKey({ archive })
    : e instanceof KeyMissing
    ? new ArchiveKeyMissing({ archive })
    : e instanceof NotEncrypted
    ? new ArchiveNotEncrypted({ archive })
    : ioError(archive)(e)

const attempt = <A>(archive: string, f: () => Promise<A>): Effect.Effect<A, ReadError> =>
  Effect.tryPromise({ try: f, catch: readError(archive) })

const check = (archive: string, result: ScanResult, appId: string | undefined) =>
  Effect.gen(function*() {
    if (appId !== undefined && result.manifest.appId !== appId) {
      return yield* Effect.fail(new ArchiveWrongApp({ archive, expected: appId, found: result.manifest.appId }))
    }
    const problems = Archive.verify(result.manifest, result.seen)
    if (problems.length > 0) return yield* Effect.fail(new ArchiveChecksumMismatch({ archive, problems }))
    return result.manifest
  })

/** One pass over the archive through one descriptor, read to its end (age's last chunk included). */
const scanOnce = (archive: string, options: ReadOptions | undefined): Effect.Effect<ScanResult, ReadError> =>
  attempt(archive, async () => {
    const h = await openSource(archive)
    try {
      const { reader } = await plaintextOf(h, options)
      const result = await scanArchive(reader, undefined)
      await drain(reader)
      return result
    } finally {
      await h.close()
    }
  })

/**
 * Reads a whole archive through one descriptor without extracting it: decrypts it when it is
 * encrypted (age authenticates every chunk: a wrong key is `ArchiveWrongKey`, a changed byte
 * `ArchiveTampered`), then checks every header, every file's sha256 against the manifest, and
 * (when given) the app id. Answers the manifest. Refuses at once anything but a regular file
 * (a symlink is not followed; a FIFO or device is never waited on).
 *
 * @since 0.1.0
 * @category combinators
 */
export const verify = (archive: string, appId?: string, options?: ReadOptions): Effect.Effect<ArchiveManifest, ReadError> =>
  Effect.flatMap(scanOnce(archive, options), (r) => check(archive, r, appId))

/**
 * Reads only the manifest's facts of an archive (for listings); checks nothing but its form.
 *
 * @since 0.1.0
 * @category combinators
 */
export const readManifest = (archive: string, options?: ReadOptions): Effect.Effect<ArchiveManifest, ReadError> =>
  Effect.map(scanOnce(archive, options), (r) => r.manifest)

/**
 * A verified archive held as a private copy: the plaintext, copied (and decrypted) once from the
 * target into an unlinked file only this process holds, then verified. Everything unpacked
 * comes from that copy, so an archive replaced or rewritten on the target after the check
 * changes nothing.
 *
 * @since 0.1.0
 * @category models
 */
export interface Opened {
  readonly archive: string
  readonly manifest: ArchiveManifest
  /** Whether the archive on the target was encrypted. */
  readonly encrypted: boolean
  /** The private copy, open (closed with the scope). */
  readonly copy: Copy
}

/**
 * An open private copy of an archive (Node's `FileHandle` underneath; named here so the
 * package's declarations need no Node types).
 *
 * @since 0.1.0
 * @category models
 */
export interface Copy {
  readonly fd: number
  readonly close: () => Promise<void>
}

/**
 * Takes a private copy of an archive into `scratch` (a folder on the node only the orchestrator
 * writes; the copy is created `O_EXCL | O_NOFOLLOW` 0600 and unlinked at once, so it vanishes
 * with the scope or a crash), decrypting it on the way when it is encrypted, then verifies the
 * copy (see `verify`). The copy is closed with the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const open = (
  archive: string,
  options: ReadOptions & { readonly appId: string; readonly scratch: string }
): Effect.Effect<Opened, ReadError, Scope.Scope> =>
  Effect.gen(function*() {
    const taken = yield* Effect.acquireRelease(
      attempt(archive, async () => {
        const name = NodePath.join(options.scratch, `.${options.appId}.archive-copy-${process.pid}-${randomBytes(6).toString("hex")}`)
        const copy = await Fs.open(name, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
        try {
          await Fs.unlink(name)
          const source = await openSource(archive)
          try {
            const { reader, encrypted } = await plaintextOf(source, options)
            const buf = new Uint8Array(chunkSize)
            let at = 0
            for (;;) {
              const n = await reader.read(buf)
              if (n === 0) break
              let off = 0
              while (off < n) off += (await copy.write(buf, off, n - off, at + off)).bytesWritten
              at += n
            }
            return { copy, encrypted }
          } finally {
            await source.close()
          }
        } catch (e) {
          await copy.close().catch(() => undefined)
          throw e
        }
      }),
      (t) => Effect.promise(() => t.copy.close().catch(() => undefined))
    )
    const result = yield* attempt(archive, () => scanArchive(handleReader(taken.copy), undefined))
    const manifest = yield* check(archive, result, options.appId)
    return { archive, manifest, encrypted: taken.encrypted, copy: taken.copy }
  })

const isRoot = process.getuid?.() === 0

/** A restore never creates a setuid or setgid file (the bits are dropped, the rest kept). */
const restoredFileMode = (mode: number): number => mode & 0o1777

/**
 * Unpacks an opened archive's private copy: each root's entries into the fresh folder `targets`
 * maps its prefix to (which must not exist yet; it is created 0700 and gets the archived mode at
 * the end). Files are created exclusively and never through a link (the copy was verified: no
 * entry lies below a symlink, none appears twice); modes (without setuid and setgid bits) and
 * owners (when running as root) are restored. On any failure the caller removes the fresh
 * folders.
 *
 * @since 0.1.0
 * @category combinators
 */
export const unpack = (opened: Opened, targets: ReadonlyMap<string, string>): Effect.Effect<ArchiveManifest, ReadError> =>
  Effect.gen(function*() {
    const { archive } = opened
    const owners = new Map(opened.manifest.entries.map((e) => [e.path, e]))
    const dirs: Array<{ host: string; mode: number; entry: ManifestEntry | undefined }> = []
    const hostOf = (path: string): string => {
      if (!owners.has(path)) throw new Corrupt(path, "not listed in the manifest")
      const { prefix, rest } = Archive.splitRoot(path)
      const base = targets.get(prefix)
      if (base === undefined) throw new Corrupt(path, "no target folder for its root")
      return rest === "" ? base : NodePath.join(base, rest)
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
        const e = owners.get(path)
        if (isRoot && e !== undefined) await Fs.lchown(host, e.uid, e.gid)
      },
      file: async (path, mode) => {
        const host = hostOf(path)
        const h = await Fs.open(host, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
        return {
          write: (chunk) => writeAll(h, chunk),
          close: async () => {
            try {
              const e = owners.get(path)
              if (isRoot && e !== undefined) await h.chown(e.uid, e.gid)
              // after the chown, which clears them anyway
              await h.chmod(restoredFileMode(mode))
              await h.sync()
            } finally {
              await h.close()
            }
          }
        }
      }
    }
    const result = yield* attempt(archive, () => scanArchive(handleReader(opened.copy as Fs.FileHandle), sink))
    const manifest = yield* check(archive, result, opened.manifest.appId)
    yield* tryIo(archive, async () => {
      // deepest first, so a read-only folder is made read-only after its children are written
      for (const d of dirs.reverse()) {
        if (isRoot && d.entry !== undefined) await Fs.lchown(d.host, d.entry.uid, d.entry.gid)
        await Fs.chmod(d.host, d.mode & 0o7777)
      }
    })
    return manifest
  })

/**
 * `open` then `unpack`: verifies a private copy of the archive (taken in `scratch`, by default
 * the folder of the first target) and extracts it into the fresh folders `targets` maps each
 * root's prefix to.
 *
 * @since 0.1.0
 * @category combinators
 */
export const extract = (
  archive: string,
  appId: string,
  targets: ReadonlyMap<string, string>,
  options?: ReadOptions & { readonly scratch?: string }
): Effect.Effect<ArchiveManifest, ReadError> =>
  Effect.scoped(Effect.flatMap(
    open(archive, { ...options, appId, scratch: options?.scratch ?? NodePath.dirname([...targets.values()][0] ?? archive) }),
    (opened) => unpack(opened, targets)
  ))

/**
 * The backup key file cannot be used: names the file and why, never its content.
 *
 * @since 0.1.0
 * @category errors
 */
export class BackupKeyInvalid extends Data.TaggedError("BackupKeyInvalid")<{
  readonly path: string
  readonly reason: string
}> {
  override get message(): string {
    return `backup key file ${this.path}: ${this.reason}`
  }
}

/**
 * Reads the backup key file chosen at setup (see `Archive.parseKey`): an age identity or a
 * passphrase. Read without following a link; refused when group or others may read it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const loadKey = (path: string): Effect.Effect<Archive.Encryption, BackupKeyInvalid> =>
  Effect.gen(function*() {
    const file = NodePath.resolve(path)
    const invalid = (reason: string) => new BackupKeyInvalid({ path: file, reason })
    const text = yield* SafeFile.readString(file, { maxBytes: 4096 }).pipe(Effect.mapError((e) => invalid(e.reason)))
    if (Option.isNone(text)) return yield* Effect.fail(invalid("missing (or not a regular file)"))
    const st = yield* Effect.tryPromise({ try: () => Fs.lstat(file), catch: (e) => invalid(ioError(file)(e).reason) })
    if ((st.mode & 0o077) !== 0) return yield* Effect.fail(invalid(`readable by group or others (mode ${(st.mode & 0o777).toString(8)}): chmod 600 it`))
    return yield* Result.match(Archive.parseKey(text.value), {
      onFailure: (reason) => Effect.fail(invalid(reason)),
      onSuccess: Effect.succeed
    })
  })

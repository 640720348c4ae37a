/**
 * The backup archive format, pure: a POSIX ustar stream (PAX headers for long paths) holding an
 * app's data folder under `data/`, each named volume under `volumes/<name>/`, and, last, the
 * archive's manifest `archive.json` (app id, version, image, time, sizes, and the mode, owner
 * and sha256 of every entry). Any `tar` can list or extract it; `verify` checks it.
 *
 * Over 500 lines: the tar writer, its reader and `verify` share the header layout and the
 * archive manifest's schema; split, each half would re-state the other's format.
 *
 * @since 0.1.0
 */
import { Data, Result, Schema } from "effect"

/**
 * The size of a tar block.
 *
 * @since 0.1.0
 * @category constants
 */
export const blockSize = 512

/**
 * The name of the manifest entry, the archive's last.
 *
 * @since 0.1.0
 * @category constants
 */
export const manifestName = "archive.json"

/**
 * The archive format version written in every manifest.
 *
 * @since 0.1.0
 * @category constants
 */
export const formatVersion = 1

/**
 * An archive that cannot be read as one of ours: names the archive, and the entry or field.
 *
 * @since 0.1.0
 * @category errors
 */
export class ArchiveCorrupt extends Data.TaggedError("ArchiveCorrupt")<{
  readonly archive: string
  readonly where: string
  readonly reason: string
}> {
  override get message(): string {
    return `${this.archive}: ${this.where}: ${this.reason}`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export type EntryType = "file" | "dir" | "symlink"

/**
 * One tar entry's header.
 *
 * @since 0.1.0
 * @category models
 */
export interface Header {
  readonly path: string
  readonly type: EntryType | "pax"
  /** Permission bits (`0o7777` at most). */
  readonly mode: number
  readonly uid: number
  readonly gid: number
  /** Content bytes (0 for folders and links). */
  readonly size: number
  /** Seconds since the epoch. */
  readonly mtime: number
  readonly linkname: string
}

/**
 * One entry of the manifest.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ManifestEntry = Schema.Struct({
  path: Schema.String,
  type: Schema.Literals(["file", "dir", "symlink"]),
  mode: Schema.Int,
  uid: Schema.Int,
  gid: Schema.Int,
  size: Schema.Int,
  /** For files. */
  sha256: Schema.optional(Schema.String),
  /** For symlinks. */
  linkname: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type ManifestEntry = typeof ManifestEntry.Type

/**
 * What the archive holds: `data` is the app's data folder, `volume` a named volume.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Root = Schema.Union([Schema.Struct({ kind: Schema.Literal("data"), prefix: Schema.Literal("data") }), Schema.Struct({ kind: Schema.Literal("volume"), name: Schema.String, prefix: Schema.String })])

/**
 * @since 0.1.0
 * @category models
 */
export type Root = typeof Root.Type

/**
 * The archive's manifest.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ArchiveManifest = Schema.Struct({
  format: Schema.Literal(formatVersion),
  appId: Schema.String,
  version: Schema.String,
  image: Schema.optional(Schema.String),
  imageDigest: Schema.optional(Schema.String),
  /** Unix milliseconds. */
  createdAt: Schema.Number,
  /** True when the app kept running (its pre-backup hook made a live copy safe). */
  live: Schema.Boolean,
  roots: Schema.Array(Root),
  /** Paths left out (files rendered by the app's hooks, re-rendered on start: they may hold other apps' secrets). */
  excluded: Schema.Array(Schema.String),
  entries: Schema.Array(ManifestEntry),
  /** Sum of the files' sizes. */
  bytes: Schema.Number
})

/**
 * @since 0.1.0
 * @category models
 */
export type ArchiveManifest = typeof ArchiveManifest.Type

/**
 * The archive prefix of a named volume.
 *
 * @since 0.1.0
 * @category getters
 */
export const volumePrefix = (name: string): string => `volumes/${name}`

// ---------------------------------------------------------------------------------------------
// headers

const encoder = new TextEncoder()
const decoder = new TextDecoder("utf-8", { fatal: false })

const putString = (block: Uint8Array, offset: number, length: number, value: string): boolean => {
  const bytes = encoder.encode(value)
  if (bytes.length > length) return false
  block.set(bytes, offset)
  return true
}

const putOctal = (block: Uint8Array, offset: number, length: number, value: number): boolean =>
  putString(block, offset, length, `${value.toString(8).padStart(length - 1, "0")}\0`) && value.toString(8).length < length

const typeFlag = (type: Header["type"]): string => {
  switch (type) {
    case "file":
      return "0"
    case "dir":
      return "5"
    case "symlink":
      return "2"
    case "pax":
      return "x"
  }
}

const checksum = (block: Uint8Array): number => {
  let sum = 0
  for (let i = 0; i < blockSize; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!
  return sum
}

// ustar splits a long name at a slash: up to 155 bytes of prefix, up to 100 of name.
const splitName = (path: string): readonly [string, string] | undefined => {
  const bytes = encoder.encode(path).length
  if (bytes <= 100) return ["", path]
  for (let i = path.indexOf("/"); i !== -1; i = path.indexOf("/", i + 1)) {
    const prefix = path.slice(0, i)
    const name = path.slice(i + 1)
    if (encoder.encode(prefix).length <= 155 && encoder.encode(name).length <= 100 && name !== "") return [prefix, name]
  }
  return undefined
}

const rawHeader = (h: Header, name: string, prefix: string, linkname: string): Uint8Array => {
  const block = new Uint8Array(blockSize)
  putString(block, 0, 100, name)
  putOctal(block, 100, 8, h.mode & 0o7777)
  putOctal(block, 108, 8, h.uid)
  putOctal(block, 116, 8, h.gid)
  putOctal(block, 124, 12, h.size)
  putOctal(block, 136, 12, Math.max(0, Math.floor(h.mtime)))
  putString(block, 156, 1, typeFlag(h.type))
  putString(block, 157, 100, linkname)
  putString(block, 257, 6, "ustar\0")
  putString(block, 263, 2, "00")
  putString(block, 345, 155, prefix)
  putOctal(block, 148, 8, checksum(block))
  return block
}

const paxRecord = (key: string, value: string): string => {
  const body = encoder.encode(` ${key}=${value}\n`).length
  let n = body + 1
  while (String(n).length + body !== n) n = String(n).length + body
  return `${n} ${key}=${value}\n`
}

/**
 * The blocks announcing an entry: its ustar header, preceded by a PAX header (and its record
 * blocks) when the path or link target does not fit ustar's fields.
 *
 * @since 0.1.0
 * @category constructors
 */
export const headerBlocks = (h: Header): Uint8Array => {
  const split = splitName(h.path)
  const linkFits = encoder.encode(h.linkname).length <= 100
  if (split !== undefined && linkFits && !/[^\x20-\x7e]/.test(h.path + h.linkname)) {
    return rawHeader(h, split[1], split[0], h.linkname)
  }
  const records = paxRecord("path", h.path) + (h.linkname === "" ? "" : paxRecord("linkpath", h.linkname))
  const body = encoder.encode(records)
  const pax = rawHeader(
    { path: "PaxHeader", type: "pax", mode: 0o644, uid: 0, gid: 0, size: body.length, mtime: h.mtime, linkname: "" },
    "PaxHeader",
    "",
    ""
  )
  const out = new Uint8Array(blockSize + padded(body.length) + blockSize)
  out.set(pax, 0)
  out.set(body, blockSize)
  out.set(rawHeader(h, "long-name", "", ""), blockSize + padded(body.length))
  return out
}

/**
 * `size` rounded up to whole blocks.
 *
 * @since 0.1.0
 * @category getters
 */
export const padded = (size: number): number => Math.ceil(size / blockSize) * blockSize

/**
 * The two zero blocks ending an archive.
 *
 * @since 0.1.0
 * @category constants
 */
export const endBlocks = (): Uint8Array => new Uint8Array(blockSize * 2)

const getString = (block: Uint8Array, offset: number, length: number): string => {
  const slice = block.subarray(offset, offset + length)
  const nul = slice.indexOf(0)
  return decoder.decode(nul === -1 ? slice : slice.subarray(0, nul))
}

const getOctal = (block: Uint8Array, offset: number, length: number): number | undefined => {
  const text = getString(block, offset, length).trim()
  if (text === "") return 0
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : undefined
}

/**
 * Reads one header block: `undefined` for a zero block (the end), else the header, or why it is
 * not one (a bad checksum, a field that is not octal, a type we never write).
 *
 * @since 0.1.0
 * @category parsers
 */
export const parseHeader = (block: Uint8Array): Result.Result<Header | undefined, string> => {
  if (block.length !== blockSize) return Result.fail(`a header is ${blockSize} bytes, got ${block.length}`)
  if (block.every((b) => b === 0)) return Result.succeed(undefined)
  const sum = getOctal(block, 148, 8)
  if (sum === undefined || sum !== checksum(block)) return Result.fail("header checksum mismatch")
  const flag = getString(block, 156, 1)
  const type = flag === "0" || flag === "" ? "file" : flag === "5" ? "dir" : flag === "2" ? "symlink" : flag === "x" ? "pax" : undefined
  if (type === undefined) return Result.fail(`unsupported entry type ${JSON.stringify(flag)}`)
  const mode = getOctal(block, 100, 8)
  const uid = getOctal(block, 108, 8)
  const gid = getOctal(block, 116, 8)
  const size = getOctal(block, 124, 12)
  const mtime = getOctal(block, 136, 12)
  if (mode === undefined || uid === undefined || gid === undefined || size === undefined || mtime === undefined) {
    return Result.fail("a numeric header field is not octal")
  }
  const name = getString(block, 0, 100)
  const prefix = getString(block, 345, 155)
  return Result.succeed({
    path: prefix === "" ? name : `${prefix}/${name}`,
    type,
    mode,
    uid,
    gid,
    size,
    mtime,
    linkname: getString(block, 157, 100)
  })
}

/**
 * The `path` and `linkpath` records of a PAX header's body.
 *
 * @since 0.1.0
 * @category parsers
 */
export const parsePax = (body: Uint8Array): Result.Result<{ path?: string; linkpath?: string }, string> => {
  const out: { path?: string; linkpath?: string } = {}
  let at = 0
  while (at < body.length && body[at] !== 0) {
    const space = body.indexOf(0x20, at)
    if (space === -1) return Result.fail("malformed PAX record")
    const len = Number(decoder.decode(body.subarray(at, space)))
    if (!Number.isInteger(len) || len <= space - at || at + len > body.length) return Result.fail("malformed PAX record length")
    const record = decoder.decode(body.subarray(space + 1, at + len))
    const eq = record.indexOf("=")
    if (eq === -1 || !record.endsWith("\n")) return Result.fail("malformed PAX record")
    const key = record.slice(0, eq)
    const value = record.slice(eq + 1, -1)
    if (key === "path") out.path = value
    if (key === "linkpath") out.linkpath = value
    at += len
  }
  return Result.succeed(out)
}

// ---------------------------------------------------------------------------------------------
// paths

/**
 * Checks an entry path read from an archive: relative, no `.`/`..`/empty segments, under
 * `data` or `volumes/<name>` (or the manifest itself). Answers why not.
 *
 * @since 0.1.0
 * @category guards
 */
export const checkPath = (path: string): Result.Result<string, string> => {
  const clean = path.endsWith("/") ? path.slice(0, -1) : path
  if (clean === manifestName) return Result.succeed(clean)
  if (clean.startsWith("/")) return Result.fail("absolute path")
  const parts = clean.split("/")
  if (parts.some((p) => p === "" || p === "." || p === "..")) return Result.fail("path with an empty, . or .. segment")
  if (clean.includes("\0")) return Result.fail("path with a NUL byte")
  if (parts[0] === "data") return Result.succeed(clean)
  if (parts[0] === "volumes" && parts.length >= 2) return Result.succeed(clean)
  return Result.fail("path outside data/ and volumes/<name>/")
}

/**
 * The root an archive path belongs to and the path inside it (`""` for the root itself).
 *
 * @since 0.1.0
 * @category getters
 */
export const splitRoot = (path: string): { readonly prefix: string; readonly rest: string } => {
  const parts = path.split("/")
  const n = parts[0] === "volumes" ? 2 : 1
  return { prefix: parts.slice(0, n).join("/"), rest: parts.slice(n).join("/") }
}

// ---------------------------------------------------------------------------------------------
// verification

/**
 * What `verify` found wrong, each naming the entry.
 *
 * @since 0.1.0
 * @category models
 */
export interface Problem {
  readonly path: string
  readonly reason: string
}

/**
 * An entry as read back from the archive, with the sha256 of its content for files.
 *
 * @since 0.1.0
 * @category models
 */
export interface Seen {
  readonly path: string
  readonly type: EntryType
  readonly mode: number
  readonly size: number
  readonly sha256?: string
  readonly linkname: string
}

/**
 * Compares what an archive holds with its manifest: every listed entry present with its type,
 * mode, size, sha256 and link target; nothing present that is not listed; no entry below a
 * symlink (extracting it would write through the link); every root (`data`, `volumes/<name>`) a
 * folder.
 *
 * @since 0.1.0
 * @category combinators
 */
export const verify = (manifest: ArchiveManifest, seen: ReadonlyArray<Seen>): ReadonlyArray<Problem> => {
  const problems: Array<Problem> = []
  const byPath = new Map<string, Seen>()
  for (const s of seen) {
    if (byPath.has(s.path)) problems.push({ path: s.path, reason: "appears twice" })
    byPath.set(s.path, s)
  }
  const listed = new Set<string>()
  for (const e of manifest.entries) {
    listed.add(e.path)
    const s = byPath.get(e.path)
    if (s === undefined) {
      problems.push({ path: e.path, reason: "listed in the manifest but missing from the archive" })
      continue
    }
    if (s.type !== e.type) problems.push({ path: e.path, reason: `is a ${s.type}, the manifest says ${e.type}` })
    else if (e.type === "file" && s.sha256 !== e.sha256) {
      problems.push({ path: e.path, reason: `sha256 ${s.sha256 ?? "?"} does not match the manifest's ${e.sha256 ?? "?"}` })
    } else if (s.size !== e.size) problems.push({ path: e.path, reason: `size ${s.size} does not match the manifest's ${e.size}` })
    else if ((s.mode & 0o7777) !== (e.mode & 0o7777)) {
      problems.push({ path: e.path, reason: `mode ${s.mode.toString(8)} does not match the manifest's ${e.mode.toString(8)}` })
    } else if (e.type === "symlink" && s.linkname !== (e.linkname ?? "")) {
      problems.push({ path: e.path, reason: "link target does not match the manifest" })
    }
  }
  for (const s of seen) if (!listed.has(s.path)) problems.push({ path: s.path, reason: "not listed in the manifest" })
  const links = new Set(manifest.entries.filter((e) => e.type === "symlink").map((e) => e.path))
  for (const e of manifest.entries) {
    const parts = e.path.split("/")
    for (let i = 1; i < parts.length; i++) {
      const up = parts.slice(0, i).join("/")
      if (links.has(up)) {
        problems.push({ path: e.path, reason: `lies below the symlink ${up}` })
        break
      }
    }
  }
  const prefixes = new Set(manifest.roots.map((r) => r.prefix))
  for (const e of manifest.entries) {
    if (!prefixes.has(splitRoot(e.path).prefix)) problems.push({ path: e.path, reason: "belongs to no root of the manifest" })
    // a root is unpacked as the app's folder (or a volume's): anything but a folder there is refused
    else if (prefixes.has(e.path) && e.type !== "dir") problems.push({ path: e.path, reason: `is a ${e.type}, but a root must be a folder` })
  }
  return problems
}

// ---------------------------------------------------------------------------------------------
// encryption

/**
 * How archives are encrypted at rest (the age format): with a passphrase (scrypt), or for the
 * X25519 identity of a key file (`AGE-SECRET-KEY-1...`, as `age-keygen` writes it).
 *
 * @since 0.1.0
 * @category models
 */
export type Encryption =
  | { readonly _tag: "Passphrase"; readonly passphrase: string }
  | { readonly _tag: "Identity"; readonly identity: string }

/**
 * The shortest passphrase accepted.
 *
 * @since 0.1.0
 * @category constants
 */
export const minPassphraseLength = 12

/**
 * The first bytes of every age file.
 *
 * @since 0.1.0
 * @category constants
 */
export const ageMagic = "age-encryption.org/"

/**
 * The suffix of an encrypted archive's file name (`<appId>-<time>.tar.age`).
 *
 * @since 0.1.0
 * @category constants
 */
export const encryptedSuffix = ".age"

/**
 * Reads a backup key file: an age identity (`AGE-SECRET-KEY-1...` on a line of its own; `#`
 * comment lines, as `age-keygen` writes them, are skipped) or else a passphrase (the first line,
 * at least `minPassphraseLength` characters). Answers why not, never quoting the content.
 *
 * @since 0.1.0
 * @category parsers
 */
export const parseKey = (text: string): Result.Result<Encryption, string> => {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"))
  const identities = lines.filter((l) => l.startsWith("AGE-SECRET-KEY-"))
  if (identities.length > 1) return Result.fail("holds more than one age identity")
  if (identities.length === 1) {
    return /^AGE-SECRET-KEY-(PQ-)?1[0-9A-Z]{20,}$/.test(identities[0]!)
      ? Result.succeed({ _tag: "Identity", identity: identities[0]! })
      : Result.fail("holds a malformed age identity (expected AGE-SECRET-KEY-1... as age-keygen writes it)")
  }
  if (lines.length === 0) return Result.fail("is empty: expected an age identity or a passphrase")
  if (lines.length > 1) return Result.fail("holds several lines: expected an age identity or a one-line passphrase")
  const passphrase = lines[0]!
  if ([...passphrase].length < minPassphraseLength) return Result.fail(`holds a passphrase shorter than ${minPassphraseLength} characters`)
  return Result.succeed({ _tag: "Passphrase", passphrase })
}

// ---------------------------------------------------------------------------------------------
// names and retention

const stamp = (ms: number): string => new Date(ms).toISOString().replace(/[-:]/g, "").replace(".", "")

/**
 * The file name of an app's archive made at `ms`: `<appId>-<yyyymmddThhmmssSSSZ>.tar` (`.tar.age` when encrypted), so names
 * sort by time.
 *
 * @since 0.1.0
 * @category getters
 */
export const fileName = (appId: string, ms: number, encrypted = false): string =>
  `${appId}-${stamp(ms)}.tar${encrypted ? encryptedSuffix : ""}`

/**
 * True for the file name of an archive (plain `.tar` or encrypted `.tar.age`), as opposed to a
 * watched file's copy or a temp file.
 *
 * @since 0.1.0
 * @category guards
 */
export const isArchiveName = (name: string): boolean =>
  parseFileName(name) !== undefined && (name.endsWith(".tar") || name.endsWith(`.tar${encryptedSuffix}`))

const namePattern = /^([a-z0-9][a-z0-9-]{0,62})-(\d{8}T\d{9}Z)\.(tar|[a-z0-9.]+)$/

/**
 * The app id and time of an archive's file name, if it is one of ours.
 *
 * @since 0.1.0
 * @category parsers
 */
export const parseFileName = (name: string): { readonly appId: string; readonly createdAt: number } | undefined => {
  const m = namePattern.exec(name)
  if (m === null) return undefined
  const s = m[2]!
  const iso = `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}.${s.slice(15, 18)}Z`
  const createdAt = Date.parse(iso)
  return Number.isNaN(createdAt) ? undefined : { appId: m[1]!, createdAt }
}

/**
 * Retention: of the given file names, those to delete so the newest `keep` stay (oldest first).
 * Names that are not ours are never returned.
 *
 * @since 0.1.0
 * @category combinators
 */
export const prune = (names: ReadonlyArray<string>, keep: number): ReadonlyArray<string> => {
  const ours = names
    .flatMap((n) => {
      const p = parseFileName(n)
      return p === undefined ? [] : [{ n, t: p.createdAt }]
    })
    .sort((a, b) => a.t - b.t || (a.n < b.n ? -1 : a.n > b.n ? 1 : 0))
  return ours.slice(0, Math.max(0, ours.length - Math.max(1, keep))).map((x) => x.n)
}

/**
 * The default number of archives kept per app.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultKeep = 5

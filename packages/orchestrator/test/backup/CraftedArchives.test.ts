/**
 * A fuzz of crafted archives, as whoever can write the backup target would make them: links out
 * of the folder, hard links, devices, FIFOs, `..` and absolute paths, duplicate entries, entries
 * below a link, setuid files, manifests honest or not, and the archive rewritten in place while
 * it is read. Whatever comes, the restore's extraction writes nothing outside its fresh folder,
 * creates only files, folders and symlinks (no device, FIFO, hard link, setuid or setgid file),
 * only entries the verified manifest lists, and fails only with a typed error.
 */
import { createHash } from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Option } from "effect"
import * as fc from "fast-check"
import * as Archive from "../../src/backup/Archive.js"
import * as ArchiveFile from "../../src/backup/ArchiveFile.js"
import { tempDir } from "../services/harness.js"

const runs = Number(process.env["ARCHY_FUZZ_RUNS"] ?? 100)
const sandbox = tempDir("crafted-archives-")
const outside = Path.join(sandbox, "host")
Fs.mkdirSync(outside)
afterAll(() => Fs.rmSync(sandbox, { recursive: true, force: true }))

type Kind = "file" | "dir" | "symlink" | "hardlink" | "chardev" | "blockdev" | "fifo"
interface Crafted {
  readonly path: string
  readonly kind: Kind
  readonly mode: number
  readonly content: string
  readonly linkname: string
}

const flags: Record<Kind, string> = { file: "0", dir: "5", symlink: "2", hardlink: "1", chardev: "3", blockdev: "4", fifo: "6" }

/** Header blocks of any entry type: `Archive.headerBlocks` for ours, its last block patched for the others. */
const headerOf = (e: Crafted): Uint8Array => {
  const ours = e.kind === "file" || e.kind === "dir" || e.kind === "symlink"
  const size = e.kind === "file" ? Buffer.byteLength(e.content) : 0
  const blocks = Archive.headerBlocks({ path: e.path, type: ours ? e.kind as Archive.EntryType : "file", mode: e.mode, uid: 0, gid: 0, size, mtime: 0, linkname: e.linkname })
  if (ours) return blocks
  const last = blocks.subarray(blocks.length - Archive.blockSize)
  last[156] = flags[e.kind].charCodeAt(0)
  last.fill(0x20, 148, 156)
  let sum = 0
  for (const b of last) sum += b
  last.set(Buffer.from(`${sum.toString(8).padStart(6, "0")}\0 `), 148)
  return blocks
}

const tarOf = (entries: ReadonlyArray<Crafted>, manifest: unknown): Buffer => {
  const parts: Array<Uint8Array> = []
  for (const e of entries) {
    parts.push(headerOf(e))
    if (e.kind === "file") {
      const body = Buffer.from(e.content)
      parts.push(body, new Uint8Array(Archive.padded(body.length) - body.length))
    }
  }
  const m = Buffer.from(JSON.stringify(manifest))
  parts.push(Archive.headerBlocks({ path: Archive.manifestName, type: "file", mode: 0o600, uid: 0, gid: 0, size: m.length, mtime: 0, linkname: "" }))
  parts.push(m, new Uint8Array(Archive.padded(m.length) - m.length), Archive.endBlocks())
  return Buffer.concat(parts)
}

/** The manifest an attacker writes to match the entries (wrong only where the entries are not ours). */
const honestManifest = (entries: ReadonlyArray<Crafted>) => ({
  format: 1,
  appId: "web",
  version: "1",
  createdAt: 0,
  live: false,
  roots: [{ kind: "data", prefix: "data" }],
  excluded: [],
  bytes: 0,
  entries: entries.map((e) => ({
    path: e.path.replace(/\/$/, ""),
    type: e.kind === "dir" || e.kind === "symlink" ? e.kind : "file",
    mode: e.mode,
    uid: 0,
    gid: 0,
    size: e.kind === "file" ? Buffer.byteLength(e.content) : 0,
    ...(e.kind === "file" ? { sha256: createHash("sha256").update(e.content).digest("hex") } : {}),
    ...(e.kind === "symlink" ? { linkname: e.linkname } : {})
  }))
})

const segment = fc.constantFrom("a", "b", "www", "x", "..", ".", "", "etc")
const pathArb = fc.oneof(
  { weight: 6, arbitrary: fc.array(segment, { minLength: 0, maxLength: 3 }).map((p) => ["data", ...p].join("/")) },
  { weight: 1, arbitrary: fc.constantFrom(`${outside}/planted`, "/etc/x", "../host/planted", "data/../../host/planted", "volumes/v/../../x", "other/x", "data/a/") }
)
const entryArb: fc.Arbitrary<Crafted> = fc.record({
  path: pathArb,
  kind: fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom<Kind>("file", "dir", "symlink") },
    { weight: 1, arbitrary: fc.constantFrom<Kind>("hardlink", "chardev", "blockdev", "fifo") }
  ),
  mode: fc.constantFrom(0o644, 0o755, 0o4755, 0o2755, 0o6777, 0o700),
  content: fc.string({ maxLength: 40 }),
  linkname: fc.constantFrom(outside, `${outside}/planted`, "/etc/shadow", "../../host", "a", "b/../..", "")
})
const archiveArb = fc.record({
  // a root folder first, as our writer does, most of the time
  entries: fc.tuple(fc.boolean(), fc.array(entryArb, { minLength: 1, maxLength: 8 })).map(([root, rest]) =>
    root ? [{ path: "data", kind: "dir" as const, mode: 0o755, content: "", linkname: "" }, ...rest] : rest),
  honest: fc.boolean(),
  // rewritten in place, with another crafted archive, this many ms into the restore (or never)
  rewriteAfter: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
  other: fc.array(entryArb, { minLength: 1, maxLength: 4 })
})

/** Every path under `dir`, with what it is. */
const tree = (dir: string): ReadonlyArray<{ path: string; st: Fs.Stats }> => {
  const out: Array<{ path: string; st: Fs.Stats }> = []
  const walk = (d: string) => {
    for (const name of Fs.readdirSync(d)) {
      const p = Path.join(d, name)
      const st = Fs.lstatSync(p)
      out.push({ path: p, st })
      if (st.isDirectory()) walk(p)
    }
  }
  walk(dir)
  return out
}

let n = 0

describe("crafted archives (fuzz)", () => {
  it.live("extracting a crafted archive never writes outside its fresh folder nor creates anything but files, folders and links", () =>
    Effect.promise(() =>
      fc.assert(fc.asyncProperty(archiveArb, async ({ entries, honest, rewriteAfter, other }) => {
        const run = Path.join(sandbox, `run-${n++}`)
        Fs.mkdirSync(run)
        const archive = Path.join(run, Archive.fileName("web", 1))
        const manifest = honest ? honestManifest(entries) : honestManifest(entries.filter((e) => e.kind === "dir"))
        Fs.writeFileSync(archive, tarOf(entries, manifest))
        const fresh = Path.join(run, "web.restore")
        const exit = await Effect.runPromiseExit(Effect.gen(function*() {
          const rewriter = rewriteAfter === undefined ? undefined : yield* Effect.forkChild(Effect.delay(
            Effect.sync(() => Fs.writeFileSync(archive, tarOf(other, honestManifest(other)), { flag: "r+" })),
            `${rewriteAfter} millis`
          ))
          const result = yield* Effect.exit(ArchiveFile.extract(archive, "web", new Map([["data", fresh]]), { scratch: run }))
          if (rewriter !== undefined) yield* Fiber.await(rewriter)
          return yield* result
        }))
        if (Exit.isFailure(exit)) {
          // a typed error, never a defect
          assert(Option.isSome(Cause.findErrorOption(exit.cause)), Cause.pretty(exit.cause))
        }
        assert.deepStrictEqual(Fs.readdirSync(outside), [], "wrote outside the fresh folder")
        const names = Fs.readdirSync(run).sort()
        for (const name of names) assert(name === Path.basename(archive) || name === "web.restore", `left ${name} in ${run}`)
        if (Exit.isSuccess(exit) && exit.value.entries.some((e) => e.path === "data")) {
          assert(Fs.lstatSync(fresh).isDirectory(), "the restored folder is not a folder")
        }
        if (Fs.existsSync(fresh) && Fs.lstatSync(fresh).isDirectory()) {
          for (const { path, st } of tree(fresh)) {
            assert(st.isFile() || st.isDirectory() || st.isSymbolicLink(), `${path} is not a file, folder or link`)
            if (st.isFile()) {
              assert.strictEqual(st.nlink, 1, `${path} is a hard link`)
              assert.strictEqual(st.mode & 0o6000, 0, `${path} is setuid or setgid`)
            }
          }
        }
        if (Exit.isSuccess(exit)) {
          const listed = new Set(exit.value.entries.map((e) => e.path))
          if (Fs.existsSync(fresh)) for (const { path } of tree(fresh)) assert(listed.has(`data/${Path.relative(fresh, path)}`), `${path} is not in the manifest`)
        }
        Fs.rmSync(run, { recursive: true, force: true })
      }), { numRuns: runs })
    ), 300_000)
})

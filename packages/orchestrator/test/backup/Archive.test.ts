import { execFileSync } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as NodePath from "node:path"
import { afterAll, assert, beforeAll, describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Result } from "effect"
import * as fc from "fast-check"
import * as Archive from "../../src/backup/Archive.js"
import * as ArchiveFile from "../../src/backup/ArchiveFile.js"
import { prop } from "../../../../test-support/prop.js"

const runs = Number(process.env["ARCHY_FUZZ_RUNS"] ?? 100)

// The error of an exit that failed with that one error and nothing else.
const onlyFail = <A, E>(exit: Exit.Exit<A, E>): E | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const [reason, ...rest] = exit.cause.reasons
  return reason !== undefined && rest.length === 0 && Cause.isFailReason(reason) ? reason.error : undefined
}

describe("Archive (pure)", () => {
  const segment = fc.stringMatching(/^[a-zA-Z0-9._-]{1,40}$/).filter((s) => s !== "." && s !== "..")
  const header = fc.record({
    path: fc.array(segment, { minLength: 1, maxLength: 8 }).map((p) => `data/${p.join("/")}`),
    type: fc.constantFrom("file" as const, "dir" as const, "symlink" as const),
    mode: fc.integer({ min: 0, max: 0o7777 }),
    uid: fc.integer({ min: 0, max: 65535 }),
    gid: fc.integer({ min: 0, max: 65535 }),
    size: fc.integer({ min: 0, max: 2 ** 33 - 1 }),
    mtime: fc.integer({ min: 0, max: 2 ** 33 - 1 }),
    linkname: fc.oneof(fc.constant(""), fc.string({ maxLength: 200 }).filter((s) => !s.includes("\0")))
  })

  prop("a header reads back as written, long paths and link targets through PAX", [header], ([h]) => {
    const blocks = Archive.headerBlocks(h)
    let first = Archive.parseHeader(blocks.subarray(0, Archive.blockSize))
    assert(Result.isSuccess(first) && first.success !== undefined)
    let pax = {}
    if (first.success.type === "pax") {
      const body = blocks.subarray(Archive.blockSize, Archive.blockSize + first.success.size)
      pax = Result.getOrThrow(Archive.parsePax(body))
      first = Archive.parseHeader(blocks.subarray(blocks.length - Archive.blockSize))
      assert(Result.isSuccess(first) && first.success !== undefined)
    }
    const got = { ...first.success, path: (pax as { path?: string }).path ?? first.success.path, linkname: (pax as { linkpath?: string }).linkpath ?? first.success.linkname }
    assert.deepStrictEqual(got, h)
  }, { fastCheck: { numRuns: runs } })

  const outsideChecksum = fc.nat(511 - 8).map((n) => (n >= 148 ? n + 8 : n))
  prop("a flipped byte in a header (outside its checksum field) is a checksum mismatch, never a different header", [header, outsideChecksum, fc.integer({ min: 1, max: 255 })], ([h, at, x]) => {
    const block = Archive.headerBlocks({ ...h, path: "data/x", linkname: "" }).slice(0, Archive.blockSize)
    block[at] = block[at]! ^ x
    const parsed = Archive.parseHeader(block)
    assert.deepStrictEqual(parsed, Result.fail("header checksum mismatch"))
  }, { fastCheck: { numRuns: runs } })

  it("refuses paths that climb out, are absolute or belong to no root", () => {
    for (const bad of ["/etc/passwd", "data/../etc", "data//x", "data/./x", "other/x", "volumes", ""]) {
      expect(Result.isFailure(Archive.checkPath(bad)), bad).toBe(true)
    }
    expect(Archive.checkPath("data/a/b")).toEqual(Result.succeed("data/a/b"))
    expect(Archive.checkPath("volumes/v1/x/")).toEqual(Result.succeed("volumes/v1/x"))
    expect(Archive.splitRoot("volumes/v1/x/y")).toEqual({ prefix: "volumes/v1", rest: "x/y" })
    expect(Archive.splitRoot("data")).toEqual({ prefix: "data", rest: "" })
  })

  prop("file names sort by time and parse back", [fc.integer({ min: 0, max: 4102444800000 })], ([ms]) => {
    const name = Archive.fileName("lnd", ms)
    assert.deepStrictEqual(Archive.parseFileName(name), { appId: "lnd", createdAt: ms })
  })

  prop("prune keeps exactly the newest `keep` of ours and never names a foreign file", [
    fc.uniqueArray(fc.integer({ min: 0, max: 4102444800000 }), { maxLength: 20 }),
    fc.integer({ min: 1, max: 10 })
  ], ([times, keep]) => {
    const names = [...times.map((t) => Archive.fileName("lnd", t)), "notes.txt", ".lnd-x.tar.partial-1"]
    const gone = Archive.prune(names, keep)
    assert.strictEqual(gone.length, Math.max(0, times.length - keep))
    const kept = names.filter((n) => !gone.includes(n) && Archive.parseFileName(n) !== undefined)
    const newest = [...times].sort((a, b) => b - a).slice(0, keep).map((t) => Archive.fileName("lnd", t))
    assert.deepStrictEqual(new Set(kept), new Set(newest))
    assert(!gone.includes("notes.txt"))
  })

  const manifest = (entries: ReadonlyArray<Archive.ManifestEntry>): Archive.ArchiveManifest => ({
    format: 1, appId: "x", version: "1", createdAt: 0, live: false, roots: [{ kind: "data", prefix: "data" }], excluded: [], entries, bytes: 0
  })

  it("verify names an entry below a symlink, a missing one, an extra one and a changed one", () => {
    const m = manifest([
      { path: "data", type: "dir", mode: 0o700, uid: 0, gid: 0, size: 0 },
      { path: "data/l", type: "symlink", mode: 0o777, uid: 0, gid: 0, size: 0, linkname: "/etc" },
      { path: "data/l/passwd", type: "file", mode: 0o644, uid: 0, gid: 0, size: 1, sha256: "aa" },
      { path: "data/f", type: "file", mode: 0o644, uid: 0, gid: 0, size: 1, sha256: "bb" }
    ])
    const problems = Archive.verify(m, [
      { path: "data", type: "dir", mode: 0o700, size: 0, linkname: "" },
      { path: "data/l", type: "symlink", mode: 0o777, size: 0, linkname: "/etc" },
      { path: "data/f", type: "file", mode: 0o644, size: 1, sha256: "cc", linkname: "" },
      { path: "data/extra", type: "dir", mode: 0o755, size: 0, linkname: "" }
    ])
    expect(problems.map((p) => p.path).sort()).toEqual(["data/extra", "data/f", "data/l/passwd", "data/l/passwd"])
  })
})

describe("ArchiveFile", () => {
  let root = ""
  beforeAll(async () => {
    root = await Fs.mkdtemp(NodePath.join(Os.tmpdir(), "archy-archive-"))
  })
  afterAll(async () => {
    await Fs.rm(root, { recursive: true, force: true })
  })

  const tree = async (dir: string) => {
    await Fs.mkdir(NodePath.join(dir, "sub/deep"), { recursive: true })
    await Fs.writeFile(NodePath.join(dir, "a.txt"), "alpha\n", { mode: 0o640 })
    await Fs.writeFile(NodePath.join(dir, "sub/deep/b.bin"), Buffer.alloc(3 * 1024 * 1024 + 7, 9))
    await Fs.chmod(NodePath.join(dir, "sub/deep/b.bin"), 0o600)
    await Fs.writeFile(NodePath.join(dir, "secret.conf"), "password=x\n")
    const long = NodePath.join(dir, "l".repeat(90), "m".repeat(90))
    await Fs.mkdir(long, { recursive: true })
    await Fs.writeFile(NodePath.join(long, "n".repeat(120)), "long\n")
    await Fs.symlink("a.txt", NodePath.join(dir, "link"))
    await Fs.chmod(NodePath.join(dir, "sub"), 0o750)
  }

  const listing = async (dir: string): Promise<ReadonlyArray<string>> => {
    const out: Array<string> = []
    const walk = async (d: string, rel: string) => {
      for (const name of (await Fs.readdir(d)).sort()) {
        const p = NodePath.join(d, name)
        const st = await Fs.lstat(p)
        const r = `${rel}/${name}`
        const what = st.isSymbolicLink() ? `-> ${await Fs.readlink(p)}` : st.isFile() ? (await Fs.readFile(p)).toString("base64").slice(0, 40) + `:${st.size}` : "dir"
        out.push(`${r} ${(st.mode & 0o7777).toString(8)} ${what}`)
        if (st.isDirectory()) await walk(p, r)
      }
    }
    await walk(dir, "")
    return out
  }

  const make = async (name: string) => {
    const data = NodePath.join(root, name, "data")
    const vol = NodePath.join(root, name, "vol")
    await Fs.mkdir(vol, { recursive: true })
    await tree(data)
    await Fs.writeFile(NodePath.join(vol, "v.txt"), "volume\n", { mode: 0o604 })
    const target = NodePath.join(root, name, Archive.fileName("demo", 1_700_000_000_000))
    const manifest = await Effect.runPromise(ArchiveFile.write({
      target,
      sources: [
        { root: { kind: "data", prefix: "data" }, dir: data },
        { root: { kind: "volume", name: "v1", prefix: Archive.volumePrefix("v1") }, dir: vol }
      ],
      exclude: [NodePath.join(data, "secret.conf")],
      meta: { appId: "demo", version: "1.0", createdAt: 1_700_000_000_000, live: false }
    }))
    return { data, vol, target, manifest }
  }

  it("round-trips files, modes, symlinks, long paths and a volume; leaves the excluded file out", async () => {
    const { data, manifest, target, vol } = await make("rt")
    expect(manifest.excluded).toEqual(["data/secret.conf"])
    expect((await Fs.stat(target)).mode & 0o777).toBe(0o600)
    expect((await Fs.readdir(NodePath.dirname(target))).filter((n) => n.includes("partial"))).toEqual([])
    const fresh = NodePath.join(root, "rt-out")
    await Fs.mkdir(fresh)
    const back = await Effect.runPromise(ArchiveFile.extract(target, "demo", new Map([
      ["data", NodePath.join(fresh, "data")],
      ["volumes/v1", NodePath.join(fresh, "vol")]
    ])))
    expect(back).toEqual(manifest)
    await Fs.rm(NodePath.join(data, "secret.conf"))
    expect(await listing(NodePath.join(fresh, "data"))).toEqual(await listing(data))
    expect(await listing(NodePath.join(fresh, "vol"))).toEqual(await listing(vol))
    expect((await Fs.stat(NodePath.join(fresh, "data"))).mode & 0o777).toBe((await Fs.stat(data)).mode & 0o777)
  })

  it("is a tar the system's tar lists", async () => {
    const { target } = await make("systar")
    const names = execFileSync("tar", ["-tf", target], { encoding: "utf8" }).trim().split("\n")
    expect(names).toContain("data/a.txt")
    expect(names).toContain(`data/${"l".repeat(90)}/${"m".repeat(90)}/${"n".repeat(120)}`)
    expect(names).toContain("volumes/v1/v.txt")
    expect(names.at(-1)).toBe("archive.json")
  })

  it("refuses a flipped byte naming the entry, and another app's archive", async () => {
    const { target } = await make("tamper")
    const bytes = await Fs.readFile(target)
    const at = bytes.indexOf(Buffer.from("alpha\n"))
    bytes[at] = "A".charCodeAt(0)
    const bad = NodePath.join(root, "tamper", "bad.tar")
    await Fs.writeFile(bad, bytes)
    const exit = await Effect.runPromiseExit(ArchiveFile.verify(bad))
    assert(Exit.isFailure(exit))
    const err = onlyFail(exit)
    assert(err?._tag === "ArchiveChecksumMismatch")
    expect(err.problems.map((p) => p.path)).toEqual(["data/a.txt"])
    expect(err.message).toContain("data/a.txt")
    const wrong = await Effect.runPromiseExit(ArchiveFile.verify(target, "lnd"))
    const wrongErr = onlyFail(wrong)
    assert(Exit.isFailure(wrong) && wrongErr?._tag === "ArchiveWrongApp")
    expect(wrongErr.message).toBe(`${target} is a backup of demo, not of lnd`)
  })

  it("refuses a truncated archive, naming where", async () => {
    const { target } = await make("trunc")
    const bytes = await Fs.readFile(target)
    const cut = NodePath.join(root, "trunc", "cut.tar")
    await Fs.writeFile(cut, bytes.subarray(0, 4096))
    const exit = await Effect.runPromiseExit(ArchiveFile.verify(cut))
    assert(Exit.isFailure(exit) && onlyFail(exit)?._tag === "ArchiveCorrupt")
  })

  it("never extracts through a symlink: an entry below a link is refused before anything is written", async () => {
    const { target } = await make("symlink")
    // a hand-made archive: data/l -> /tmp, then data/l/x
    const blocks: Array<Uint8Array> = []
    const m = {
      format: 1, appId: "demo", version: "1", createdAt: 0, live: false, roots: [{ kind: "data", prefix: "data" }], excluded: [], bytes: 1,
      entries: [
        { path: "data", type: "dir", mode: 0o700, uid: 0, gid: 0, size: 0 },
        { path: "data/l", type: "symlink", mode: 0o777, uid: 0, gid: 0, size: 0, linkname: root },
        { path: "data/l/x", type: "file", mode: 0o644, uid: 0, gid: 0, size: 1, sha256: "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881" }
      ]
    }
    blocks.push(Archive.headerBlocks({ path: "data", type: "dir", mode: 0o700, uid: 0, gid: 0, size: 0, mtime: 0, linkname: "" }))
    blocks.push(Archive.headerBlocks({ path: "data/l", type: "symlink", mode: 0o777, uid: 0, gid: 0, size: 0, mtime: 0, linkname: root }))
    blocks.push(Archive.headerBlocks({ path: "data/l/x", type: "file", mode: 0o644, uid: 0, gid: 0, size: 1, mtime: 0, linkname: "" }))
    blocks.push(new Uint8Array([120, ...new Uint8Array(511)]))
    const body = Buffer.from(JSON.stringify(m))
    blocks.push(Archive.headerBlocks({ path: "archive.json", type: "file", mode: 0o600, uid: 0, gid: 0, size: body.length, mtime: 0, linkname: "" }))
    blocks.push(body, new Uint8Array(Archive.padded(body.length) - body.length), Archive.endBlocks())
    const evil = NodePath.join(NodePath.dirname(target), "evil.tar")
    await Fs.writeFile(evil, Buffer.concat(blocks))
    const out = NodePath.join(root, "symlink", "out")
    const exit = await Effect.runPromiseExit(ArchiveFile.extract(evil, "demo", new Map([["data", out]])))
    const err = onlyFail(exit)
    assert(Exit.isFailure(exit) && err?._tag === "ArchiveChecksumMismatch")
    expect(err.problems).toEqual([{ path: "data/l/x", reason: "lies below the symlink data/l" }])
    await expect(Fs.stat(NodePath.join(root, "x"))).rejects.toThrow()
    await expect(Fs.stat(out)).rejects.toThrow()
  })
})

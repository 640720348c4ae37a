/**
 * The three attacks on a restore by someone who can write the backup target (issue 25, section
 * 2), each run through `Backups.stage` as the restore runs it (as root here: a restore runs as
 * root on a node).
 */
import { spawn } from "node:child_process"
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterEach, assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Option } from "effect"
import * as Archive from "../../src/backup/Archive.js"
import * as ArchiveFile from "../../src/backup/ArchiveFile.js"
import type { AppDef } from "../../src/services/Apps.js"
import { AppId } from "../../src/domain/index.js"
import * as Backups from "../../src/services/Backups.js"
import { Lifecycle } from "../../src/services/Lifecycle.js"
import { StateStore } from "../../src/services/StateStore.js"
import { SimulatedRuntime } from "../../src/testing/index.js"
import { defsOf, orchestrator, serviceManifest, tempDir, waitUntil } from "../services/harness.js"

const cleanups: Array<() => void> = []
afterEach(() => {
  for (const f of cleanups.splice(0)) f()
})

const setup = () => {
  const dataDir = tempDir("restore-attack-data-")
  const backupDir = tempDir("restore-attack-target-")
  const outside = tempDir("restore-attack-host-")
  const def = defsOf([serviceManifest("web", { volumes: [{ source: "./www", target: "/www" }] })], dataDir)[0]!
  Fs.mkdirSync(def.dataDir, { recursive: true })
  cleanups.push(() => {
    for (const d of [dataDir, backupDir, outside]) Fs.rmSync(d, { recursive: true, force: true })
  })
  return { dataDir, backupDir, outside, def }
}

const service = (backupDir: string, dataDir: string) =>
  Effect.runSync(Backups.make({ dir: backupDir, dataDir, volumePath: () => Effect.die("no volumes here") }))

/** A raw tar of the given entries (headers as written by `Archive`), then a manifest body, then the end. */
const rawArchive = (
  entries: ReadonlyArray<{ path: string; type: Archive.EntryType; mode?: number; content?: string; linkname?: string }>,
  manifest: unknown
): Buffer => {
  const parts: Array<Uint8Array> = []
  for (const e of entries) {
    const body = Buffer.from(e.content ?? "")
    parts.push(Archive.headerBlocks({ path: e.path, type: e.type, mode: e.mode ?? 0o755, uid: 0, gid: 0, size: body.length, mtime: 0, linkname: e.linkname ?? "" }))
    parts.push(body, new Uint8Array(Archive.padded(body.length) - body.length))
  }
  const m = Buffer.from(JSON.stringify(manifest))
  parts.push(Archive.headerBlocks({ path: Archive.manifestName, type: "file", mode: 0o600, uid: 0, gid: 0, size: m.length, mtime: 0, linkname: "" }))
  parts.push(m, new Uint8Array(Archive.padded(m.length) - m.length), Archive.endBlocks())
  return Buffer.concat(parts)
}

/** A real archive of a data folder holding one plain file. */
const goodArchive = (def: AppDef, target: string) => {
  const src = tempDir("restore-attack-src-")
  cleanups.push(() => Fs.rmSync(src, { recursive: true, force: true }))
  Fs.writeFileSync(Path.join(src, "a.txt"), "hello\n")
  return Effect.runPromise(ArchiveFile.write({
    target,
    sources: [{ root: { kind: "data", prefix: "data" }, dir: src }],
    exclude: [],
    meta: { appId: def.id, version: "1.0.0", createdAt: 1, live: false }
  }))
}

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  assert(Exit.isFailure(exit), "expected a failure")
  const f = Cause.findErrorOption(exit.cause)
  assert(Option.isSome(f), `expected a typed failure, got ${Cause.pretty(exit.cause)}`)
  return f.value
}

describe("a restore cannot be turned against the host", () => {
  it.live("an archive swapped for a crafted one between the checks and the unpacking never writes outside the app's folder", () =>
    Effect.gen(function*() {
      const { backupDir, outside, def, dataDir } = setup()
      const backups = service(backupDir, dataDir)
      const folder = Path.join(backupDir, def.id)
      Fs.mkdirSync(folder, { recursive: true })
      const good = Path.join(backupDir, "good.tar")
      const manifest = yield* Effect.promise(() => goodArchive(def, good))
      // Consistent with nothing: a link out of the folder, and a setuid-root file below it.
      Fs.writeFileSync(Path.join(backupDir, "evil.tar"), rawArchive([
        { path: "data", type: "dir" },
        { path: "data/x", type: "symlink", linkname: outside },
        { path: "data/x/evil", type: "file", mode: 0o4755, content: "#!/bin/sh\nid\n" }
      ], manifest))
      const archive = Path.join(folder, Archive.fileName(def.id, 1))
      Fs.copyFileSync(good, archive)
      // The attacker flips the archive between the good and the crafted one, again and again.
      const swapper = spawn("sh", ["-c", `cd ${backupDir} && while :; do ln -f good.tar g && mv -f g ${archive}; ln -f evil.tar e && mv -f e ${archive}; done`], { stdio: "ignore" })
      cleanups.push(() => swapper.kill("SIGKILL"))
      let restored = 0
      let refused = 0
      for (let i = 0; i < 40 && Fs.readdirSync(outside).length === 0; i++) {
        const exit = yield* Effect.exit(backups.stage(def, archive, []))
        if (Exit.isSuccess(exit)) {
          restored++
          // whatever was staged is the good archive's content, nothing else
          const fresh = exit.value.swaps[0]!.fresh
          assert.deepStrictEqual(Fs.readdirSync(fresh), ["a.txt"])
          yield* backups.discard(exit.value)
        } else refused++
      }
      swapper.kill("SIGKILL")
      console.log(`archive swapped under 40 restores: ${restored} restored the good archive, ${refused} refused the crafted one`)
      assert.deepStrictEqual(Fs.readdirSync(outside), [], "the restore wrote outside the app's folder")
      assert.strictEqual(restored + refused, 40)
      // nothing left beside the live folder
      assert.deepStrictEqual(Fs.readdirSync(Path.dirname(def.dataDir)).filter((n) => n !== def.id && !n.startsWith(".")), [])
    }), 120_000)

  it.live("an archive's own symlink never makes the carried hook-rendered files land outside the folder", () =>
    Effect.gen(function*() {
      const { backupDir, outside, def, dataDir } = setup()
      const backups = service(backupDir, dataDir)
      // self-consistent: the manifest lists the link, its checksums are right
      const src = tempDir("restore-attack-src-")
      cleanups.push(() => Fs.rmSync(src, { recursive: true, force: true }))
      Fs.symlinkSync(outside, Path.join(src, "www"))
      Fs.mkdirSync(Path.join(backupDir, def.id))
      const archive = Path.join(backupDir, def.id, Archive.fileName(def.id, 1))
      yield* ArchiveFile.write({ target: archive, sources: [{ root: { kind: "data", prefix: "data" }, dir: src }], exclude: [], meta: { appId: def.id, version: "1.0.0", createdAt: 1, live: false } })
      // the live folder holds a file a pre-start hook rendered (a macaroon, say)
      Fs.mkdirSync(Path.join(def.dataDir, "www"), { recursive: true })
      const rendered = Path.join(def.dataDir, "www", "admin.macaroon")
      Fs.writeFileSync(rendered, "SECRET-MACAROON", { mode: 0o600 })
      const exit = yield* Effect.exit(backups.stage(def, archive, [rendered]))
      assert.deepStrictEqual(Fs.readdirSync(outside), [], "the carried file was written through the archive's link")
      const error = failureOf(exit)
      assert.strictEqual(error._tag, "UnsafePath")
      assert.include(error.message, "www")
      // the fresh folder is gone
      assert.deepStrictEqual(Fs.readdirSync(Path.dirname(def.dataDir)).filter((n) => n.includes(".restore-")), [])
    }))

  it.live("a FIFO named like an archive is refused at once, naming it", () =>
    Effect.gen(function*() {
      const { backupDir, def, dataDir } = setup()
      const backups = service(backupDir, dataDir)
      Fs.mkdirSync(Path.join(backupDir, def.id))
      const fifo = Path.join(backupDir, def.id, Archive.fileName(def.id, 2))
      execFileSync("mkfifo", [fifo])
      // a reader blocked on it is let go at the end (it would hold one of Node's I/O threads)
      cleanups.push(() => {
        try {
          Fs.closeSync(Fs.openSync(fifo, Fs.constants.O_WRONLY | Fs.constants.O_NONBLOCK))
        } catch {
          // no reader left: nothing to release
        }
      })
      const started = Date.now()
      const viaStage = yield* Effect.exit(backups.stage(def, fifo, []).pipe(Effect.timeoutOrElse({ duration: "5 seconds", orElse: () => Effect.fail("timed out" as const) })))
      const error = failureOf(viaStage)
      assert.notStrictEqual(error, "timed out", "stage blocked on the FIFO")
      assert.include((error as { message: string }).message, fifo)
      assert.include((error as { message: string }).message, "not a regular file")
      const viaVerify = yield* Effect.exit(ArchiveFile.verify(fifo).pipe(Effect.timeoutOrElse({ duration: "5 seconds", orElse: () => Effect.fail("timed out" as const) })))
      assert.include((failureOf(viaVerify) as { message: string }).message, "not a regular file")
      assert.isBelow(Date.now() - started, 5_000)
      // the listing of the target does not offer it as an archive
      assert.deepStrictEqual((yield* backups.list(def.id)).map((a) => a.path), [])
    }), 30_000)

  it.live("a restore through the lifecycle skips a FIFO planted as the newest archive and restores the real one at once", () => {
    const { backupDir, def, dataDir } = setup()
    const health = { type: "cmd", command: ["true"], interval: 1, retries: 1, startPeriod: 0 }
    const manifests = [serviceManifest("web", { volumes: [{ source: "./www", target: "/www" }], health })]
    const layer = orchestrator(defsOf(manifests, dataDir), {
      dataDir,
      scanInterval: "1 hour",
      reconcileInterval: "1 hour",
      healthInterval: "1 hour",
      shutdownGrace: 0,
      backup: { dir: backupDir, volumePath: () => Effect.die("no volumes here") }
    }).pipe(Layer.provideMerge(SimulatedRuntime.layer()))
    const settled = Effect.flatMap(StateStore, (st) => Effect.map(st.entry(AppId.make("web")), (e) => e.transition === undefined && e.state === "running"))
    let fifo = ""
    cleanups.push(() => {
      try {
        if (fifo !== "") Fs.closeSync(Fs.openSync(fifo, Fs.constants.O_WRONLY | Fs.constants.O_NONBLOCK))
      } catch {
        // no reader left: nothing to release
      }
    })
    return Effect.gen(function*() {
      const lifecycle = yield* Lifecycle
      yield* lifecycle.request("install", "web")
      yield* waitUntil(settled, "web running")
      Fs.mkdirSync(Path.join(def.dataDir, "www"), { recursive: true })
      Fs.writeFileSync(Path.join(def.dataDir, "www", "index.html"), "v1\n")
      yield* lifecycle.request("backup", "web")
      yield* Effect.sleep("50 millis")
      yield* waitUntil(settled, "backup over")
      Fs.writeFileSync(Path.join(def.dataDir, "www", "index.html"), "v2\n")
      fifo = Path.join(backupDir, "web", Archive.fileName("web", Date.now() + 3_600_000))
      execFileSync("mkfifo", [fifo])
      const started = Date.now()
      yield* lifecycle.request("restore", "web")
      yield* Effect.sleep("50 millis")
      yield* waitUntil(settled, "restore over", 20_000)
      const entry = yield* Effect.flatMap(StateStore, (st) => st.entry(AppId.make("web")))
      assert.isUndefined(entry.lastError, entry.lastError?.message)
      assert.strictEqual(Fs.readFileSync(Path.join(def.dataDir, "www", "index.html"), "utf8"), "v1\n")
      assert.isBelow(Date.now() - started, 20_000)
    }).pipe(Effect.provide(layer))
  }, 60_000)

  it.live("sweep removes what a killed backup or restore left on the node and in the target, never a previous folder", () =>
    Effect.gen(function*() {
      const { backupDir, def, dataDir } = setup()
      const backups = service(backupDir, dataDir)
      // the node's scratch is the folder that holds the app's folder (one file system for renames)
      const scratch = Path.dirname(def.dataDir)
      const left = [
        Path.join(scratch, ".web.backup-staging-20261207T180000000Z"),
        Path.join(scratch, ".web.archive-copy-123-abcdef"),
        Path.join(scratch, ".web.volume-cache.restore-20261207T180000000Z"),
        Path.join(backupDir, "web", ".web-20261207T180000000Z.tar.age.tmp-123-abcdef")
      ]
      const kept = [Path.join(scratch, "web.previous-20261207T180000000Z"), Path.join(scratch, ".other.backup-staging-20261207T180000000Z")]
      Fs.mkdirSync(Path.join(backupDir, "web"))
      for (const p of [...left, ...kept]) Fs.writeFileSync(p, "x")
      const removed = yield* backups.sweep(def)
      assert.deepStrictEqual([...removed].sort(), [...left].sort())
      for (const p of kept) assert(Fs.existsSync(p), p)
    }))
})

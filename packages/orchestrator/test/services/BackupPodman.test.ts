/**
 * Backup and restore on real podman: an app's data folder (files, modes) and named volume
 * round-trip through an archive; a restore whose app fails its health gate is put back; a
 * stand-in for LND rewriting `channel.backup` gets each version copied into the target; a volume
 * without a host folder of its own (`local` with bind options: its `_data` is empty while no
 * container runs) round-trips through `podman volume export` / `import` tar streams; an app whose
 * manifest names the built-in `freeze` pre-backup hook is backed up without stopping (paused for
 * the copy, the same process after) and its archive verifies.
 * Containers, images and volumes carry this run's `t-bk-<tag>-` prefix and are removed after.
 */
import { afterAll, assert, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { AppId } from "../../src/domain/index.js"
import * as ArchiveFile from "../../src/backup/ArchiveFile.js"
import { Backups } from "../../src/services/Backups.js"
import * as PreBackupHooks from "../../src/services/PreBackupHooks.js"
import { Lifecycle } from "../../src/services/Lifecycle.js"
import { StateStore } from "../../src/services/StateStore.js"
import { runTag } from "../runtime/podman.js"
import { addDemoApp, demoManifest, ensureBaseImage, hasPodman, inspect, podman, podmanOrchestrator, removeDemoApp, until } from "./podmanFixture.js"

const prefix = `t-bk-${runTag}-`
const app = `${prefix}app`
const scb = `${prefix}scb`
const volume = `${app}-vol`
const streamed = `${prefix}streamed`
const boundVolume = `${streamed}-vol`
const live = `${prefix}live`

if (!hasPodman) console.warn("services/BackupPodman.test.ts skipped: podman is not available on this host")

const makeApps = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bk-apps-"))
  addDemoApp(dir, app, demoManifest(app, {}, [
    `volumes:`,
    `  - source: ./files`,
    `    target: /files`,
    `  - source: ${volume}`,
    `    target: /vol`,
    // healthy unless the data holds a file marking it broken
    `health:`,
    `  type: cmd`,
    `  command: ["sh", "-c", "test ! -e /files/broken"]`,
    `  interval: 1`,
    `  retries: 2`
  ]))
  addDemoApp(dir, scb, demoManifest(scb, {}, [
    `volumes:`,
    `  - source: ./data`,
    `    target: /data`,
    `backup:`,
    `  watch:`,
    `    - path: ./data/chain/channel.backup`,
    `      keep: 3`
  ]))
  addDemoApp(dir, streamed, demoManifest(streamed, {}, [
    `volumes:`,
    `  - source: ${boundVolume}`,
    `    target: /vol`,
    `health:`,
    `  type: cmd`,
    `  command: ["sh", "-c", "test ! -e /vol/broken"]`,
    `  interval: 1`,
    `  retries: 2`
  ]))
  addDemoApp(dir, live, demoManifest(live, {}, [
    `volumes:`,
    `  - source: ./files`,
    `    target: /files`,
    `backup:`,
    `  liveHook: freeze`
  ]))
  return dir
}

const cleanup = () => {
  for (const id of [app, scb, streamed, live]) removeDemoApp(id)
  podman("volume", "rm", "--force", volume)
  podman("volume", "rm", "--force", boundVolume)
}

const listing = (dir: string): ReadonlyArray<string> => {
  const out: Array<string> = []
  const walk = (d: string, rel: string) => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name)
      const st = fs.lstatSync(p)
      out.push(`${rel}/${name} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${st.isFile() ? fs.readFileSync(p, "utf8") : "dir"}`)
      if (st.isDirectory()) walk(p, `${rel}/${name}`)
    }
  }
  walk(dir, "")
  return out
}

describe.skipIf(!hasPodman)("backup and restore on podman", () => {
  let appsDir = ""
  beforeAll(async () => {
    cleanup()
    await Effect.runPromise(ensureBaseImage)
    appsDir = makeApps()
  }, 120_000)
  afterAll(() => cleanup())

  const layer = (dataDir: string, backupDir: string) => podmanOrchestrator(appsDir, dataDir, { backup: { dir: backupDir, keep: 3 } })

  const entry = (id: string) => Effect.flatMap(StateStore, (s) => s.entry(AppId.make(id)))
  const settled = (id: string) => Effect.map(entry(id), (e) => e.transition === undefined && e.state === "running")
  const op = (which: "install" | "backup" | "restore", id: string) =>
    Effect.gen(function*() {
      yield* Effect.flatMap(Lifecycle, (l) => l.request(which, id))
      yield* until(Effect.map(entry(id), (e) => e.transition === undefined), `${which} of ${id} over`, 120_000)
      return yield* entry(id)
    })

  it.live("round-trips the data folder (files, modes) and a named volume; an unhealthy restore is put back", () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "bk-data-"))
    const backupDir = fs.mkdtempSync(path.join(os.tmpdir(), "bk-target-"))
    return Effect.gen(function*() {
      yield* op("install", app)
      yield* until(settled(app), "app running", 120_000)
      const files = path.join(dataDir, "apps", app, "files")
      const vol = podman("volume", "inspect", "--format", "{{.Mountpoint}}", volume).stdout
      assert.match(vol, /^\//)
      fs.mkdirSync(path.join(files, "sub"), { recursive: true })
      fs.writeFileSync(path.join(files, "ok.txt"), "v1\n", { mode: 0o640 })
      fs.writeFileSync(path.join(files, "sub", "key"), "k1\n", { mode: 0o600 })
      fs.chmodSync(path.join(files, "sub"), 0o750)
      // written by the container: the volume's own owner and modes
      assert.strictEqual(podman("exec", app, "sh", "-c", "echo vol1 > /vol/a.txt && chmod 604 /vol/a.txt && mkdir -p /vol/d && echo x > /vol/d/x").status, 0)
      const before = { files: listing(files), vol: listing(vol) }
      const startedBefore = inspect(app)!.startedAt

      const backedUp = yield* op("backup", app)
      assert.isUndefined(backedUp.lastError, backedUp.lastError?.message)
      assert.strictEqual(backedUp.state, "running")
      assert.notStrictEqual(inspect(app)!.startedAt, startedBefore, "stopped for the copy and started again")
      const [archive] = yield* Effect.flatMap(Backups, (b) => b.list(app))
      assert.isDefined(archive)
      const names = podmanTar(archive!.path)
      expect(names).toContain(`data/files/sub/key`)
      expect(names).toContain(`volumes/${volume}/a.txt`)

      // the data changes
      fs.writeFileSync(path.join(files, "ok.txt"), "v2\n")
      fs.chmodSync(path.join(files, "ok.txt"), 0o666)
      fs.rmSync(path.join(files, "sub"), { recursive: true })
      assert.strictEqual(podman("exec", app, "sh", "-c", "echo vol2 > /vol/a.txt && rm -r /vol/d && echo new > /vol/new").status, 0)

      const restored = yield* op("restore", app)
      assert.isUndefined(restored.lastError, restored.lastError?.message)
      assert.strictEqual(restored.state, "running")
      assert.deepStrictEqual({ files: listing(files), vol: listing(vol) }, before)
      assert.strictEqual(podman("exec", app, "cat", "/vol/a.txt").stdout, "vol1", "the container sees the restored volume")
      assert.strictEqual(podman("exec", app, "cat", "/files/ok.txt").stdout, "v1", "the container sees the restored folder")

      // an archive whose data fails the app's health check
      fs.writeFileSync(path.join(files, "broken"), "yes\n")
      const second = yield* op("backup", app)
      assert.isUndefined(second.lastError, second.lastError?.message)
      fs.rmSync(path.join(files, "broken"))
      fs.writeFileSync(path.join(files, "ok.txt"), "v3\n")
      const afterChange = { files: listing(files), vol: listing(vol) }
      const refused = yield* op("restore", app)
      assert.strictEqual(refused.lastError?.op, "restore")
      expect(refused.lastError?.message).toMatch(/did not pass the health gate .*the previous data was put back/)
      assert.deepStrictEqual({ files: listing(files), vol: listing(vol) }, afterChange)
      yield* until(settled(app), "app running again on its previous data", 120_000)
      assert.strictEqual(podman("exec", app, "cat", "/files/ok.txt").stdout, "v3")
      assert.deepStrictEqual(fs.readdirSync(dataDir).filter((n) => n.includes(".previous-") || n.includes(".restore-")), [])
      assert.deepStrictEqual(fs.readdirSync(path.dirname(vol)).filter((n) => n !== "_data"), [])
    }).pipe(Effect.provide(layer(dataDir, backupDir)))
  }, 600_000)

  it.live("a volume whose content is only there while mounted round-trips through podman volume export/import (files, modes); an unhealthy restore imports the previous content back", () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "bk-stream-"))
    const backupDir = fs.mkdtempSync(path.join(os.tmpdir(), "bk-stream-target-"))
    // a local volume bound to a folder elsewhere (a disk, a share): podman mounts it only while in use
    const device = fs.mkdtempSync(path.join(os.tmpdir(), "bk-stream-device-"))
    const created = podman("volume", "create", "--driver", "local", "-o", "type=none", "-o", "o=bind", "-o", `device=${device}`, boundVolume)
    assert.strictEqual(created.status, 0, created.stderr)
    return Effect.gen(function*() {
      yield* op("install", streamed)
      yield* until(settled(streamed), "app running", 120_000)
      const r = podman("exec", streamed, "sh", "-c", "echo one > /vol/a.txt && chmod 640 /vol/a.txt && mkdir -p /vol/d && chmod 710 /vol/d && echo two > /vol/d/b && chmod 600 /vol/d/b")
      assert.strictEqual(r.status, 0, r.stderr)
      const before = listing(device)
      assert.deepStrictEqual(before, ["/a.txt 640 0:0 one\n", "/d 710 0:0 dir", "/d/b 600 0:0 two\n"])

      const backedUp = yield* op("backup", streamed)
      assert.isUndefined(backedUp.lastError, backedUp.lastError?.message)
      const [archive] = yield* Effect.flatMap(Backups, (b) => b.list(streamed))
      const names = podmanTar(archive!.path)
      expect(names).toContain(`volumes/${boundVolume}/a.txt`)
      expect(names).toContain(`volumes/${boundVolume}/d/b`)
      const verified = spawnSync("tar", ["-xOf", archive!.path, "archive.json"], { encoding: "utf8" }).stdout
      const entry = (JSON.parse(verified) as { entries: Array<{ path: string; mode: number }> }).entries
        .find((e) => e.path === `volumes/${boundVolume}/d/b`)
      assert.strictEqual(entry?.mode, 0o600)

      assert.strictEqual(podman("exec", streamed, "sh", "-c", "echo changed > /vol/a.txt && rm -r /vol/d && echo new > /vol/new").status, 0)
      const restored = yield* op("restore", streamed)
      assert.isUndefined(restored.lastError, restored.lastError?.message)
      assert.strictEqual(restored.state, "running")
      assert.deepStrictEqual(listing(device), before)
      assert.strictEqual(podman("exec", streamed, "cat", "/vol/a.txt").stdout, "one", "the container sees the restored volume")
      // staging folders and streams are gone from the target
      const staged = () => fs.readdirSync(path.join(backupDir, streamed)).filter((n) => n.startsWith("."))
      assert.deepStrictEqual(staged(), [])

      // an archive whose volume fails the health check: the previous stream is imported back
      assert.strictEqual(podman("exec", streamed, "sh", "-c", "touch /vol/broken").status, 0)
      const second = yield* op("backup", streamed)
      assert.isUndefined(second.lastError, second.lastError?.message)
      assert.strictEqual(podman("exec", streamed, "sh", "-c", "rm /vol/broken && echo three > /vol/a.txt").status, 0)
      const afterChange = listing(device)
      const refused = yield* op("restore", streamed)
      assert.strictEqual(refused.lastError?.op, "restore")
      expect(refused.lastError?.message).toMatch(/did not pass the health gate .*the previous data was put back/)
      assert.deepStrictEqual(listing(device), afterChange)
      yield* until(settled(streamed), "app running again on its previous volume", 120_000)
      assert.strictEqual(podman("exec", streamed, "cat", "/vol/a.txt").stdout, "three")
      assert.deepStrictEqual(staged(), [])
    }).pipe(
      Effect.provide(layer(dataDir, backupDir)),
      Effect.ensuring(Effect.sync(() => fs.rmSync(device, { recursive: true, force: true })))
    )
  }, 600_000)

  it.live("with the built-in freeze hook the app is paused for the copy, never stopped, and its archive verifies", () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "bk-live-"))
    const backupDir = fs.mkdtempSync(path.join(os.tmpdir(), "bk-live-target-"))
    const seen: Array<string> = []
    const status = (name: string) => Effect.sync(() => seen.push(podman("inspect", "--format", "{{.State.Status}}", name).stdout))
    const freeze = PreBackupHooks.podmanFreeze()
    const recording: PreBackupHooks.PreBackupHook = {
      name: freeze.name,
      prepare: (ctx) => Effect.andThen(freeze.prepare(ctx), status(ctx.containerName)),
      release: (ctx) => Effect.andThen(freeze.release!(ctx), status(ctx.containerName))
    }
    return Effect.gen(function*() {
      yield* op("install", live)
      yield* until(settled(live), "app running", 120_000)
      const files = path.join(dataDir, "apps", live, "files")
      fs.mkdirSync(files, { recursive: true })
      fs.writeFileSync(path.join(files, "wallet.db"), "state-1\n", { mode: 0o600 })
      const before = inspect(live)!

      const backedUp = yield* op("backup", live)
      assert.isUndefined(backedUp.lastError, backedUp.lastError?.message)
      assert.strictEqual(backedUp.state, "running")
      assert.deepStrictEqual(seen, ["paused", "running"], "frozen during the copy, resumed after")
      const after = inspect(live)!
      assert.strictEqual(after.startedAt, before.startedAt, "never stopped")
      assert.strictEqual(after.pid, before.pid, "the same process")
      const [archive] = yield* Effect.flatMap(Backups, (b) => b.list(live))
      const manifest = yield* ArchiveFile.verify(archive!.path, live)
      assert.strictEqual(manifest.live, true)
      expect(manifest.entries.map((e) => e.path)).toContain("data/files/wallet.db")
      assert.strictEqual(podman("exec", live, "cat", "/files/wallet.db").stdout, "state-1")
    }).pipe(Effect.provide(layer(dataDir, backupDir).pipe(Layer.provide(PreBackupHooks.layer([recording])))))
  }, 600_000)

  it.live("copies each version a stand-in LND writes to channel.backup into the target", () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "bk-scb-"))
    const backupDir = fs.mkdtempSync(path.join(os.tmpdir(), "bk-scb-target-"))
    return Effect.gen(function*() {
      yield* op("install", scb)
      yield* until(settled(scb), "stand-in running", 120_000)
      const folder = path.join(backupDir, scb, "watched", "data-chain-channel-backup")
      const copies = () => (fs.existsSync(folder) ? fs.readdirSync(folder).sort() : [])
      for (const version of ["scb-1", "scb-2", "scb-3", "scb-4"]) {
        // the stand-in rewrites the file the way LND does: a temp file renamed over it
        const r = podman("exec", scb, "sh", "-c", `mkdir -p /data/chain && printf ${version} > /data/chain/channel.backup.tmp && mv /data/chain/channel.backup.tmp /data/chain/channel.backup`)
        assert.strictEqual(r.status, 0, r.stderr)
        yield* until(
          Effect.sync(() => {
            const c = copies()
            return c.length > 0 && fs.readFileSync(path.join(folder, c.at(-1)!), "utf8") === version
          }),
          `copy of ${version}`,
          30_000
        )
      }
      // a copy is written before the oldest is pruned: wait for the prune
      yield* until(Effect.sync(() => copies().length === 3), "pruned to 3 copies", 30_000)
      assert.deepStrictEqual(copies().map((n) => fs.readFileSync(path.join(folder, n), "utf8")), ["scb-2", "scb-3", "scb-4"])
    }).pipe(Effect.provide(layer(dataDir, backupDir)))
  }, 300_000)
})

const podmanTar = (archive: string): ReadonlyArray<string> =>
  spawnSync("tar", ["-tf", archive], { encoding: "utf8" }).stdout.trim().split("\n")

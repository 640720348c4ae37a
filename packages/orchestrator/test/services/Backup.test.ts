import * as Fs from "node:fs"
import * as Path from "node:path"
import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Queue } from "effect"
import * as Archive from "../../src/backup/Archive.js"
import { AppId } from "../../src/domain/index.js"
import { CommandFailed } from "../../src/runtime/RuntimeError.js"
import { Apps } from "../../src/services/Apps.js"
import { Backups, make as makeBackups } from "../../src/services/Backups.js"
import * as HookRegistry from "../../src/services/HookRegistry.js"
import { Lifecycle } from "../../src/services/Lifecycle.js"
import { StateStore } from "../../src/services/StateStore.js"
import { SimulatedRuntime } from "../../src/testing/index.js"
import { startInPlaceWriter } from "../../../../test-support/inplace.js"
import { content, generationOf } from "../fs/fixtures/generation.js"
import { defsOf, orchestrator, serviceManifest, tempDir, waitUntil } from "./harness.js"

const { SimulatedEngine } = SimulatedRuntime

/** A hook rendering a file that holds another app's secret into the app's data folder. */
const secretHook = (dataDir: string) =>
  Layer.succeed(HookRegistry.HookRegistry, {
    names: ["fake-conf"],
    consumers: {},
    run: (request) =>
      Effect.sync(() => {
        const path = Path.join(dataDir, "apps", request.appId, "app.conf")
        Fs.mkdirSync(Path.dirname(path), { recursive: true })
        Fs.writeFileSync(path, "rpcpassword=TOPSECRET-of-bitcoin\n", { mode: 0o600 })
        return { changed: false, files: [{ hook: "fake-conf", path, changed: false, sha256: "x" }] }
      })
  })

const health = { type: "cmd", command: ["true"], interval: 1, retries: 1, startPeriod: 0 }

const setup = (extra: Record<string, unknown> = {}) => {
  const dataDir = tempDir("svc-backup-")
  const backupDir = tempDir("svc-backup-target-")
  const volumes = tempDir("svc-backup-volumes-")
  const manifests = [
    serviceManifest("web", {
      volumes: [{ source: "./www", target: "/www" }, { source: "web-cache", target: "/cache" }],
      health,
      hooks: ["fake-conf"],
      ...extra
    }),
    serviceManifest("db", { health })
  ]
  const layer = orchestrator(defsOf(manifests, dataDir), {
    dataDir,
    scanInterval: "1 hour",
    reconcileInterval: "1 hour",
    healthInterval: "1 hour",
    shutdownGrace: 0,
    hooks: secretHook(dataDir),
    backup: {
      dir: backupDir,
      keep: 2,
      volumePath: (name) => Effect.sync(() => {
        const p = Path.join(volumes, name, "_data")
        Fs.mkdirSync(p, { recursive: true })
        return p
      })
    }
  }).pipe(Layer.provideMerge(SimulatedRuntime.layer()))
  return { dataDir, backupDir, volumes, layer }
}

const settled = (appId: string, state = "running") =>
  Effect.flatMap(StateStore, (s) => Effect.map(s.entry(AppId.make(appId)), (e) => e.transition === undefined && e.state === state))

const listing = (dir: string): ReadonlyArray<string> => {
  const out: Array<string> = []
  const walk = (d: string, rel: string) => {
    for (const name of Fs.readdirSync(d).sort()) {
      const p = Path.join(d, name)
      const st = Fs.lstatSync(p)
      out.push(`${rel}/${name} ${(st.mode & 0o7777).toString(8)} ${st.isFile() ? Fs.readFileSync(p, "utf8") : "dir"}`)
      if (st.isDirectory()) walk(p, `${rel}/${name}`)
    }
  }
  walk(dir, "")
  return out
}

const install = (appId: string) =>
  Effect.gen(function*() {
    const lifecycle = yield* Lifecycle
    yield* lifecycle.request("install", appId)
    yield* waitUntil(settled(appId), `${appId} running`)
  })

const op = (which: "backup" | "restore", appId: string, state = "running", archive?: string) =>
  Effect.gen(function*() {
    const lifecycle = yield* Lifecycle
    const accepted = yield* lifecycle.request(which, appId, archive === undefined ? {} : { archive })
    assert.strictEqual(accepted.status, which === "backup" ? "backing-up" : "restoring-backup")
    yield* waitUntil(settled(appId, state), `${which} of ${appId} over`)
    return (yield* Effect.flatMap(StateStore, (s) => s.entry(AppId.make(appId))))
  })

describe("backup and restore (simulator)", () => {
  it.live("backs up a running app stopped, restores it, keeps the other app's secret out", () => {
    const { backupDir, dataDir, layer, volumes } = setup()
    return Effect.gen(function*() {
      const engine = yield* SimulatedEngine
      yield* install("web")
      const www = Path.join(dataDir, "apps", "web", "www")
      const cache = Path.join(volumes, "web-cache", "_data")
      Fs.mkdirSync(Path.join(www, "img"), { recursive: true })
      Fs.writeFileSync(Path.join(www, "index.html"), "<h1>v1</h1>\n", { mode: 0o640 })
      Fs.writeFileSync(Path.join(www, "img", "logo.svg"), "<svg/>\n", { mode: 0o604 })
      Fs.mkdirSync(cache, { recursive: true })
      Fs.writeFileSync(Path.join(cache, "blob"), "cache v1\n", { mode: 0o600 })
      Fs.mkdirSync(Path.join(dataDir, "secrets"), { recursive: true, mode: 0o700 })
      Fs.writeFileSync(Path.join(dataDir, "secrets", "bitcoin-rpc-password"), "TOPSECRET-of-bitcoin", { mode: 0o600 })
      const before = { www: listing(www), cache: listing(cache) }
      yield* engine.resetCalls
      const entry = yield* op("backup", "web")
      assert.isUndefined(entry.lastError)
      const calls = yield* engine.calls
      assert.strictEqual(calls.stop, 1, "stopped for a consistent copy")
      assert.isAtLeast(calls.start, 1, "started again after")

      const archives = yield* Effect.flatMap(Backups, (b) => b.list("web"))
      assert.strictEqual(archives.length, 1)
      const bytes = Fs.readFileSync(archives[0]!.path)
      assert.isFalse(bytes.includes("TOPSECRET"), "no other app's secret in the app's archive")
      assert.isTrue(bytes.includes("cache v1"))
      const secrets = Path.join(backupDir, "secrets.tar")
      assert.strictEqual(Fs.statSync(secrets).mode & 0o777, 0o600)
      assert.isTrue(Fs.readFileSync(secrets).includes("TOPSECRET-of-bitcoin"))

      // the app's data changes after the backup
      Fs.writeFileSync(Path.join(www, "index.html"), "<h1>v2</h1>\n")
      Fs.chmodSync(Path.join(www, "index.html"), 0o666)
      Fs.rmSync(Path.join(www, "img"), { recursive: true })
      Fs.writeFileSync(Path.join(www, "new.txt"), "new\n")
      Fs.writeFileSync(Path.join(cache, "blob"), "cache v2\n")

      const restored = yield* op("restore", "web")
      assert.isUndefined(restored.lastError, restored.lastError?.message)
      assert.deepStrictEqual({ www: listing(www), cache: listing(cache) }, before)
      assert.strictEqual(Fs.readFileSync(Path.join(dataDir, "apps", "web", "app.conf"), "utf8"), "rpcpassword=TOPSECRET-of-bitcoin\n", "the rendered file carried over")
      assert.deepStrictEqual(Fs.readdirSync(dataDir).filter((n) => n.includes(".previous-") || n.includes(".restore-")), [])
      assert.deepStrictEqual(Fs.readdirSync(Path.join(volumes, "web-cache")), ["_data"])
    }).pipe(Effect.provide(layer))
  }, 120_000)

  it.live("keeps the newest archives only, and tells its subscribers of each change", () => {
    const { layer } = setup()
    return Effect.scoped(Effect.gen(function*() {
      yield* install("web")
      const notices = yield* Effect.flatMap(Backups, (b) => b.subscribeChanges)
      for (let i = 0; i < 3; i++) {
        yield* op("backup", "web")
        yield* Effect.sleep("5 millis")
      }
      const archives = yield* Effect.flatMap(Backups, (b) => b.list("web"))
      assert.strictEqual(archives.length, 2)
      assert.deepStrictEqual(yield* Queue.clear(notices), ["web", "web", "web"])
    })).pipe(Effect.provide(layer))
  }, 120_000)

  it.live("a restore that fails its health gate puts the previous data back", () => {
    const { dataDir, layer } = setup()
    return Effect.gen(function*() {
      const engine = yield* SimulatedEngine
      yield* install("web")
      const index = Path.join(dataDir, "apps", "web", "www", "index.html")
      Fs.writeFileSync(index, "v1\n")
      yield* op("backup", "web")
      Fs.writeFileSync(index, "v2\n")
      yield* engine.failNext("healthcheck", new CommandFailed({ argv: ["podman", "healthcheck", "run", "web"], exitCode: 1, stderr: "unhealthy" }))
      const entry = yield* op("restore", "web")
      assert.strictEqual(entry.lastError?.op, "restore")
      expect(entry.lastError?.message).toMatch(/did not pass the health gate .* the previous data was put back/)
      assert.strictEqual(Fs.readFileSync(index, "utf8"), "v2\n")
      assert.deepStrictEqual(Fs.readdirSync(dataDir).filter((n) => n.includes(".previous-") || n.includes(".restore-")), [])
    }).pipe(Effect.provide(layer))
  }, 120_000)

  it.live("refuses a corrupted archive and another app's archive before touching the app", () => {
    const { backupDir, dataDir, layer } = setup()
    return Effect.gen(function*() {
      const engine = yield* SimulatedEngine
      yield* install("web")
      yield* install("db")
      const index = Path.join(dataDir, "apps", "web", "www", "index.html")
      Fs.writeFileSync(index, "original\n")
      yield* op("backup", "web")
      const [archive] = yield* Effect.flatMap(Backups, (b) => b.list("web"))
      const bytes = Fs.readFileSync(archive!.path)
      bytes[bytes.indexOf("original")] = "O".charCodeAt(0)
      Fs.writeFileSync(archive!.path, bytes)
      Fs.writeFileSync(index, "changed\n")
      yield* engine.resetCalls
      const refused = yield* op("restore", "web")
      expect(refused.lastError?.message).toContain("does not match its manifest: data/www/index.html: sha256")
      assert.strictEqual((yield* engine.calls).stop, 0, "the app was not stopped")
      assert.strictEqual(Fs.readFileSync(index, "utf8"), "changed\n")

      Fs.mkdirSync(Path.join(backupDir, "db"), { recursive: true })
      const foreign = Archive.fileName("db", Date.now())
      Fs.copyFileSync(archive!.path, Path.join(backupDir, "db", foreign))
      const wrong = yield* op("restore", "db", "running", foreign)
      expect(wrong.lastError?.message).toContain(`is a backup of web, not of db`)
    }).pipe(Effect.provide(layer))
  }, 120_000)

  it.live("copies a watched file into the target each time it changes, keeping the last N", () => {
    const { backupDir, dataDir, layer } = setup({ backup: { watch: [{ path: "./data/channel.backup", keep: 2 }] } })
    return Effect.gen(function*() {
      yield* install("web")
      const file = Path.join(dataDir, "apps", "web", "data", "channel.backup")
      const folder = Path.join(backupDir, "web", "watched", "data-channel-backup")
      const copies = () => (Fs.existsSync(folder) ? Fs.readdirSync(folder).sort() : [])
      Fs.mkdirSync(Path.dirname(file), { recursive: true })
      for (const version of ["scb-1", "scb-2", "scb-3"]) {
        // the stand-in LND: write a temp file and rename it over channel.backup
        Fs.writeFileSync(`${file}.tmp`, version)
        Fs.renameSync(`${file}.tmp`, file)
        yield* waitUntil(
          Effect.sync(() => {
            const c = copies()
            return c.length > 0 && Fs.readFileSync(Path.join(folder, c.at(-1)!), "utf8") === version
          }),
          `copy of ${version}`
        )
        yield* Effect.sleep("5 millis")
      }
      // a copy is written before the oldest is pruned: wait for the prune
      yield* waitUntil(Effect.sync(() => copies().length === 2), "pruned to 2 copies")
      const kept = copies()
      assert.deepStrictEqual(kept.map((n) => Fs.readFileSync(Path.join(folder, n), "utf8")), ["scb-2", "scb-3"])
      assert.strictEqual(Fs.statSync(Path.join(folder, kept[1]!)).mode & 0o777, 0o600)
      const def = Option.getOrThrow((yield* Apps).get("web"))
      const summary = yield* Effect.flatMap(Backups, (b) => b.summary(def))
      assert.strictEqual(summary.watched[0]?.copies, 2)
      // a subscriber hears of the next copy, and of nothing while the file stays the same
      const notices = yield* Effect.flatMap(Backups, (b) => b.subscribeChanges)
      Fs.writeFileSync(`${file}.tmp`, "scb-4")
      Fs.renameSync(`${file}.tmp`, file)
      assert.strictEqual(yield* Queue.take(notices).pipe(Effect.timeout("30 seconds")), "web")
      assert.strictEqual(yield* Queue.size(notices), 0)
    }).pipe(Effect.scoped, Effect.provide(layer))
  }, 120_000)
})

describe("watched files rewritten in place by the app", () => {
  const versions = [content(1), content(2), content(3)]
  const watchedSetup = () => {
    const dataDir = tempDir("svc-watch-")
    const backupDir = tempDir("svc-watch-target-")
    const [def] = defsOf([serviceManifest("lnd", { backup: { watch: [{ path: "./data/channel.backup", keep: 1000 }] } })], dataDir)
    const w = def!.manifest.backup!.watch[0]!
    const file = Path.join(dataDir, "apps", "lnd", "data", "channel.backup")
    Fs.mkdirSync(Path.dirname(file), { recursive: true })
    const folder = Path.join(backupDir, "lnd", "watched", "data-channel-backup")
    const copies = () => (Fs.existsSync(folder) ? Fs.readdirSync(folder).sort() : [])
    return { def: def!, w, file, folder, copies, backups: Effect.runSync(makeBackups({ dir: backupDir, dataDir })) }
  }

  it("never keeps a torn copy: every copy is a whole version, and later versions are copied", async () => {
    const { backups, copies, def, file, folder, w } = watchedSetup()
    // truncate, then 4 KiB chunks 15 ms apart: a copy taken mid-rewrite would be short
    const writer = await startInPlaceWriter(file, versions, { chunkBytes: 4096, pauseMs: 15, idleMs: 400 })
    let unsettled = 0
    try {
      const until = Date.now() + 6_000
      while (Date.now() < until) {
        await Effect.runPromise(backups.copyWatched(def, w).pipe(
          Effect.catchTag("FileUnsettled", () => Effect.sync(() => void unsettled++))
        ))
        await new Promise((r) => setTimeout(r, 5))
      }
    } finally {
      await writer.stop()
    }
    const kept = copies().filter((n) => !n.startsWith("."))
    const generations = kept.map((n) => generationOf(Fs.readFileSync(Path.join(folder, n), "utf8")))
    console.info(`watched copies under an in-place writer: ${kept.length} copies, ${generations.filter((g) => g === undefined).length} torn, ${unsettled} unsettled`)
    assert.deepStrictEqual(generations.filter((g) => g === undefined), [])
    expect(new Set(generations).size).toBeGreaterThan(1)
    // no half-written copy either: nothing but whole copies in the folder
    assert.deepStrictEqual(copies().filter((n) => n.startsWith(".")), [])
  }, 60_000)

  it("a file that never settles is not copied: a FileUnsettled error names it and the last good copy stays the newest", async () => {
    const { backups, copies, def, file, folder, w } = watchedSetup()
    Fs.writeFileSync(file, content(7))
    assert.isTrue(Option.isSome(await Effect.runPromise(backups.copyWatched(def, w))))
    const before = copies()
    const writer = await startInPlaceWriter(file, versions, { chunkBytes: 4096, pauseMs: 5, idleMs: 0 })
    try {
      for (let i = 0; i < 3; i++) {
        const error = await Effect.runPromise(Effect.flip(backups.copyWatched(def, w)))
        assert.strictEqual(error._tag, "FileUnsettled")
        expect(error.message).toContain(`${file} kept changing while it was read`)
      }
    } finally {
      await writer.stop()
    }
    assert.deepStrictEqual(copies(), before)
    assert.strictEqual(generationOf(Fs.readFileSync(Path.join(folder, before.at(-1)!), "utf8")), 7)
  }, 60_000)
})

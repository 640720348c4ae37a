/**
 * Issue 25, observations 0 and 1, on the simulator: a Lightning-like app ("ln") whose pre-start
 * hook reads its bitcoin-node provider (as lnd-conf does), whose `channel.db` under
 * `./data/graph` carries a counter that only grows, and whose `channel.backup` is watched.
 * - its backup runs the hook with the providers (it failed with "no installed app provides");
 * - no archive holds or brings back the channel state: a restore keeps the live `channel.db`,
 *   even from an archive made before the rule that holds an older one;
 * - without a live `channel.db` the restore is a recovery: refused unless confirmed, and then
 *   the newest good `channel.backup` copy goes to the recovery file and the command runs in the
 *   app's container;
 * - an emptied `channel.backup`, copied again and again, never evicts the copy with channels.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import * as ArchiveFile from "../../src/backup/ArchiveFile.js"
import * as Archive from "../../src/backup/Archive.js"
import { AppId } from "../../src/domain/index.js"
import { Apps } from "../../src/services/Apps.js"
import { Backups, make as makeBackups } from "../../src/services/Backups.js"
import * as BackupScheduler from "../../src/services/BackupScheduler.js"
import * as ChannelState from "../../src/services/ChannelState.js"
import * as HookRegistry from "../../src/services/HookRegistry.js"
import { Lifecycle } from "../../src/services/Lifecycle.js"
import { StateStore } from "../../src/services/StateStore.js"
import { SimulatedRuntime } from "../../src/testing/index.js"
import { defsOf, orchestrator, serviceManifest, tempDir, waitUntil } from "./harness.js"

const health = { type: "cmd", command: ["true"], interval: 1, retries: 1, startPeriod: 0 }

const command = ["lncli", "restorechanbackup", "--multi_file=/root/.lnd/recovery/channel.backup"]

const lnManifest = (channelState: boolean) =>
  serviceManifest("ln", {
    volumes: [{ source: ".", target: "/root/.lnd" }],
    dependsOn: ["bitcoin-node"],
    hooks: ["ln-conf"],
    health,
    backup: {
      watch: [{ path: "./data/chain/channel.backup", keep: 3 }],
      ...(channelState
        ? { channelState: { files: ["./data/graph"], recovery: { from: "./data/chain/channel.backup", to: "./recovery/channel.backup", command } } }
        : {})
    }
  })

/** lnd-conf's shape: renders ln.conf from the provider's rpc endpoint, fails without one. */
const providerHook = (dataDir: string) =>
  Layer.succeed(HookRegistry.HookRegistry, {
    names: ["ln-conf"],
    consumers: {},
    run: (request) => {
      const node = request.providers?.find((p) => p.name === "bitcoin-node")
      if (node === undefined) {
        return Effect.fail(new HookRegistry.HookFailed({ hook: "ln-conf", appId: request.appId, reason: `no installed app provides "bitcoin-node" to it` }))
      }
      return Effect.sync(() => {
        const path = Path.join(dataDir, request.appId, "ln.conf")
        Fs.mkdirSync(Path.dirname(path), { recursive: true })
        Fs.writeFileSync(path, `rpchost=${node.appId}\n`, { mode: 0o600 })
        return { changed: false, files: [{ hook: "ln-conf", path, changed: false, sha256: "x" }] }
      })
    }
  })

const setup = (options: { readonly channelState?: boolean } = {}) => {
  const dataDir = tempDir("svc-chan-")
  const backupDir = tempDir("svc-chan-target-")
  const execs: Array<{ readonly name: string; readonly argv: ReadonlyArray<string>; readonly scb: string }> = []
  const manifests = [
    serviceManifest("node", {
      ports: [{ host: 18332, container: 8332 }],
      provides: [{ capability: "bitcoin-node", endpoints: { rpc: 8332 } }],
      health
    }),
    lnManifest(options.channelState ?? true)
  ]
  const runner = Layer.succeed(ChannelState.RecoveryRunner, (name, argv) =>
    Effect.sync(() => {
      execs.push({ name, argv, scb: Fs.readFileSync(Path.join(dataDir, "apps", "ln", "recovery", "channel.backup"), "utf8") })
    }))
  const layer = orchestrator(defsOf(manifests, dataDir), {
    dataDir,
    scanInterval: "1 hour",
    reconcileInterval: "1 hour",
    healthInterval: "1 hour",
    shutdownGrace: 0,
    hooks: providerHook(dataDir),
    backup: { dir: backupDir, keep: 5 }
  }).pipe(Layer.provideMerge(SimulatedRuntime.layer()), Layer.provideMerge(runner))
  return { dataDir, backupDir, layer, execs }
}

const entry = (appId: string) => Effect.flatMap(StateStore, (s) => s.entry(AppId.make(appId)))
const settled = (appId: string, state = "running") => Effect.map(entry(appId), (e) => e.transition === undefined && e.state === state)

const op = (which: "install" | "backup" | "restore", appId: string, options: { archive?: string; closeChannels?: boolean } = {}) =>
  Effect.gen(function*() {
    yield* Effect.flatMap(Lifecycle, (l) => l.request(which, appId, options))
    yield* waitUntil(Effect.map(entry(appId), (e) => e.transition === undefined), `${which} of ${appId} over`)
    return yield* entry(appId)
  })

const channelDb = (dataDir: string) => Path.join(dataDir, "apps", "ln", "data", "graph", "mainnet", "channel.db")
const scbFile = (dataDir: string) => Path.join(dataDir, "apps", "ln", "data", "chain", "channel.backup")
const write = (file: string, text: string) => {
  Fs.mkdirSync(Path.dirname(file), { recursive: true })
  Fs.writeFileSync(file, text, { mode: 0o600 })
}

describe("LND's channel state on backup and restore (simulator)", () => {
  it.live("observation 0: a backup of an app whose hook reads its provider runs the hook with the providers", () => {
    const { layer } = setup()
    return Effect.gen(function*() {
      yield* op("install", "node")
      yield* op("install", "ln")
      assert.isTrue(yield* settled("ln"))
      const backedUp = yield* op("backup", "ln")
      assert.isUndefined(backedUp.lastError, backedUp.lastError?.message)
      const archives = yield* Effect.flatMap(Backups, (b) => b.list("ln"))
      assert.strictEqual(archives.length, 1)
    }).pipe(Effect.provide(layer))
  }, 120_000)

  it.live("observation 1: no archive holds channel.db, and a restore of an older archive keeps the live, newer channel.db", () => {
    const { dataDir, layer, execs } = setup()
    return Effect.gen(function*() {
      yield* op("install", "node")
      yield* op("install", "ln")
      write(channelDb(dataDir), "counter=5\n")
      write(Path.join(dataDir, "apps", "ln", "data", "chain", "wallet.db"), "wallet-1\n")
      const backedUp = yield* op("backup", "ln")
      assert.isUndefined(backedUp.lastError, backedUp.lastError?.message)
      const [archive] = yield* Effect.flatMap(Backups, (b) => b.list("ln"))
      const manifest = yield* ArchiveFile.verify(archive!.path, "ln")
      const paths = manifest.entries.map((e) => e.path)
      expect(paths).toContain("data/data/chain/wallet.db")
      expect(paths.filter((p) => p.includes("graph"))).toEqual([])

      // the node moves on: its peers now know counter 9
      write(channelDb(dataDir), "counter=9\n")
      write(Path.join(dataDir, "apps", "ln", "data", "chain", "wallet.db"), "wallet-2\n")
      const restored = yield* op("restore", "ln")
      assert.isUndefined(restored.lastError, restored.lastError?.message)
      assert.strictEqual(restored.state, "running")
      assert.strictEqual(Fs.readFileSync(channelDb(dataDir), "utf8"), "counter=9\n", "the live channel state goes on")
      assert.strictEqual(Fs.readFileSync(Path.join(dataDir, "apps", "ln", "data", "chain", "wallet.db"), "utf8"), "wallet-1\n")
      assert.deepStrictEqual(execs, [], "no recovery: the channel state was there")
      assert.deepStrictEqual(Fs.readdirSync(dataDir).filter((n) => n.includes(".previous-") || n.includes(".restore-")), [])
    }).pipe(Effect.provide(layer))
  }, 120_000)

  it.live("observation 1: an archive made before the rule, holding an older channel.db, never brings it back", () => {
    const { backupDir, dataDir, layer } = setup()
    return Effect.gen(function*() {
      yield* op("install", "node")
      yield* op("install", "ln")
      write(channelDb(dataDir), "counter=5\n")
      // an archive as main wrote it: the whole data folder, channel.db included
      const dir = Path.join(backupDir, "ln")
      Fs.mkdirSync(dir, { recursive: true })
      const createdAt = Date.now() - 60_000
      yield* ArchiveFile.write({
        target: Path.join(dir, Archive.fileName("ln", createdAt)),
        sources: [{ root: { kind: "data", prefix: "data" }, dir: Path.join(dataDir, "apps", "ln") }],
        // the rendered file is left out, as main did
        exclude: [Path.join(dataDir, "apps", "ln", "ln.conf")],
        meta: { appId: "ln", version: "1.0.0", createdAt, live: false }
      })
      write(channelDb(dataDir), "counter=9\n")
      const restored = yield* op("restore", "ln")
      assert.isUndefined(restored.lastError, restored.lastError?.message)
      assert.strictEqual(Fs.readFileSync(channelDb(dataDir), "utf8"), "counter=9\n", "never started on the lower counter")
      // and with the live one gone, the old archive's is not used either: the restore asks first
      Fs.rmSync(Path.join(dataDir, "apps", "ln", "data", "graph"), { recursive: true })
      const refused = yield* op("restore", "ln")
      assert.strictEqual(refused.lastError?.op, "restore")
      expect(refused.lastError?.message).toContain("channels will be closed; funds return to your on-chain wallet")
      assert.isFalse(Fs.existsSync(channelDb(dataDir)))
    }).pipe(Effect.provide(layer))
  }, 120_000)

  it.live("observation 1: with channel.db lost the restore is a recovery: refused unless confirmed, then run with the newest good channel.backup copy", () => {
    const { dataDir, layer, execs } = setup()
    return Effect.gen(function*() {
      yield* op("install", "node")
      yield* op("install", "ln")
      write(channelDb(dataDir), "counter=5\n")
      write(scbFile(dataDir), `SCB-with-channels-${"x".repeat(4096)}`)
      const backups = yield* Backups
      const def = (yield* Apps).get("ln")
      assert.isTrue(def._tag === "Some")
      const watched = def._tag === "Some" ? def.value.manifest.backup!.watch[0]! : undefined
      yield* backups.copyWatched(def._tag === "Some" ? def.value : (undefined as never), watched!)
      yield* op("backup", "ln")
      // the disk dies: channel.db is gone, LND starts fresh and empties channel.backup
      Fs.rmSync(Path.join(dataDir, "apps", "ln", "data", "graph"), { recursive: true })
      for (let i = 0; i < 4; i++) {
        yield* Effect.sleep("5 millis")
        write(scbFile(dataDir), `SCB-empty-${i}`)
        yield* backups.copyWatched(def._tag === "Some" ? def.value : (undefined as never), watched!)
      }
      const refused = yield* op("restore", "ln")
      expect(refused.lastError?.message).toBe(new ChannelState.RecoveryUnconfirmed({ appId: "ln" }).message)
      assert.deepStrictEqual(execs, [])
      const recovered = yield* op("restore", "ln", { closeChannels: true })
      assert.isUndefined(recovered.lastError, recovered.lastError?.message)
      assert.strictEqual(execs.length, 1)
      assert.deepStrictEqual(execs[0]!.argv, command)
      assert.strictEqual(execs[0]!.scb, `SCB-with-channels-${"x".repeat(4096)}`, "the newest copy that had the channels")
      assert.isFalse(Fs.existsSync(channelDb(dataDir)), "no channel state came from the archive")
    }).pipe(Effect.provide(layer))
  }, 120_000)
})

describe("copies of an emptied channel.backup", () => {
  it.effect("observation 0: rewritten 12 times with 64 bytes, the 4 KiB copy with the channels is kept and the summary says it shrank", () =>
    Effect.gen(function*() {
      const dataDir = tempDir("svc-scb-")
      const backupDir = tempDir("svc-scb-target-")
      const [def] = defsOf([lnManifest(true)], dataDir)
      const backups = yield* makeBackups({ dir: backupDir, dataDir })
      const watched = def!.manifest.backup!.watch[0]!
      const withChannels = "C".repeat(4096)
      write(scbFile(dataDir), withChannels)
      yield* backups.copyWatched(def!, watched)
      for (let i = 0; i < 12; i++) {
        yield* TestClock.adjust("1 second")
        write(scbFile(dataDir), `${String(i).padStart(2, "0")}${"e".repeat(62)}`)
        yield* backups.copyWatched(def!, watched)
      }
      const folder = Path.join(backupDir, "ln", "watched")
      const [sub] = Fs.readdirSync(folder)
      const kept = Fs.readdirSync(Path.join(folder, sub!)).sort().map((n) => Fs.readFileSync(Path.join(folder, sub!, n), "utf8"))
      assert.include(kept, withChannels, "the copy with the channels is kept")
      assert.strictEqual(kept.length, 1 + 3, "the good copy and the 3 newest emptied ones (keep: 3)")
      const summary = yield* backups.summary(def!)
      assert.deepStrictEqual(summary.watched[0]!.shrank, { from: 4096, to: 64 })
      assert.strictEqual(Fs.readFileSync(summary.watched[0]!.goodCopy!, "utf8"), withChannels)
    }))
})

describe("ChannelState.carryBack", () => {
  it.effect("a restore put back takes the channel state the restored app ran on, even one it replaced by a rename", () =>
    Effect.gen(function*() {
      const root = tempDir("svc-carry-")
      const live = Path.join(root, "ln")
      const previous = Path.join(root, "ln.previous")
      write(Path.join(previous, "data", "graph", "mainnet", "channel.db"), "counter=5\n")
      write(Path.join(previous, "wallet.db"), "wallet-previous\n")
      // the restore linked counter 5 in; the app moved on to 6 and renamed its file over the link
      write(Path.join(live, "data", "graph", "mainnet", "channel.db.tmp"), "counter=6\n")
      Fs.renameSync(Path.join(live, "data", "graph", "mainnet", "channel.db.tmp"), Path.join(live, "data", "graph", "mainnet", "channel.db"))
      write(Path.join(live, "data", "graph", "mainnet", "wtclient.db"), "sessions\n")
      const carried = yield* ChannelState.carryBack("ln", live, previous, ["./data/graph"])
      assert.deepStrictEqual([...carried].sort(), ["data/graph/mainnet/channel.db", "data/graph/mainnet/wtclient.db"])
      assert.strictEqual(Fs.readFileSync(Path.join(previous, "data", "graph", "mainnet", "channel.db"), "utf8"), "counter=6\n")
      assert.strictEqual(Fs.readFileSync(Path.join(previous, "data", "graph", "mainnet", "wtclient.db"), "utf8"), "sessions\n")
      assert.strictEqual(Fs.readFileSync(Path.join(previous, "wallet.db"), "utf8"), "wallet-previous\n")
      // nothing to put back into: nothing done
      assert.deepStrictEqual(yield* ChannelState.carryBack("ln", live, Path.join(root, "absent"), ["./data/graph"]), [])
    }))

  it.effect("never links through a symlink planted in the restored tree", () =>
    Effect.gen(function*() {
      const root = tempDir("svc-carry-link-")
      const live = Path.join(root, "ln")
      const fresh = Path.join(root, "ln.restore")
      const outside = tempDir("svc-carry-outside-")
      write(Path.join(live, "data", "graph", "mainnet", "channel.db"), "counter=1\n")
      Fs.mkdirSync(Path.join(fresh, "data"), { recursive: true })
      Fs.symlinkSync(outside, Path.join(fresh, "data", "graph"))
      const linked = yield* Effect.result(ChannelState.linkLive("ln", live, fresh, [Path.join(live, "data", "graph", "mainnet", "channel.db")]))
      assert.strictEqual(linked._tag, "Failure")
      assert.deepStrictEqual(Fs.readdirSync(outside), [])
    }))
})

describe("BackupScheduler", () => {
  it("next is everyHours after the last backup, or now without one", () => {
    assert.strictEqual(BackupScheduler.nextAt({ everyHours: 24 }, undefined, 1000), 1000)
    assert.strictEqual(BackupScheduler.nextAt({ everyHours: 24 }, 5000, 1000), 5000 + 86_400_000)
    assert.isTrue(BackupScheduler.isDue({ everyHours: 1 }, 0, 3_600_000))
    assert.isFalse(BackupScheduler.isDue({ everyHours: 1 }, 1, 3_600_000))
  })

  it.live("a scheduled app without a backup, or whose last one is older than its schedule (missed while the node was down), is backed up on the first look; a fresh one is not", () => {
    const dataDir = tempDir("svc-sched-")
    const backupDir = tempDir("svc-sched-target-")
    const manifests = [
      serviceManifest("sched", { health, backup: { schedule: { everyHours: 24, keep: 2 } } }),
      serviceManifest("manual", { health })
    ]
    const layer = orchestrator(defsOf(manifests, dataDir), {
      dataDir,
      scanInterval: "1 hour",
      reconcileInterval: "1 hour",
      healthInterval: "1 hour",
      shutdownGrace: 0,
      backup: { dir: backupDir, keep: 5 }
    }).pipe(Layer.provideMerge(SimulatedRuntime.layer()))
    return Effect.gen(function*() {
      yield* op("install", "sched")
      yield* op("install", "manual")
      assert.deepStrictEqual(yield* BackupScheduler.tick, ["sched"])
      yield* waitUntil(settled("sched"), "scheduled backup over")
      const backups = yield* Backups
      assert.strictEqual((yield* backups.list("sched")).length, 1)
      assert.deepStrictEqual(yield* BackupScheduler.tick, [], "not due again for 24 h")
      // the node was down for two days: the last archive is 25 h old
      const [last] = yield* backups.list("sched")
      const old = Path.join(Path.dirname(last!.path), Archive.fileName("sched", Date.now() - 25 * 3_600_000))
      Fs.renameSync(last!.path, old)
      assert.deepStrictEqual(yield* BackupScheduler.tick, ["sched"])
      yield* waitUntil(settled("sched"), "missed backup over")
      assert.strictEqual((yield* backups.list("sched")).length, 2)
      assert.deepStrictEqual((yield* backups.list("manual")).length, 0)
    }).pipe(Effect.provide(layer))
  }, 120_000)
})

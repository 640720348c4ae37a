/**
 * Issue 25, observation 0, for the whole catalog: every real app of apps/ (bitcoin-core and the
 * apps that read a provider in their pre-start hook: lnd, lnd-ui, electrumx, electrs-ui,
 * bitcoin-ui) is installed on the simulator with the built-in hooks, then backed up. Each backup
 * runs the app's hooks with its providers, as a start does (they failed with "no installed app
 * provides ..."), and the archives leave out what the manifests exclude: bitcoind's chain,
 * ElectrumX's index, LND's channel state.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Archipelago, ArchiveFile, Backups, Lifecycle, PreBackupHooks, StateStore } from "@archipelago/orchestrator"
import type { AppId } from "@archipelago/orchestrator"
import { SimulatedRuntime } from "@archipelago/orchestrator/testing"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, References } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import * as Builtins from "../src/Builtins.js"
import * as Hooks from "../src/Hooks.js"
import { waitUntil } from "../../orchestrator/test/services/harness.js"

const appsDir = fileURLToPath(new URL("../../../apps", import.meta.url))
const dataDir = Fs.mkdtempSync(NodePath.join(Os.tmpdir(), "archy-catalog-backup-"))
const backupDir = Fs.mkdtempSync(NodePath.join(Os.tmpdir(), "archy-catalog-backup-target-"))
afterAll(() => {
  for (const d of [dataDir, backupDir]) Fs.rmSync(d, { recursive: true, force: true })
})

const entry = (id: string) => Effect.flatMap(StateStore.StateStore, (s) => s.entry(id as AppId.AppId))
const op = (which: "install" | "backup", id: string) =>
  Effect.gen(function*() {
    yield* Effect.flatMap(Lifecycle.Lifecycle, (l) => l.request(which, id))
    yield* waitUntil(Effect.map(entry(id), (e) => e.transition === undefined), `${which} of ${id} over`, 60_000, 20)
    return yield* entry(id)
  })
const write = (path: string, content: string | Buffer) => {
  Fs.mkdirSync(NodePath.dirname(path), { recursive: true })
  Fs.writeFileSync(path, content, { mode: 0o600 })
}

const apps = ["bitcoin-core", "lnd", "lnd-ui", "electrumx", "electrs-ui", "bitcoin-ui"]

describe("backups of every catalog app (simulator, real manifests, built-in hooks)", () => {
  it.live("each backup runs its hooks with the app's providers, and leaves out the chain, the index and the channel state", () =>
    Effect.gen(function*() {
      const lnd = NodePath.join(dataDir, "apps", "lnd")
      // what LND writes on its first start, which lnd-ui's hook reads
      write(NodePath.join(lnd, Builtins.lndFiles.adminMacaroon("mainnet")), Buffer.from("0201036c6e64", "hex"))
      write(NodePath.join(lnd, Builtins.lndFiles.tlsCert), "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n")
      write(NodePath.join(lnd, "data", "graph", "mainnet", "channel.db"), "channels\n")
      write(NodePath.join(lnd, "data", "chain", "bitcoin", "mainnet", "wallet.db"), "wallet\n")
      write(NodePath.join(dataDir, "apps", "bitcoin-core", "blocks", "blk00000.dat"), "block\n")
      write(NodePath.join(dataDir, "apps", "bitcoin-core", "chainstate", "000001.ldb"), "utxo\n")
      write(NodePath.join(dataDir, "apps", "bitcoin-core", "wallets", "default", "wallet.dat"), "keys\n")
      write(NodePath.join(dataDir, "apps", "electrumx", "db", "hist", "000001.ldb"), "index\n")
      write(NodePath.join(dataDir, "apps", "electrumx", "db", "electrumx.crt"), "cert\n")
      for (const id of apps) {
        const installed = yield* op("install", id)
        expect(installed.lastError?.message, `install of ${id}`).toBeUndefined()
      }
      const backups = yield* Backups.Backups
      const paths: Record<string, ReadonlyArray<string>> = {}
      for (const id of apps) {
        const backedUp = yield* op("backup", id)
        expect(backedUp.lastError?.message, `backup of ${id}`).toBeUndefined()
        const [archive] = yield* backups.list(id)
        paths[id] = (yield* ArchiveFile.verify(archive!.path, id)).entries.map((e) => e.path)
      }
      expect(paths["bitcoin-core"]).toContain("data/wallets/default/wallet.dat")
      expect(paths["bitcoin-core"]!.filter((p) => p.startsWith("data/blocks") || p.startsWith("data/chainstate"))).toEqual([])
      expect(paths["electrumx"]).toContain("data/db/electrumx.crt")
      expect(paths["electrumx"]!.filter((p) => p.startsWith("data/db/hist"))).toEqual([])
      expect(paths["lnd"]).toContain("data/data/chain/bitcoin/mainnet/wallet.db")
      expect(paths["lnd"]!.filter((p) => p.startsWith("data/data/graph"))).toEqual([])
      // the rendered files holding other apps' secrets stay out
      expect(paths["lnd"]).not.toContain("data/lnd.conf")
    }).pipe(
      Effect.provide(Layer.suspend(() =>
        Archipelago.layer({
          appsDir,
          dataDir,
          shutdownGrace: 0,
          backup: { dir: backupDir },
          backupScheduleInterval: "1 hour"
        }).pipe(
          Layer.provide(Hooks.layer(Builtins.builtins, { dataDir })),
          // the simulator has no container to pause
          Layer.provide(PreBackupHooks.layer([PreBackupHooks.freeze({ pause: () => Effect.void, resume: () => Effect.void })])),
          Layer.provide(SimulatedRuntime.layer({
            registry: [
              "docker.io/bitcoin/bitcoin:28.1",
              "docker.io/lightninglabs/lnd:v0.18.4-beta",
              "docker.io/apotdevin/thunderhub:v0.13.31",
              "docker.io/lukechilds/electrumx:v1.16.0",
              "docker.io/library/nginx:1.27.3-alpine"
            ]
          })),
          Layer.provide(NodeServices.layer)
        )
      )),
      Effect.provideService(References.MinimumLogLevel, "Warn")
    ), 300_000)
})

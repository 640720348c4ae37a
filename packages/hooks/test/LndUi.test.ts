/**
 * The LND UI's credentials end to end on the simulator, over the real `apps/` catalog and the
 * built-in hooks: LND provides `lightning-node`; once it has written its admin macaroon and TLS
 * certificate (written here, as LND does on its first start), `lnd-ui-thunderhub` renders
 * ThunderHub's account config from them. ThunderHub re-dumping the file (its own layout, a 2FA
 * secret added) is not drift: reconcile passes leave it and the app alone. A rotated macaroon
 * is: the next pass rewrites the config and restarts lnd-ui.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Archipelago, StateStore } from "@archipelago/orchestrator"
import type { AppId } from "@archipelago/orchestrator"
import { Lifecycle } from "@archipelago/orchestrator"
import { SimulatedRuntime } from "@archipelago/orchestrator/testing"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, References } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import * as Yaml from "yaml"
import * as Bcrypt from "../src/Bcrypt.js"
import * as Builtins from "../src/Builtins.js"
import * as Hooks from "../src/Hooks.js"
import { waitUntil } from "../../orchestrator/test/services/harness.js"

const appsDir = fileURLToPath(new URL("../../../apps", import.meta.url))
const dataDir = Fs.mkdtempSync(NodePath.join(Os.tmpdir(), "archy-hooks-lnd-ui-"))
afterAll(() => Fs.rmSync(dataDir, { recursive: true, force: true }))

const sleep = (ms: number) => Effect.promise(() => new Promise<void>((r) => setTimeout(r, ms)))
const until = <E, R>(check: Effect.Effect<boolean, E, R>, what: string, boundMs = 45_000) => waitUntil(check, what, boundMs, 50)
const entry = (id: string) => Effect.flatMap(StateStore.StateStore, (s) => s.entry(id as AppId.AppId))
const running = (id: string) => Effect.map(entry(id), (e) => e.state === "running")
const request = (op: "install", id: string) => Effect.flatMap(Lifecycle.Lifecycle, (l) => l.request(op, id))
const text = (path: string) => Fs.existsSync(path) ? Fs.readFileSync(path, "utf8") : ""

const writeLndFiles = (macaroon: Buffer, cert: Buffer) => {
  const lnd = NodePath.join(dataDir, "apps", "lnd")
  Fs.mkdirSync(NodePath.join(lnd, "data", "chain", "bitcoin", "mainnet"), { recursive: true })
  Fs.writeFileSync(NodePath.join(lnd, Builtins.lndFiles.adminMacaroon("mainnet")), macaroon, { mode: 0o600 })
  Fs.writeFileSync(NodePath.join(lnd, Builtins.lndFiles.tlsCert), cert)
}

describe("LND UI's credentials (simulator, real catalog, built-in hooks)", () => {
  it.live("rendered from LND's files by capability; ThunderHub's own rewrite is no drift, a rotated macaroon is", () =>
    Effect.gen(function*() {
      yield* request("install", "bitcoin-knots")
      yield* until(running("bitcoin-knots"), "knots running")
      yield* request("install", "lnd")
      yield* until(running("lnd"), "lnd running")
      const macaroon = Buffer.from("0201036c6e640258030a10", "hex")
      const cert = Buffer.from("-----BEGIN CERTIFICATE-----\nMIICJ\n-----END CERTIFICATE-----\n")
      writeLndFiles(macaroon, cert)
      yield* request("install", "lnd-ui")
      // running, and seen running by a scan: the start time a restart would change is known (the
      // install's end sets the state; the next scan, 100 ms later or more under load, the start
      // time: read before it, an undefined start time made the later comparisons meaningless)
      yield* until(
        Effect.map(entry("lnd-ui"), (e) => e.state === "running" && e.observed.startedAt !== undefined),
        "lnd-ui running and scanned"
      )

      const configFile = NodePath.join(dataDir, "apps", "lnd-ui", "data", "thubConfig.yaml")
      const config = Yaml.parse(text(configFile))
      expect(config.accounts).toEqual([
        { name: "LND", serverUrl: "host.containers.internal:10009", macaroon: macaroon.toString("hex"), certificate: cert.toString("hex") }
      ])
      const password = Fs.readFileSync(NodePath.join(dataDir, "secrets", "lnd-ui-password"), "utf8").trim()
      expect(Bcrypt.verify(password, config.masterPassword.slice("thunderhub-".length))).toBe(true)
      expect(Fs.statSync(configFile).mode & 0o777).toBe(0o600)

      // ThunderHub's rewrite: same meaning, another layout, its 2FA secret added
      const startedAt = (yield* entry("lnd-ui")).observed.startedAt
      expect(startedAt).toBeDefined()
      const redump = Yaml.stringify(
        { backupsEnabled: false, ...config, accounts: [{ ...config.accounts[0], twofaSecret: "JBSWY3DPEHPK3PXP" }] },
        { defaultStringType: "QUOTE_SINGLE", indent: 4 }
      )
      // written whole, then renamed over the config, as a careful writer does: reconcile passes
      // every 100 ms would otherwise read the file truncated mid-write, which is a drift
      Fs.writeFileSync(`${configFile}.tmp`, redump)
      Fs.renameSync(`${configFile}.tmp`, configFile)
      const mtime = Fs.statSync(configFile).mtimeMs
      yield* sleep(1_500) // many reconcile passes at 100 ms
      expect(text(configFile)).toBe(redump)
      expect(Fs.statSync(configFile).mtimeMs).toBe(mtime)
      expect((yield* entry("lnd-ui")).observed.startedAt).toBe(startedAt)

      // LND rotates its macaroon: the next pass rewrites the config and restarts ThunderHub
      writeLndFiles(Buffer.from("0201ff", "hex"), cert)
      yield* until(Effect.sync(() => Yaml.parse(text(configFile)).accounts[0].macaroon === "0201ff"), "config repaired")
      const repaired = Yaml.parse(text(configFile))
      expect(repaired.accounts[0].twofaSecret).toBe("JBSWY3DPEHPK3PXP")
      expect(repaired.masterPassword).toBe(config.masterPassword)
      yield* until(
        Effect.map(entry("lnd-ui"), (e) => e.state === "running" && e.observed.startedAt !== undefined && e.observed.startedAt !== startedAt),
        "lnd-ui restarted to pick up the repaired config"
      )
    }).pipe(
      Effect.provide(Layer.suspend(() =>
        Archipelago.layer({ appsDir, dataDir, reconcileInterval: "100 millis", scanInterval: "100 millis", shutdownGrace: 0 }).pipe(
          Layer.provide(Hooks.layer(Builtins.builtins, { dataDir })),
          Layer.provide(SimulatedRuntime.layer({
            registry: [
              "docker.io/btcpayserver/bitcoinknots:28.1",
              "docker.io/lightninglabs/lnd:v0.18.4-beta",
              "docker.io/apotdevin/thunderhub:v0.13.31"
            ]
          })),
          Layer.provide(NodeServices.layer)
        )
      )),
      Effect.provideService(References.MinimumLogLevel, "Warn")
    ), 90_000)
})

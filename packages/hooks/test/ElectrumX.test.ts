/**
 * ElectrumX's credentials end to end on the simulator, over the real `apps/` catalog and the
 * built-in hooks: on Knots (by capability), `electrumx-daemon` renders DAEMON_URL with the
 * password Knots' `rpcauth` line verifies; a hand-edited daemon.env is rewritten by the next
 * reconcile pass and ElectrumX is restarted to pick it up.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Archipelago, StateStore } from "@archipelago/orchestrator"
import type { AppId } from "@archipelago/orchestrator"
import { Lifecycle } from "@archipelago/orchestrator"
import { SimulatedRuntime } from "@archipelago/orchestrator/testing"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, References } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import * as BitcoinConf from "../src/BitcoinConf.js"
import * as Builtins from "../src/Builtins.js"
import * as Hooks from "../src/Hooks.js"
import * as RpcAuth from "../src/RpcAuth.js"
import { waitUntil } from "../../orchestrator/test/services/harness.js"

const appsDir = fileURLToPath(new URL("../../../apps", import.meta.url))
const dataDir = Fs.mkdtempSync(NodePath.join(Os.tmpdir(), "archy-hooks-electrumx-"))
afterAll(() => Fs.rmSync(dataDir, { recursive: true, force: true }))

const until = <E, R>(check: Effect.Effect<boolean, E, R>, what: string, boundMs = 45_000) => waitUntil(check, what, boundMs, 50)
const entry = (id: string) => Effect.flatMap(StateStore.StateStore, (s) => s.entry(id as AppId.AppId))
const running = (id: string) => Effect.map(entry(id), (e) => e.state === "running")
const request = (op: "install", id: string) => Effect.flatMap(Lifecycle.Lifecycle, (l) => l.request(op, id))
const text = (path: string) => Fs.existsSync(path) ? Fs.readFileSync(path, "utf8") : ""

describe("ElectrumX's credentials (simulator, real catalog, built-in hooks)", () => {
  it.live("rendered from Knots' endpoint and the canonical password, and repaired after drift with a restart", () =>
    Effect.gen(function*() {
      yield* request("install", "bitcoin-knots")
      yield* until(running("bitcoin-knots"), "knots running")
      yield* request("install", "electrumx")
      yield* until(running("electrumx"), "electrumx running")

      const envFile = NodePath.join(dataDir, "apps", "electrumx", "daemon.env")
      const password = Fs.readFileSync(NodePath.join(dataDir, "secrets", "bitcoin-rpc-password"), "utf8").trim()
      const rendered = text(envFile)
      expect(rendered).toContain(`export DAEMON_URL='http://archipelago:${password}@host.containers.internal:8332/'\n`)
      expect(Fs.statSync(envFile).mode & 0o777).toBe(0o600)
      // the node checks the same password: Knots' rpcauth line verifies it
      const auth = Option.getOrThrow(
        Option.flatMap(BitcoinConf.findRpcAuth(text(NodePath.join(dataDir, "apps", "bitcoin-knots", "bitcoin.conf")), "archipelago"), RpcAuth.parse)
      )
      expect(RpcAuth.verify(auth, password)).toBe(true)

      // the start time a restart changes, once a scan has seen it (an operation settles on
      // podman's answer to `start`, which carries none): read before, it would be undefined and
      // any later value would pass for a restart
      yield* until(Effect.map(entry("electrumx"), (e) => e.observed.startedAt !== undefined), "electrumx's start time scanned")
      const before = (yield* entry("electrumx")).observed.startedAt
      Fs.writeFileSync(envFile, "export DAEMON_URL='http://archipelago:stale@host.containers.internal:18332/'\n")
      yield* until(Effect.sync(() => text(envFile) === rendered), "daemon.env rewritten by a reconcile pass")
      yield* until(
        Effect.map(entry("electrumx"), (e) => e.state === "running" && e.observed.startedAt !== undefined && e.observed.startedAt !== before),
        "electrumx restarted to pick up the repaired file"
      )
      expect(text(envFile)).toBe(rendered)
    }).pipe(
      Effect.provide(Layer.suspend(() =>
        Archipelago.layer({ appsDir, dataDir, reconcileInterval: "100 millis", scanInterval: "100 millis", shutdownGrace: 0 }).pipe(
          Layer.provide(Hooks.layer(Builtins.builtins, { dataDir })),
          Layer.provide(SimulatedRuntime.layer({
            registry: ["docker.io/btcpayserver/bitcoinknots:28.1", "docker.io/lukechilds/electrumx:v1.16.0"]
          })),
          Layer.provide(NodeServices.layer)
        )
      )),
      Effect.provideService(References.MinimumLogLevel, "Warn")
    ), 90_000)
})

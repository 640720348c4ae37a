/**
 * Alternatives by capability on real podman, with the demo stand-ins: a "knots" and a "core"
 * stand-in (copies of apps/demo-node) both provide `bitcoin-node` on their own host ports and
 * conflict; a lightning stand-in (apps/demo-lightning's script) depends on the capability, and
 * the built-in `lnd-conf` hook renders its lnd.conf from the installed provider's endpoints. The
 * stand-in reads `bitcoind.rpchost` from that file and polls the node there, so its page saying
 * the node is `running` proves the rendered endpoint reaches the provider. Switching the node
 * from knots to core moves lnd.conf with it. Names carry `t-cap-<runTag>-`.
 */
import { NodeContext } from "@effect/platform-node"
import { Archipelago, BaseImage, PodmanRuntime } from "@archipelago/orchestrator"
import type { AppId } from "@archipelago/orchestrator"
import { Lifecycle, StateStore } from "@archipelago/orchestrator"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, Layer, Logger, LogLevel } from "effect"
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import { freePort } from "../../../test-support/net.js"
import { hasPodman, removeByPrefix, runTag } from "../../orchestrator/test/runtime/podman.js"
import * as Builtins from "../src/Builtins.js"
import * as Hooks from "../src/Hooks.js"
import { waitUntil } from "../../orchestrator/test/services/harness.js"

const prefix = `t-cap-${runTag}-`
const knots = `${prefix}knots`
const core = `${prefix}core`
const lightning = `${prefix}lightning`
const demo = (app: string) => fileURLToPath(new URL(`../../../apps/${app}`, import.meta.url))

if (!hasPodman) console.warn("hooks/Capability.podman.test.ts skipped: podman is not available on this host")

const nodeManifest = (id: string, other: string, port: number) =>
  [
    `id: ${id}`,
    `name: ${id}`,
    `version: "1.0.0"`,
    `build:`,
    `  context: .`,
    `ports:`,
    `  - host: ${port}`,
    `    container: 8080`,
    `env:`,
    `  APP_NAME: ${id}`,
    `  STOP_DELAY: "1"`,
    `extraHosts:`,
    `  host.containers.internal: host-gateway`,
    `stopTimeout: 10`,
    `provides:`,
    `  - capability: bitcoin-node`,
    `    endpoints: {rpc: 8080, zmqpubrawblock: 8080, zmqpubrawtx: 8080}`,
    `conflicts: [${other}]`,
    ``
  ].join("\n")

// The lightning stand-in takes its node from the rendered lnd.conf, as LND does.
const start = `#!/bin/sh
HOSTPORT="$(sed -n 's/^bitcoind.rpchost=//p' /lnd/lnd.conf | head -n 1)"
export NODE_HOST="\${HOSTPORT%:*}" NODE_PORT="\${HOSTPORT##*:}"
echo "lightning stand-in: node at $NODE_HOST:$NODE_PORT"
exec /bin/sh /app/serve.sh
`

const makeAppsDir = (ports: { readonly knots: number; readonly core: number; readonly lightning: number }): string => {
  const dir = Fs.mkdtempSync(NodePath.join(Os.tmpdir(), "t-cap-apps-"))
  for (const [id, other, port] of [[knots, core, ports.knots], [core, knots, ports.core]] as const) {
    Fs.mkdirSync(NodePath.join(dir, id))
    Fs.copyFileSync(NodePath.join(demo("demo-node"), "Containerfile"), NodePath.join(dir, id, "Containerfile"))
    Fs.copyFileSync(NodePath.join(demo("demo-node"), "serve.sh"), NodePath.join(dir, id, "serve.sh"))
    Fs.writeFileSync(NodePath.join(dir, id, "manifest.yml"), nodeManifest(id, other, port))
  }
  const l = NodePath.join(dir, lightning)
  Fs.mkdirSync(l)
  Fs.copyFileSync(NodePath.join(demo("demo-lightning"), "serve.sh"), NodePath.join(l, "serve.sh"))
  Fs.writeFileSync(NodePath.join(l, "start.sh"), start)
  Fs.writeFileSync(
    NodePath.join(l, "Containerfile"),
    `FROM localhost/archipelago/base:latest\nCOPY serve.sh start.sh /app/\nCMD ["/bin/sh", "/app/start.sh"]\n`
  )
  Fs.writeFileSync(
    NodePath.join(l, "manifest.yml"),
    [
      `id: ${lightning}`,
      `name: ${lightning}`,
      `version: "1.0.0"`,
      `build:`,
      `  context: .`,
      `ports:`,
      `  - host: ${ports.lightning}`,
      `    container: 8080`,
      `volumes:`,
      `  - source: ./lnd.conf`,
      `    target: /lnd/lnd.conf`,
      `    readOnly: true`,
      `env:`,
      `  APP_NAME: ${lightning}`,
      `  STOP_DELAY: "1"`,
      `extraHosts:`,
      `  host.containers.internal: host-gateway`,
      `stopTimeout: 10`,
      `dependsOn: [bitcoin-node]`,
      `hooks: [lnd-conf]`,
      ``
    ].join("\n")
  )
  return dir
}

const cleanup = () => {
  removeByPrefix(prefix)
  for (const id of [knots, core, lightning]) spawnSync("podman", ["rmi", "--force", `localhost/archipelago/${id}:1.0.0`])
}

const until = <E, R>(check: Effect.Effect<boolean, E, R>, what: string, boundMs = 180_000) => waitUntil(check, what, boundMs, 250)
const stateOf = (id: string) => Effect.flatMap(StateStore.StateStore, (s) => Effect.map(s.entry(id as AppId.AppId), (e) => e.state))
const request = (op: "install" | "remove", id: string) => Effect.flatMap(Lifecycle.Lifecycle, (l) => l.request(op, id))
const page = (port: number) =>
  Effect.promise(() => fetch(`http://127.0.0.1:${port}/index.html`).then((r) => r.text(), () => ""))

describe.skipIf(!hasPodman)("alternatives by capability on podman (stand-ins)", () => {
  const ports = { knots: 0, core: 0, lightning: 0 }
  let appsDir = ""
  let dataDir = ""
  beforeAll(async () => {
    cleanup()
    ports.knots = await freePort()
    ports.core = await freePort()
    ports.lightning = await freePort()
    appsDir = makeAppsDir(ports)
    dataDir = Fs.mkdtempSync(NodePath.join(Os.tmpdir(), "t-cap-data-"))
    await Effect.runPromise(BaseImage.ensure().pipe(Effect.provide(NodeContext.layer)))
  }, 180_000)
  afterAll(() => {
    cleanup()
    Fs.rmSync(appsDir, { recursive: true, force: true })
    Fs.rmSync(dataDir, { recursive: true, force: true })
  })

  it.live("the lightning stand-in runs on whichever node provides bitcoin-node, its lnd.conf rendered from that node's manifest", () =>
    Effect.gen(function*() {
      const conf = NodePath.join(dataDir, lightning, "lnd.conf")
      const refused = yield* Effect.either(request("install", lightning))
      expect(Either.isLeft(refused) ? refused.left.message : "").toBe(
        `cannot install ${lightning}: it depends on bitcoin-node (provided by ${core} or ${knots}), which is not installed; install it first`
      )

      for (const [node, port] of [[knots, ports.knots], [core, ports.core]] as const) {
        yield* request("install", node)
        yield* until(Effect.map(stateOf(node), (s) => s === "running"), `${node} running`)
        yield* request("install", lightning)
        yield* until(Effect.map(stateOf(lightning), (s) => s === "running"), `${lightning} running on ${node}`)
        const text = Fs.readFileSync(conf, "utf8")
        expect(text).toContain(`bitcoind.rpchost=host.containers.internal:${port}\n`)
        expect(text).toContain(`bitcoind.zmqpubrawblock=tcp://host.containers.internal:${port}\n`)
        expect(Fs.statSync(conf).mode & 0o777).toBe(0o600)
        // the stand-in polls the node at the rendered address every 5 s
        yield* until(
          Effect.map(page(ports.lightning), (html) => html.includes(`<span id="node">running</span>`)),
          `${lightning} reaches ${node} at host.containers.internal:${port}`,
          60_000
        )
        yield* request("remove", lightning)
        yield* until(Effect.map(stateOf(lightning), (s) => s === "not-installed"), `${lightning} removed`)
        yield* request("remove", node)
        yield* until(Effect.map(stateOf(node), (s) => s === "not-installed"), `${node} removed`)
      }
    }).pipe(
      Effect.provide(Layer.suspend(() =>
        Archipelago.layer({ appsDir, dataDir, shutdownGrace: Duration.seconds(30) }).pipe(
          Layer.provideMerge(PodmanRuntime.layer),
          Layer.provide(Hooks.layer([{ ...Builtins.lndConf, secretConsumers: [lightning] }], { dataDir })),
          Layer.provide(NodeContext.layer)
        )
      )),
      Logger.withMinimumLogLevel(LogLevel.Warning)
    ), 600_000)
})

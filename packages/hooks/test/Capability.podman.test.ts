/**
 * Alternatives by capability on real podman, with the demo stand-ins: a "knots" and a "core"
 * stand-in (copies of apps/demo-node) both provide `bitcoin-node` on their own host ports and
 * conflict; a lightning stand-in (apps/demo-lightning's script) depends on the capability, and
 * the built-in `lnd-conf` hook renders its lnd.conf from the installed provider's endpoints. The
 * stand-in reads `bitcoind.rpchost` from that file and polls the node there, so its page saying
 * the node is `running` proves the rendered endpoint reaches the provider. Switching the node
 * from knots to core moves lnd.conf with it. Names carry `t-cap-<runTag>-`.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import * as Fs from "node:fs"
import * as NodePath from "node:path"
import { freePort } from "../../../test-support/net.js"
import { hasPodman, runTag } from "../../orchestrator/test/runtime/podman.js"
import * as Builtins from "../src/Builtins.js"
import { cleanup, ensureBaseImage, onPodman, page, request, standInManifest, stateOf, tempFolders, until, writeStandIn } from "./standIns.js"

const prefix = `t-cap-${runTag}-`
const knots = `${prefix}knots`
const core = `${prefix}core`
const lightning = `${prefix}lightning`

if (!hasPodman) console.warn("hooks/Capability.podman.test.ts skipped: podman is not available on this host")

// The lightning stand-in takes its node from the rendered lnd.conf, as LND does.
const start = `#!/bin/sh
HOSTPORT="$(sed -n 's/^bitcoind.rpchost=//p' /lnd/lnd.conf | head -n 1)"
export NODE_HOST="\${HOSTPORT%:*}" NODE_PORT="\${HOSTPORT##*:}"
echo "lightning stand-in: node at $NODE_HOST:$NODE_PORT"
exec /bin/sh /app/serve.sh
`

const writeAppsDir = (dir: string, ports: { readonly knots: number; readonly core: number; readonly lightning: number }): void => {
  for (const [id, other, port] of [[knots, core, ports.knots], [core, knots, ports.core]] as const) {
    writeStandIn(dir, id, {
      from: "demo-node",
      manifest: [
        ...standInManifest(id, port),
        `provides:`,
        `  - capability: bitcoin-node`,
        `    endpoints: {rpc: 8080, zmqpubrawblock: 8080, zmqpubrawtx: 8080}`,
        `conflicts: [${other}]`
      ]
    })
  }
  writeStandIn(dir, lightning, {
    from: "demo-lightning",
    start,
    manifest: [
      ...standInManifest(lightning, ports.lightning),
      `volumes:`,
      `  - source: ./lnd.conf`,
      `    target: /lnd/lnd.conf`,
      `    readOnly: true`,
      `dependsOn: [bitcoin-node]`,
      `hooks: [lnd-conf]`
    ]
  })
}

describe.skipIf(!hasPodman)("alternatives by capability on podman (stand-ins)", () => {
  const ports = { knots: 0, core: 0, lightning: 0 }
  const temp = tempFolders("cap")
  const dirs = temp.folders
  beforeAll(async () => {
    cleanup(prefix, [knots, core, lightning])
    ports.knots = await freePort()
    ports.core = await freePort()
    ports.lightning = await freePort()
    temp.create()
    writeAppsDir(temp.folders.appsDir, ports)
    await ensureBaseImage()
  }, 180_000)
  afterAll(() => {
    cleanup(prefix, [knots, core, lightning])
    temp.remove()
  })

  it.live("the lightning stand-in runs on whichever node provides bitcoin-node, its lnd.conf rendered from that node's manifest", () =>
    Effect.gen(function*() {
      const conf = NodePath.join(dirs.dataDir, "apps", lightning, "lnd.conf")
      const refused = yield* Effect.result(request("install", lightning))
      expect(Result.isFailure(refused) ? refused.failure.message : "").toBe(
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
    }).pipe(onPodman({ folders: dirs, hooks: [{ ...Builtins.lndConf, secretConsumers: [lightning] }] })),
    600_000)
})

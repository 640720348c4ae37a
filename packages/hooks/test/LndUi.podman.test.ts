/**
 * The LND UI's credentials on real podman, with stand-ins: an LND stand-in (apps/demo-lightning's
 * script) provides `lightning-node` and, as LND does on its first start, writes a random binary
 * admin macaroon and TLS certificate into its data folder; it answers `GET /auth/<macaroon
 * hex>-<cert hex>` with `authorized` and anything else with a 404. A ThunderHub stand-in depends
 * on the capability; the built-in `lnd-ui-thunderhub` hook renders its thubConfig.yaml, and the
 * stand-in takes the server, macaroon and certificate from that file alone, so its page saying
 * `authorized` proves the binary files reached it intact through the provider's endpoint. Like
 * ThunderHub, the stand-in then rewrites its config (comments dropped, another indentation, a key
 * of its own added):
 * later reconcile passes must neither rewrite the file nor restart the app. Names carry
 * `t-lndui-<runTag>-`.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as NodePath from "node:path"
import * as Yaml from "yaml"
import { freePort } from "../../../test-support/net.js"
import { hasPodman, runTag } from "../../orchestrator/test/runtime/podman.js"
import * as Builtins from "../src/Builtins.js"
import { cleanup, ensureBaseImage, entry, onPodman, page, request, standInManifest, tempFolders, until, writeStandIn } from "./standIns.js"

const prefix = `t-lndui-${runTag}-`
const lnd = `${prefix}lnd`
const ui = `${prefix}ui`

if (!hasPodman) console.warn("hooks/LndUi.podman.test.ts skipped: podman is not available on this host")

// LND's layout: tls.cert at the top, the admin macaroon under data/chain/bitcoin/<network>/
const lndStart = `#!/bin/sh
MAC=/lnd/data/chain/bitcoin/mainnet/admin.macaroon
mkdir -p /lnd/data/chain/bitcoin/mainnet /var/www/auth
[ -f /lnd/tls.cert ] || head -c 48 /dev/urandom > /lnd/tls.cert
[ -f "$MAC" ] || { head -c 32 /dev/urandom > "$MAC.new"; printf '\\000\\377' >> "$MAC.new"; mv "$MAC.new" "$MAC"; }
hex() { od -An -v -tx1 "$1" | tr -d ' \\n'; }
echo authorized > "/var/www/auth/$(hex "$MAC")-$(hex /lnd/tls.cert)"
exec /bin/sh /app/serve.sh
`

// Reads only thubConfig.yaml, as ThunderHub does; then rewrites it as ThunderHub may.
const uiStart = `#!/bin/sh
CONF=/data/thubConfig.yaml
val() { sed -n "s/^ *$1: *['\\"]\\{0,1\\}\\([^'\\"]*\\)['\\"]\\{0,1\\} *$/\\1/p" "$CONF" | head -n 1; }
SERVER="$(val serverUrl)"
export NODE_HOST="\${SERVER%:*}" NODE_PORT="\${SERVER##*:}" NODE_PATH="/auth/$(val macaroon)-$(val certificate)"
echo "thunderhub stand-in: node at $NODE_HOST:$NODE_PORT"
grep -q '^backupsEnabled:' "$CONF" || { grep -v '^#' "$CONF" | sed 's/^  /    /' > "$CONF.new"; echo 'backupsEnabled: false' >> "$CONF.new"; mv "$CONF.new" "$CONF"; }
exec /bin/sh /app/serve.sh
`

const writeAppsDir = (dir: string, ports: { readonly lnd: number; readonly ui: number }): void => {
  writeStandIn(dir, lnd, {
    from: "demo-lightning",
    start: lndStart,
    manifest: [
      ...standInManifest(lnd, ports.lnd, [`  NODE_HOST: 127.0.0.1`, `  NODE_PORT: "8080"`]),
      `volumes:`,
      `  - source: .`,
      `    target: /lnd`,
      `provides:`,
      `  - capability: lightning-node`,
      `    endpoints: {grpc: 8080, rest: 8080}`
    ]
  })
  writeStandIn(dir, ui, {
    from: "demo-lightning",
    start: uiStart,
    manifest: [
      ...standInManifest(ui, ports.ui),
      `volumes:`,
      `  - source: ./data`,
      `    target: /data`,
      `dependsOn: [lightning-node]`,
      `hooks: [lnd-ui-thunderhub]`
    ]
  })
}

const sleep = (ms: number) => Effect.promise(() => new Promise<void>((r) => setTimeout(r, ms)))
const startedAt = (name: string) => spawnSync("podman", ["inspect", "--format", "{{.State.StartedAt}}", name]).stdout.toString().trim()

describe.skipIf(!hasPodman)("LND UI credentials on podman (stand-ins)", () => {
  const ports = { lnd: 0, ui: 0 }
  const temp = tempFolders("lndui")
  const dirs = temp.folders
  beforeAll(async () => {
    cleanup(prefix, [lnd, ui])
    ports.lnd = await freePort()
    ports.ui = await freePort()
    temp.create()
    writeAppsDir(temp.folders.appsDir, ports)
    await ensureBaseImage()
  }, 180_000)
  afterAll(() => {
    cleanup(prefix, [lnd, ui])
    temp.remove()
  })

  it.live("the UI reaches LND with the macaroon and cert its hook read from LND's folder; its own rewrite of the config restarts nothing", () =>
    Effect.gen(function*() {
      yield* request("install", lnd)
      yield* until(Effect.map(entry(lnd), (e) => e.state === "running"), `${lnd} running`)
      const macaroon = NodePath.join(dirs.dataDir, "apps", lnd, Builtins.lndFiles.adminMacaroon("mainnet"))
      yield* until(Effect.sync(() => Fs.existsSync(macaroon)), "the LND stand-in wrote its macaroon")

      yield* request("install", ui)
      yield* until(Effect.map(entry(ui), (e) => e.state === "running"), `${ui} running`)
      const configFile = NodePath.join(dirs.dataDir, "apps", ui, "data", "thubConfig.yaml")
      // the stand-in polls the node every 5 s with the credentials from its config
      yield* until(
        Effect.map(page(ports.ui), (html) => html.includes(`<span id="node">authorized</span>`)),
        `${ui} authorized by ${lnd} with the rendered macaroon and cert`,
        60_000
      )
      const config = Yaml.parse(Fs.readFileSync(configFile, "utf8"))
      expect(config.accounts[0].serverUrl).toBe(`host.containers.internal:${ports.lnd}`)
      expect(config.accounts[0].macaroon).toBe(Fs.readFileSync(macaroon).toString("hex"))
      expect(config.accounts[0].macaroon.endsWith("00ff")).toBe(true)
      expect(config.masterPassword).toMatch(/^thunderhub-\$2b\$/)

      // the stand-in rewrote its config at start, as ThunderHub does; passes at 1 s keep it and the container
      const rewritten = Fs.readFileSync(configFile, "utf8")
      expect(rewritten).toContain("backupsEnabled: false\n")
      expect(rewritten).not.toContain("# Written by")
      expect(rewritten).toContain("\n    - name: LND\n")
      const started = startedAt(ui)
      yield* sleep(6_000)
      expect(Fs.readFileSync(configFile, "utf8")).toBe(rewritten)
      expect(startedAt(ui)).toBe(started)
      expect((yield* entry(ui)).state).toBe("running")
      // the stand-in's rewrite left it 0644: repaired in place, without a restart
      expect(Fs.statSync(configFile).mode & 0o777).toBe(0o600)
    }).pipe(onPodman({ folders: dirs, hooks: [{ ...Builtins.lndUiThunderhub, secretConsumers: [ui] }], fast: true })),
    600_000)
})

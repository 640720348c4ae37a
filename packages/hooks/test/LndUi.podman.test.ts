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
import { NodeContext } from "@effect/platform-node"
import { Archipelago, BaseImage, PodmanRuntime } from "@archipelago/orchestrator"
import type { AppId } from "@archipelago/orchestrator"
import { Lifecycle, StateStore } from "@archipelago/orchestrator"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Logger, LogLevel } from "effect"
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import * as Yaml from "yaml"
import { freePort } from "../../../test-support/net.js"
import { hasPodman, removeByPrefix, runTag } from "../../orchestrator/test/runtime/podman.js"
import * as Builtins from "../src/Builtins.js"
import * as Hooks from "../src/Hooks.js"
import { waitUntil } from "../../orchestrator/test/services/harness.js"

const prefix = `t-lndui-${runTag}-`
const lnd = `${prefix}lnd`
const ui = `${prefix}ui`
const demo = fileURLToPath(new URL("../../../apps/demo-lightning", import.meta.url))

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

const manifest = (lines: ReadonlyArray<string>) => [...lines, ""].join("\n")

const makeAppsDir = (ports: { readonly lnd: number; readonly ui: number }): string => {
  const dir = Fs.mkdtempSync(NodePath.join(Os.tmpdir(), "t-lndui-apps-"))
  for (const [id, start] of [[lnd, lndStart], [ui, uiStart]] as const) {
    Fs.mkdirSync(NodePath.join(dir, id))
    Fs.copyFileSync(NodePath.join(demo, "serve.sh"), NodePath.join(dir, id, "serve.sh"))
    Fs.writeFileSync(NodePath.join(dir, id, "start.sh"), start)
    Fs.writeFileSync(
      NodePath.join(dir, id, "Containerfile"),
      `FROM localhost/archipelago/base:latest\nCOPY serve.sh start.sh /app/\nCMD ["/bin/sh", "/app/start.sh"]\n`
    )
  }
  const common = (id: string, port: number, env: ReadonlyArray<string> = []) => [
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
    ...env,
    `extraHosts:`,
    `  host.containers.internal: host-gateway`,
    `stopTimeout: 10`
  ]
  Fs.writeFileSync(
    NodePath.join(dir, lnd, "manifest.yml"),
    manifest([
      ...common(lnd, ports.lnd, [`  NODE_HOST: 127.0.0.1`, `  NODE_PORT: "8080"`]),
      `volumes:`,
      `  - source: .`,
      `    target: /lnd`,
      `provides:`,
      `  - capability: lightning-node`,
      `    endpoints: {grpc: 8080, rest: 8080}`
    ])
  )
  Fs.writeFileSync(
    NodePath.join(dir, ui, "manifest.yml"),
    manifest([
      ...common(ui, ports.ui),
      `volumes:`,
      `  - source: ./data`,
      `    target: /data`,
      `dependsOn: [lightning-node]`,
      `hooks: [lnd-ui-thunderhub]`
    ])
  )
  return dir
}

const cleanup = () => {
  removeByPrefix(prefix)
  for (const id of [lnd, ui]) spawnSync("podman", ["rmi", "--force", `localhost/archipelago/${id}:1.0.0`])
}

const sleep = (ms: number) => Effect.promise(() => new Promise<void>((r) => setTimeout(r, ms)))
const until = <E, R>(check: Effect.Effect<boolean, E, R>, what: string, boundMs = 180_000) => waitUntil(check, what, boundMs, 250)
const entry = (id: string) => Effect.flatMap(StateStore.StateStore, (s) => s.entry(id as AppId.AppId))
const request = (op: "install", id: string) => Effect.flatMap(Lifecycle.Lifecycle, (l) => l.request(op, id))
const page = (port: number) =>
  Effect.promise(() => fetch(`http://127.0.0.1:${port}/index.html`).then((r) => r.text(), () => ""))
const startedAt = (name: string) => spawnSync("podman", ["inspect", "--format", "{{.State.StartedAt}}", name]).stdout.toString().trim()

describe.skipIf(!hasPodman)("LND UI credentials on podman (stand-ins)", () => {
  const ports = { lnd: 0, ui: 0 }
  let appsDir = ""
  let dataDir = ""
  beforeAll(async () => {
    cleanup()
    ports.lnd = await freePort()
    ports.ui = await freePort()
    appsDir = makeAppsDir(ports)
    dataDir = Fs.mkdtempSync(NodePath.join(Os.tmpdir(), "t-lndui-data-"))
    await Effect.runPromise(BaseImage.ensure().pipe(Effect.provide(NodeContext.layer)))
  }, 180_000)
  afterAll(() => {
    cleanup()
    Fs.rmSync(appsDir, { recursive: true, force: true })
    Fs.rmSync(dataDir, { recursive: true, force: true })
  })

  it.live("the UI reaches LND with the macaroon and cert its hook read from LND's folder; its own rewrite of the config restarts nothing", () =>
    Effect.gen(function*() {
      yield* request("install", lnd)
      yield* until(Effect.map(entry(lnd), (e) => e.state === "running"), `${lnd} running`)
      const macaroon = NodePath.join(dataDir, lnd, Builtins.lndFiles.adminMacaroon("mainnet"))
      yield* until(Effect.sync(() => Fs.existsSync(macaroon)), "the LND stand-in wrote its macaroon")

      yield* request("install", ui)
      yield* until(Effect.map(entry(ui), (e) => e.state === "running"), `${ui} running`)
      const configFile = NodePath.join(dataDir, ui, "data", "thubConfig.yaml")
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
    }).pipe(
      Effect.provide(Layer.suspend(() =>
        Archipelago.layer({
          appsDir,
          dataDir,
          reconcileInterval: "1 second",
          scanInterval: "1 second",
          shutdownGrace: Duration.seconds(30)
        }).pipe(
          Layer.provideMerge(PodmanRuntime.layer),
          Layer.provide(Hooks.layer([{ ...Builtins.lndUiThunderhub, secretConsumers: [ui] }], { dataDir })),
          Layer.provide(NodeContext.layer)
        )
      )),
      Logger.withMinimumLogLevel(LogLevel.Warning)
    ), 600_000)
})

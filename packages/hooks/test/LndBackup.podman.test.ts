/**
 * Issue 25 on real podman with the catalog's own manifests: apps/bitcoin-core/manifest.yml and
 * apps/lnd/manifest.yml, each with only its image swapped for a local stand-in built from the
 * busybox base image, its id and host ports made unique to this run (other runs share the host)
 * and its tcp health check run by the stand-in's nc (busybox's has no -z),
 * their real hooks (bitcoin-rpcauth, lnd-conf) and LND's real `backup` section (the freeze
 * pre-backup hook, the watched channel.backup, the channel state and its recovery) in force.
 *
 * The LND stand-in keeps a counter in data/graph/mainnet/channel.db that only grows (each
 * `pay` moves it on, as each channel update does), and its "peer" lives in the container's own
 * layer (/peer, outside the data folder a restore swaps): started on a counter lower than the
 * peer has seen, it records a penalty. Started without channel.db it rewrites channel.backup
 * with no channels every second (lnd issue 4377). Its `lncli restorechanbackup --multi_file=F`
 * records what F held in /peer/recovered.
 *
 * Proves: a backup runs the hooks with their provider; the archive holds no channel state; a
 * restore of an older archive never starts LND on a lower counter; the emptied channel.backup
 * keeps the copy with the channels (and says it shrank); the recovery is refused unconfirmed and,
 * confirmed, runs the stand-in's SCB restore with the newest good copy.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Apps, Archipelago, ArchiveFile, Backups, Lifecycle, PodmanRuntime, PreBackupHooks } from "@archipelago/orchestrator"
import { afterAll, assert, beforeAll, describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Option, References } from "effect"
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as NodePath from "node:path"
import { freePort } from "../../../test-support/net.js"
import { hasPodman, runTag } from "../../orchestrator/test/runtime/podman.js"
import * as Builtins from "../src/Builtins.js"
import * as Hooks from "../src/Hooks.js"
import { cleanup, demoApp, ensureBaseImage, entry, until } from "./standIns.js"

const prefix = `t-lnd-${runTag}-`
const node = `${prefix}bitcoin`
const lnd = `${prefix}lnd`

if (!hasPodman) console.warn("hooks/LndBackup.podman.test.ts skipped: podman is not available on this host")

const lndStandIn = `#!/bin/sh
# A stand-in for LND (see LndBackup.podman.test.ts). $1.. are the manifest's command.
D=/root/.lnd
DB=$D/data/graph/mainnet/channel.db
SCB=$D/data/chain/bitcoin/mainnet/channel.backup
mkdir -p /peer "$(dirname "$SCB")"
counter() { sed -n 's/^counter=//p' "$DB" 2>/dev/null; }
scb() {
  # with channels: a 4 KiB backup naming the counter; without: a small one, new bytes each time
  if [ -f "$DB" ]; then
    { echo "channels counter=$(counter)"; head -c 4096 /dev/zero | tr '\\0' c; } > "$SCB.tmp"
  else
    echo "no channels $(cat /proc/uptime)" > "$SCB.tmp"
  fi
  mv "$SCB.tmp" "$SCB"
}
pay() {
  n=$(( $(counter) + 1 ))
  mkdir -p "$(dirname "$DB")"
  echo "counter=$n" > "$DB.tmp" && mv "$DB.tmp" "$DB"
  echo "$n" > /peer/highest
  scb
}
case "$1" in
  pay) pay; exit 0 ;;
esac
grep -q '^bitcoind.rpchost=' "$D/lnd.conf" || { echo "stand-in lnd: no [Bitcoind] in lnd.conf" >&2; exit 1; }
if [ ! -f "$DB" ] && [ ! -f /peer/highest ]; then
  # a fresh node opens its channel
  pay
elif [ -f "$DB" ]; then
  seen=$(cat /peer/highest 2>/dev/null || echo 0)
  if [ "$(counter)" -lt "$seen" ]; then
    echo "started on counter $(counter), the peer holds $seen" >> /peer/penalties
    echo "stand-in lnd: PENALTY: revoked state (counter $(counter) < $seen)" >&2
  fi
  pay
fi
# LND without channel.db rewrites channel.backup with no channels, again and again
( while :; do [ -f "$DB" ] || scb; sleep 1; done ) &
trap 'kill $! 2>/dev/null; exit 0' TERM INT
mkdir -p /tmp/www
httpd -f -p 10009 -h /tmp/www &
wait $!
`

const lncli = `#!/bin/sh
# stand-in lncli: restorechanbackup --multi_file=F records what F held (the peers then close)
for a in "$@"; do
  case "$a" in
    --multi_file=*) f="\${a#--multi_file=}" ;;
  esac
done
[ "$1" = "--lnddir=/root/.lnd" ] && shift
[ "$1" = "restorechanbackup" ] || { echo "lncli stand-in: unknown command $*" >&2; exit 2; }
[ -f "$f" ] || { echo "lncli stand-in: no file $f" >&2; exit 1; }
head -n 1 "$f" >> /peer/recovered
`

// \`nc -z\` (the manifests' tcp health check), which busybox's nc lacks
const ncShim = `#!/bin/sh
if [ "$1" = "-z" ]; then shift; exec busybox nc -w 2 "$@" </dev/null >/dev/null 2>&1; fi
exec busybox nc "$@"
`

const nodeStandIn = `#!/bin/sh
grep -q '^rpcauth=archipelago:' /home/bitcoin/.bitcoin/bitcoin.conf || { echo "stand-in bitcoind: no rpcauth" >&2; exit 1; }
mkdir -p /tmp/www
trap 'exit 0' TERM INT
httpd -f -p 8332 -h /tmp/www &
wait $!
`

/** The catalog's manifest with its image swapped for the stand-in's build, its id and host ports this run's own. */
const fromCatalog = (app: string, id: string, ports: ReadonlyMap<number, number>): string => {
  const text = Fs.readFileSync(NodePath.join(demoApp(app), "manifest.yml"), "utf8")
  const swapped = text
    .replace(/^id: .*$/m, `id: ${id}`)
    .replace(/^image: .*$/m, `build:\n  context: .`)
    .replace(/^conflicts: .*$/m, "")
    .replace(/^(  - host: )(\d+)$/gm, (_, head: string, port: string) => `${head}${ports.get(Number(port)) ?? port}`)
    // the tcp check runs \`nc -z\` through sh, and busybox's sh runs its own nc applet, which has
    // no -z: the same check by the shim's absolute path
    .replace(/^health:\n  type: tcp\n  port: (\d+)$/m, (_, port: string) => `health:\n  type: cmd\n  command: ["/bin/nc", "-z", "127.0.0.1", "${port}"]`)
  assert.notStrictEqual(swapped, text)
  return swapped
}

const writeApp = (dir: string, id: string, manifest: string, files: Record<string, string>, containerfile: string) => {
  const folder = NodePath.join(dir, id)
  Fs.mkdirSync(folder)
  for (const [name, content] of Object.entries(files)) Fs.writeFileSync(NodePath.join(folder, name), content)
  Fs.writeFileSync(NodePath.join(folder, "Containerfile"), containerfile)
  Fs.writeFileSync(NodePath.join(folder, "manifest.yml"), manifest)
}

const podman = (...args: ReadonlyArray<string>) => {
  const r = spawnSync("podman", args, { encoding: "utf8" })
  return { status: r.status, stdout: (r.stdout ?? "").trim(), stderr: (r.stderr ?? "").trim() }
}

const removeAll = () => {
  cleanup(prefix, [])
  for (const [id, version] of [[node, "28.1"], [lnd, "0.18.4-beta"]] as const) {
    spawnSync("podman", ["rmi", "--force", `localhost/archipelago/${id}:${version}`])
  }
}

describe.skipIf(!hasPodman)("LND's backup and restore with the catalog's manifests on podman (stand-ins)", () => {
  const dirs = { appsDir: "", dataDir: "", backupDir: "" }
  beforeAll(async () => {
    removeAll()
    const ports = new Map<number, number>()
    for (const p of [8333, 8332, 28332, 28333, 9735, 10009, 8080]) ports.set(p, await freePort())
    for (const k of Object.keys(dirs) as Array<keyof typeof dirs>) dirs[k] = Fs.mkdtempSync(NodePath.join(Os.tmpdir(), `t-lnd-${k}-`))
    writeApp(dirs.appsDir, node, fromCatalog("bitcoin-core", node, ports), { "start.sh": nodeStandIn, nc: ncShim },
      `FROM localhost/archipelago/base:latest\nCOPY start.sh /app/\nRUN rm /bin/nc\nCOPY nc /bin/nc\nRUN chmod 755 /bin/nc\nENTRYPOINT ["/bin/sh", "/app/start.sh"]\n`)
    writeApp(dirs.appsDir, lnd, fromCatalog("lnd", lnd, ports), { "lnd.sh": lndStandIn, "lncli": lncli, nc: ncShim },
      `FROM localhost/archipelago/base:latest\nCOPY lnd.sh /app/\nRUN rm /bin/nc\nCOPY lncli nc /bin/\nRUN chmod 755 /bin/lncli /bin/nc\nENTRYPOINT ["/bin/sh", "/app/lnd.sh"]\n`)
    await ensureBaseImage()
  }, 180_000)
  afterAll(() => {
    removeAll()
    for (const d of Object.values(dirs)) if (d !== "") Fs.rmSync(d, { recursive: true, force: true })
  })

  const layer = () =>
    Archipelago.layer({
      appsDir: dirs.appsDir,
      dataDir: dirs.dataDir,
      shutdownGrace: Duration.seconds(30),
      backup: { dir: dirs.backupDir, keep: 5 },
      // the schedule of the real manifests must not interfere: looked at once an hour
      backupScheduleInterval: Duration.hours(1)
    }).pipe(
      Layer.provideMerge(PodmanRuntime.layer),
      Layer.provide(Hooks.layer(
        [{ ...Builtins.bitcoinRpcAuth, secretConsumers: [node] }, { ...Builtins.lndConf, secretConsumers: [lnd] }],
        { dataDir: dirs.dataDir }
      )),
      Layer.provide(PreBackupHooks.layer([PreBackupHooks.podmanFreeze()])),
      Layer.provide(NodeServices.layer)
    )

  const op = (which: "install" | "backup" | "restore" | "restart", id: string, options: { readonly closeChannels?: boolean } = {}) =>
    Effect.gen(function*() {
      yield* Effect.flatMap(Lifecycle.Lifecycle, (l) => l.request(which, id, options))
      yield* until(Effect.map(entry(id), (e) => e.transition === undefined), `${which} of ${id} over`, 300_000)
      return yield* entry(id)
    })
  const running = (id: string) => until(Effect.map(entry(id), (e) => e.transition === undefined && e.state === "running"), `${id} running`, 300_000)
  const peer = (file: string) => podman("exec", lnd, "sh", "-c", `cat /peer/${file} 2>/dev/null || true`).stdout
  const counter = () => Fs.readFileSync(NodePath.join(dirs.dataDir, "apps", lnd, "data", "graph", "mainnet", "channel.db"), "utf8").trim()

  it.live("backup, restore of an older archive, an emptied channel.backup and the confirmed SCB recovery", () =>
    Effect.gen(function*() {
      yield* op("install", node)
      yield* running(node)
      const installed = yield* op("install", lnd)
      assert.isUndefined(installed.lastError, installed.lastError?.message)
      yield* running(lnd)
      expect(Fs.readFileSync(NodePath.join(dirs.dataDir, "apps", lnd, "lnd.conf"), "utf8")).toContain("bitcoind.rpchost=host.containers.internal:")
      for (let i = 0; i < 2; i++) assert.strictEqual(podman("exec", lnd, "sh", "/app/lnd.sh", "pay").status, 0)
      assert.strictEqual(counter(), "counter=3")

      // observation 0: the backup runs lnd-conf with its provider (main: "no installed app provides")
      const backedUp = yield* op("backup", lnd)
      assert.isUndefined(backedUp.lastError, backedUp.lastError?.message)
      const backups = yield* Backups.Backups
      const [archive] = yield* backups.list(lnd)
      const manifest = yield* ArchiveFile.verify(archive!.path, lnd)
      const paths = manifest.entries.map((e) => e.path)
      expect(paths).toContain("data/data/chain/bitcoin/mainnet/channel.backup")
      expect(paths.filter((p) => p.startsWith("data/data/graph"))).toEqual([])

      // the node moves on; then the older archive is restored
      for (let i = 0; i < 2; i++) assert.strictEqual(podman("exec", lnd, "sh", "/app/lnd.sh", "pay").status, 0)
      assert.strictEqual(counter(), "counter=5")
      const restored = yield* op("restore", lnd)
      assert.isUndefined(restored.lastError, `${restored.lastError?.message}\n${podman("logs", "--tail", "20", lnd).stderr}\n${podman("inspect", "--format", "{{json .State}}", lnd).stdout}`)
      yield* running(lnd)
      assert.strictEqual(peer("penalties"), "", "never started on a counter lower than the peer's")
      assert.strictEqual(counter(), "counter=6", "it went on from its live channel state")

      // the copy with the channels, as the watch loop took it
      const watched = NodePath.join(dirs.backupDir, lnd, "watched")
      const copies = () => {
        const [sub] = Fs.existsSync(watched) ? Fs.readdirSync(watched) : []
        return sub === undefined ? [] : Fs.readdirSync(NodePath.join(watched, sub)).sort().map((n) => Fs.readFileSync(NodePath.join(watched, sub, n), "utf8"))
      }
      yield* until(Effect.sync(() => copies().some((c) => c.startsWith("channels counter=6"))), "the copy of channel.backup at counter 6", 60_000)

      // the disk loses channel.db; LND starts fresh and empties channel.backup every second
      Fs.rmSync(NodePath.join(dirs.dataDir, "apps", lnd, "data", "graph"), { recursive: true })
      yield* op("restart", lnd)
      yield* running(lnd)
      // keep: 10 in the manifest: ten emptied copies, then a few more rounds that prune the oldest
      const emptied = () => copies().filter((c) => c.startsWith("no channels"))
      yield* until(Effect.sync(() => emptied().length === 10), "10 copies of the emptied channel.backup", 120_000)
      const tenth = emptied()
      yield* until(Effect.sync(() => emptied()[0] !== tenth[0]), "a later emptied copy pruning an earlier one", 60_000)
      expect(emptied().length).toBe(10)
      expect(copies().filter((c) => c.startsWith("channels counter=6")).length).toBe(1)
      const summary = yield* backups.summary(Option.getOrThrow((yield* Apps.Apps).get(lnd)))
      const scb = summary.watched[0]!
      expect(scb.shrank?.from).toBeGreaterThan(4096)
      expect(scb.shrank?.to).toBeLessThan(100)

      // observation 1: the recovery is refused unconfirmed, then run with the newest good copy
      const refused = yield* op("restore", lnd)
      expect(refused.lastError?.message).toContain("channels will be closed; funds return to your on-chain wallet")
      assert.strictEqual(peer("recovered"), "")
      const recovered = yield* op("restore", lnd, { closeChannels: true })
      assert.isUndefined(recovered.lastError, recovered.lastError?.message)
      yield* running(lnd)
      assert.strictEqual(peer("recovered"), "channels counter=6", "the SCB restore ran with the newest copy that had the channels")
      assert.strictEqual(peer("penalties"), "")
      assert.isFalse(Fs.existsSync(NodePath.join(dirs.dataDir, "apps", lnd, "data", "graph", "mainnet", "channel.db")), "no channel state came from the archive")
    }).pipe(Effect.provide(layer()), Effect.provideService(References.MinimumLogLevel, "Warn")), 900_000)
})

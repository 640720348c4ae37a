/**
 * Counts the podman processes a real `archipelago serve` runs for two operations, with a
 * recording `podman` first on the server's PATH (a shell script logging each call with its time,
 * then running podman): a kill -9 repaired by the reconciler (`restart: no`), from the kill to
 * the app shown running again, and a fresh install from a local image, from the request to the
 * app shown running. Prints each call with its time after the damage or the request, and what
 * came after within 3 s (the scan the engine's events kick). Each call is shown with when it
 * started and ended (the recording adds two `date` processes per call), and a kill's engine events
 * as podman's events file stamped them (`died`, `cleanup`, `start`, ...). A third case, a kill -9
 * of an app with restart policy `always` (podman restarts it, a scan shows it), shows what is
 * ours between podman's own `start` and the view reading running. `PROCESSES_ONLY=kill` skips
 * the installs.
 *
 * Run: `node --import tsx bench/tools/processes.ts` (needs podman and `npm run build`).
 * Not a benchmark row: the counts explain the recovery and install rows (bench/analysis.md).
 */
import { spawnSync } from "node:child_process"
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { startServe } from "../../test-support/chaos/Serve.js"
import { nodeFlags } from "../../packages/daemon/src/Unit.js"
import { until } from "../lib/Bench.js"
import { cleanup, ensureBaseImage, hasPodman, podman, root, tag, writeCatalog } from "../lib/Node.js"

if (!hasPodman()) {
  console.error("podman is not available (run scripts/setup-host.sh)")
  process.exit(1)
}
const repeats = Number(process.env.PROCESSES_RUNS ?? "3")
const work = mkdtempSync(join(tmpdir(), "bench-processes-"))
const calls = join(work, "calls")
const realPodman = spawnSync("sh", ["-c", "command -v podman"], { encoding: "utf8" }).stdout.trim()
writeFileSync(
  join(work, "podman"),
  `#!/bin/sh\ns=$(date +%s%3N)\n'${realPodman}' "$@"\nrc=$?\necho "$s $(date +%s%3N) $*" >> '${calls}'\nexit $rc\n`
)
chmodSync(join(work, "podman"), 0o755)
writeFileSync(calls, "")

const killsOnly = process.env.PROCESSES_ONLY === "kill"
const killed = Array.from({ length: repeats }, (_, i) => `${tag}-kill${i}`)
const fresh = killsOnly ? [] : Array.from({ length: repeats }, (_, i) => `${tag}-fresh${i}`)
const always = `${tag}-always`
const appsDir = writeCatalog([
  ...killed.map((id) => ({ id, restart: "no" as const })),
  ...fresh.map((id) => ({ id })),
  { id: always, restart: "always" as const }
])
// podman's events file (its default with `events_logger = "file"`), read for the kills' events
const eventsLog = process.env.PODMAN_EVENTS_FILE ?? "/run/libpod/events/events.log"
ensureBaseImage()
cleanup()

const recorded = (): Array<{ at: number; end: number; argv: string }> =>
  readFileSync(calls, "utf8").split("\n").filter((l) => l !== "").map((l) => {
    const [at, end, ...argv] = l.split(" ")
    return { at: Number(at), end: Number(end), argv: argv.join(" ") }
  }).sort((a, b) => a.at - b.at)
const engineEvents = (name: string, t0: number, t1: number): Array<{ at: number; status: string }> => {
  let text = ""
  try {
    text = readFileSync(eventsLog, "utf8")
  } catch {
    return []
  }
  return text.slice(-4_000_000).split("\n").flatMap((l) => {
    try {
      const e = JSON.parse(l) as { Name?: string; Status?: string; Time?: string }
      const at = e.Time === undefined ? Number.NaN : Date.parse(e.Time)
      return e.Name === name && at >= t0 && at <= t1 ? [{ at, status: e.Status ?? "?" }] : []
    } catch {
      return []
    }
  })
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const short = (argv: string) => argv.replace(/--label \S+ /g, "").slice(0, 110)

const server = await startServe({
  root,
  appsDir,
  dataDir: mkdtempSync(join(tmpdir(), "bench-processes-data-")),
  scanInterval: "30s",
  reconcileInterval: "30s",
  args: ["--host", "127.0.0.1"],
  nodeArgs: [...nodeFlags],
  observe: false,
  env: { ...process.env, PATH: `${work}:${process.env.PATH}` }
})
type View = { id: string; state: string; transition: unknown; startedAt?: string | null }
const view = async (id: string): Promise<View | undefined> => {
  const r = await server.rpc<any>("container-list")
  const items: ReadonlyArray<View> = Array.isArray(r) ? r : (r.items ?? r.apps ?? [])
  return items.find((v) => v.id === id)
}
const runningView = (id: string, unlike?: string | null) =>
  until(async () => {
    const v = await view(id)
    return v?.state === "running" && !v.transition && (unlike === undefined || v.startedAt !== unlike) ? v : undefined
  }, `${id} running`, 120_000, 20)

const report = (what: string, t0: number, t1: number, name?: string) => {
  const all = recorded()
  const between = all.filter((c) => c.at >= t0 && c.at <= t1 && !c.argv.startsWith("events"))
  const after = all.filter((c) => c.at > t1 && c.at <= t1 + 3000 && !c.argv.startsWith("events"))
  const span = (c: { at: number; end: number }) => `+${String(c.at - t0).padStart(5)}..${String(c.end - t0).padStart(5)} ms`
  console.log(`\n${what}: ${between.length} podman process(es) in ${t1 - t0} ms (load ${loadavg()[0]!.toFixed(2)})`)
  const lines = [
    ...between.map((c) => ({ at: c.at, text: `  ${span(c)}  podman ${short(c.argv)}` })),
    ...(name === undefined ? [] : engineEvents(name, t0 - 5, t1 + 3000)).map((e) => ({
      at: e.at,
      text: `  +${String(e.at - t0).padStart(5)} ms         event ${e.status}`
    }))
  ].sort((a, b) => a.at - b.at)
  for (const l of lines) console.log(l.text)
  console.log(`  +${String(t1 - t0).padStart(5)} ms         view reads running`)
  for (const c of after) console.log(`  (after) ${span(c)}  podman ${short(c.argv)}`)
  return between.length
}

const counts = { repair: [] as Array<number>, install: [] as Array<number>, always: [] as Array<number> }
/** Kills `id`'s main process once a scan has seen it running, and waits for the view to read it running again. */
const killAndWait = async (id: string) => {
  await runningView(id)
  await sleep(3500)
  // the start time as a scan has seen it (an install shows it from the scan after it)
  const before = await until(async () => {
    const v = await view(id)
    return v?.state === "running" && v.startedAt != null ? v : undefined
  }, `${id}'s start time`, 60_000, 100)
  const pid = Number(podman("inspect", "--format", "{{.State.Pid}}", id).stdout)
  const t0 = Date.now()
  process.kill(pid, "SIGKILL")
  await runningView(id, before.startedAt)
  return { t0, t1: Date.now() }
}
try {
  for (const id of fresh) {
    await sleep(3000)
    const t0 = Date.now()
    await server.rpc("container-install", { appId: id })
    await runningView(id)
    const t1 = Date.now()
    await sleep(3000)
    counts.install.push(report(`fresh install of ${id}`, t0, t1))
  }
  for (const id of killed) {
    await server.rpc("container-install", { appId: id })
    const { t0, t1 } = await killAndWait(id)
    await sleep(3000)
    counts.repair.push(report(`kill -9 of ${id} repaired by the reconciler`, t0, t1, id))
  }
  await server.rpc("container-install", { appId: always })
  for (let i = 0; i < repeats; i++) {
    const { t0, t1 } = await killAndWait(always)
    await sleep(3000)
    counts.always.push(report(`kill -9 of ${always} (restart: always, podman restarts it)`, t0, t1, always))
  }
  console.log(`\nprocesses per fresh install: ${counts.install.join(", ")}; per kill -9 repair: ${counts.repair.join(", ")}; per kill -9 with restart always: ${counts.always.join(", ")}`)
} finally {
  await server.close()
  cleanup()
  rmSync(work, { recursive: true, force: true })
}

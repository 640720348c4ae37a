/**
 * Time from damage to "running again" on real podman, with the orchestrator running: the median
 * of 5 runs per scenario. "engine" is podman's own timestamp of the container's `start` event
 * minus the moment of the damage; "entry" is when the orchestrator's view of the app reads
 * `running` again with a fresh start time (what the dashboard is pushed).
 *
 * Scenarios: kill -9 of the app's process with restart policy `always` (podman restarts it; the
 * reconciler must not fight it), kill -9 with restart policy `no` (the reconciler restarts it),
 * and `podman rm -f` of the container (the reconciler recreates it).
 *
 * Run: `npx tsx bench/recovery.ts` (needs podman; builds a copy of apps/demo-node as
 * `t-svc-bench-*` and removes everything it created). Prints a table, then JSON.
 */
import { Duration, Effect, Fiber, Queue, Stream } from "effect"
import { AppId } from "../packages/orchestrator/src/domain/index.js"
import { AppViews, ContainerRuntime as Port, Lifecycle, StateStore } from "../packages/orchestrator/src/index.js"
import type { RuntimeEvent } from "../packages/orchestrator/src/runtime/ContainerRuntime.js"
import {
  cleanup,
  ensureBaseImage,
  hasPodman,
  inspect,
  makeAppsDir,
  podman,
  podmanOrchestrator
} from "../packages/orchestrator/test/services/podmanFixture.js"
import { emit, summarize } from "./lib/Bench.js"
import { quick } from "./lib/Bench.js"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const runs = quick ? 3 : 5
interface BenchApp {
  readonly id: string
  readonly stopDelaySec: number
  readonly stopTimeoutSec: number
  readonly port: number
  readonly restart: "always" | "no"
}
const app = (id: string, port: number, restart: "always" | "no"): BenchApp => ({
  id: `t-svc-bench-${id}`,
  stopDelaySec: 1,
  stopTimeoutSec: 10,
  port,
  restart
})
// The reconciler's scenarios damage a different app each run: repeated damage to one app within
// seconds is a crash loop, and its back-off (1 s, 2 s, 4 s, ...) would be measured instead.
const always = [app("always", 28940, "always")]
// The anchor: a container identical to `always`'s (same image, command, env, limits), run by
// plain podman with restart policy `always` and no orchestrator in sight.
const anchorName = "t-svc-bench-anchor"
const never = Array.from({ length: runs }, (_, i) => app(`norestart-${i}`, 28941 + i, "no"))
const removed = Array.from({ length: runs }, (_, i) => app(`rm-${i}`, 28951 + i, "always"))
const apps = [...always, ...never, ...removed]

interface Scenario {
  readonly name: string
  readonly repairedBy: string
  /** The app damaged in run `i`. */
  readonly app: (i: number) => BenchApp
  readonly damage: (name: string) => void
}

const kill9 = (name: string) => {
  const c = inspect(name)
  if (c === undefined || !c.running) throw new Error(`${name} is not running`)
  process.kill(c.pid, "SIGKILL")
}
const rmForce = (name: string) => {
  const r = podman("rm", "--force", "--time", "0", name)
  if (r.status !== 0) throw new Error(r.stderr)
}

const scenarios: ReadonlyArray<Scenario> = [
  { name: "kill -9 (restart=always)", repairedBy: "podman restart policy", app: () => always[0]!, damage: kill9 },
  { name: "kill -9 (restart=no)", repairedBy: "reconciler (event-driven)", app: (i) => never[i]!, damage: kill9 },
  { name: "podman rm -f", repairedBy: "reconciler (recreate)", app: (i) => removed[i]!, damage: rmForce }
]

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

const sleep = (ms: number) => Effect.sleep(Duration.millis(ms))

const program = Effect.gen(function*() {
  const runtime = yield* Port.ContainerRuntime
  const lifecycle = yield* Lifecycle.Lifecycle
  const views = yield* AppViews.AppViews
  const store = yield* StateStore.StateStore

  const events = yield* Queue.unbounded<RuntimeEvent>()
  yield* Effect.forkScoped(runtime.events().pipe(Stream.runForEach((e) => Queue.offer(events, e)), Effect.ignore))

  const runningEntry = (id: string) =>
    Effect.map(store.entry(AppId.make(id)), (e) => e.state === "running" && e.transition === undefined)
  const until = (check: Effect.Effect<boolean>, what: string) =>
    Effect.gen(function*() {
      for (let i = 0; i < 1200; i++) {
        if (yield* check) return
        yield* sleep(50)
      }
      return yield* Effect.die(new Error(`timed out: ${what}`))
    })

  for (const app of apps) {
    yield* lifecycle.request("install", app.id)
    yield* until(runningEntry(app.id), `${app.id} installed`)
  }
  yield* sleep(1500) // the events watcher is up

  const results: Array<{ scenario: string; repairedBy: string; engineMs: Array<number>; entryMs: Array<number> }> = []
  for (const s of scenarios) {
    const engineMs: Array<number> = []
    const entryMs: Array<number> = []
    for (let i = 0; i < runs; i++) {
      const target = s.app(i)
      yield* until(Effect.map(runningEntry(target.id), (ok) => ok && inspect(target.id)?.running === true), "steady")
      const before = (yield* store.entry(AppId.make(target.id))).observed
      yield* sleep(2500) // past the reconciler's grace for the previous exit
      yield* Queue.clear(events)
      const entry = yield* Effect.forkChild(
        views.changes.pipe(
          Stream.flattenIterable,
          Stream.filter((v) =>
            v.id === target.id && v.state === "running" && v.transition === null &&
            (v.containerId !== (before.containerId ?? null) || v.startedAt !== (before.startedAt ?? null))
          ),
          Stream.runHead,
          Effect.map(() => Date.now())
        )
      )
      yield* sleep(50)
      const t0 = Date.now()
      s.damage(target.id)
      let started: RuntimeEvent | undefined
      while (started === undefined) {
        const batch = yield* Queue.takeBetween(events, 1, 100).pipe(Effect.timeout(Duration.seconds(60)))
        started = batch.find((e) => e.name === target.id && e.kind === "start" && e.at >= t0 - 5)
      }
      engineMs.push(started.at - t0)
      const at = yield* Fiber.join(entry).pipe(Effect.timeout(Duration.seconds(60)), Effect.orElseSucceed(() => Number.NaN))
      entryMs.push(at - t0)
    }
    results.push({ scenario: s.name, repairedBy: s.repairedBy, engineMs, entryMs })
  }

  // The anchor, in the same run: podman's own restart policy on an identical container.
  // the image the orchestrator built for `always` (tagged `<version>-<context hash>`), from its container
  const image = podman("inspect", "--format", "{{.ImageName}}", always[0]!.id).stdout.trim()
  const started = podman(
    "run", "--detach", "--name", anchorName, "--restart", "always", "--memory", "64m",
    "--env", `APP_NAME=${anchorName}`, "--env", "STOP_DELAY=1", image
  )
  if (started.status !== 0) return yield* Effect.die(new Error(`anchor: ${started.stderr}`))
  const anchorMs: Array<number> = []
  for (let i = 0; i < runs; i++) {
    yield* until(Effect.sync(() => inspect(anchorName)?.running === true), "anchor running")
    yield* sleep(2500)
    yield* Queue.clear(events)
    const t0 = Date.now()
    kill9(anchorName)
    let start: RuntimeEvent | undefined
    while (start === undefined) {
      const batch = yield* Queue.takeBetween(events, 1, 100).pipe(Effect.timeout(Duration.seconds(60)))
      start = batch.find((e) => e.name === anchorName && e.kind === "start" && e.at >= t0 - 5)
    }
    anchorMs.push(start.at - t0)
  }
  results.push({ scenario: "anchor: identical container, podman only", repairedBy: "podman restart policy", engineMs: anchorMs, entryMs: [] })
  return results
})

if (!hasPodman) {
  console.error("podman is not available: nothing to measure (run scripts/setup-host.sh)")
  process.exit(1)
}

cleanup(apps)
podman("rm", "--force", "--time", "0", anchorName)
const appsDir = makeAppsDir(apps)
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "svc-bench-"))
try {
  await Effect.runPromise(ensureBaseImage)
  const results = await Effect.runPromise(
    Effect.scoped(program).pipe(Effect.provide(podmanOrchestrator(appsDir, dataDir, { shutdownGrace: "2 seconds" })))
  )
  const rows = results.map((r) => ({
    scenario: r.scenario,
    repairedBy: r.repairedBy,
    engineMedianMs: median(r.engineMs),
    entryMedianMs: median(r.entryMs),
    engineMs: r.engineMs,
    entryMs: r.entryMs
  }))
  console.log(`\nRecovery on podman (${runs} runs each, median)\n`)
  console.log("| scenario | repaired by | engine running again (ms) | entry running again (ms) |")
  console.log("|---|---|---|---|")
  for (const r of rows) {
    console.log(`| ${r.scenario} | ${r.repairedBy} | ${r.engineMedianMs} | ${r.entryMedianMs} |`)
  }
  const anchor = summarize(results.find((r) => r.scenario.startsWith("anchor"))!.engineMs)
  const entry = (name: string) => summarize(results.find((r) => r.scenario === name)!.entryMs)
  // our part alone, run by run: from podman's own `start` event to the view reading running
  const shownAfterStart = (name: string) => {
    const r = results.find((x) => x.scenario === name)!
    return `shown ${median(r.entryMs.map((e, i) => e - r.engineMs[i]!))} ms (median) after podman's own start event`
  }
  emit({
    id: "kill9-restart-always",
    measure: "kill -9 of an app's main process → running again (and shown), restart policy `always`",
    ours: entry("kill -9 (restart=always)"),
    anchor: { what: "podman's restart policy on an identical container", sample: anchor },
    target: { kind: "ratio-max", value: 1.2 },
    note: `ours: until the orchestrator's view reads running again with a fresh start; ${shownAfterStart("kill -9 (restart=always)")}`
  })
  emit({
    id: "kill9-reconciler",
    measure: "kill -9 → running again, repaired by the reconciler (`restart: no`)",
    ours: entry("kill -9 (restart=no)"),
    anchor: { what: "podman's restart policy on an identical container", sample: anchor },
    target: { kind: "ratio-max", value: 1.5 },
    note: `podman's start event ${median(results.find((x) => x.scenario === "kill -9 (restart=no)")!.engineMs)} ms (median) after the kill; ${shownAfterStart("kill -9 (restart=no)")}`
  })
} finally {
  cleanup(apps)
  podman("rm", "--force", "--time", "0", anchorName)
}

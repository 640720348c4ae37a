/**
 * How the orchestrator's own passes cost as the node grows, on real podman, against what a user
 * would otherwise run, in the same run:
 *
 * - one scan (list + merge + publish) of N installed apps against one bare `podman ps -a --format json`,
 *   and the podman processes one scan starts (must be 1);
 * - a no-op reconcile pass over 30 installed apps against `podman-compose up -d` again on the
 *   same 30 services (Debian's podman-compose);
 * - a fresh install of 10 apps from local images against `podman-compose up -d` of the same 10;
 * - growth: scan and reconcile with 10, 50 and 200 apps (10, 30, 50 with --quick), plotted.
 *
 * Run: `npm run bench -- scale` (needs podman, podman-compose for the anchors, and `npm run build`).
 * `npm run bench -- scale --only=install-10` measures the fresh install alone, repeated (each on
 * an empty node and a fresh data dir) against the compose anchor: a few minutes.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { spawnSync } from "node:child_process"
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Duration, Effect, Layer } from "effect"
import {
  Archipelago, HookRegistry, Orchestrator, PodmanRuntime, Reconciler, Scanner
} from "../packages/orchestrator/src/index.js"
import { emit, emitSeries, quick, since, summarize, type Sample } from "./lib/Bench.js"
import { appScript, baseImage, cleanup, ensureBaseImage, hasPodman, tag, writeCatalog } from "./lib/Node.js"

if (!hasPodman()) {
  console.error("podman is not available: nothing to measure (run scripts/setup-host.sh)")
  process.exit(1)
}
const hasCompose = spawnSync("podman-compose", ["version"], { encoding: "utf8" }).status === 0
if (!hasCompose) console.error("podman-compose is missing (apt-get install podman-compose): the compose anchors are skipped")

// `BENCH_ONLY=install-10` (the runner's `--only=install-10`): the fresh install row alone.
const installOnly = process.env.BENCH_ONLY === "install-10"
const sizes = installOnly ? [10] : quick ? [10, 30, 50] : [10, 30, 50, 200]
const runs = quick || installOnly ? 7 : 15
const installRuns = installOnly ? (quick ? 3 : 5) : 1
const appId = (i: number) => `${tag}-a${String(i).padStart(3, "0")}`

const work = mkdtempSync(join(tmpdir(), "bench-scale-"))
const callsFile = join(work, "calls")
const wrapper = join(work, "podman")
const realPodman = spawnSync("sh", ["-c", "command -v podman"], { encoding: "utf8" }).stdout.trim()
// The runtime runs `wrapper`: podman itself while timing (a symlink, so no shell is timed with
// it), a script recording each call while podman processes are counted.
const timing = () => {
  rmSync(wrapper, { force: true })
  symlinkSync(realPodman, wrapper)
}
const counting = () => {
  rmSync(wrapper, { force: true })
  writeFileSync(wrapper, `#!/bin/sh\necho "$(date +%s%3N) $*" >> '${callsFile}'\nexec '${realPodman}' "$@"\n`)
  chmodSync(wrapper, 0o755)
}
timing()

const barePs = (): number => {
  const t0 = performance.now()
  const r = spawnSync(realPodman, ["ps", "-a", "--format", "json"], { maxBuffer: 64 * 1024 * 1024 })
  if (r.status !== 0) throw new Error("podman ps failed")
  return since(t0)
}

interface SizeResult {
  readonly size: number
  readonly installMs?: number
  readonly scan: Sample
  readonly bare: Sample
  readonly reconcile: Sample
  readonly processesPerScan: number
}

const freshDataDir = () => mkdtempSync(join(tmpdir(), "bench-scale-data-"))
const dataDir = freshDataDir()

/** One orchestrator over the first `size` apps (the same data dir each time, so earlier apps are adopted). */
const measureSize = (size: number, installedBefore: number, dataDir: string) => {
  const appsDir = writeCatalog(Array.from({ length: size }, (_, i) => ({ id: appId(i) })))
  const node = Archipelago.layer({
    appsDir,
    dataDir,
    scanInterval: Duration.hours(1),
    reconcileInterval: Duration.hours(1),
    healthInterval: Duration.hours(1),
    shutdownGrace: Duration.seconds(5)
  }).pipe(
    Layer.provideMerge(PodmanRuntime.layerWith({ binary: wrapper })),
    Layer.provide(HookRegistry.layerEmpty),
    Layer.provide(NodeServices.layer)
  )
  const program = Effect.gen(function*() {
    const orchestrator = yield* Orchestrator.Orchestrator
    const scanner = yield* Scanner.Scanner
    const reconciler = yield* Reconciler.Reconciler
    const fresh = Array.from({ length: size - installedBefore }, (_, i) => appId(installedBefore + i))
    const t0 = performance.now()
    yield* Effect.forEach(fresh, (id) => orchestrator.install(id), { concurrency: "unbounded", discard: true })
    const installMs = since(t0)
    yield* scanner.scan
    yield* reconciler.pass
    // The installs' engine events kick the reconciler's loop: a pass at once, and its follow-up
    // look `Reconciler.followUpMs` later (an event can come before podman's listing shows it).
    // Their `podman ps` landed among the timed scans and, at 50 apps, in the counted one (2
    // processes "per scan"): measure once the node is quiet.
    if (fresh.length > 0) yield* Effect.sleep(Duration.millis(Reconciler.followUpMs + 1000))
    const scans: Array<number> = []
    const bares: Array<number> = []
    const passes: Array<number> = []
    for (let i = 0; i < runs; i++) {
      const s0 = performance.now()
      yield* scanner.scan
      scans.push(since(s0))
      bares.push(barePs())
      const r0 = performance.now()
      const decisions = yield* reconciler.pass
      passes.push(since(r0))
      const busy = decisions.filter((d) => d.action._tag !== "NoOp")
      if (busy.length > 0) console.error(`  note: pass ${i} at ${size} apps took ${busy.length} actions (${busy[0]!.action._tag})`)
    }
    counting()
    writeFileSync(callsFile, "")
    const c0 = Date.now()
    yield* scanner.scan
    const calls = readFileSync(callsFile, "utf8").split("\n").filter((l) => l !== "")
    const processesPerScan = calls.length
    if (processesPerScan !== 1) {
      // each recorded call with its start relative to the scan's: whose it was
      console.error(`  note: ${processesPerScan} podman processes during one scan at ${size} apps:`)
      for (const l of calls) console.error(`    +${Number(l.slice(0, l.indexOf(" "))) - c0} ms podman ${l.slice(l.indexOf(" ") + 1)}`)
    }
    timing()
    return {
      size,
      ...(fresh.length > 0 && installedBefore === 0 ? { installMs } : {}),
      scan: summarize(scans),
      bare: summarize(bares),
      reconcile: summarize(passes),
      processesPerScan
    } satisfies SizeResult
  })
  return Effect.runPromise(Effect.scoped(Effect.provide(program, node)))
}

/** A compose file with `n` services identical to the bench apps. */
const composeFile = (n: number, project: string): string => {
  const file = join(work, `${project}.yml`)
  const services = Array.from({ length: n }, (_, i) => [
    `  s${i}:`,
    `    image: ${baseImage}`,
    `    command: ["/bin/sh", "-c", ${JSON.stringify(appScript.replaceAll("$", "$$"))}]`,
    `    environment:`,
    `      STOP_DELAY: "0"`,
    `    mem_limit: 32m`,
    `    restart: always`
  ].join("\n"))
  writeFileSync(file, ["services:", ...services, ""].join("\n"))
  return file
}
const compose = (file: string, project: string, ...args: ReadonlyArray<string>): number => {
  const t0 = performance.now()
  const r = spawnSync("podman-compose", ["-p", project, "-f", file, ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })
  if (r.status !== 0) throw new Error(`podman-compose ${args.join(" ")}: ${r.stderr.slice(-2000)}`)
  return since(t0)
}

ensureBaseImage()
cleanup()
try {
  const results: Array<SizeResult> = []
  const installs: Array<number> = []
  for (let i = 1; i < installRuns; i++) {
    // each on an empty node with a fresh data dir (no intent to resume), then removed
    console.log(`  installing 10 apps (${i} of ${installRuns})...`)
    installs.push((await measureSize(10, 0, freshDataDir())).installMs ?? Number.NaN)
    cleanup()
  }
  let installed = 0
  for (const size of sizes) {
    console.log(`  measuring ${size} apps...`)
    results.push(await measureSize(size, installed, dataDir))
    installed = size
  }

  for (const r of results) {
    console.log(`  ${r.size} apps: scan ${r.scan.median} ms, bare podman ps ${r.bare.median} ms, reconcile pass ${r.reconcile.median} ms, ${r.processesPerScan} podman process(es) per scan`)
  }
  const at50 = results.find((r) => r.size === 50)
  if (at50 !== undefined) emit({
    id: "scan-50",
    measure: "one scan (list + merge + publish) of 50 containers",
    ours: at50.scan,
    anchor: { what: "one bare `podman ps -a --format json`", sample: at50.bare },
    target: { kind: "ratio-max", value: 1.1 },
    note: `${at50.processesPerScan} podman process per scan`
  })

  if (hasCompose) {
    // Fresh install of 10: ours was timed when the 10 apps were installed on an empty node.
    const ten = results.find((r) => r.size === 10)!
    installs.push(ten.installMs ?? Number.NaN)
    const freshRuns = installOnly ? installRuns : quick ? 2 : 3
    const theirs: Array<number> = []
    for (let i = 0; i < freshRuns; i++) {
      const project = `${tag}-c10-${i}`
      const file = composeFile(10, project)
      theirs.push(compose(file, project, "up", "-d"))
      compose(file, project, "down", "-t", "0")
    }
    emit({
      id: "install-10",
      measure: "fresh install of 10 apps from local images",
      ours: summarize(installs),
      anchor: { what: "`podman-compose up -d` of the same 10 services", sample: summarize(theirs) },
      target: { kind: "speedup-min", value: 5 },
      note: "ours: Orchestrator.install of the 10 apps, concurrently, each awaited to running"
    })

    const thirty = results.find((r) => r.size === 30)
    if (thirty !== undefined) {
      const project = `${tag}-c30`
      const file = composeFile(30, project)
      compose(file, project, "up", "-d")
      const noop: Array<number> = []
      for (let i = 0; i < (quick ? 1 : 3); i++) noop.push(compose(file, project, "up", "-d"))
      compose(file, project, "down", "-t", "0")
      emit({
        id: "noop-reconcile-30",
        measure: "a no-op reconcile pass over 30 installed apps",
        ours: thirty.reconcile,
        anchor: { what: "`podman-compose up -d` again on the same 30 services", sample: summarize(noop) },
        target: { kind: "speedup-min", value: 100 }
      })
    }
  }

  if (!installOnly) emitSeries({
    id: "growth",
    title: "Cost of one pass as the node grows (median ms, real podman)",
    x: "installed apps",
    y: "ms",
    lines: [
      { name: "scan (list + merge + publish)", points: results.map((r) => [r.size, r.scan.median] as const) },
      { name: "bare podman ps -a --format json", points: results.map((r) => [r.size, r.bare.median] as const) },
      { name: "no-op reconcile pass", points: results.map((r) => [r.size, r.reconcile.median] as const) }
    ]
  })
} finally {
  cleanup()
  rmSync(work, { recursive: true, force: true })
}

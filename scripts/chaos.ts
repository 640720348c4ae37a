/**
 * `npm run chaos`: the chaos matrix on real podman (idle, then contended) and the model-based
 * chaos on the simulator with a few thousand long sequences, then docs/chaos-report.md.
 * Exits non-zero when any case or model run fails. Run after `npm run build` (the script does).
 *
 * CHAOS_MODEL_RUNS (default 2000), CHAOS_MODEL_LENGTH (default 40) and CHAOS_MODEL_SHARDS (default 8)
 * size the model run; CHAOS_CRASH_RUNS (default 2000) the random kill moments of the crash replay.
 */
import { spawn, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { availableParallelism, cpus, release, tmpdir, type } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { type CaseRow, type CrashRow, type ModelRun, render } from "../test-support/chaos/Report.js"
import { contentionWorkersFromEnv } from "../test-support/contention.js"
import { slowPodmanFromEnv } from "../test-support/podman-slow.js"

const root = fileURLToPath(new URL("../", import.meta.url))
const vitest = join(root, "node_modules/vitest/vitest.mjs")
const scratch = mkdtempSync(join(tmpdir(), "archy-chaos-run-"))
const resultsFile = join(scratch, "results.json")

const run = (label: string, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv): { ok: boolean; seconds: number } => {
  console.log(`\n=== ${label}`)
  const t0 = Date.now()
  const r = spawnSync(process.execPath, [vitest, "run", ...args], { cwd: root, stdio: "inherit", env: { ...process.env, ...env } })
  return { ok: r.status === 0, seconds: (Date.now() - t0) / 1000 }
}

const matrix = run("chaos matrix on podman (idle, contended)", ["packages/daemon/test/chaos/ChaosMatrix.test.ts"], {
  ARCHY_CHAOS_RESULTS: resultsFile
})
const rows: Array<CaseRow> = existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, "utf8")) as Array<CaseRow> : []

// The model sequences spend most of their time waiting on the simulator's fibers, so they run in
// parallel shards (CHAOS_MODEL_SHARDS processes, each with its own seed).
const modelRuns = Number(process.env.CHAOS_MODEL_RUNS ?? 2000)
const modelLength = Number(process.env.CHAOS_MODEL_LENGTH ?? 40)
const shards = Math.max(1, Number(process.env.CHAOS_MODEL_SHARDS ?? 8))
console.log(`\n=== model-based chaos: ${modelRuns} sequences of up to ${modelLength} steps in ${shards} shards`)
const modelStart = Date.now()
const shardResults = await Promise.all(Array.from({ length: shards }, (_, i) =>
  new Promise<boolean>((resolve) => {
    const runs = Math.floor(modelRuns / shards) + (i < modelRuns % shards ? 1 : 0)
    const child = spawn(process.execPath, [vitest, "run", "packages/orchestrator/test/services/Model.test.ts"], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        MODEL_RUNS: String(runs),
        MODEL_LENGTH: String(modelLength),
        MODEL_SEED: String(1000 + i * 7919 + Date.now() % 100_000),
        MODEL_TIMEOUT_MS: String(4 * 3600_000)
      }
    })
    let out = ""
    child.stdout.on("data", (d: Buffer) => (out += d.toString()))
    child.stderr.on("data", (d: Buffer) => (out += d.toString()))
    child.once("exit", (code) => {
      console.log(`model shard ${i + 1}/${shards}: ${runs} sequences, ${code === 0 ? "no violation" : "FAILED"}`)
      if (code !== 0) console.log(out)
      resolve(code === 0)
    })
  })))
const model = { ok: shardResults.every((ok) => ok), seconds: (Date.now() - modelStart) / 1000 }
const models: Array<ModelRun> = [{ label: "npm run chaos", runs: modelRuns, maxLength: modelLength, ok: model.ok, seconds: model.seconds }]

// Every data operation killed at every step on podman (idle, contended), then random kill moments
// on the simulator (CHAOS_CRASH_RUNS, default 2000).
const crashFile = join(scratch, "crash.json")
const crashPoints = run("crash points on podman (idle, contended)", ["packages/daemon/test/chaos/CrashPoints.test.ts"], {
  ARCHY_CRASH_REPORT: crashFile
})
const crashRows: Array<CrashRow> = existsSync(crashFile) ? JSON.parse(readFileSync(crashFile, "utf8")) as Array<CrashRow> : []
const crashRuns = Number(process.env.CHAOS_CRASH_RUNS ?? 2000)
const crashRandom = run(`random kill moments on the simulator (${crashRuns} runs)`, ["packages/orchestrator/test/services/CrashReplay.test.ts", "-t", "random"], {
  CRASH_RUNS: String(crashRuns)
})

const podman = spawnSync("podman", ["version", "--format", "{{.Client.Version}}"], { encoding: "utf8" }).stdout.trim() || "missing"
const report = render(rows, models, {
  date: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC",
  cpus: availableParallelism(),
  cpuModel: cpus()[0]?.model.trim() ?? "unknown",
  podman,
  node: process.version,
  os: `${type()} ${release()}`,
  contentionWorkers: contentionWorkersFromEnv() || availableParallelism(),
  podmanDelayMs: slowPodmanFromEnv() || 500,
  matrixSeconds: matrix.seconds
}, { rows: crashRows, random: { label: "crash replay", runs: crashRuns, maxLength: 1, ok: crashRandom.ok, seconds: crashRandom.seconds } })
writeFileSync(join(root, "docs/chaos-report.md"), report)
rmSync(scratch, { recursive: true, force: true })
console.log(`\nwrote docs/chaos-report.md: matrix ${matrix.ok ? "passed" : "FAILED"} (${rows.filter((r) => r.ok).length}/${rows.length}), model ${model.ok ? "passed" : "FAILED"}`)
process.exitCode = matrix.ok && model.ok && rows.length > 0 && crashPoints.ok && crashRandom.ok && crashRows.length > 0 ? 0 : 1

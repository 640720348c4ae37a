/**
 * `npm run chaos`: the chaos matrix on real podman (idle, then contended) and the model-based
 * chaos on the simulator with a few thousand long sequences, then docs/chaos-report.md.
 * Exits non-zero when any case or model run fails. Run after `npm run build` (the script does).
 *
 * CHAOS_MODEL_RUNS (default 2000) and CHAOS_MODEL_LENGTH (default 60) size the model run.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { availableParallelism, cpus, release, tmpdir, type } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { type CaseRow, type ModelRun, render } from "../test-support/chaos/Report.js"
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

const matrix = run("chaos matrix on podman (idle, contended)", ["packages/rpc-adapter/test/chaos/ChaosMatrix.test.ts"], {
  ARCHY_CHAOS_RESULTS: resultsFile
})
const rows: Array<CaseRow> = existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, "utf8")) as Array<CaseRow> : []

const modelRuns = Number(process.env.CHAOS_MODEL_RUNS ?? 2000)
const modelLength = Number(process.env.CHAOS_MODEL_LENGTH ?? 60)
const model = run(`model-based chaos: ${modelRuns} sequences of up to ${modelLength} steps`, [
  "packages/orchestrator/test/services/Model.test.ts"
], { MODEL_RUNS: String(modelRuns), MODEL_LENGTH: String(modelLength), MODEL_TIMEOUT_MS: String(4 * 3600_000) })
const models: Array<ModelRun> = [{ label: "npm run chaos", runs: modelRuns, maxLength: modelLength, ok: model.ok, seconds: model.seconds }]

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
})
writeFileSync(join(root, "docs/chaos-report.md"), report)
rmSync(scratch, { recursive: true, force: true })
console.log(`\nwrote docs/chaos-report.md: matrix ${matrix.ok ? "passed" : "FAILED"} (${rows.filter((r) => r.ok).length}/${rows.length}), model ${model.ok ? "passed" : "FAILED"}`)
process.exitCode = matrix.ok && model.ok && rows.length > 0 ? 0 : 1

/**
 * Runs every benchmark of bench/ in turn (`npm run bench`), or the ones named on the command line
 * (`npm run bench -- lifecycle scale`); `--quick` asks each for fewer, shorter runs; `--only=<row>`
 * asks a bench for one row alone (`npm run bench -- scale --only=install-10`). Each bench
 * prints its own table; the `BENCH_RESULT` / `BENCH_SERIES` lines they print are collected into
 * `bench/results/<date>.json`, and a run of every bench also rewrites docs/benchmarks.md and the
 * growth plot docs/images/bench-growth.svg.
 */
import { spawn, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import * as os from "node:os"
import { fileURLToPath } from "node:url"
import { createInterface } from "node:readline"
import type { Row, Series } from "./lib/Bench.js"
import { markdown, quiet, svg, type Run } from "./lib/Report.js"

const dir = fileURLToPath(new URL(".", import.meta.url))
const root = fileURLToPath(new URL("..", import.meta.url))
const args = process.argv.slice(2)
const quick = args.includes("--quick")
// `--again=lifecycle,recovery`: after every bench has run, run these once more (rows sensitive
// to the machine's load; both passes are reported).
const again = (args.find((a) => a.startsWith("--again="))?.slice("--again=".length).split(",") ?? []).filter((a) => a !== "")
const wanted = args.filter((a) => !a.startsWith("--"))
// `--only=<row id>`: a bench that can measure one of its rows alone (scale: `install-10`) does.
const only = args.find((a) => a.startsWith("--only="))?.slice("--only=".length)

const writeDocs = (run: Run, resultFile: string) => {
  const plot = run.series.length > 0 ? "images/bench-growth.svg" : undefined
  if (plot !== undefined) writeFileSync(`${root}docs/${plot}`, svg(run.series[0]!))
  // The misses explained (where the time goes, what would close them): written by hand in
  // bench/analysis.md, carried into every regenerated page.
  const analysis = existsSync(`${dir}analysis.md`) ? readFileSync(`${dir}analysis.md`, "utf8") : undefined
  writeFileSync(`${root}docs/benchmarks.md`, markdown(run, plot, resultFile, analysis))
  console.log("docs/benchmarks.md rewritten")
}

// `--render=bench/results/<date>.json`: rewrite the docs from a recorded run (after editing
// bench/analysis.md), measuring nothing. `--render=<full>.json,<partial>.json` adds the rows of
// benches run again on their own (say one that failed in the full run) to the full run's.
const render = args.find((a) => a.startsWith("--render="))?.slice("--render=".length).split(",")
if (render !== undefined) {
  const [full, ...partials] = render.map((f) => JSON.parse(readFileSync(`${root}${f}`, "utf8")) as Run)
  const rerun = new Set(partials.flatMap((p) => p.ran ?? []))
  // A row measured again on its own (after a fix) replaces the full run's row of the same id and
  // pass, where it stood; the later partial wins. bench/analysis.md keeps the figures before.
  const key = (r: Row) => `${r.id}#${r.pass ?? 1}`
  const later = new Map<string, Row>()
  for (const p of partials) {
    for (const r of p.rows) {
      later.set(key(r), { ...r, note: `${r.note === undefined ? "" : `${r.note}; `}measured on its own at ${p.environment.date}` })
    }
  }
  const kept = full!.rows.map((r) => later.get(key(r)) ?? r)
  const added = [...later.values()].filter((r) => !full!.rows.some((f) => key(f) === key(r)))
  const merged: Run = {
    ...full!,
    rows: [...kept, ...added],
    failed: [...full!.failed.filter((f) => !rerun.has(f)), ...partials.flatMap((p) => p.failed)]
  }
  writeDocs(merged, render.join(", "))
  process.exit(0)
}

const benches = readdirSync(dir)
  .filter((f) => f.endsWith(".ts") && f !== "run.ts")
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort()

const podmanVersion = spawnSync("podman", ["version", "--format", "{{.Client.Version}}"], { encoding: "utf8" }).stdout?.trim() || "absent"
const started = new Date().toISOString()
const loadAtStart = os.loadavg()
// The quiet-machine protocol: rows measured above a load of 1 per core are marked in the docs as
// not release figures; say so now, before minutes of measuring.
if (!quiet(loadAtStart[0], os.availableParallelism())) {
  console.warn(
    `load average ${loadAtStart[0]!.toFixed(2)} on ${os.availableParallelism()} CPUs (above 1 per core): ` +
      "the rows measured while it stays there are marked as not release figures"
  )
}
const rows: Array<Row> = []
const series: Array<Series> = []
const failed: Array<string> = []

const runOne = (file: string, pass = 1): Promise<number | null> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", `${dir}${file}`], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, ...(quick ? { BENCH_QUICK: "1" } : {}), ...(only === undefined ? {} : { BENCH_ONLY: only }) }
    })
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line.startsWith("BENCH_RESULT ")) {
        const row = JSON.parse(line.slice("BENCH_RESULT ".length)) as Row
        rows.push(pass === 1 ? row : { ...row, pass })
      }
      else if (line.startsWith("BENCH_SERIES ")) series.push(JSON.parse(line.slice("BENCH_SERIES ".length)) as Series)
      else console.log(line)
    })
    child.on("exit", (code) => resolve(code))
  })

const passes: Array<readonly [string, number]> = [
  ...benches.map((f) => [f, 1] as const),
  ...benches.filter((f) => again.some((a) => f.startsWith(a))).map((f) => [f, 2] as const)
]
for (const [file, pass] of passes) {
  console.log(`\n== bench/${file}${pass > 1 ? ` (pass ${pass})` : ""}`)
  const code = await runOne(file, pass)
  if (code !== 0) {
    failed.push(pass > 1 ? `${file} (pass ${pass})` : file)
    console.error(`bench/${file} exited ${code}`)
  }
}

const run: Run = {
  environment: {
    date: started,
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    podman: podmanVersion,
    loadAverage: loadAtStart,
    loadAverageEnd: os.loadavg(),
    benchFinished: new Date().toISOString(),
    quick
  },
  rows,
  series,
  failed,
  ran: benches
}
mkdirSync(`${dir}results`, { recursive: true })
const resultFile = `${dir}results/${started.slice(0, 19).replace(/:/g, "-")}.json`
writeFileSync(resultFile, `${JSON.stringify(run, null, 2)}\n`)
console.log(`\nresults: ${resultFile.slice(root.length)}`)
if (wanted.length === 0) writeDocs(run, resultFile.slice(root.length))
process.exit(failed.length === 0 ? 0 : 1)

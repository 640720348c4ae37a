/**
 * Wall time of `PodmanRuntime.list()` with 0, 10 and 50 extra containers, beside a bare
 * `podman ps -a --format json`, and the number of podman processes one `list()` starts.
 * Prints a table, then JSON.
 *
 * Run: `npx tsx bench/runtime-list.ts` (needs podman and the base image; creates and removes
 * containers named `t-rt-bench-*`). Other containers on the engine count too: the table says
 * how many there were.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { BaseImage, ContainerRuntime as Port, PodmanRuntime } from "../packages/orchestrator/src/index.js"

const { ContainerRuntime } = Port
import { Fixtures } from "../packages/orchestrator/src/testing/index.js"

const prefix = "t-rt-bench-"
const runs = 15
const sizes = [0, 10, 50]

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}
const round = (n: number) => Math.round(n * 10) / 10

const podman = spawnSync("sh", ["-c", "command -v podman"], { encoding: "utf8" }).stdout.trim()
if (podman === "") {
  console.error("podman is not installed: nothing to measure (run scripts/setup-host.sh)")
  process.exit(1)
}

const work = mkdtempSync(join(tmpdir(), "archy-bench-"))
const callsFile = join(work, "calls")
const wrapper = join(work, "podman")
writeFileSync(wrapper, `#!/bin/sh\necho "$*" >> '${callsFile}'\nexec '${podman}' "$@"\n`)
chmodSync(wrapper, 0o755)

const cleanup = () => {
  const names = execFileSync(podman, ["ps", "-a", "--format", "{{.Names}}"], { encoding: "utf8" })
    .split("\n")
    .filter((n) => n.startsWith(prefix))
  if (names.length > 0) spawnSync(podman, ["rm", "--force", "--time", "0", ...names])
}

const bare = () => {
  const t = performance.now()
  execFileSync(podman, ["ps", "-a", "--format", "json"], { maxBuffer: 64 * 1024 * 1024 })
  return performance.now() - t
}

interface Row {
  readonly extra: number
  readonly total: number
  readonly listMs: number
  readonly bareMs: number
  readonly processesPerList: number
}

const program = Effect.gen(function* () {
  yield* BaseImage.ensure()
  const rt = yield* ContainerRuntime
  const counting = yield* Effect.provide(ContainerRuntime, PodmanRuntime.layerWith({ binary: wrapper }))
  const rows: Array<Row> = []
  let created = 0
  for (const size of sizes) {
    while (created < size) {
      yield* rt.create(Fixtures.service(`${prefix}${created}`))
      created++
    }
    yield* rt.list()
    bare()
    const listTimes: Array<number> = []
    const bareTimes: Array<number> = []
    let total = 0
    for (let i = 0; i < runs; i++) {
      const t = performance.now()
      total = (yield* rt.list()).length
      listTimes.push(performance.now() - t)
      bareTimes.push(bare())
    }
    writeFileSync(callsFile, "")
    yield* counting.list()
    const processes = readFileSync(callsFile, "utf8").split("\n").filter((l) => l !== "").length
    rows.push({ extra: size, total, listMs: round(median(listTimes)), bareMs: round(median(bareTimes)), processesPerList: processes })
  }
  return rows
})

try {
  cleanup()
  const rows = await Effect.runPromise(program.pipe(Effect.provide(PodmanRuntime.layer)))
  const info = execFileSync(podman, ["version", "--format", "json"], { encoding: "utf8" })
  const version = (JSON.parse(info) as { Client: { Version: string } }).Client.Version
  console.log(`podman ${version}, median of ${runs} runs each`)
  console.log("bench containers | containers listed | list() ms | bare podman ps ms | podman processes per list()")
  console.log("-----------------|-------------------|-----------|-------------------|----------------------------")
  for (const r of rows) {
    console.log(
      `${String(r.extra).padStart(16)} | ${String(r.total).padStart(17)} | ${String(r.listMs).padStart(9)} | ${String(r.bareMs).padStart(17)} | ${String(r.processesPerList).padStart(27)}`
    )
  }
  console.log(JSON.stringify({ bench: "runtime-list", podman: version, runs, rows }))
} finally {
  cleanup()
  rmSync(work, { recursive: true, force: true })
}

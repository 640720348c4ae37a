/**
 * How much later `podman events` prints a line than our watch of podman's events file reads it:
 * both follow the same file at once while containers are run and killed (kill -9), and each
 * line's arrival through the process is compared with its arrival through the file, per event
 * status. Explains the push row and the kill -9 rows (bench/analysis.md).
 *
 * Run: `node --import tsx bench/tools/events-lag.ts [kills=10]` (needs podman with
 * `events_logger = "file"`, as scripts/setup-host.sh configures). Not a benchmark row.
 */
import { spawn } from "node:child_process"
import { loadavg } from "node:os"
import { Effect, Result, Fiber, Stream } from "effect"
import * as EventsTail from "../../packages/orchestrator/src/runtime/internal/EventsTail.js"
import * as PodmanArgv from "../../packages/orchestrator/src/runtime/PodmanArgv.js"
import * as EventsFile from "../../packages/orchestrator/src/runtime/PodmanEventsFile.js"
import { baseImage, ensureBaseImage, hasPodman, podman, tag } from "../lib/Node.js"

if (!hasPodman()) {
  console.error("podman is not available (run scripts/setup-host.sh)")
  process.exit(1)
}
const kills = Number(process.argv[2] ?? "10")
const version = podman(...PodmanArgv.versionArgv)
const path = EventsFile.eventsFilePath(EventsFile.backendOf(version.stderr), [])
if (Result.isFailure(path)) {
  console.error(`no events file to follow: ${path.failure}`)
  process.exit(1)
}
ensureBaseImage()

const name = `${tag}-lag`
const keyOf = (line: string): string | undefined => {
  try {
    const e = JSON.parse(line) as { ID?: string; Name?: string; Status?: string; Time?: string }
    return e.Name === name || e.ID !== undefined ? `${e.ID}|${e.Status}|${e.Time}` : undefined
  } catch {
    return undefined
  }
}
const viaFile = new Map<string, number>()
const viaProcess = new Map<string, number>()
const child = spawn("podman", [...PodmanArgv.eventsArgv, "--filter", `container=${name}`], { stdio: ["ignore", "pipe", "inherit"] })
let pending = ""
child.stdout.on("data", (chunk: Buffer) => {
  pending += chunk.toString()
  for (let i = pending.indexOf("\n"); i >= 0; i = pending.indexOf("\n")) {
    const key = keyOf(pending.slice(0, i))
    pending = pending.slice(i + 1)
    if (key !== undefined) viaProcess.set(key, performance.now())
  }
})
const watch = Effect.runFork(
  EventsTail.tail(path.success, { _tag: "End" }, { pollMs: 2000 }).pipe(
    Stream.runForEach((line) =>
      Effect.sync(() => {
        const key = keyOf(line)
        if (key !== undefined && line.includes(`"Name":"${name}"`)) viaFile.set(key, performance.now())
      })
    )
  )
)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
await sleep(1500)
try {
  for (let i = 0; i < kills; i++) {
    podman("run", "--detach", "--name", name, baseImage, "sleep", "100")
    const pid = Number(podman("inspect", "--format", "{{.State.Pid}}", name).stdout)
    process.kill(pid, "SIGKILL")
    await sleep(1200)
    podman("rm", "--force", "--time", "0", name)
  }
  await sleep(1500)
} finally {
  child.kill()
  await Effect.runPromise(Fiber.interrupt(watch))
  podman("rm", "--force", "--time", "0", name)
}
const byStatus = new Map<string, Array<number>>()
for (const [key, at] of viaFile) {
  const printed = viaProcess.get(key)
  if (printed === undefined) continue
  const status = key.split("|")[1]!
  byStatus.set(status, [...(byStatus.get(status) ?? []), Math.round(printed - at)])
}
console.log(`podman events printed each line this many ms after the file watch read it (${kills} run + kill -9, load ${loadavg()[0]!.toFixed(2)}):`)
for (const [status, lags] of byStatus) {
  const sorted = lags.sort((a, b) => a - b)
  console.log(`  ${status.padEnd(8)} median ${sorted[Math.floor((sorted.length - 1) / 2)]}  (${sorted.join(" ")})`)
}
process.exit(0)

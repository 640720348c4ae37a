// Arrival of the same event lines through `podman events` and through the events file followed with inotify.
import { spawn, spawnSync } from "node:child_process"
import { Effect, Stream } from "effect"
import * as EventsTail from "/work/wt/runtime/packages/orchestrator/src/runtime/internal/EventsTail.ts"

const seenFile = new Map<string, number>()
const seenProc = new Map<string, number>()
const key = (l: string) => { try { const j = JSON.parse(l); return `${j.ID}|${j.Status}|${j.Time}` } catch { return l } }
const proc = spawn("podman", ["events", "--format", "json"], { stdio: ["ignore", "pipe", "inherit"] })
let buf = ""
proc.stdout.on("data", (c) => { buf += c; let i; while ((i = buf.indexOf("\n")) >= 0) { const l = buf.slice(0, i); buf = buf.slice(i + 1); seenProc.set(key(l), performance.now()) } })
const fiber = Effect.runFork(EventsTail.tail("/run/libpod/events/events.log", { _tag: "End" }, { pollMs: 2000 }).pipe(Stream.runForEach((l) => Effect.sync(() => seenFile.set(key(l), performance.now())))))
await new Promise((r) => setTimeout(r, 1500))
const name = `t-evx-lat-${process.pid}`
for (let i = 0; i < Number(process.argv[2] ?? 10); i++) {
  spawnSync("podman", ["run", "-d", "--name", name, "localhost/archipelago/base:latest", "sleep", "100"])
  const pid = Number(spawnSync("podman", ["inspect", "-f", "{{.State.Pid}}", name], { encoding: "utf8" }).stdout)
  process.kill(pid, "SIGKILL")
  await new Promise((r) => setTimeout(r, 1200))
  spawnSync("podman", ["rm", "-f", "-t", "0", name])
}
await new Promise((r) => setTimeout(r, 1500))
const byStatus = new Map<string, Array<number>>()
for (const [k, t] of seenFile) { const p = seenProc.get(k); if (p === undefined) continue; const st = k.split("|")[1]!; byStatus.set(st, [...(byStatus.get(st) ?? []), Math.round(p - t)]) }
for (const [st, xs] of byStatus) console.log(st, xs.sort((a, b) => a - b).join(" "))
const diffs: Array<number> = []
for (const [k, t] of seenFile) { const p = seenProc.get(k); if (p !== undefined && k.includes(name.slice(0,0))) diffs.push(p - t) }
diffs.sort((a, b) => a - b)
const q = (x: number) => diffs[Math.floor(x * (diffs.length - 1))]!.toFixed(0)
console.log(`events seen by both: ${diffs.length} (file ${seenFile.size}, process ${seenProc.size}); process later than file by ms: min ${q(0)} p25 ${q(0.25)} median ${q(0.5)} p75 ${q(0.75)} max ${q(1)}`)
proc.kill()
Effect.runFork((await import("effect")).Fiber.interrupt(fiber))
process.exit(0)

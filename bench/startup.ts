/**
 * `npm start` on a built tree → the dashboard answering: runs `node scripts/start.mjs` (what
 * `npm start` runs after its build step) with a fresh data dir and a free port, and times the
 * first answer of the dashboard page (its login page, `401`, until a session exists); then
 * again on the same data dir (a restart of the node). The demo apps it installs in the
 * background are removed afterwards: only the containers of the bench's own instances (another
 * node's demo apps on this machine are left alone, as the server leaves them).
 *
 * Run: `npm run bench -- startup` (needs `npm run build`; podman for the real engine).
 */
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { emit, quick, since, sleep, summarize, until } from "./lib/Bench.js"
import { freePort, podman, root } from "./lib/Node.js"

const runs = quick ? 2 : 4

const startOnce = async (dataDir: string): Promise<number> => {
  const port = await freePort()
  const t0 = performance.now()
  const child = spawn(process.execPath, [join(root, "scripts/start.mjs"), "--port", String(port)], {
    cwd: root,
    env: { ...process.env, ARCHIPELAGO_DATA: dataDir },
    stdio: "ignore"
  })
  try {
    return await until(async () => {
      if (child.exitCode !== null) throw new Error(`start.mjs exited ${child.exitCode}`)
      try {
        const r = await fetch(`http://127.0.0.1:${port}/`)
        // the page answers: 200 with a session, 401 (the login page) without one
        return r.status === 200 || r.status === 401 ? since(t0) : undefined
      } catch {
        return undefined
      }
    }, "dashboard answering", 120_000, 25)
  } finally {
    const exited = new Promise<void>((r) => child.once("exit", () => r()))
    child.kill("SIGTERM")
    await Promise.race([exited, sleep(30_000)])
  }
}

/** Removes the demo containers the node on `dataDir` created (labelled with its instance id). */
const removeDemo = (dataDir: string) => {
  const idFile = join(dataDir, "instance-id")
  if (!existsSync(idFile)) return
  const instance = readFileSync(idFile, "utf8").trim()
  const ours = podman("ps", "-a", "--filter", `label=io.archipelago.instance=${instance}`, "--format", "{{.Names}}").stdout
    .split("\n").filter((n) => n !== "")
  if (ours.length > 0) podman("rm", "--force", "--time", "0", ...ours)
}

const first: Array<number> = []
const again: Array<number> = []
for (let i = 0; i < runs; i++) {
  const dataDir = mkdtempSync(join(tmpdir(), "bench-start-"))
  try {
    first.push(await startOnce(dataDir))
    again.push(await startOnce(dataDir))
  } finally {
    removeDemo(dataDir)
  }
}
console.log(`  restart on the same data dir: median ${summarize(again).median} ms`)
emit({
  id: "npm-start",
  measure: "`npm start` on a built tree → dashboard answering",
  ours: summarize(first),
  target: { kind: "max", stat: "median", value: 5000 },
  note: `fresh data dir; a restart on the same data dir: median ${summarize(again).median} ms`
})

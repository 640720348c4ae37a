/**
 * `npm start` on a built tree → the dashboard answering: runs `node scripts/start.mjs` (what
 * `npm start` runs after its build step) with a fresh data dir and a free port, and times the
 * first `200` for the dashboard page; then again on the same data dir (a restart of the node).
 * The demo apps it installs in the background are removed afterwards.
 *
 * Run: `npm run bench -- startup` (needs `npm run build`; podman for the real engine).
 */
import { spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { emit, quick, since, sleep, summarize, until } from "./lib/Bench.js"
import { freePort, podman, root } from "./lib/Node.js"

const demoApps = ["demo-node", "demo-lightning", "demo-indexer", "demo-ui"]
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
        return r.status === 200 ? since(t0) : undefined
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

const removeDemo = () => {
  podman("rm", "--force", "--time", "0", ...demoApps)
}

removeDemo()
const first: Array<number> = []
const again: Array<number> = []
try {
  for (let i = 0; i < runs; i++) {
    const dataDir = mkdtempSync(join(tmpdir(), "bench-start-"))
    first.push(await startOnce(dataDir))
    again.push(await startOnce(dataDir))
    removeDemo()
  }
} finally {
  removeDemo()
}
console.log(`  restart on the same data dir: median ${summarize(again).median} ms`)
emit({
  id: "npm-start",
  measure: "`npm start` on a built tree → dashboard answering",
  ours: summarize(first),
  target: { kind: "max", stat: "median", value: 5000 },
  note: `fresh data dir; a restart on the same data dir: median ${summarize(again).median} ms`
})

/**
 * The request path's cost against a bare `node:http` server, side by side in one run: the real
 * `archipelago serve` (simulated engine, 50 installed apps of a generated catalog) and
 * `bench/tools/bare-http.mjs` (read the body, check the bearer, parse, answer JSON), each in its
 * own process, asked by the same 50 keep-alive clients in rounds that alternate ours and the
 * anchor. Per round: the server's CPU time (user + system, /proc) ÷ answers, the throughput and
 * the latencies.
 *
 * - `server.version` (a trivial answer): server CPU per answer, target ≤ 2× the anchor's;
 * - `container-list` of 50 apps: server CPU per answer, target ≤ 3× the anchor's (which
 *   serializes the same 50 views).
 *
 * Both processes run with the same V8 flags: the systemd unit's (`Unit.nodeFlags`), or none with
 * `BENCH_HTTP_FLAGS=none`.
 *
 * Run: `npm run bench -- http` (needs `npm run build`; no podman: the engine is simulated).
 * `BENCH_PROFILE=1` starts both servers with `--cpu-prof` (the profiles land in our server's data
 * dir, the anchor's in its `anchor/` folder); `BENCH_ONLY=<row id>` measures one row.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { emit, quick, summarize } from "./lib/Bench.js"
import { cpuMs, root, tag, writeCatalog } from "./lib/Node.js"
import { nodeFlags } from "../packages/daemon/src/Unit.js"
import { startServe } from "../test-support/chaos/Serve.js"

const apps = 50
const clients = 50
const rounds = quick ? 3 : 7
const perClient = quick ? 100 : 200

interface Target {
  readonly port: number
  readonly pid: number
  readonly token: string
}

interface Round {
  readonly cpuPerAnswer: number
  readonly perSecond: number
  readonly latencies: ReadonlyArray<number>
}

const flags = process.env.BENCH_HTTP_FLAGS === "none" ? [] : nodeFlags
const agent = new http.Agent({ keepAlive: true, maxSockets: clients })

const post = (t: Target, body: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const t0 = performance.now()
    const req = http.request({
      agent,
      host: "127.0.0.1",
      port: t.port,
      method: "POST",
      path: "/rpc",
      headers: {
        authorization: `Bearer ${t.token}`,
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body)
      }
    }, (res) => {
      let size = 0
      res.on("data", (c: Buffer) => { size += c.length })
      res.on("end", () => {
        if (res.statusCode !== 200 || size === 0) reject(new Error(`answered ${res.statusCode}`))
        else resolve(performance.now() - t0)
      })
    })
    req.on("error", reject)
    req.end(body)
  })

const round = async (t: Target, method: string, n: number): Promise<Round> => {
  const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: {} })
  const latencies: Array<number> = []
  const cpu0 = cpuMs(t.pid)
  const t0 = performance.now()
  await Promise.all(Array.from({ length: clients }, async () => {
    for (let i = 0; i < n; i++) latencies.push(await post(t, body))
  }))
  const wall = performance.now() - t0
  const answers = latencies.length
  return { cpuPerAnswer: (cpuMs(t.pid) - cpu0) / answers, perSecond: answers / (wall / 1000), latencies }
}

const bare = async (tokenFile: string, listFile: string): Promise<Target & { stop: () => void }> => {
  const child = spawn(process.execPath, [...flags, ...(process.env.BENCH_PROFILE === "1" ? ["--cpu-prof", `--cpu-prof-dir=${dataDir}/anchor`] : []), path.join(import.meta.dirname, "tools/bare-http.mjs"), tokenFile, listFile], {
    stdio: ["ignore", "pipe", "inherit"]
  })
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      const m = /listening (\d+)/.exec(d.toString())
      if (m) resolve(Number(m[1]))
    })
    child.once("exit", (code) => reject(new Error(`bare-http exited ${code}`)))
  })
  return { port, pid: child.pid!, token: fs.readFileSync(tokenFile, "utf8").trim(), stop: () => child.kill() }
}

const ids = Array.from({ length: apps }, (_, i) => `${tag}-h${String(i).padStart(2, "0")}`)
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-http-"))
// the server as its unit runs it (Unit.nodeFlags), on the simulated engine
const server = await startServe({
  root,
  // the simulator has no registry images: each app builds its own, so all 50 end running
  appsDir: writeCatalog(ids.map((id) => ({ id, build: true }))),
  dataDir,
  engine: "sim",
  scanInterval: "30s",
  reconcileInterval: "30s",
  args: ["--host", "127.0.0.1"],
  nodeArgs: [...flags, ...(process.env.BENCH_PROFILE === "1" ? ["--cpu-prof", `--cpu-prof-dir=${dataDir}`] : [])],
  observe: false
})
const node = { call: (m: string, p?: Record<string, unknown>) => server.rpc<unknown>(m, p), dataDir, pid: server.pid(), token: server.token(), url: server.url }
let anchor: Awaited<ReturnType<typeof bare>> | undefined
try {
  for (let i = 0; i < ids.length; i += 10) {
    await Promise.all(ids.slice(i, i + 10).map((id) => node.call("container-install", { appId: id })))
  }
  let listed: ReadonlyArray<{ state: string }> = []
  for (const t0 = Date.now(); ; await new Promise((r) => setTimeout(r, 200))) {
    listed = (await node.call("container-list")) as ReadonlyArray<{ state: string }>
    if (listed.length === apps && listed.every((v) => v.state === "running")) break
    if (Date.now() - t0 > 120_000) throw new Error(`not all ${apps} apps running after 2 min: ${listed.map((v) => v.state).join(", ")}`)
  }
  const listFile = path.join(node.dataDir, "bench-list.json")
  fs.writeFileSync(listFile, JSON.stringify(listed))
  anchor = await bare(path.join(node.dataDir, "rpc-token"), listFile)
  const ours: Target = { port: Number(new URL(node.url).port), pid: node.pid, token: node.token }

  const measure = async (method: string) => {
    // warm both (JIT, keep-alive sockets), then alternate: ours, anchor, ours, anchor, ...
    await round(ours, method, 20)
    await round(anchor!, method, 20)
    const mine: Array<Round> = []
    const theirs: Array<Round> = []
    for (let r = 0; r < rounds; r++) {
      mine.push(await round(ours, method, perClient))
      theirs.push(await round(anchor!, method, perClient))
    }
    return { mine, theirs }
  }

  const only = process.env.BENCH_ONLY
  const rows = [
    { method: "server.version", id: "http-cpu-trivial", what: "a trivial answer (`server.version`)", target: 2 },
    { method: "container-list", id: "http-cpu-list-50", what: "`container-list` of 50 apps", target: 3 }
  ]
  for (const row of rows.filter((r) => only === undefined || r.id === only)) {
    const { mine, theirs } = await measure(row.method)
    const ms = (xs: ReadonlyArray<Round>) => summarize(xs.map((r) => Math.round(r.cpuPerAnswer * 1000)), "µs")
    const rate = (xs: ReadonlyArray<Round>) => Math.round(summarize(xs.map((r) => r.perSecond)).median)
    const p99 = (xs: ReadonlyArray<Round>) => summarize(xs.flatMap((r) => r.latencies)).p99
    emit({
      id: row.id,
      measure: `server CPU per answer over HTTP, ${row.what}, ${clients} keep-alive clients`,
      ours: ms(mine),
      anchor: { what: "a bare `node:http` server doing the same work (body, bearer, parse, JSON answer)", sample: ms(theirs) },
      target: { kind: "ratio-max", value: row.target },
      note: `${flags.length === 0 ? "no V8 flags" : `both with the unit's V8 flags (${flags.join(" ")})`}; ${rounds} rounds of ${clients} clients × ${perClient} requests, ours and the anchor alternating; ` +
        `throughput ${rate(mine)} against ${rate(theirs)} answers/s, p99 ${Math.round(p99(mine))} against ${Math.round(p99(theirs))} ms`
    })
  }
} finally {
  anchor?.stop()
  agent.destroy()
  await server.close()
}

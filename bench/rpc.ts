/**
 * The RPC server's costs: latency of `container-list` and `container-stop` over HTTP on the whole
 * stack (simulated engine, the apps/ catalog), fan-out latency of a pushed change to 1-100
 * WebSocket clients, and the server's heap and buffers while a client that stopped reading receives 2000
 * large changes (bounded by its push queue). Prints a table, then one JSON line.
 */
import { fileURLToPath } from "node:url"
import { join } from "node:path"
import { Duration, Effect, ManagedRuntime } from "effect"
import { WebSocket } from "ws"
import * as Serve from "../packages/daemon/src/Serve.js"
import * as Server from "../packages/rpc-adapter/src/Server.js"
import { makeFake, tempDir, view } from "../packages/rpc-adapter/test/fixtures.js"
import { connect, start } from "../packages/rpc-adapter/test/harness.js"

const root = fileURLToPath(new URL("..", import.meta.url))

const quantile = (xs: Array<number>, q: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!
}
const ms = (n: number) => Math.round(n * 100) / 100

const httpLatency = async () => {
  const choice = await Effect.runPromise(Serve.chooseEngine("sim"))
  const runtime = ManagedRuntime.make(Serve.layer({
    apps: join(root, "apps"),
    data: tempDir("bench-rpc-"),
    host: "127.0.0.1",
    port: 0,
    engine: "sim",
    scanInterval: Duration.seconds(30),
    reconcileInterval: Duration.seconds(30),
    allowOrigins: [],
    install: []
  }, choice))
  const server = await runtime.runPromise(Server.RpcServer)
  const call = async (method: string, params: unknown = {}) => {
    const t0 = performance.now()
    const res = await fetch(`${server.url}/rpc`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params })
    })
    await res.json()
    return performance.now() - t0
  }
  for (let i = 0; i < 50; i++) await call("container-list")
  const list: Array<number> = []
  for (let i = 0; i < 500; i++) list.push(await call("container-list"))
  // A stop is answered at once: install demo-ui (1 s graceful stop), then time the stop request.
  await call("container-install", { appId: "demo-ui" })
  await new Promise((r) => setTimeout(r, 1500))
  const stop = await call("container-stop", { appId: "demo-ui" })
  await runtime.dispose()
  return [
    { case: "HTTP container-list (11 apps), p50", ms: ms(quantile(list, 0.5)) },
    { case: "HTTP container-list (11 apps), p99", ms: ms(quantile(list, 0.99)) },
    { case: "HTTP container-stop answered (1 s graceful stop)", ms: ms(stop) }
  ]
}

const fanOut = async (clients: number) => {
  const fake = makeFake([view("lnd", "running")])
  // past the server's default cap of open WebSockets (64) a handshake is refused with 503
  const s = await start(fake.layer, { maxSockets: Math.max(clients, Server.defaults.maxSockets) })
  const cs = await Promise.all(
    Array.from({ length: clients }, () => connect(s.server.url, { headers: { authorization: `Bearer ${s.server.token}` } }))
  )
  await Promise.all(cs.map((c) => c.next((m) => m.method === "state.snapshot")))
  const samples: Array<number> = []
  for (let i = 0; i < 20; i++) {
    const from = cs.map((c) => c.messages.length)
    const t0 = performance.now()
    await fake.emit(view("lnd", i % 2 === 0 ? "stopping" : "running"))
    await Promise.all(cs.map((c, k) => c.next((m) => m.method === "state.changed", from[k])))
    samples.push(performance.now() - t0)
  }
  await Promise.all(cs.map((c) => c.close()))
  await s.close()
  return { case: `push to ${clients} WebSocket clients, p50`, ms: ms(quantile(samples, 0.5)) }
}

const slowClientHeap = async () => {
  const fake = makeFake([view("lnd", "running")])
  const s = await start(fake.layer)
  const ws = new WebSocket(`${s.server.url.replace(/^http/, "ws")}/ws`, { headers: { authorization: `Bearer ${s.server.token}` } })
  await new Promise((r) => ws.once("message", r))
  ws.pause()
  global.gc?.()
  const used = () => { const m = process.memoryUsage(); return m.heapUsed + m.external }
  const before = used()
  const pad = "p".repeat(64 * 1024)
  for (let i = 0; i < 2000; i++) await fake.emit({ ...view("lnd", i % 2 === 0 ? "stopping" : "running"), name: `${pad}${i}` })
  await new Promise((r) => setTimeout(r, 200))
  global.gc?.()
  const after = used()
  ws.terminate()
  await s.close()
  return {
    case: "heap + external growth, paused client, 2000 changes x 64 KiB (125 MiB pushed)",
    ms: Math.round((after - before) / 1024 / 1024 * 10) / 10,
    unit: "MiB"
  }
}

const rows: Array<{ case: string; ms: number; unit?: string }> = [
  ...(await httpLatency()),
  await fanOut(1),
  await fanOut(10),
  await fanOut(100),
  await slowClientHeap()
]

const width = Math.max(...rows.map((r) => r.case.length))
console.log(`${"case".padEnd(width)}  value`)
for (const r of rows) console.log(`${r.case.padEnd(width)}  ${r.ms} ${r.unit ?? "ms"}`)
console.log(JSON.stringify({ bench: "rpc", rows }))

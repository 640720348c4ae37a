/**
 * The one handle on a real `archipelago serve` process (the built CLI,
 * `packages/daemon/dist/cli.js`) on podman, for the chaos matrix, the real-server tests and
 * the benchmarks (bench/lib/Node.ts): start it, SIGKILL it, start it again on the same port and
 * data dir, call its JSON-RPC API and, when observing (the matrix's checks), record its WebSocket
 * `state.changed` stream and measure how fast `container-list` answers. Nothing here calls the
 * orchestrator's library functions.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { readFileSync } from "node:fs"
import { freePort } from "../net.js"
import { join } from "node:path"
import { WebSocket } from "ws"

export { freePort }

/** The fields of an app view the matrix reads (the rest is kept as is). */
export interface View {
  readonly id: string
  readonly state: string
  readonly visualState: string
  readonly health: string
  readonly containerName: string
  readonly containerId: string | null
  readonly transition: { readonly op: string; readonly previous: string } | null
  readonly lastError: { readonly op: string; readonly message: string } | null
  readonly intent: { readonly installed: boolean; readonly wantRunning: boolean; readonly userStopped: boolean }
  readonly generation?: number
  readonly [key: string]: unknown
}

/** One view as the WebSocket delivered it, with when it arrived and from which connection. */
export interface Recorded {
  readonly at: number
  readonly connection: number
  readonly kind: "snapshot" | "changed"
  readonly seq: number
  readonly view: View
}

export interface ServeOptions {
  readonly root: string
  readonly appsDir: string
  readonly dataDir: string
  readonly env?: NodeJS.ProcessEnv
  /** Scan and reconcile interval (default 1s). */
  readonly interval?: string
  /** The scan interval alone (default `interval`). */
  readonly scanInterval?: string
  /** The reconcile interval alone (default `interval`). */
  readonly reconcileInterval?: string
  /** More `serve` arguments (e.g. `--host 127.0.0.1`). */
  readonly args?: ReadonlyArray<string>
  /** Node's own flags for the server process, e.g. `--cpu-prof` (added to ARCHY_CHAOS_SERVE_NODE_ARGS's). */
  readonly nodeArgs?: ReadonlyArray<string>
  /**
   * Record the WebSocket stream and poll `container-list`'s latency beside a control server
   * (default true: the matrix's checks); false leaves the server with no load but the test's own,
   * as a benchmark needs (`recorded` and `takeLatencies` then stay empty).
   */
  readonly observe?: boolean
  /** `--engine`: podman (the default) or sim (a bench of the request path alone). */
  readonly engine?: "podman" | "sim"
}

export class RpcFailure extends Error {
  constructor(readonly method: string, readonly code: number, message: string) {
    super(`${method}: ${message} (${code})`)
  }
}

export interface Serve {
  readonly port: number
  readonly url: string
  readonly dataDir: string
  /** The server process's pid (a restart changes it). */
  readonly pid: () => number
  /** The RPC token the server wrote to `<dataDir>/rpc-token`. */
  readonly token: () => string
  readonly output: () => string
  readonly running: () => boolean
  /** Calls a method; rejects with `RpcFailure` on a JSON-RPC error. */
  readonly rpc: <A = unknown>(method: string, params?: Record<string, unknown>) => Promise<A>
  readonly list: () => Promise<ReadonlyArray<View>>
  /**
   * Polls app `appId`'s view until `done` (a bound on a wait, not a timed assertion); past the
   * bound it throws naming `what`, the last view and the server's last output.
   */
  readonly untilView: (appId: string, what: string, done: (v: View) => boolean, boundMs?: number) => Promise<View>
  /** Every view the WebSocket delivered since the start, across restarts. */
  readonly recorded: () => ReadonlyArray<Recorded>
  /** `container-list` latencies measured by the background poller since the last call. */
  readonly takeLatencies: () => Array<Latency>
  /** SIGKILLs the server (a crash); containers and podman calls it started are left alone. */
  readonly kill: () => Promise<void>
  /** Starts the server again on the same port and data dir. */
  readonly restart: () => Promise<void>
  /** Stops the poller, the WebSocket and the server (SIGTERM, then SIGKILL after 20 s). */
  readonly close: () => Promise<void>
}

const cli = (root: string) => join(root, "packages/daemon/dist/cli.js")

/** One poll: `container-list`'s answer time and, at the same moment, the control server's (ms). */
export interface Latency {
  readonly server: number
  readonly control: number
}

// A trivial HTTP server in its own Node process, answering at once.
const startControl = (): Promise<{ url: string; stop: () => void }> =>
  new Promise((resolve, reject) => {
    const source = `const s = require("node:http").createServer((q, r) => r.end("[]"));
s.listen(0, "127.0.0.1", () => console.log(s.address().port));
setInterval(() => { if (process.ppid === 1) process.exit(0) }, 1000);`
    const c = spawn(process.execPath, ["-e", source], { stdio: ["ignore", "pipe", "inherit"] })
    c.once("error", reject)
    c.stdout!.once("data", (d: Buffer) =>
      resolve({ url: `http://127.0.0.1:${String(d).trim()}/`, stop: () => c.kill("SIGKILL") }))
  })

/** How often the poller asks `container-list`. */
export const pollEveryMs = 250

export const startServe = async (options: ServeOptions): Promise<Serve> => {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const interval = options.interval ?? "1s"
  const observe = options.observe ?? true
  // ARCHY_CHAOS_SERVE_NODE_ARGS: node flags for the server only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
  // (node refuses --cpu-prof in NODE_OPTIONS)
  const nodeArgs = [...(process.env.ARCHY_CHAOS_SERVE_NODE_ARGS ?? "").split(" ").filter((a) => a !== ""), ...(options.nodeArgs ?? [])]
  const args = [
    ...nodeArgs, cli(options.root), "serve", "--apps", options.appsDir, "--data", options.dataDir, "--port", String(port),
    ...(options.engine === "sim" ? ["--engine", "sim"] : ["--engine", "podman"]), "--scan-interval", options.scanInterval ?? interval, "--reconcile-interval", options.reconcileInterval ?? interval,
    ...(options.args ?? [])
  ]
  let child: ChildProcess | undefined
  let log = ""
  let token = ""
  let ws: WebSocket | undefined
  let connection = 0
  let closing = false
  const recorded: Array<Recorded> = []
  let latencies: Array<Latency> = []

  const connectWs = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const n = ++connection
      const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { authorization: `Bearer ${token}` } })
      ws = socket
      socket.on("message", (data) => {
        const msg = JSON.parse(String(data)) as { method?: string; params?: { app?: View; apps?: Array<View>; seq: number } }
        const at = Date.now()
        if (msg.method === "state.changed" && msg.params?.app !== undefined) {
          recorded.push({ at, connection: n, kind: "changed", seq: msg.params.seq, view: msg.params.app })
        } else if (msg.method === "state.snapshot" && msg.params?.apps !== undefined) {
          for (const view of msg.params.apps) recorded.push({ at, connection: n, kind: "snapshot", seq: msg.params.seq, view })
          resolve()
        }
      })
      socket.once("error", reject)
      socket.once("close", () => reject(new Error("websocket closed before the snapshot")))
    })

  const launch = async (): Promise<void> => {
    const c = spawn(process.execPath, args, {
      cwd: options.root,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...(options.env ?? process.env), NO_COLOR: "1" }
    })
    child = c
    c.stdout!.on("data", (d: Buffer) => (log += d.toString()))
    c.stderr!.on("data", (d: Buffer) => (log += d.toString()))
    const from = log.length
    const end = Date.now() + 120_000
    while (!/Dashboard: /.test(log.slice(from))) {
      if (c.exitCode !== null) throw new Error(`archipelago serve exited ${c.exitCode}:\n${log}`)
      if (Date.now() > end) throw new Error(`archipelago serve did not start in 120 s:\n${log}`)
      await new Promise((r) => setTimeout(r, 50))
    }
    token = readFileSync(join(options.dataDir, "rpc-token"), "utf8").trim()
    if (observe) await connectWs()
  }

  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null

  const rpc = async <A>(method: string, params: Record<string, unknown> = {}): Promise<A> => {
    const res = await fetch(`${url}/rpc`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params })
    })
    const body = await res.json() as { result?: A; error?: { code: number; message: string } }
    if (body.error !== undefined) throw new RpcFailure(method, body.error.code, body.error.message)
    return body.result as A
  }

  // The poller: container-list every pollEveryMs while the server runs, timing each answer, and
  // at the same moment a trivial request to a control server in its own process: what the
  // machine's scheduling alone costs at that moment.
  const control = observe ? await startControl() : undefined
  let polling = observe
  const timed = async (f: () => Promise<unknown>): Promise<number> => {
    const t0 = performance.now()
    await f()
    return performance.now() - t0
  }
  const poller = (async () => {
    while (polling) {
      if (running() && token !== "") {
        try {
          const [server, base] = await Promise.all([
            timed(() => rpc("container-list")),
            timed(() => fetch(control!.url).then((r) => r.text()))
          ])
          latencies.push({ server, control: base })
        } catch {
          // a request racing a deliberate kill; the server being down is not a latency
        }
      }
      await new Promise((r) => setTimeout(r, pollEveryMs))
    }
  })()

  const kill = async (): Promise<void> => {
    const c = child
    if (c === undefined || !running()) return
    const exited = new Promise((r) => c.once("exit", r))
    c.kill("SIGKILL")
    await exited
    ws?.removeAllListeners("close")
    ws?.terminate()
  }

  await launch()
  const list = () => rpc<ReadonlyArray<View>>("container-list")

  return {
    port,
    url,
    dataDir: options.dataDir,
    pid: () => child?.pid ?? -1,
    token: () => token,
    output: () => log,
    running,
    rpc,
    list,
    untilView: async (appId, what, done, boundMs = 180_000) => {
      const end = Date.now() + boundMs
      for (;;) {
        const v = await list().then((vs) => vs.find((x) => x.id === appId)).catch(() => undefined)
        if (v !== undefined && done(v)) return v
        if (Date.now() > end) throw new Error(`gave up waiting for ${what}; last view: ${JSON.stringify(v)}\n${log.slice(-3000)}`)
        await new Promise((r) => setTimeout(r, pollEveryMs))
      }
    },
    recorded: () => recorded,
    takeLatencies: () => {
      const out = latencies
      latencies = []
      return out
    },
    kill,
    restart: launch,
    close: async () => {
      if (closing) return
      closing = true
      polling = false
      await poller
      control?.stop()
      ws?.removeAllListeners("close")
      ws?.terminate()
      const c = child
      if (c === undefined || !running()) return
      const exited = new Promise((r) => c.once("exit", r))
      c.kill("SIGTERM")
      const timer = setTimeout(() => c.kill("SIGKILL"), 20_000)
      await exited
      clearTimeout(timer)
    }
  }
}

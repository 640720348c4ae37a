/**
 * A scripted stand-in for `archipelago serve` speaking the agreed protocol: JSON-RPC on
 * `POST /rpc`, WebSocket `/ws` with `state.snapshot` then ordered `state.changed`, bearer or
 * cookie auth. Its notifications are typed by the orchestrator's `Wire` module, the protocol's
 * one description. Tests drive the app states by hand, hold and release answers, refuse
 * requests, kill sockets, skip sequence numbers and send raw (malformed) messages.
 */
import { AppState, Op, VisualState, Wire } from "@archipelago/orchestrator/domain"
import type { AppView } from "@archipelago/orchestrator/domain"
import { readFileSync } from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { WebSocket, WebSocketServer } from "ws"

export interface RpcCall {
  readonly method: string
  readonly params: Record<string, unknown>
  readonly auth: "bearer" | "cookie" | "none"
}

export interface RpcFailure {
  readonly code: number
  readonly message: string
}

/** What the server does with a lifecycle request. */
export interface OpScript {
  /** Broadcast the app's old view (a scan that raced the click) before flipping it. */
  readonly staleScanFirst?: boolean
  /** Hold the answer until `release(appId)` is called. */
  readonly hold?: boolean
  /** Rebroadcast the transitional view this many times (scans), `scanEveryMs` apart. */
  readonly scans?: number
  readonly scanEveryMs?: number
  /** Then land in the final state (default) or fail back to the previous one with this error. */
  readonly failWith?: string
  /** Leave the app transitional; the test finishes it. */
  readonly manual?: boolean
}

export const view = (
  id: string,
  name: string,
  state: AppState.AppState,
  extra: Partial<AppView.AppView> = {}
): AppView.AppView => ({
  id,
  name,
  version: "1.0.0",
  state,
  generation: 0,
  visualState: VisualState.ofState(state),
  health: state === "running" ? "healthy" : "none",
  ports: [],
  containerName: id,
  containerId: state === "not-installed" ? null : `c-${id}`,
  image: `localhost/archipelago/${id}:1.0.0`,
  lanAddress: null,
  startedAt: state === "running" ? 1_700_000_000_000 : null,
  exitCode: null,
  transition: null,
  lastError: null,
  crashLoop: null,
  dependsOn: [],
  intent: { installed: state !== "not-installed", wantRunning: state === "running", userStopped: false, updatedAt: 0 },
  uiPort: null,
  digest: null,
  runningVersion: null,
  updateAvailable: null,
  ...extra
})

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

export class FakeServer {
  readonly calls: Array<RpcCall> = []
  readonly apps = new Map<string, AppView.AppView>()
  seq = 0
  /** Served at `/`. */
  page = "<!doctype html><title>empty</title>"
  /** Files served at their path, e.g. `/assets/archipelago.js`. */
  readonly files = new Map<string, { readonly path: string; readonly type: string }>()
  /** Scripts per `${appId}:${op}`; the default lands in the final state after 3 scans. */
  readonly scripts = new Map<string, OpScript>()
  /** One-shot refusals per `${appId}:${op}`. */
  readonly refusals = new Map<string, RpcFailure>()
  /** While true, WebSocket upgrades are refused. */
  refuseSockets = false
  token: string | undefined
  socketCount = 0
  private readonly held = new Map<string, () => void>()
  private readonly server: http.Server
  private readonly wss = new WebSocketServer({ noServer: true })
  private readonly sockets = new Set<WebSocket>()
  private readonly installLogs = new Map<string, Array<Wire.LogLine>>()
  /** What `backup-list` answers, by app id; an app without an entry has no backup yet. */
  readonly backups = new Map<string, Wire.BackupList["apps"][number]>()
  /** Results answered as they are for a method (a server that drifted from the protocol). */
  readonly rawResults = new Map<string, unknown>()
  /** Every request that arrived on a socket, in order (method and params). */
  readonly socketCalls: Array<{ readonly method: string; readonly params: Record<string, unknown> }> = []
  /** Log follows open per socket, at most `maxFollows` (the real server's limit). */
  readonly follows = new Map<WebSocket, Set<string>>()
  maxFollows = 4
  /** What `node.disk` answers on a socket; undefined answers "method not found". */
  disk: Wire.DiskReport | undefined
  private followSerial = 0

  constructor(apps: ReadonlyArray<AppView.AppView>, options: { readonly token?: string } = {}) {
    for (const a of apps) this.apps.set(a.id, a)
    this.token = options.token
    this.server = http.createServer((req, res) => void this.onHttp(req, res))
    this.server.on("upgrade", (req, socket, head) => {
      const auth = this.authOf(req)
      if (this.refuseSockets || req.url !== "/ws" || (this.token !== undefined && auth === "none")) {
        socket.end("HTTP/1.1 503 Service Unavailable\r\n\r\n")
        return
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws))
    })
    this.wss.on("headers", () => {})
  }

  get url(): string {
    const a = this.server.address() as AddressInfo
    return `http://127.0.0.1:${a.port}`
  }

  listen(): Promise<void> {
    return new Promise((resolve) => this.server.listen(0, "127.0.0.1", () => resolve()))
  }

  async close(): Promise<void> {
    this.killSockets()
    for (const r of this.held.values()) r()
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    this.server.closeAllConnections()
    await closed
  }

  /**
   * Replaces an app's view and pushes the change to every socket (seq + 1). Like the real
   * server's intent and transition changes, each one advances the app's generation (unless
   * `extra` gives one).
   */
  set(id: string, state: AppState.AppState, extra: Partial<AppView.AppView> = {}): AppView.AppView {
    const old = this.apps.get(id)
    if (old === undefined) throw new Error(`no app ${id}`)
    const next = { ...old, generation: old.generation + 1, ...extra, state, visualState: VisualState.ofState(state) }
    this.apps.set(id, next)
    this.push(next)
    return next
  }

  /** Pushes a view as a change without storing it (a stale scan), or the stored one. */
  push(app: AppView.AppView): void {
    this.seq += 1
    this.notify(Wire.Notification.StateChanged, { app, seq: this.seq })
  }

  /** Pushes a notification of the protocol to every socket. */
  notify<K extends Wire.Notification>(method: K, params: Wire.NotificationParams[K]): void {
    this.broadcast({ jsonrpc: "2.0", method, params })
  }

  /** Sends anything to every socket, e.g. a notification that does not match its schema. */
  sendRaw(msg: unknown): void {
    this.broadcast(msg)
  }

  /** Records a backup of the app and pushes `backups.changed`, as the server does. */
  addBackup(appId: string, archive: { readonly file: string; readonly createdAt: number; readonly bytes: number }): void {
    const old = this.backups.get(appId) ?? { appId, archives: [], watched: [], recovery: null, schedule: null }
    this.backups.set(appId, { ...old, archives: [...old.archives, archive] })
    this.notify(Wire.Notification.BackupsChanged, { appId })
  }

  /** Sets what `backup-list` says of the app besides its archives (watched files, recovery, schedule). */
  setBackupSummary(appId: string, summary: Partial<Omit<Wire.BackupList["apps"][number], "appId" | "archives">>): void {
    const old = this.backups.get(appId) ?? { appId, archives: [], watched: [], recovery: null, schedule: null }
    this.backups.set(appId, { ...old, ...summary })
    this.notify(Wire.Notification.BackupsChanged, { appId })
  }

  /** Advances `seq` without telling anyone: the next change arrives with a gap. */
  skipSeq(): void {
    this.seq += 1
  }

  killSockets(): void {
    for (const ws of this.sockets) ws.terminate()
    this.sockets.clear()
  }

  release(appId: string): void {
    const r = this.held.get(appId)
    this.held.delete(appId)
    r?.()
  }

  isHeld(appId: string): boolean {
    return this.held.has(appId)
  }

  log(appId: string, message: string, level: "info" | "warn" | "error" = "info"): void {
    const lines = this.installLogs.get(appId) ?? []
    lines.push({ seq: lines.length + 1, at: Date.now(), level, message })
    this.installLogs.set(appId, lines)
  }

  private broadcast(msg: unknown): void {
    const text = JSON.stringify(msg)
    for (const ws of this.sockets) if (ws.readyState === WebSocket.OPEN) ws.send(text)
  }

  private onSocket(ws: WebSocket): void {
    this.socketCount += 1
    this.sockets.add(ws)
    ws.on("close", () => {
      this.sockets.delete(ws)
      this.follows.delete(ws)
    })
    ws.on("message", (data) => this.onSocketMessage(ws, String(data)))
    const snapshot: Wire.Snapshot = { apps: [...this.apps.values()], seq: this.seq }
    ws.send(JSON.stringify({ jsonrpc: "2.0", method: Wire.Notification.StateSnapshot, params: snapshot }))
  }

  /** The log follows open on every socket now. */
  openFollows(): number {
    let n = 0
    for (const set of this.follows.values()) n += set.size
    return n
  }

  private onSocketMessage(ws: WebSocket, text: string): void {
    const msg = JSON.parse(text) as { id?: number; method?: string; params?: Record<string, unknown> }
    if (msg.id === undefined || msg.method === undefined) return
    const params = msg.params ?? {}
    this.socketCalls.push({ method: msg.method, params })
    const reply = (body: { result: unknown } | { error: RpcFailure }) => ws.send(JSON.stringify({ jsonrpc: "2.0", id: msg.id, ...body }))
    const open = this.follows.get(ws) ?? new Set<string>()
    this.follows.set(ws, open)
    switch (msg.method) {
      case Wire.SocketMethod.LogsSubscribe: {
        if (open.size >= this.maxFollows) {
          return reply({ error: { code: -32005, message: `limit reached: at most ${this.maxFollows} log follows per connection` } })
        }
        const subscription = `logs-${++this.followSerial}`
        open.add(subscription)
        reply({ result: { subscription, appId: params["appId"] } })
        ws.send(JSON.stringify({
          jsonrpc: "2.0",
          method: Wire.Notification.LogsLines,
          params: { subscription, appId: params["appId"], lines: [`hello from ${String(params["appId"])}`], dropped: 0 }
        }))
        return
      }
      case Wire.SocketMethod.LogsUnsubscribe: {
        const sub = String(params["subscription"])
        if (!open.delete(sub)) return reply({ error: { code: -32602, message: `no open subscription ${sub}` } })
        return reply({ result: { subscription: sub, unsubscribed: true } })
      }
      case Wire.Method.NodeDisk:
        return reply(this.disk === undefined ? { error: { code: -32601, message: "method not found: node.disk" } } : { result: this.disk })
      default:
        // other socket methods (stats.subscribe) go unanswered, as they always did here
        return
    }
  }

  private authOf(req: http.IncomingMessage): RpcCall["auth"] {
    if (this.token === undefined) return "none"
    if (req.headers.authorization === `Bearer ${this.token}`) return "bearer"
    const protocols = String(req.headers["sec-websocket-protocol"] ?? "").split(",").map((s) => s.trim())
    if (protocols.includes(`archipelago.bearer.${this.token}`)) return "bearer"
    if ((req.headers.cookie ?? "").split(/;\s*/).includes(`archy_session=${this.token}`)) return "cookie"
    return "none"
  }

  private async onHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x")
    if (req.method === "GET" && url.pathname === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" })
      res.end(this.page)
      return
    }
    if (req.method === "GET" && url.pathname === "/login") {
      res.writeHead(302, { "set-cookie": `archy_session=${url.searchParams.get("token")}; HttpOnly; SameSite=Strict; Path=/`, location: "/" })
      res.end()
      return
    }
    const file = this.files.get(url.pathname)
    if (req.method === "GET" && file !== undefined) {
      res.writeHead(200, { "content-type": file.type, "cache-control": "no-store" })
      res.end(readFileSync(file.path))
      return
    }
    if (req.method === "POST" && url.pathname === "/rpc") {
      const chunks: Array<Buffer> = []
      for await (const c of req) chunks.push(c as Buffer)
      const auth = this.authOf(req)
      if (this.token !== undefined && auth === "none") {
        res.writeHead(401, { "content-type": "application/json" })
        res.end(JSON.stringify({ error: "unauthorized" }))
        return
      }
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { id: number; method: string; params?: Record<string, unknown> }
      const params = body.params ?? {}
      this.calls.push({ method: body.method, params, auth })
      const answer = await this.answer(body.method, params)
      res.writeHead(200, { "content-type": "application/json" })
      res.end(JSON.stringify({ jsonrpc: "2.0", id: body.id, ...answer }))
      return
    }
    res.writeHead(404)
    res.end()
  }

  private async answer(method: string, params: Record<string, unknown>): Promise<{ result: unknown } | { error: RpcFailure }> {
    if (this.rawResults.has(method)) return { result: this.rawResults.get(method) }
    if (method === "container-list") return { result: [...this.apps.values()] }
    if (method === "backup-list") {
      const appId = params["appId"]
      const apps = [...this.apps.keys()].filter((id) => appId === undefined || id === appId)
        .map((id) => this.backups.get(id) ?? { appId: id, archives: [], watched: [], recovery: null, schedule: null })
      const list: Wire.BackupList = { dir: "/backups", keep: 5, apps }
      return { result: list }
    }
    if (method === "install-log") return { result: this.installLogs.get(String(params["appId"])) ?? [] }
    if (method === "server.version") return { result: { version: "0.1.0", engine: "simulated", engineVersion: "test" } }
    const m = /^container-(install|start|stop|restart|update|remove|backup|restore)$/.exec(method)
    if (m === null) return { error: { code: -32601, message: `method not found: ${method}` } }
    const op = m[1] as Op.Op
    const appId = String(params["appId"])
    const app = this.apps.get(appId)
    if (app === undefined) return { error: { code: -32001, message: `unknown app: ${appId}` } }
    const key = `${appId}:${op}`
    const script = this.scripts.get(key) ?? {}
    if (script.staleScanFirst === true) this.push(app)
    if (script.hold === true) await new Promise<void>((r) => this.held.set(appId, r))
    const refusal = this.refusals.get(key)
    if (refusal !== undefined) {
      this.refusals.delete(key)
      return { error: refusal }
    }
    if (AppState.isTransitional(app.state)) {
      return { error: { code: -32002, message: `cannot ${op} ${appId}: another operation is in progress` } }
    }
    const status = Op.transitionalState(op)
    const since = Date.now()
    const { generation } = this.set(appId, status, { transition: { op, since, deadline: since + 60_000, previous: app.state } })
    if (script.manual !== true) void this.finish(appId, op, app.state, script)
    return { result: { appId, op, status, generation } }
  }

  private async finish(appId: string, op: Op.Op, previous: AppState.AppState, script: OpScript): Promise<void> {
    for (let i = 0; i < (script.scans ?? 3); i++) {
      await sleep(script.scanEveryMs ?? 50)
      const current = this.apps.get(appId)
      if (current !== undefined) this.push({ ...current, health: current.health })
    }
    const at = Date.now()
    if (script.failWith !== undefined) {
      this.set(appId, previous, { transition: null, lastError: { op, message: script.failWith, at } })
    } else {
      const final = Op.finalState(op, previous)
      this.set(appId, final, {
        transition: null,
        lastError: null,
        health: final === "running" ? "healthy" : "none",
        startedAt: final === "running" ? at : null
      })
    }
  }
}

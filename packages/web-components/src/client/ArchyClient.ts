/**
 * The browser client of `archipelago serve`: JSON-RPC over `fetch`, live state over a WebSocket
 * (snapshot, then ordered changes, resync on a gap), reconnect with exponential backoff, and a
 * polling backstop while the socket is down. Elements follow it through `ArchyController`.
 *
 * A little over 500 lines: the request path, the socket with its resync and the polling backstop
 * share the connection's state; they are one state machine.
 *
 * @since 0.1.0
 */
import type { AppResources } from "@archipelago/orchestrator/domain"
import * as Guards from "@archipelago/orchestrator/protocol/Guards"
import * as Methods from "@archipelago/orchestrator/protocol/Methods"
import type * as Views from "@archipelago/orchestrator/protocol/Views"
import * as AppStore from "./AppStore.js"
import * as Operations from "./Operations.js"
import type { OperationOptions, OperationResult, RemoveOptions, RestoreOptions } from "./Operations.js"
import * as Protocol from "./Protocol.js"
import { ProtocolError, RpcError, TransportError } from "./RpcError.js"
import { Subscriptions } from "./Subscriptions.js"
import type { LogListener } from "./Subscriptions.js"

/**
 * An event handler property of a socket. Its parameter is checked both ways (a method's
 * bivariance), so a socket whose handlers take its own event types (the browser's `MessageEvent`,
 * `ws`'s `WebSocket.MessageEvent`, undici's) is a `SocketLike` as it is, without a cast.
 *
 * @since 0.1.0
 * @category models
 */
export type SocketHandler<E> = { bivarianceHack(ev: E): void }["bivarianceHack"]

/**
 * The minimal WebSocket a client needs: the browser's, Node's global one (Node 22 and later),
 * or the `ws` package's.
 *
 * @since 0.1.0
 * @category models
 */
export interface SocketLike {
  readonly readyState: number
  onopen: SocketHandler<unknown> | null
  onmessage: SocketHandler<{ readonly data: unknown }> | null
  onclose: SocketHandler<unknown> | null
  onerror: SocketHandler<unknown> | null
  close(code?: number, reason?: string): void
  /** Needed for subscriptions (logs, resources); requests go over HTTP. */
  send?(data: string): void
}

/**
 * A WebSocket class: `globalThis.WebSocket` (the default), or `WebSocket` of the `ws` package.
 *
 * @example
 * import { WebSocket } from "ws"
 * const client = new ArchyClient({ url: "http://127.0.0.1:7420", token, WebSocket })
 *
 * @since 0.1.0
 * @category models
 */
export type SocketConstructor = new (url: string, protocols?: string | Array<string>) => SocketLike

/**
 * Reconnect delays: `initialMs`, multiplied by `factor` after each failed attempt, capped at `maxMs`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Backoff {
  readonly initialMs: number
  readonly maxMs: number
  readonly factor: number
}

/**
 * The default reconnect policy: 0.5 s, 1 s, 2 s, … up to 15 s.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultBackoff: Backoff = { initialMs: 500, maxMs: 15_000, factor: 2 }

/**
 * The default interval of the polling backstop while the socket is down.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultPollIntervalMs = 5_000

/**
 * The delay before reconnect attempt number `attempt` (0-based).
 *
 * @since 0.1.0
 * @category getters
 */
export const reconnectDelay = (backoff: Backoff, attempt: number): number =>
  Math.min(backoff.maxMs, backoff.initialMs * backoff.factor ** Math.max(0, attempt))

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The server's base URL, e.g. `http://127.0.0.1:7420`. Defaults to the page's origin. */
  readonly url?: string
  /** A bearer token. Without it the client relies on the same-origin `archy_session` cookie. */
  readonly token?: string
  readonly fetch?: typeof globalThis.fetch
  /**
   * The WebSocket class of the live connection. Defaults to `globalThis.WebSocket` (browsers,
   * Node 22 and later); pass `WebSocket` of the `ws` package on an older Node.
   */
  readonly WebSocket?: SocketConstructor
  readonly backoff?: Backoff
  readonly pollIntervalMs?: number
}

/**
 * The state of the live connection. `lost` means the socket is down: the client is polling and
 * reconnecting.
 *
 * @since 0.1.0
 * @category models
 */
export type Connection = "idle" | "connecting" | "open" | "lost"

/**
 * The outcome of a lifecycle request.
 *
 * @since 0.1.0
 * @category models
 */
export type RequestResult =
  | { readonly _tag: "Accepted"; readonly accepted: Protocol.Accepted }
  | { readonly _tag: "Refused"; readonly error: RpcError | TransportError }

const trimSlash = (s: string): string => s.replace(/\/+$/, "")

/**
 * The client. Dispatches a `change` event whenever its store or connection changes.
 *
 * @example
 * const client = new ArchyClient({ url: "http://127.0.0.1:7420", token })
 * client.addEventListener("change", () => render(client.apps))
 * client.start()
 *
 * @since 0.1.0
 * @category constructors
 */
export class ArchyClient extends EventTarget {
  /** The current store; replaced, never mutated. */
  store: AppStore.AppStore = AppStore.empty
  connection: Connection = "idle"
  /** Why the connection was last lost, for the banner. */
  connectionError: string | null = null
  /** The last message from the server this client could not decode, if any. */
  protocolError: ProtocolError | null = null

  readonly baseUrl: string
  readonly token: string | undefined
  readonly backoff: Backoff
  readonly pollIntervalMs: number
  private readonly fetchImpl: typeof globalThis.fetch
  private readonly Socket: SocketConstructor | undefined
  private socket: SocketLike | null = null
  private users = 0
  private attempt = 0
  private nextId = 1
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null
  private pollTimer: ReturnType<typeof setTimeout> | null = null
  private wasOpen = false
  private readonly subscriptions = new Subscriptions(() => this.dispatchEvent(new Event("change")))
  private readonly backupWatchers = new Set<{ readonly appId: string; readonly listener: () => void }>()
  private readonly onVisibility = (): void => {
    this.subscriptions.setHidden((globalThis as { document?: { visibilityState?: string } }).document?.visibilityState === "hidden")
  }

  constructor(options: Options = {}) {
    super()
    const origin = (globalThis as { location?: { origin?: string } }).location?.origin ?? "http://127.0.0.1:7420"
    this.baseUrl = trimSlash(options.url ?? origin)
    this.token = options.token
    this.backoff = options.backoff ?? defaultBackoff
    this.pollIntervalMs = options.pollIntervalMs ?? defaultPollIntervalMs
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis)
    this.Socket = options.WebSocket ??
      (globalThis as { WebSocket?: SocketConstructor }).WebSocket
  }

  /** Every app as it should be shown, in the server's order. */
  get apps(): ReadonlyArray<AppStore.DisplayApp> {
    return AppStore.display(this.store)
  }

  /** One app as it should be shown. */
  app(appId: string): AppStore.DisplayApp | undefined {
    return AppStore.displayOf(this.store, appId)
  }

  /**
   * Without an argument: starts the live connection; counted, so every `start()` needs one
   * `stop()`. The socket opens in the next task, so a client started and dropped while a page
   * wires its elements never connects.
   */
  start(): void
  /**
   * With an app id: starts the app (`perform("start", appId, options)`).
   *
   * @example
   * await client.start("lnd", { wait: true })
   *
   * @since 0.1.0
   */
  start<O extends OperationOptions = {}>(appId: string, options?: O): Promise<OperationResult<O>>
  start(appId?: string, options?: OperationOptions): void | Promise<unknown> {
    if (appId !== undefined) return this.perform("start", appId, options)
    this.connect()
  }

  private connect(): void {
    this.users += 1
    if (this.users > 1) return
    const doc = (globalThis as { document?: EventTarget }).document
    doc?.addEventListener("visibilitychange", this.onVisibility)
    this.onVisibility()
    this.attempt = 0
    this.wasOpen = false
    this.setConnection("connecting", null)
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null
      if (this.users > 0 && this.socket === null) this.openSocket()
    }, 0)
  }

  /** Without an argument: releases one `start()`; the last one closes the socket and stops every timer. */
  stop(): void
  /**
   * With an app id: stops the app (`perform("stop", appId, options)`).
   *
   * @example
   * await client.stop("lnd", { wait: true }) // resolves once lnd has stopped
   *
   * @since 0.1.0
   */
  stop<O extends OperationOptions = {}>(appId: string, options?: O): Promise<OperationResult<O>>
  stop(appId?: string, options?: OperationOptions): void | Promise<unknown> {
    if (appId !== undefined) return this.perform("stop", appId, options)
    this.disconnect()
  }

  private disconnect(): void {
    if (this.users === 0) return
    this.users -= 1
    if (this.users > 0) return
    ;(globalThis as { document?: EventTarget }).document?.removeEventListener("visibilitychange", this.onVisibility)
    this.clearTimers()
    const s = this.socket
    this.socket = null
    this.subscriptions.detach()
    s?.close(1000, "client stopped")
    this.setConnection("idle", null)
  }

  /**
   * Calls a JSON-RPC method over HTTP. Rejects with `RpcError` or `TransportError`. The result
   * is not checked: the client's own reads (`refresh`, `installLog`, ...) decode theirs with
   * `callChecked`.
   */
  async call<A>(method: string, params: object = {}): Promise<A> {
    return (await this.send(method, params)) as A
  }

  /**
   * Calls a JSON-RPC method over HTTP and decodes its result as the protocol's message `name`
   * (`Guards.checks`). Rejects with `RpcError`, `TransportError`, or `ProtocolError` naming the
   * method and the first field that is not what the protocol says.
   */
  async callChecked<K extends keyof Guards.Checked>(method: string, params: object, name: K): Promise<Guards.Checked[K]> {
    const result = await this.send(method, params)
    const decoded = Guards.decode(name, result, "result")
    if (decoded._tag === "Invalid") throw new ProtocolError(method, decoded.issue)
    return decoded.value
  }

  private async send(method: string, params: object): Promise<unknown> {
    const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json" }
    if (this.token !== undefined) headers["authorization"] = `Bearer ${this.token}`
    const id = this.nextId++
    let response: Response
    try {
      response = await this.fetchImpl(`${this.baseUrl}/rpc`, {
        method: "POST",
        headers,
        credentials: "same-origin",
        body: JSON.stringify({ jsonrpc: "2.0", id, method, params })
      })
    } catch (e) {
      throw new TransportError(method, e instanceof Error ? e.message : String(e))
    }
    const text = await response.text()
    let body: { result?: unknown; error?: unknown } | undefined
    try {
      body = JSON.parse(text) as typeof body
    } catch {
      body = undefined
    }
    const error = body?.error as { code?: unknown; message?: unknown; data?: unknown } | undefined
    if (typeof error === "object" && error !== null && typeof error.code === "number") {
      const message = typeof error.message === "string" ? error.message : `error ${error.code}`
      throw new RpcError(method, error.code, message, error.data)
    }
    if (!response.ok) {
      const reason = response.status === 401 ? "not signed in (HTTP 401)" : `HTTP ${response.status}`
      throw new TransportError(method, reason, response.status)
    }
    if (typeof body !== "object" || body === null || !("result" in body)) throw new TransportError(method, "the answer is not JSON-RPC")
    return body.result
  }

  /**
   * Requests a lifecycle operation. The app shows the transitional state at once (before this
   * returns its promise) and keeps it until a view of the app at least as new as the server's
   * answer (by `generation`) arrives; a refusal restores the server's state and records the
   * error for the app's card. Never rejects. `extra` adds params (a restore's
   * `closeChannels: true`, the owner's confirmation of a channel recovery; a remove's
   * `purge: true`, which deletes the app's data too).
   */
  async request(
    op: Protocol.LifecycleOp,
    appId: string,
    extra: {
      readonly closeChannels?: boolean
      readonly purge?: boolean
      readonly cascade?: boolean
      readonly archive?: string
    } = {}
  ): Promise<RequestResult> {
    this.setStore(AppStore.begin(this.store, appId, op))
    try {
      const accepted = await this.callChecked(Protocol.methodOf[op], { ...extra, appId }, "Accepted")
      this.setStore(AppStore.accept(this.store, appId, op, accepted.generation))
      return { _tag: "Accepted", accepted }
    } catch (e) {
      const error = e instanceof RpcError || e instanceof TransportError
        ? e
        : new TransportError(Protocol.methodOf[op], String(e))
      const code = error instanceof RpcError ? error.code : null
      this.setStore(AppStore.refuse(this.store, appId, op, error instanceof RpcError ? error.reason : error.message, code))
      return { _tag: "Refused", error }
    }
  }

  /**
   * Requests a lifecycle operation, as `request` does (the elements show it the same way), but
   * the Promise way: resolves with the server's `Accepted` answer, or with `{ wait: true }` once
   * the operation has settled (`Operations.progress`: judged by generation, from the live socket
   * when the client is started, else by reading `container-list` every `pollIntervalMs`);
   * rejects with `RpcError` or `TransportError` when the server refused or could not be reached,
   * `OperationError` (the app's `lastError`) when the operation failed, `OperationTimeoutError`
   * past `timeoutMs`, and the signal's reason when `signal` aborts.
   *
   * @example
   * try {
   *   const { app } = await client.perform("restart", "lnd", { wait: true, timeoutMs: 120_000 })
   *   console.log(app.state) // "running"
   * } catch (e) {
   *   if (e instanceof OperationError) console.error(e.reason)
   * }
   *
   * @since 0.1.0
   */
  async perform<O extends OperationOptions & RemoveOptions & RestoreOptions = {}>(
    op: Protocol.LifecycleOp,
    appId: string,
    options?: O
  ): Promise<OperationResult<O>> {
    const o: RemoveOptions & RestoreOptions = options ?? {}
    if (o.signal?.aborted === true) throw o.signal.reason
    const before = this.store.views[appId]
    // what is not the wait's is the request's params (purge, cascade, archive, closeChannels)
    const { wait, timeoutMs: _t, signal: _s, pollIntervalMs: _p, ...params } = o
    const result = await this.request(op, appId, params)
    if (result._tag === "Refused") throw result.error
    if (wait !== true) return result.accepted as OperationResult<O>
    const source: Operations.ViewSource = {
      view: (id) => this.store.views[id],
      live: () => this.connection === "open",
      subscribe: (listener) => this.subscribe(listener),
      list: async () => {
        const apps = await this.callChecked(Methods.Method.ContainerList, {}, "AppList")
        // as the polling backstop: a list answered after the socket opened may predate its snapshot
        if (this.connection !== "open") this.setStore(AppStore.snapshot(this.store, apps, null))
        return apps
      }
    }
    return (await Operations.wait(source, result.accepted, before, o)) as OperationResult<O>
  }

  /**
   * Installs the app (`perform("install", appId, options)`).
   *
   * @since 0.1.0
   */
  install<O extends OperationOptions = {}>(appId: string, options?: O): Promise<OperationResult<O>> {
    return this.perform("install", appId, options)
  }

  /**
   * Restarts the app (`perform("restart", appId, options)`).
   *
   * @since 0.1.0
   */
  restart<O extends OperationOptions = {}>(appId: string, options?: O): Promise<OperationResult<O>> {
    return this.perform("restart", appId, options)
  }

  /**
   * Updates the app to the catalog's version (`perform("update", appId, options)`).
   *
   * @since 0.1.0
   */
  update<O extends OperationOptions = {}>(appId: string, options?: O): Promise<OperationResult<O>> {
    return this.perform("update", appId, options)
  }

  /**
   * Removes the app (`perform("remove", appId, options)`); `purge: true` deletes its data too.
   *
   * @since 0.1.0
   */
  remove<O extends RemoveOptions = {}>(appId: string, options?: O): Promise<OperationResult<O>> {
    return this.perform("remove", appId, options)
  }

  /**
   * Backs the app up to the backup target (`perform("backup", appId, options)`).
   *
   * @since 0.1.0
   */
  backup<O extends OperationOptions = {}>(appId: string, options?: O): Promise<OperationResult<O>> {
    return this.perform("backup", appId, options)
  }

  /**
   * Restores the app from an archive (`perform("restore", appId, options)`).
   *
   * @since 0.1.0
   */
  restore<O extends RestoreOptions = {}>(appId: string, options?: O): Promise<OperationResult<O>> {
    return this.perform("restore", appId, options)
  }

  /** Forgets the refusal shown on an app's card. */
  dismiss(appId: string): void {
    this.setStore(AppStore.dismiss(this.store, appId))
  }

  /** Fetches `container-list` and replaces the store's views with it. */
  async refresh(): Promise<void> {
    const apps = await this.callChecked(Methods.Method.ContainerList, {}, "AppList")
    this.setStore(AppStore.snapshot(this.store, apps, null))
  }

  /** The app's install log, oldest first. */
  installLog(appId: string): Promise<ReadonlyArray<Protocol.LogLine>> {
    return this.callChecked(Methods.Method.InstallLog, { appId }, "InstallLog")
  }

  /** The last `tail` lines of the container's own log. */
  containerLogs(appId: string, tail = 200): Promise<Views.ContainerLogs> {
    return this.callChecked(Methods.Method.ContainerLogs, { appId, tail }, "ContainerLogs")
  }

  /** What the backup target holds for one app, or for all. */
  backupList(appId?: string): Promise<Protocol.BackupList> {
    return this.callChecked(Methods.Method.BackupList, appId === undefined ? {} : { appId }, "BackupList")
  }

  /**
   * Follows an app's container log over the live connection: the last `tail` lines, then each
   * new one, until the container stops (`onEnd`). A new socket follows again from the tail
   * (`onReset` first). Returns the function that stops following (the server then ends its
   * engine process).
   */
  followLogs(appId: string, listener: LogListener, tail = 200): () => void {
    return this.subscriptions.followLogs(appId, tail, listener)
  }

  /**
   * Asks for resource samples while the returned function is not called. The server samples
   * the engine only while some client watches; a hidden page stops asking. `change` fires on
   * each sample.
   */
  watchResources(): () => void {
    return this.subscriptions.watchResources()
  }

  /**
   * Calls `listener` whenever the server says what its backup target holds for the app changed
   * (`backups.changed`: an archive written, a watched file such as LND's `channel.backup`
   * copied), and whenever the live connection (re)opens, since notices sent while it was down
   * are lost. The listener reads `backupList` for what changed. Returns the function that stops.
   */
  watchBackups(appId: string, listener: () => void): () => void {
    const watcher = { appId, listener }
    this.backupWatchers.add(watcher)
    return () => void this.backupWatchers.delete(watcher)
  }

  /**
   * Asks for the data disk's report (free space, warning level, bytes per app folder) while the
   * returned function is not called; `change` fires on each answer.
   */
  watchDisk(): () => void {
    return this.subscriptions.watchDisk()
  }

  /** The latest disk report, while someone watches (undefined before the first answer, or from a server that does not measure). */
  get disk(): Views.DiskReport | undefined {
    return this.subscriptions.disk
  }

  /** The latest resource sample of an app, while someone watches and the app runs. */
  resources(appId: string): AppResources.AppResources | undefined {
    return this.subscriptions.resources.get(appId)
  }

  /** The server's and engine's versions. */
  version(): Promise<Protocol.ServerVersion> {
    return this.callChecked(Methods.Method.ServerVersion, {}, "ServerVersion")
  }

  /** Subscribes to changes; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    const l = (): void => listener()
    this.addEventListener("change", l)
    return () => this.removeEventListener("change", l)
  }

  private setStore(store: AppStore.AppStore): void {
    if (store === this.store) return
    this.store = store
    this.dispatchEvent(new Event("change"))
  }

  private setConnection(connection: Connection, error: string | null): void {
    if (connection === this.connection && error === this.connectionError) return
    this.connection = connection
    this.connectionError = error
    this.dispatchEvent(new Event("change"))
  }

  private socketUrl(): string {
    return `${this.baseUrl.replace(/^http/, "ws")}/ws`
  }

  private openSocket(): void {
    if (this.Socket === undefined) {
      this.lost("this browser has no WebSocket")
      return
    }
    let socket: SocketLike
    try {
      socket = this.token === undefined
        ? new this.Socket(this.socketUrl())
        : new this.Socket(this.socketUrl(), [Protocol.subprotocol, Protocol.bearerSubprotocol(this.token)])
    } catch (e) {
      this.lost(e instanceof Error ? e.message : String(e))
      return
    }
    this.socket = socket
    socket.onopen = () => {
      if (this.socket !== socket) return
      this.attempt = 0
      this.wasOpen = true
      this.clearPoll()
      this.setConnection("open", null)
      this.subscriptions.attach((text) => socket.send?.(text))
      for (const w of [...this.backupWatchers]) w.listener()
    }
    socket.onmessage = (ev) => {
      if (this.socket !== socket) return
      this.onMessage(typeof ev.data === "string" ? ev.data : String(ev.data))
    }
    socket.onerror = () => {}
    socket.onclose = () => {
      if (this.socket !== socket) return
      this.socket = null
      this.subscriptions.detach()
      this.lost(this.wasOpen ? "the live connection closed" : "cannot open the live connection")
    }
  }

  private onMessage(data: string): void {
    let msg: unknown
    try {
      msg = JSON.parse(data)
    } catch {
      return this.refuse(new ProtocolError("/ws", { field: "", expected: "JSON" }))
    }
    if (typeof msg !== "object" || msg === null || Array.isArray(msg)) {
      return this.refuse(new ProtocolError("/ws", { field: "", expected: "a JSON-RPC message (an object)" }))
    }
    const m = msg as { readonly method?: unknown; readonly params?: unknown }
    try {
      if (this.subscriptions.handle(m)) return
    } catch (e) {
      if (e instanceof ProtocolError) return this.refuse(e)
      throw e
    }
    if (m.method === Methods.Notification.StateSnapshot) {
      const p = Guards.decodeParams(Methods.Notification.StateSnapshot, m.params)
      if (p._tag === "Invalid") return this.refuse(new ProtocolError(Methods.Notification.StateSnapshot, p.issue))
      this.setStore(AppStore.snapshot(this.store, p.value.apps, p.value.seq))
    } else if (m.method === Methods.Notification.StateChanged) {
      const p = Guards.decodeParams(Methods.Notification.StateChanged, m.params)
      if (p._tag === "Invalid") return this.refuse(new ProtocolError(Methods.Notification.StateChanged, p.issue))
      const r = AppStore.change(this.store, p.value.app, p.value.seq)
      if (r._tag === "Gap") this.resync()
      else this.setStore(r.store)
    } else if (m.method === Methods.Notification.BackupsChanged) {
      const p = Guards.decodeParams(Methods.Notification.BackupsChanged, m.params)
      if (p._tag === "Invalid") return this.refuse(new ProtocolError(Methods.Notification.BackupsChanged, p.issue))
      for (const w of [...this.backupWatchers]) if (w.appId === p.value.appId) w.listener()
    }
  }

  /**
   * The server sent something this client does not understand: nothing of it is applied, the
   * socket is closed, and the connection shows the error (the polling backstop and reconnects
   * go on, so a fixed server is picked up again).
   */
  private refuse(error: ProtocolError): void {
    this.protocolError = error
    const s = this.socket
    this.socket = null
    this.subscriptions.detach()
    s?.close(4002, "protocol error")
    this.lost(error.message)
  }

  /** A change was missed: a fresh socket brings a fresh snapshot. */
  private resync(): void {
    const s = this.socket
    this.socket = null
    this.subscriptions.detach()
    s?.close(4000, "resync")
    this.openSocket()
  }

  private lost(reason: string): void {
    if (this.users === 0) return
    this.setConnection("lost", reason)
    this.schedulePoll(0)
    if (this.reconnectTimer !== null) return
    const delay = reconnectDelay(this.backoff, this.attempt)
    this.attempt += 1
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null
      if (this.users > 0 && this.socket === null) this.openSocket()
    }, delay)
  }

  private schedulePoll(delay: number): void {
    if (this.pollTimer !== null) return
    const timer = setTimeout(() => {
      this.callChecked(Methods.Method.ContainerList, {}, "AppList").then(
        (apps) => {
          // a list fetched while the socket came back may predate its snapshot
          if (this.pollTimer === timer && this.connection !== "open") {
            this.setStore(AppStore.snapshot(this.store, apps, null))
          }
        },
        () => {}
      ).finally(() => {
        if (this.pollTimer !== timer) return
        this.pollTimer = null
        if (this.users > 0 && this.connection !== "open") this.schedulePoll(this.pollIntervalMs)
      })
    }, delay)
    this.pollTimer = timer
  }

  private clearPoll(): void {
    if (this.pollTimer !== null) clearTimeout(this.pollTimer)
    this.pollTimer = null
  }

  private clearTimers(): void {
    this.clearPoll()
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer)
    this.reconnectTimer = null
  }
}

/**
 * The client's side of the WebSocket subscriptions (`logs.subscribe`, `stats.subscribe`):
 * requests sent on the socket and matched to their answers, notifications routed to their
 * subscriber, and every subscription made again on a new socket. `ArchyClient` owns one.
 *
 * @since 0.1.0
 */
import type { AppResources } from "@archipelago/orchestrator/domain"
import * as Guards from "@archipelago/orchestrator/protocol/Guards"
import * as Methods from "@archipelago/orchestrator/protocol/Methods"
import type * as Params from "@archipelago/orchestrator/protocol/Params"
import type * as Views from "@archipelago/orchestrator/protocol/Views"
import { ProtocolError } from "./RpcError.js"

/**
 * What a log follower hears.
 *
 * @since 0.1.0
 * @category models
 */
export interface LogListener {
  /** New lines; `dropped` lines were skipped by the server because this client fell behind. */
  readonly onLines: (lines: ReadonlyArray<string>, dropped: number) => void
  /** The log ended (`stopped` when the container stopped, else why it could not be read). */
  readonly onEnd?: (reason: string) => void
  /** A new socket follows again from the tail: forget the lines shown so far. */
  readonly onReset?: () => void
}

type Followed = typeof Methods.Notification.LogsLines | typeof Methods.Notification.LogsEnded | typeof Methods.Notification.StatsChanged
type Note = { readonly [K in Followed]: { readonly method: K; readonly params: Params.NotificationParams[K] } }[Followed]

const followed: ReadonlySet<unknown> = new Set<Followed>([
  Methods.Notification.LogsLines,
  Methods.Notification.LogsEnded,
  Methods.Notification.StatsChanged
])

interface Sub {
  readonly method: typeof Methods.SocketMethod.LogsSubscribe | typeof Methods.SocketMethod.StatsSubscribe
  readonly params: object
  readonly listener?: LogListener
  serverId: string | null
}

// notifications that arrive before the answer naming their subscription
const maxEarly = 64

/**
 * How often a watched disk report is asked for again. The server measures on its own interval
 * (minutes) and answers from its last measurement, so asking is cheap.
 *
 * @since 0.1.0
 * @category constants
 */
export const diskEveryMs = 60_000

/**
 * @since 0.1.0
 * @category models
 */
export type SocketSend = (text: string) => void

/**
 * @since 0.1.0
 * @category constructors
 */
export class Subscriptions {
  /** The latest resource sample, by app id. */
  resources: ReadonlyMap<string, AppResources.AppResources> = new Map()
  /** The latest disk report, while someone watches. */
  disk: Views.DiskReport | undefined = undefined
  private send: SocketSend | null = null
  private readonly subs = new Map<number, Sub>()
  private readonly pending = new Map<number, (result: unknown, error: unknown) => void>()
  private early: Array<Note> = []
  private nextLocal = 1
  private nextId = 1
  private statsSub: number | null = null
  private statsWatchers = 0
  private hidden = false
  private diskWatchers = 0
  private diskTimer: ReturnType<typeof setInterval> | undefined

  constructor(private readonly changed: () => void) {}

  /** A socket opened: every subscription is made on it. */
  attach(send: SocketSend): void {
    this.send = send
    for (const [local, sub] of this.subs) this.activate(local, sub, true)
    this.syncDisk()
  }

  /** The socket closed: answers will not come, subscriptions wait for the next socket. */
  detach(): void {
    this.send = null
    for (const sub of this.subs.values()) sub.serverId = null
    for (const resolve of this.pending.values()) resolve(undefined, "closed")
    this.pending.clear()
    this.early = []
    this.syncDisk()
  }

  /** Follows an app's container log; returns the function that stops following. */
  followLogs(appId: string, tail: number, listener: LogListener): () => void {
    const local = this.add({ method: Methods.SocketMethod.LogsSubscribe, params: { appId, tail }, listener, serverId: null })
    return () => this.remove(local, Methods.SocketMethod.LogsUnsubscribe)
  }

  /**
   * Counts one more watcher of resource samples; the server samples only while some client
   * watches (and this page is visible). Returns the function that stops watching.
   */
  watchResources(): () => void {
    this.statsWatchers += 1
    this.syncStats()
    let done = false
    return () => {
      if (done) return
      done = true
      this.statsWatchers -= 1
      this.syncStats()
    }
  }

  /**
   * Counts one more watcher of the disk report (`node.disk`, asked on the socket when it opens
   * and every `diskEveryMs` while it stays open). Returns the function that stops watching.
   */
  watchDisk(): () => void {
    this.diskWatchers += 1
    this.syncDisk()
    let done = false
    return () => {
      if (done) return
      done = true
      this.diskWatchers -= 1
      this.syncDisk()
    }
  }

  /** The page was hidden or shown: a hidden page does not ask for samples. */
  setHidden(hidden: boolean): void {
    this.hidden = hidden
    this.syncStats()
  }

  /**
   * Handles a socket message; false when it is not one of ours. Throws `ProtocolError` for a
   * notification of ours whose params are not what the protocol says (nothing of it is applied).
   */
  handle(msg: { id?: unknown; method?: unknown; params?: unknown; result?: unknown; error?: unknown }): boolean {
    if (typeof msg.id === "number" && this.pending.has(msg.id) && msg.method === undefined) {
      const resolve = this.pending.get(msg.id)!
      this.pending.delete(msg.id)
      resolve(msg.result, msg.error)
      return true
    }
    if (followed.has(msg.method)) {
      const method = msg.method as Followed
      const decoded = Guards.decodeParams(method, msg.params)
      if (decoded._tag === "Invalid") throw new ProtocolError(method, decoded.issue)
      this.notify({ method, params: decoded.value } as Note)
      return true
    }
    return false
  }

  private syncStats(): void {
    const want = this.statsWatchers > 0 && !this.hidden
    if (want && this.statsSub === null) {
      this.statsSub = this.add({ method: Methods.SocketMethod.StatsSubscribe, params: {}, serverId: null })
    } else if (!want && this.statsSub !== null) {
      this.remove(this.statsSub, Methods.SocketMethod.StatsUnsubscribe)
      this.statsSub = null
      if (this.resources.size > 0) {
        this.resources = new Map()
        this.changed()
      }
    }
  }

  private syncDisk(): void {
    const want = this.diskWatchers > 0 && this.send !== null
    if (want && this.diskTimer === undefined) {
      this.askDisk()
      this.diskTimer = setInterval(() => this.askDisk(), diskEveryMs)
    } else if (!want && this.diskTimer !== undefined) {
      clearInterval(this.diskTimer)
      this.diskTimer = undefined
    }
  }

  private askDisk(): void {
    this.request(Methods.Method.NodeDisk, {}, (result) => {
      const answer = Guards.decode("DiskReport", result)
      if (answer._tag !== "Valid") return
      this.disk = answer.value
      this.changed()
    })
  }

  private add(sub: Sub): number {
    const local = this.nextLocal++
    this.subs.set(local, sub)
    this.activate(local, sub, false)
    return local
  }

  private remove(local: number, method: string): void {
    const sub = this.subs.get(local)
    if (sub === undefined) return
    this.subs.delete(local)
    if (sub.serverId !== null) this.request(method, { subscription: sub.serverId }, () => {})
  }

  private activate(local: number, sub: Sub, again: boolean): void {
    if (this.send === null) return
    if (again) sub.listener?.onReset?.()
    this.request(sub.method, sub.params, (result, error) => {
      const answer = Guards.decode("Subscribed", result)
      const id = answer._tag === "Valid" ? answer.value.subscription : undefined
      if (this.subs.get(local) !== sub) {
        // stopped while the answer travelled: end it on the server too
        if (id !== undefined) {
          this.request(
            sub.method === Methods.SocketMethod.LogsSubscribe ? Methods.SocketMethod.LogsUnsubscribe : Methods.SocketMethod.StatsUnsubscribe,
            { subscription: id },
            () => {}
          )
        }
        return
      }
      if (id === undefined) {
        if (error !== "closed") {
          this.subs.delete(local)
          const message = (error as { message?: unknown } | undefined)?.message
          sub.listener?.onEnd?.(typeof message === "string" ? message : "the server refused to follow this log")
        }
        return
      }
      sub.serverId = id
      const early = this.early.filter((n) => n.params.subscription === id)
      this.early = this.early.filter((n) => n.params.subscription !== id)
      for (const n of early) this.notify(n)
    })
  }

  private request(method: string, params: object, onAnswer: (result: unknown, error: unknown) => void): void {
    const send = this.send
    if (send === null) return
    const id = this.nextId++
    this.pending.set(id, onAnswer)
    send(JSON.stringify({ jsonrpc: "2.0", id, method, params }))
  }

  private notify(note: Note): void {
    const entry = [...this.subs.entries()].find(([, s]) => s.serverId === note.params.subscription)
    if (entry === undefined) {
      if (this.early.length < maxEarly) this.early.push(note)
      return
    }
    const [local, sub] = entry
    switch (note.method) {
      case Methods.Notification.LogsLines:
        sub.listener?.onLines(note.params.lines, note.params.dropped)
        break
      case Methods.Notification.LogsEnded:
        this.subs.delete(local)
        sub.listener?.onEnd?.(note.params.reason)
        break
      case Methods.Notification.StatsChanged:
        this.resources = new Map(note.params.apps.map((a) => [a.appId, a]))
        this.changed()
        break
    }
  }
}

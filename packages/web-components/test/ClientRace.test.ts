/**
 * The real `ArchyClient` against a model of the server, with fast-check's scheduler deciding the
 * order of everything the client waits for: RPC requests reaching the server and their answers
 * coming back, WebSocket opens, messages and closes, polled lists, and the client's timers
 * (reconnects, polls). The server model changes apps on its own (operations finishing or
 * failing, scans with fresh observed fields, other clients' requests, socket overflows and
 * drops) while the user clicks whatever button the dashboard shows.
 *
 * Invariants, after every step:
 * 1. while a request of this client is in flight, the app shows the operation's transitional
 *    state or a view the server produced after recording the request (generation at least the
 *    request's): never a state the server held before the request;
 * 2. when nothing is in flight (no scheduled delivery, the socket open, no pending request),
 *    every app shows exactly the server's latest view.
 *
 * `ARCHY_RACE_RUNS` sets the number of runs (default 2000, a few seconds).
 */
import { afterEach, beforeEach, describe, it, vi } from "@effect/vitest"
import { Op, VisualState } from "@archipelago/orchestrator/domain"
import type { AppState, AppView } from "@archipelago/orchestrator/domain"
import * as fc from "fast-check"
import * as AppStore from "../src/client/AppStore.js"
import { ArchyClient } from "../src/client/ArchyClient.js"
import type { SocketLike } from "../src/client/ArchyClient.js"
import type { LifecycleOp } from "../src/client/Protocol.js"
import { view } from "./support/FakeServer.js"

const runs = Number.parseInt(process.env["ARCHY_RACE_RUNS"] ?? "2000", 10)

type Delivery =
  | { readonly _tag: "open" }
  | { readonly _tag: "message"; readonly data: string }
  | { readonly _tag: "close" }

/** The server side of one socket: an ordered queue whose deliveries the scheduler releases. */
class ModelSocket implements SocketLike {
  readyState = 0
  onopen: ((ev: unknown) => void) | null = null
  onmessage: ((ev: { readonly data: unknown }) => void) | null = null
  onclose: ((ev: unknown) => void) | null = null
  onerror: ((ev: unknown) => void) | null = null
  /** Closed by the client: nothing more is delivered. */
  closedByClient = false
  readonly queue: Array<Delivery> = []

  constructor(private readonly server: ServerModel) {
    server.connect(this)
  }

  close(): void {
    this.closedByClient = true
    this.readyState = 3
    this.server.disconnect(this)
  }

  enqueue(d: Delivery): void {
    this.queue.push(d)
    // Each scheduled task delivers the head of the queue, so the socket stays ordered whatever
    // order the scheduler releases the tasks in.
    void this.server.s.schedule(Promise.resolve(`ws ${d._tag}`)).then(() => this.deliver())
  }

  private deliver(): void {
    const d = this.queue.shift()
    if (d === undefined || this.closedByClient) return
    if (d._tag === "open") {
      this.readyState = 1
      this.onopen?.({})
    } else if (d._tag === "message") {
      this.onmessage?.({ data: d.data })
    } else {
      this.readyState = 3
      this.onclose?.({})
    }
  }
}

interface Answer {
  readonly result?: unknown
  readonly error?: { readonly code: number; readonly message: string }
}

/** The server: apps with generations, ordered changes pushed to every open socket. */
class ServerModel {
  readonly apps = new Map<string, AppView.AppView>()
  seq = 0
  now = 1_700_000_000_000
  readonly sockets = new Set<ModelSocket>()
  /** Generation at which each request of this client was recorded (or "refused"), by request number. */
  readonly recorded = new Map<number, number | "refused">()

  constructor(readonly s: fc.Scheduler, apps: ReadonlyArray<AppView.AppView>) {
    for (const a of apps) this.apps.set(a.id, a)
  }

  connect(socket: ModelSocket): void {
    this.sockets.add(socket)
    socket.enqueue({ _tag: "open" })
    this.snapshotTo(socket)
  }

  disconnect(socket: ModelSocket): void {
    this.sockets.delete(socket)
  }

  snapshotTo(socket: ModelSocket): void {
    socket.enqueue({
      _tag: "message",
      data: JSON.stringify({ jsonrpc: "2.0", method: "state.snapshot", params: { apps: [...this.apps.values()], seq: this.seq } })
    })
  }

  /** The hub dropped a slow client's queue: a fresh snapshot replaces what was not delivered. */
  overflow(): void {
    for (const socket of this.sockets) {
      const opened = socket.queue.some((d) => d._tag === "open")
      socket.queue.splice(0)
      if (opened) socket.queue.push({ _tag: "open" })
      this.snapshotTo(socket)
    }
  }

  /** The connection breaks: the client hears of it after what was already on the wire. */
  drop(): void {
    for (const socket of this.sockets) socket.enqueue({ _tag: "close" })
    this.sockets.clear()
  }

  private put(id: string, next: AppView.AppView): void {
    this.apps.set(id, next)
    this.seq += 1
    const data = JSON.stringify({ jsonrpc: "2.0", method: "state.changed", params: { app: next, seq: this.seq } })
    for (const socket of this.sockets) socket.enqueue({ _tag: "message", data })
  }

  private change(id: string, state: AppState.AppState, extra: Partial<AppView.AppView>, bump: boolean): void {
    const old = this.apps.get(id)!
    this.put(id, {
      ...old,
      ...extra,
      state,
      visualState: VisualState.ofState(state),
      generation: old.generation + (bump ? 1 : 0)
    })
  }

  /** `Lifecycle.request`: refuse a conflict, answer the same op idempotently, else record it. */
  request(op: LifecycleOp, id: string): Answer {
    const app = this.apps.get(id)
    if (app === undefined) return { error: { code: -32001, message: `unknown app ${id}` } }
    if (app.transition !== null) {
      return app.transition.op === op
        ? { result: { appId: id, op, status: Op.transitionalState(op), generation: app.generation } }
        : { error: { code: -32002, message: `cannot ${op} ${id}: ${app.transition.op} is already in progress` } }
    }
    const allowed = op === "install" ? app.state === "not-installed" : app.state !== "not-installed"
    if (!allowed) return { error: { code: -32003, message: `cannot ${op} ${id} in state ${app.state}` } }
    this.now += 1000
    const status = Op.transitionalState(op)
    this.change(id, status, { transition: { op, since: this.now, deadline: this.now + 60_000, previous: app.state } }, true)
    return { result: { appId: id, op, status, generation: this.apps.get(id)!.generation } }
  }

  /** The operation in flight ends: final state, or back to the previous one with an error. */
  finish(id: string, fail: boolean): void {
    const app = this.apps.get(id)!
    const t = app.transition
    if (t === null) return
    this.now += 1000
    if (fail) {
      this.change(id, t.previous, { transition: null, lastError: { op: t.op, message: "it broke", at: this.now } }, true)
    } else {
      const final = Op.finalState(t.op, t.previous)
      this.change(id, final, { transition: null, lastError: null, startedAt: final === "running" ? this.now : app.startedAt }, true)
    }
  }

  /** A scan: fresh observed fields (a new startedAt, health), same generation. */
  scan(id: string): void {
    const app = this.apps.get(id)!
    this.now += 500
    this.change(id, app.state, { startedAt: this.now, health: app.health === "healthy" ? "starting" : "healthy" }, false)
  }

  list(): Answer {
    return { result: [...this.apps.values()] }
  }
}

const apps = (): Array<AppView.AppView> => [
  view("lnd", "LND", "running", { generation: 3 }),
  view("core", "Bitcoin Core", "stopped", { generation: 1 }),
  view("ui", "LND UI", "not-installed")
]
const ids = ["lnd", "core", "ui"] as const

type Action =
  | { readonly _tag: "Click"; readonly app: number; readonly restart: boolean }
  | { readonly _tag: "Finish"; readonly app: number; readonly fail: boolean }
  | { readonly _tag: "Scan"; readonly app: number }
  | { readonly _tag: "Other"; readonly app: number; readonly op: LifecycleOp }
  | { readonly _tag: "Overflow" }
  | { readonly _tag: "Drop" }
  | { readonly _tag: "Timer" }
  | { readonly _tag: "Deliver"; readonly n: number }

const arbApp = fc.nat({ max: ids.length - 1 })
const arbAction: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ _tag: fc.constant("Click" as const), app: arbApp, restart: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ _tag: fc.constant("Finish" as const), app: arbApp, fail: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ _tag: fc.constant("Scan" as const), app: arbApp }) },
  {
    weight: 1,
    arbitrary: fc.record({
      _tag: fc.constant("Other" as const),
      app: arbApp,
      op: fc.constantFrom<LifecycleOp>("start", "stop", "restart", "install")
    })
  },
  { weight: 1, arbitrary: fc.constant({ _tag: "Overflow" as const }) },
  { weight: 1, arbitrary: fc.constant({ _tag: "Drop" as const }) },
  { weight: 2, arbitrary: fc.constant({ _tag: "Timer" as const }) },
  { weight: 8, arbitrary: fc.record({ _tag: fc.constant("Deliver" as const), n: fc.integer({ min: 1, max: 3 }) }) }
)

/** Lets every continuation the last release triggered run (real `setImmediate`: only setTimeout is faked). */
const flush = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve()
}

interface InFlight {
  readonly n: number
  readonly app: string
  readonly op: LifecycleOp
  settled: boolean
}

const run = async (s: fc.Scheduler, actions: ReadonlyArray<Action>): Promise<void> => {
  const server = new ServerModel(s, apps())
  let requestNo = 0
  const fetchModel = async (_url: unknown, init?: { body?: unknown }): Promise<Response> => {
    const body = JSON.parse(String(init?.body)) as { id: number; method: string; params: { appId?: string } }
    const n = body.method === "container-list" ? 0 : (requestNo += 1)
    await s.schedule(Promise.resolve(`→ ${body.method}`))
    const m = /^container-(install|start|stop|restart)$/.exec(body.method)
    let answer: Answer
    if (m !== null) {
      answer = server.request(m[1] as LifecycleOp, String(body.params.appId))
      const g = (answer.result as { generation?: number } | undefined)?.generation
      server.recorded.set(n, g ?? "refused")
    } else {
      answer = server.list()
    }
    await s.schedule(Promise.resolve(`← ${body.method}`))
    const text = JSON.stringify({ jsonrpc: "2.0", id: body.id, ...answer })
    return { ok: true, status: 200, text: () => Promise.resolve(text) } as unknown as Response
  }
  const client = new ArchyClient({
    url: "http://server.test",
    fetch: fetchModel as typeof globalThis.fetch,
    WebSocket: class extends ModelSocket {
      constructor() {
        super(server)
      }
    },
    pollIntervalMs: 1000,
    backoff: { initialMs: 100, maxMs: 400, factor: 2 }
  })
  const inFlight: Array<InFlight> = []

  const check = (where: string): void => {
    for (const r of inFlight) {
      if (r.settled) continue
      const d = client.app(r.app)!
      const g = server.recorded.get(r.n)
      if (d.pending === null && (g === "refused" || (g !== undefined && d.view.generation >= g))) {
        r.settled = true
        continue
      }
      // (1) the transitional state, or a view taken after the request was recorded
      const fresh = typeof g === "number" && d.view.generation >= g
      if (!fresh && d.visualState !== AppStore.transitionalVisual(r.op)) {
        throw new Error(
          `${where}: ${r.app} shows ${d.visualState} (view generation ${d.view.generation}) while its ${r.op} ` +
            `(recorded at ${String(g)}) is in flight`
        )
      }
    }
    // (2) at rest the display is the server's latest view
    if (s.count() === 0 && client.connection === "open" && Object.keys(client.store.pending).length === 0) {
      for (const id of ids) {
        const d = client.app(id)
        const latest = server.apps.get(id)!
        if (d === undefined || JSON.stringify(d.view) !== JSON.stringify(latest) || d.visualState !== latest.visualState) {
          throw new Error(`${where}: at rest ${id} shows ${d?.visualState} (generation ${d?.view.generation}) but the server has ${latest.visualState} (generation ${latest.generation})`)
        }
      }
    }
  }

  client.start()
  try {
    for (const [i, a] of actions.entries()) {
      const where = `step ${i} (${a._tag})`
      switch (a._tag) {
        case "Click": {
          const id = ids[a.app]!
          const d = client.app(id)
          if (d === undefined || d.pending !== null) break
          const b = VisualState.primaryButton(d.visualState)
          const op = a.restart && VisualState.showsRestart(d.visualState) ? "restart" : b.disabled ? null : (b.action ?? null)
          if (op !== "install" && op !== "start" && op !== "stop" && op !== "restart") break
          const r: InFlight = { n: requestNo + 1, app: id, op, settled: false }
          void client.request(op, id)
          // a click shows its transitional state at once, before anything else happens
          if (client.app(id)?.visualState !== AppStore.transitionalVisual(op)) {
            throw new Error(`${where}: the click on ${op} ${id} shows ${client.app(id)?.visualState}`)
          }
          inFlight.push(r)
          break
        }
        case "Finish":
          server.finish(ids[a.app]!, a.fail)
          break
        case "Scan":
          server.scan(ids[a.app]!)
          break
        case "Other":
          server.request(a.op, ids[a.app]!)
          break
        case "Overflow":
          server.overflow()
          break
        case "Drop":
          server.drop()
          break
        case "Timer":
          vi.advanceTimersToNextTimer()
          break
        case "Deliver":
          for (let k = 0; k < a.n && s.count() > 0; k++) {
            await s.waitOne()
            await flush()
            check(`${where} #${k}`)
          }
          break
      }
      await flush()
      check(where)
    }
    // Quiet down: the server finishes everything, every delivery and timer runs, until rest.
    for (let round = 0; round < 200; round++) {
      for (const id of ids) server.finish(id, false)
      while (s.count() > 0) {
        await s.waitOne()
        await flush()
        check(`draining, round ${round}`)
      }
      if (client.connection === "open" && Object.keys(client.store.pending).length === 0) break
      vi.advanceTimersToNextTimer()
      await flush()
    }
    if (client.connection !== "open" || Object.keys(client.store.pending).length > 0) {
      throw new Error(`never came to rest: ${client.connection}, pending ${JSON.stringify(client.store.pending)}`)
    }
    check("at rest")
  } finally {
    client.stop()
  }
}

describe("ArchyClient under every interleaving (fc.scheduler)", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it("never shows a state from before a request while it is in flight, and the server's latest view at rest", async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(arbAction, { minLength: 5, maxLength: 30, size: "max" }), run),
      { numRuns: runs }
    )
  }, 120_000)
})

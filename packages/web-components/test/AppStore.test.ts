import { describe, expect, it } from "@effect/vitest"
import { VisualState } from "@archipelago/orchestrator/domain"
import type { AppState } from "@archipelago/orchestrator/domain"
import * as fc from "fast-check"
import * as AppStore from "../src/client/AppStore.js"
import { view } from "./support/FakeServer.js"
import { prop } from "../../../test-support/prop.js"

const lnd = view("lnd", "LND", "running")
const withSnapshot = (apps = [lnd], seq = 10) => AppStore.snapshot(AppStore.empty, apps, seq)
const shown = (s: AppStore.AppStore, id = "lnd") => AppStore.displayOf(s, id)?.visualState

describe("AppStore", () => {
  it("keeps the server's order and views from a snapshot", () => {
    const s = withSnapshot([lnd, view("bitcoin-core", "Bitcoin Core", "stopped")])
    expect(AppStore.display(s).map((d) => [d.view.id, d.visualState])).toEqual([["lnd", "running"], ["bitcoin-core", "stopped"]])
    expect(s.seq).toBe(10)
  })

  it("applies the next change, ignores duplicates and reports gaps", () => {
    const s = withSnapshot()
    const applied = AppStore.change(s, view("lnd", "LND", "stopping"), 11)
    expect(applied._tag).toBe("Applied")
    expect(shown(applied.store)).toBe("stopping")
    expect(applied.store.seq).toBe(11)
    expect(AppStore.change(applied.store, lnd, 11)._tag).toBe("Ignored")
    expect(AppStore.change(applied.store, lnd, 9)._tag).toBe("Ignored")
    const gap = AppStore.change(applied.store, lnd, 13)
    expect(gap).toMatchObject({ _tag: "Gap", expected: 12, got: 13 })
    expect(gap.store).toBe(applied.store)
  })

  it("a change before any snapshot asks for a resync", () => {
    expect(AppStore.change(AppStore.empty, lnd, 1)._tag).toBe("Gap")
  })

  it("shows the transitional state at once on a click and clears an old refusal", () => {
    const refused = AppStore.refuse(withSnapshot(), "lnd", "restart", "busy", -32002)
    const s = AppStore.begin(refused, "lnd", "stop")
    expect(AppStore.displayOf(s, "lnd")).toMatchObject({ visualState: "stopping", pending: "stop", refusal: null })
  })

  it("a refusal shows the server's state again, with the error", () => {
    const s = AppStore.refuse(AppStore.begin(withSnapshot(), "lnd", "stop"), "lnd", "stop", "cannot stop lnd: restart is already in progress", -32002)
    expect(AppStore.displayOf(s, "lnd")).toMatchObject({
      visualState: "running",
      pending: null,
      refusal: { op: "stop", code: -32002, message: "cannot stop lnd: restart is already in progress" }
    })
    expect(AppStore.displayOf(AppStore.dismiss(s, "lnd"), "lnd")?.refusal).toBe(null)
  })

  it("a stale view of the previous state does not undo the click", () => {
    let s = AppStore.begin(withSnapshot(), "lnd", "stop")
    s = AppStore.accept(s, "lnd", "stop", 1)
    const r = AppStore.change(s, lnd, 11)
    expect(r._tag).toBe("Applied")
    expect(shown(r.store)).toBe("stopping")
  })

  // Issue 19: under load, the scanner's view carrying the previous start's fresh startedAt
  // arrived after the click on Restart and before the server's `restarting` change; the old
  // field heuristic took it for the restart's outcome and showed Stop, then Restarting… again.
  it("the label sequence of Start then Restart never shows Stop in the middle of the restart", () => {
    const t0 = 1_700_000_000_000
    let seq = 1
    let s = AppStore.snapshot(AppStore.empty, [view("demo-node", "Demo", "stopped", { startedAt: t0, generation: 4 })], seq)
    const labels: Array<string> = []
    const record = () => {
      const label = VisualState.primaryButton(shown(s, "demo-node")!).label
      if (labels.at(-1) !== label) labels.push(label)
    }
    const push = (state: AppState.AppState, generation: number, startedAt: number) => {
      const r = AppStore.change(s, view("demo-node", "Demo", state, { startedAt, generation }), ++seq)
      if (r._tag !== "Applied") throw new Error(`unexpected ${r._tag}`)
      s = r.store
      record()
    }
    record()
    s = AppStore.begin(s, "demo-node", "start")
    record()
    s = AppStore.accept(s, "demo-node", "start", 5)
    push("starting", 5, t0)
    push("running", 6, t0 + 1_000)
    s = AppStore.begin(s, "demo-node", "restart")
    record()
    // the scanner's view: the start's fresh startedAt, taken before the restart was recorded
    push("running", 6, t0 + 1_500)
    s = AppStore.accept(s, "demo-node", "restart", 7)
    record()
    push("running", 6, t0 + 1_600)
    push("restarting", 7, t0 + 1_600)
    push("running", 8, t0 + 5_000)
    expect(labels).toEqual(["Start", "Starting…", "Stop", "Restarting…", "Stop"])
    expect(s.pending).toEqual({})
  })

  // Issue 19's second failure ("right after the click on Start the label still read Start"):
  // the product's fault. The first scan after a stop brings a startedAt the stop's own write did
  // not have; arriving between the click and the answer, the old heuristic took it for the
  // start's outcome and dropped the click's Starting….
  it("a scan after the click, before the answer, never takes the click back", () => {
    let s = AppStore.snapshot(AppStore.empty, [view("demo-node", "Demo", "stopped", { startedAt: null, generation: 6 })], 1)
    s = AppStore.begin(s, "demo-node", "start")
    const scan = AppStore.change(s, view("demo-node", "Demo", "stopped", { startedAt: 1_700_000_000_000, generation: 6 }), 2)
    expect(shown(scan.store, "demo-node")).toBe("starting")
    expect(VisualState.primaryButton(shown(scan.store, "demo-node")!).label).toBe("Starting…")
  })

  it("a view at the answer's generation settles the request, whatever fields it shares with older ones", () => {
    let s = AppStore.begin(withSnapshot(), "lnd", "restart")
    s = AppStore.accept(s, "lnd", "restart", 1)
    // same state and startedAt as before the click, and an older generation: still restarting
    expect(shown(AppStore.snapshot(s, [lnd], null))).toBe("restarting")
    // the restart finished unseen: the list is two generations on and looks just like before
    const after = AppStore.snapshot(s, [{ ...lnd, generation: 2 }], null)
    expect(shown(after)).toBe("running")
    expect(after.pending).toEqual({})
  })

  it("no field settles a request below the answer's generation: a new startedAt or lastError keeps it", () => {
    let s = AppStore.accept(AppStore.begin(withSnapshot(), "lnd", "restart"), "lnd", "restart", 1)
    const restarted = AppStore.change(s, { ...lnd, startedAt: lnd.startedAt! + 5000 }, 11)
    expect(shown(restarted.store)).toBe("restarting")
    const failed = AppStore.change(restarted.store, { ...lnd, lastError: { op: "stop", message: "engine down", at: 5 } }, 12)
    expect(shown(failed.store)).toBe("restarting")
    // the failure recorded after the request is shown
    s = AppStore.accept(AppStore.begin(withSnapshot(), "lnd", "stop"), "lnd", "stop", 1)
    const refused = AppStore.change(s, { ...lnd, generation: 2, lastError: { op: "stop", message: "engine down", at: 5 } }, 11)
    expect(shown(refused.store)).toBe("running")
    expect(refused.store.pending).toEqual({})
  })

  it("a view newer than the request that came before the answer settles it when the answer comes", () => {
    let s = AppStore.begin(withSnapshot(), "lnd", "stop")
    const early = AppStore.change(s, view("lnd", "LND", "stopping", { generation: 1 }), 11)
    s = early.store
    expect(AppStore.displayOf(s, "lnd")).toMatchObject({ visualState: "stopping", pending: "stop" })
    s = AppStore.accept(s, "lnd", "stop", 1)
    expect(AppStore.displayOf(s, "lnd")).toMatchObject({ visualState: "stopping", pending: null })
    expect(s.pending).toEqual({})
  })

  it("an answer for another operation than the pending one changes nothing", () => {
    const s = AppStore.begin(withSnapshot(), "lnd", "stop")
    expect(AppStore.accept(s, "lnd", "restart", 1)).toBe(s)
  })

  it("a server whose generations started over (its state was lost) is believed", () => {
    let s = AppStore.snapshot(AppStore.empty, [{ ...lnd, generation: 9 }], 10)
    s = AppStore.accept(AppStore.begin(s, "lnd", "stop"), "lnd", "stop", 10)
    const reset = AppStore.snapshot(s, [view("lnd", "LND", "stopped", { generation: 0 })], 0)
    expect(shown(reset)).toBe("stopped")
    expect(reset.pending).toEqual({})
  })

  it("a snapshot without the app drops its pending request", () => {
    const s = AppStore.begin(withSnapshot(), "lnd", "stop")
    expect(AppStore.snapshot(s, [], 12).pending).toEqual({})
  })

  it("clicking an unknown app changes nothing", () => {
    const s = withSnapshot()
    expect(AppStore.begin(s, "nope", "start")).toBe(s)
  })

  // The founding bug: after Stop, the dashboard must never show Running again before Stopped,
  // whatever mix of stale scans, transitional scans and acceptance timing the server produces.
  prop("never flashes back to running between Stop and its final state", [
    fc.nat({ max: 4 }),
    fc.integer({ min: 1, max: 6 }),
    fc.nat({ max: 12 }),
    fc.constantFrom<AppState.AppState>("stopped", "exited")
  ], ([stale, transitional, acceptAt, final]) => {
    let s = AppStore.begin(withSnapshot(), "lnd", "stop")
    const seen: Array<string | undefined> = [shown(s)]
    const events: Array<readonly [AppState.AppState, number]> = [
      ...Array.from({ length: stale }, () => ["running", 0] as const),
      ...Array.from({ length: transitional }, () => ["stopping", 1] as const),
      [final, 2]
    ]
    let seq = 10
    events.forEach(([state, generation], i) => {
      if (i === Math.min(acceptAt, events.length - 1)) s = AppStore.accept(s, "lnd", "stop", 1)
      const r = AppStore.change(s, view("lnd", "LND", state, { generation }), ++seq)
      if (r._tag !== "Applied") throw new Error(`unexpected ${r._tag}`)
      s = r.store
      seen.push(shown(s))
    })
    expect(seen.slice(0, -1).every((v) => v === "stopping")).toBe(true)
    expect(seen.at(-1)).toBe("stopped")
    expect(s.pending).toEqual({})
  })
})

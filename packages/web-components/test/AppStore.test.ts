import { describe, expect, it } from "@effect/vitest"
import type { AppState } from "@archipelago/orchestrator/domain"
import * as fc from "fast-check"
import * as AppStore from "../src/client/AppStore.js"
import { view } from "./support/FakeServer.js"

const lnd = view("lnd", "LND", "running")
const withSnapshot = (apps = [lnd], seq = 10) => AppStore.snapshot(AppStore.empty, apps, seq, 0)
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
    s = AppStore.accept(s, "lnd", "stop")
    const r = AppStore.change(s, lnd, 11)
    expect(r._tag).toBe("Applied")
    expect(shown(r.store)).toBe("stopping")
  })

  it("a list fetched after the acceptance settles an operation that finished unseen", () => {
    let s = AppStore.begin(withSnapshot(), "lnd", "restart")
    s = AppStore.accept(s, "lnd", "restart")
    // same visual state and same startedAt: only freshness tells it apart from a stale view
    const before = AppStore.snapshot(s, [lnd], null, s.tick - 1)
    expect(shown(before)).toBe("restarting")
    const after = AppStore.snapshot(s, [lnd], null, s.tick)
    expect(shown(after)).toBe("running")
    expect(after.pending).toEqual({})
  })

  it("a new startedAt or a new lastError settles the operation", () => {
    let s = AppStore.accept(AppStore.begin(withSnapshot(), "lnd", "restart"), "lnd", "restart")
    const restarted = AppStore.change(s, { ...lnd, startedAt: lnd.startedAt! + 5000 }, 11)
    expect(shown(restarted.store)).toBe("running")
    s = AppStore.accept(AppStore.begin(withSnapshot(), "lnd", "stop"), "lnd", "stop")
    const failed = AppStore.change(s, { ...lnd, lastError: { op: "stop", message: "engine down", at: 5 } }, 11)
    expect(shown(failed.store)).toBe("running")
    expect(failed.store.pending).toEqual({})
  })

  it("a snapshot without the app drops its pending request", () => {
    const s = AppStore.begin(withSnapshot(), "lnd", "stop")
    expect(AppStore.snapshot(s, [], 12, 0).pending).toEqual({})
  })

  it("clicking an unknown app changes nothing", () => {
    const s = withSnapshot()
    expect(AppStore.begin(s, "nope", "start")).toBe(s)
  })

  // The founding bug: after Stop, the dashboard must never show Running again before Stopped,
  // whatever mix of stale scans, transitional scans and acceptance timing the server produces.
  it.prop("never flashes back to running between Stop and its final state", [
    fc.nat({ max: 4 }),
    fc.integer({ min: 1, max: 6 }),
    fc.nat({ max: 12 }),
    fc.constantFrom<AppState.AppState>("stopped", "exited")
  ], ([stale, transitional, acceptAt, final]) => {
    let s = AppStore.begin(withSnapshot(), "lnd", "stop")
    const seen: Array<string | undefined> = [shown(s)]
    const events: Array<AppState.AppState> = [
      ...Array.from({ length: stale }, (): AppState.AppState => "running"),
      ...Array.from({ length: transitional }, (): AppState.AppState => "stopping"),
      final
    ]
    let seq = 10
    events.forEach((state, i) => {
      if (i === Math.min(acceptAt, events.length - 1)) s = AppStore.accept(s, "lnd", "stop")
      const r = AppStore.change(s, view("lnd", "LND", state), ++seq)
      if (r._tag !== "Applied") throw new Error(`unexpected ${r._tag}`)
      s = r.store
      seen.push(shown(s))
    })
    expect(seen.slice(0, -1).every((v) => v === "stopping")).toBe(true)
    expect(seen.at(-1)).toBe("stopped")
    expect(s.pending).toEqual({})
  })
})

import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { AppViews } from "../../src/services/AppViews.js"
import { Lifecycle } from "../../src/services/Lifecycle.js"
import { Scanner } from "../../src/services/Scanner.js"
import { StateStore } from "../../src/services/StateStore.js"
import { SimulatedRuntime } from "../../src/testing/index.js"
import { defsOf, orchestrator, serviceManifest, settle, tempDir, waitUntil, epoch } from "./harness.js"
import { AppId } from "../../src/domain/index.js"

const lnd = AppId.make("lnd")

describe("the founding bug (simulator, TestClock)", () => {
  it.effect("a 330 s graceful stop reads `stopping` at every 30 s scan and `stopped` after", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const dataDir = tempDir("svc-founding-")
      const defs = defsOf([serviceManifest("lnd", { stopTimeout: 330 }, { stopDelaySec: 330 })], dataDir)
      const layer = orchestrator(defs, { dataDir, scanInterval: "30 seconds", reconcileInterval: "30 seconds", shutdownGrace: 0 }).pipe(
        Layer.provideMerge(SimulatedRuntime.layer())
      )
      yield* Effect.gen(function*() {
        const lifecycle = yield* Lifecycle
        const store = yield* StateStore
        const scanner = yield* Scanner
        const views = yield* AppViews
        const state = Effect.map(store.entry(lnd), (e) => e.state)

        const installed = yield* lifecycle.request("install", "lnd")
        assert.deepStrictEqual(installed, { appId: "lnd", op: "install", status: "installing", generation: 1 })
        yield* waitUntil(Effect.map(state, (s) => s === "running"), "lnd running")

        const accepted = yield* lifecycle.request("stop", "lnd")
        // the answer's generation is the one the stop was recorded at: the entry's, and newer than the install's
        assert.deepStrictEqual(accepted, { appId: "lnd", op: "stop", status: "stopping", generation: (yield* store.entry(lnd)).generation! })
        assert.isAbove(accepted.generation, installed.generation)
        assert.strictEqual(yield* state, "stopping")
        assert.isTrue((yield* store.intent(lnd)).userStopped)

        let scans = 0
        for (let t = 30; t < 330; t += 30) {
          yield* TestClock.adjust("30 seconds")
          yield* settle()
          const last = yield* scanner.last
          assert.isTrue(last._tag === "Some" && last.value.at === epoch + t * 1000, `a scan ran at ${t} s`)
          assert.strictEqual(last._tag === "Some" && last.value.byApp.get(lnd)?.state, "stopping")
          scans++
          assert.strictEqual(yield* state, "stopping", `entry at ${t} s`)
          const view = (yield* views.list).find((v) => v.id === "lnd")!
          assert.strictEqual(view.visualState, "stopping")
        }
        assert.strictEqual(scans, 10)
        yield* TestClock.adjust("30 seconds")
        yield* waitUntil(Effect.map(state, (s) => s === "stopped"), "lnd stopped")
        // Later scans and reconcile passes never start what the user stopped.
        yield* TestClock.adjust("5 minutes")
        yield* settle(20)
        assert.strictEqual(yield* state, "stopped", "the engine's exited reads as the user's stop")
        assert.isTrue((yield* store.intent(lnd)).userStopped)
      }).pipe(Effect.provide(layer))
    }))
})

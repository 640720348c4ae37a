import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { AppId } from "../../src/domain/index.js"
import { Lifecycle } from "../../src/services/Lifecycle.js"
import { StateStore } from "../../src/services/StateStore.js"
import { SimulatedRuntime } from "../../src/testing/index.js"

const { SimulatedEngine } = SimulatedRuntime
import { defsOf, epoch, orchestrator, serviceManifest, settle, tempDir, waitUntil } from "./harness.js"

const web = AppId.make("web")
const plain = AppId.make("plain")

describe("health checks (simulator, TestClock)", () => {
  it.effect("with the default tick a verdict shows within one interval of the app's start, on the manifest's interval", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const dataDir = tempDir("svc-health-cadence-")
      const defs = defsOf([serviceManifest("web", { health: { type: "http", port: 8080, path: "/", interval: 3 } })], dataDir)
      const layer = orchestrator(defs, { dataDir, scanInterval: "30 seconds", reconcileInterval: "30 seconds", shutdownGrace: 0 })
        .pipe(Layer.provideMerge(SimulatedRuntime.layer()))
      yield* Effect.gen(function*() {
        const lifecycle = yield* Lifecycle
        const store = yield* StateStore
        const engine = yield* SimulatedEngine
        const health = Effect.map(store.entry(web), (e) => e.observed.health)
        yield* lifecycle.request("install", "web")
        yield* waitUntil(Effect.map(store.entry(web), (e) => e.state === "running" && e.transition === undefined), "web running")
        // within one interval (3 s) of the start, in steps of a second
        for (let i = 0; i < 3 && (yield* health) !== "healthy"; i++) {
          yield* TestClock.adjust("1 second")
          yield* settle(20)
        }
        yield* waitUntil(Effect.map(health, (h) => h === "healthy"), "healthy within one interval of the start", 10_000)
        const checks = (yield* engine.calls).healthcheck
        yield* engine.setHealth("web", "unhealthy")
        for (let i = 0; i < 3 && (yield* health) !== "unhealthy"; i++) {
          yield* TestClock.adjust("1 second")
          yield* settle(20)
        }
        yield* waitUntil(Effect.map(health, (h) => h === "unhealthy"), "unhealthy within one interval", 10_000)
        // on its interval, not on every tick: 9 s more is 3 checks, not 9
        const before = (yield* engine.calls).healthcheck
        for (let i = 0; i < 9; i++) {
          yield* TestClock.adjust("1 second")
          yield* settle(5)
        }
        const ran = (yield* engine.calls).healthcheck - before
        assert.isAtMost(ran, 4)
        assert.isAtLeast(ran, 2)
        void checks
      }).pipe(Effect.provide(layer))
    }))


  it.effect("the health loop runs each running app's check, so health leaves `starting`; apps without a check are left alone", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const dataDir = tempDir("svc-health-")
      const defs = defsOf([
        serviceManifest("web", { health: { type: "http", port: 8080, path: "/status" } }),
        serviceManifest("plain")
      ], dataDir)
      const layer = orchestrator(defs, {
        dataDir,
        scanInterval: "30 seconds",
        reconcileInterval: "30 seconds",
        healthInterval: "10 seconds",
        shutdownGrace: 0
      }).pipe(Layer.provideMerge(SimulatedRuntime.layer()))
      yield* Effect.gen(function*() {
        const lifecycle = yield* Lifecycle
        const store = yield* StateStore
        const engine = yield* SimulatedEngine
        const health = (id: AppId.AppId) => Effect.map(store.entry(id), (e) => e.observed.health)
        yield* lifecycle.request("install", "web")
        yield* lifecycle.request("install", "plain")
        yield* waitUntil(Effect.map(store.entry(web), (e) => e.state === "running"), "web running")
        yield* waitUntil(Effect.map(store.entry(plain), (e) => e.state === "running"), "plain running")
        const before = (yield* engine.calls).healthcheck
        yield* TestClock.adjust("10 seconds")
        yield* settle()
        yield* waitUntil(Effect.map(health(web), (h) => h === "healthy"), "web healthy")
        assert.strictEqual(yield* health(plain), "none")
        const after = (yield* engine.calls).healthcheck
        assert.isAbove(after, before)

        // the manifest's interval (30 s by default) is honoured: the next check is 30 s later
        yield* engine.setHealth("web", "unhealthy")
        yield* TestClock.adjust("30 seconds")
        yield* settle()
        yield* waitUntil(Effect.map(health(web), (h) => h === "unhealthy"), "web unhealthy")

        // A stopped app is not checked.
        yield* lifecycle.request("stop", "web")
        yield* waitUntil(Effect.map(store.entry(web), (e) => e.state === "stopped"), "web stopped")
        const stoppedCalls = (yield* engine.calls).healthcheck
        yield* TestClock.adjust("30 seconds")
        yield* settle()
        assert.strictEqual((yield* engine.calls).healthcheck, stoppedCalls)
      }).pipe(Effect.provide(layer))
    }))
})

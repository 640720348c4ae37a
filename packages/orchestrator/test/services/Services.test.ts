import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as fs from "node:fs"
import * as path from "node:path"
import { AppId } from "../../src/domain/index.js"
import { Apps } from "../../src/services/Apps.js"
import { AppViews } from "../../src/services/AppViews.js"
import { Lifecycle } from "../../src/services/Lifecycle.js"
import { Reconciler } from "../../src/services/Reconciler.js"
import { Scanner } from "../../src/services/Scanner.js"
import { StateStore } from "../../src/services/StateStore.js"
import { SimulatedRuntime } from "../../src/testing/index.js"
import { countingHooks, defsOf, epoch, orchestrator, serviceManifest, settle, tempDir, waitUntil, withOrchestrator } from "./harness.js"

const { SimulatedEngine } = SimulatedRuntime
const alpha = AppId.make("alpha")
const stateOf = (id: AppId.AppId) => Effect.flatMap(StateStore, (s) => Effect.map(s.entry(id), (e) => e.state))

describe("Archipelago services", () => {
  it.live("shutdown awaits in-flight work up to its grace and leaves the final state on disk", () =>
    Effect.gen(function*() {
      const dataDir = tempDir("svc-shutdown-")
      const defs = defsOf([serviceManifest("alpha", { stopTimeout: 10 }, { stopDelaySec: 1 })], dataDir)
      const layer = orchestrator(defs, { dataDir, shutdownGrace: "5 seconds" }).pipe(
        Layer.provideMerge(SimulatedRuntime.layer())
      )
      yield* Effect.gen(function*() {
        const lifecycle = yield* Lifecycle
        yield* lifecycle.request("install", "alpha")
        yield* waitUntil(Effect.map(stateOf(alpha), (s) => s === "running"), "running")
        assert.strictEqual((yield* lifecycle.request("stop", "alpha")).status, "stopping")
      }).pipe(Effect.provide(layer))
      // the scope closed right after the request: the 1 s stop finished within the grace
      const onDisk = JSON.parse(fs.readFileSync(path.join(dataDir, "state.json"), "utf8"))
      assert.strictEqual(onDisk.apps.alpha.state, "stopped")
      assert.isUndefined(onDisk.apps.alpha.transition)
      assert.isTrue(onDisk.apps.alpha.intent.userStopped)
    }))

  it.effect("while the engine is down scans change nothing and passes are skipped", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const engine = yield* Layer.build(SimulatedRuntime.layer())
      const dataDir = tempDir("svc-down-")
      const defs = defsOf([serviceManifest("alpha")], dataDir)
      yield* withOrchestrator(engine, defs, { dataDir }, Effect.gen(function*() {
        const sim = yield* SimulatedEngine
        yield* Effect.flatMap(Lifecycle, (l) => l.request("install", "alpha"))
        yield* waitUntil(Effect.map(stateOf(alpha), (s) => s === "running"), "running")
        const before = yield* Effect.flatMap(StateStore, (s) => s.get)
        yield* sim.engineDown()
        const scan = yield* Effect.result(Effect.flatMap(Scanner, (s) => s.scan))
        assert.strictEqual(scan._tag, "Failure")
        assert.deepStrictEqual(yield* Effect.flatMap(Reconciler, (r) => r.pass), [])
        yield* TestClock.adjust("2 minutes")
        yield* settle(20)
        assert.deepStrictEqual(yield* Effect.flatMap(StateStore, (s) => s.get), before)
        yield* sim.engineUp
        yield* Effect.flatMap(Scanner, (s) => s.scan)
        assert.strictEqual(yield* stateOf(alpha), "running")
      }))
    }))

  it.effect("every pass re-renders hooks; a changed file restarts a running app", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      let changed = false
      const hooks = countingHooks(() => changed)
      const engine = yield* Layer.build(SimulatedRuntime.layer())
      const dataDir = tempDir("svc-hookpass-")
      const defs = defsOf([serviceManifest("alpha", { hooks: ["fake"] })], dataDir)
      yield* withOrchestrator(engine, defs, { dataDir, hooks: hooks.layer }, Effect.gen(function*() {
        const sim = yield* SimulatedEngine
        yield* Effect.flatMap(Lifecycle, (l) => l.request("install", "alpha"))
        yield* waitUntil(Effect.map(stateOf(alpha), (s) => s === "running"), "running")
        yield* settle(20)
        yield* sim.resetCalls
        const runs = hooks.runs()
        yield* Effect.flatMap(Reconciler, (r) => r.pass)
        assert.isAbove(hooks.runs(), runs)
        assert.strictEqual((yield* sim.calls).restart, 0, "unchanged files: no restart")
        changed = true
        yield* Effect.flatMap(Reconciler, (r) => r.pass)
        changed = false
        yield* waitUntil(Effect.map(sim.calls, (c) => c.restart === 1), "restarted once")
        assert.deepStrictEqual([(yield* sim.calls).stop, (yield* sim.calls).start], [0, 0], "one engine restart, no stop and start")
        yield* waitUntil(Effect.map(stateOf(alpha), (s) => s === "running"), "running again")
      }))
    }))

  it.effect("AppViews.changes: the picture, then every change after it, with no gap: subscribers racing the store hold what list says", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const engine = yield* Layer.build(SimulatedRuntime.layer())
      const dataDir = tempDir("svc-views-gap-")
      const defs = defsOf([serviceManifest("alpha", {}), serviceManifest("beta", {})], dataDir)
      yield* withOrchestrator(engine, defs, { dataDir }, Effect.gen(function*() {
        const views = yield* AppViews
        const store = yield* StateStore
        const bump = (id: string, n: number) =>
          store.update(AppId.make(id), (entry) => ({ entry: { ...entry, observed: { ...entry.observed, exitCode: n } } }))
        const held: Array<Map<string, { readonly exitCode: number | null }>> = []
        const firsts: Array<ReadonlyArray<string>> = []
        for (let k = 0; k < 24; k++) {
          const seen = new Map<string, { readonly exitCode: number | null }>()
          held.push(seen)
          let first = true
          yield* Effect.forkScoped(views.changes.pipe(Stream.runForEach((batch) =>
            Effect.sync(() => {
              if (first) firsts.push(batch.map((v) => v.id))
              first = false
              for (const v of batch) seen.set(v.id, v)
            })
          )))
          // the store changes right as the subscriber starts, after 0, 1 or 2 yields
          for (let y = 0; y < k % 3; y++) yield* Effect.yieldNow
          yield* bump(k % 2 === 0 ? "alpha" : "beta", k)
        }
        const listed = yield* views.list
        yield* waitUntil(
          Effect.sync(() => held.every((seen) => listed.every((v) => seen.get(v.id)?.exitCode === v.exitCode))),
          "every subscriber holds the store's picture"
        )
        assert.deepStrictEqual(listed.map((v) => v.exitCode), [22, 23])
        // each subscriber's first element was the whole picture, in catalog order
        assert.deepStrictEqual(firsts, held.map(() => ["alpha", "beta"]))
      }))
    }))

  it.effect("AppViews: the picture, then one view per change, in order, with the kebab-case state", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const engine = yield* Layer.build(SimulatedRuntime.layer())
      const dataDir = tempDir("svc-views-")
      const defs = defsOf([serviceManifest("alpha", { name: "Alpha", ports: [{ host: 18090, container: 80 }], ui: { port: 80 } })], dataDir)
      yield* withOrchestrator(engine, defs, { dataDir }, Effect.gen(function*() {
        const views = yield* AppViews
        const collected = yield* Effect.forkChild(
          views.changes.pipe(Stream.flattenIterable, Stream.filter((v) => v.id === "alpha"), Stream.take(3), Stream.runCollect)
        )
        yield* settle(10)
        yield* Effect.flatMap(Lifecycle, (l) => l.request("install", "alpha"))
        const seen = yield* Fiber.join(collected)
        assert.deepStrictEqual(seen.map((v) => v.state), ["not-installed", "installing", "running"])
        assert.deepStrictEqual(seen.map((v) => v.visualState), ["not-installed", "installing", "running"])
        const [view] = yield* views.list
        assert.strictEqual(view!.name, "Alpha")
        assert.strictEqual(view!.uiPort, 18090)
        assert.strictEqual(view!.containerName, "alpha")
        assert.deepStrictEqual(view!.intent, { installed: true, wantRunning: true, userStopped: false, updatedAt: epoch })
        const log = yield* views.installLog("alpha")
        assert.match(view!.digest!, /^sha256:[0-9a-f]{64}$/)
        assert.strictEqual(view!.runningVersion, "1.0.0")
        assert.isNull(view!.updateAvailable)
        assert.deepStrictEqual(log.map((l) => l.message).slice(-2), [
          `created container alpha (${view!.containerId!.slice(0, 12)}) of 1.0.0 on ${view!.digest!.slice(7, 19)}`,
          "install done"
        ])
        assert.strictEqual((yield* Effect.result(views.installLog("nope")))._tag, "Failure")
        assert.include(yield* views.containerLogs("alpha", 10), "started")
      }))
    }))

  it.effect("AppViews.list: built once while nothing changes, built again after a change of state or of the catalog", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const engine = yield* Layer.build(SimulatedRuntime.layer())
      const dataDir = tempDir("svc-list-")
      const defs = defsOf([serviceManifest("alpha"), serviceManifest("beta")], dataDir)
      yield* withOrchestrator(engine, defs, { dataDir }, Effect.gen(function*() {
        const views = yield* AppViews
        yield* settle(10)
        const first = yield* views.list
        assert.strictEqual(yield* views.list, first)
        yield* Effect.flatMap(Lifecycle, (l) => l.request("install", "alpha"))
        const after = yield* views.list
        assert.notStrictEqual(after, first)
        assert.notStrictEqual(after.find((v) => v.id === "alpha")!.state, "not-installed")
        assert.strictEqual(yield* views.list, after)
        const apps = yield* Apps
        apps.replace(apps.all.map((d) => d.id === "alpha" ? { ...d, manifest: { ...d.manifest, name: "Alpha renamed" } } : d))
        assert.strictEqual((yield* views.list).find((v) => v.id === "alpha")!.name, "Alpha renamed")
      }))
    }))

  it.effect("AppViews: resources from one stats call against the manifest's limit; followLogs until the stop", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const engine = yield* Layer.build(SimulatedRuntime.layer())
      const dataDir = tempDir("svc-resources-")
      const defs = defsOf([
        serviceManifest("alpha", { memory: "64Mi" }),
        serviceManifest("beta")
      ], dataDir)
      yield* withOrchestrator(engine, defs, { dataDir }, Effect.gen(function*() {
        const sim = yield* SimulatedEngine
        const views = yield* AppViews
        const lifecycle = yield* Lifecycle
        yield* lifecycle.request("install", "alpha")
        yield* waitUntil(Effect.map(stateOf(alpha), (s) => s === "running"), "running")
        yield* sim.setUsage("alpha", { cpuPercent: 12.5, memoryBytes: 32 * 1024 ** 2 })
        yield* sim.resetCalls
        const sample = yield* views.resources
        assert.strictEqual((yield* sim.calls).stats, 1)
        assert.deepStrictEqual(sample.apps, [
          { appId: "alpha", cpuPercent: 12.5, memoryBytes: 32 * 1024 ** 2, memoryLimitBytes: 64 * 1024 ** 2 }
        ])
        const follower = yield* views.followLogs("alpha", 5).pipe(Stream.runCollect, Effect.forkChild)
        yield* settle(10)
        yield* sim.log("alpha", "block 1")
        yield* lifecycle.request("stop", "alpha")
        const lines = yield* Fiber.join(follower)
        assert.deepStrictEqual(lines, ["started", "block 1", "stopping"])
        assert.strictEqual((yield* Effect.flip(Stream.runDrain(views.followLogs("nope", 5))))._tag, "UnknownApp")
      }))
    }))
})

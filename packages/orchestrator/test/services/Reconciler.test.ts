import { assert, describe, it } from "@effect/vitest"
import { Clock, Context, Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { AppId } from "../../src/domain/index.js"
import { ContainerRuntime } from "../../src/runtime/ContainerRuntime.js"
import { AppViews as AppViewsTag } from "../../src/services/AppViews.js"
import { Apps } from "../../src/services/Apps.js"
import { Lifecycle } from "../../src/services/Lifecycle.js"
import { Orchestrator } from "../../src/services/Orchestrator.js"
import { Reconciler } from "../../src/services/Reconciler.js"
import { Scanner } from "../../src/services/Scanner.js"
import { StateStore } from "../../src/services/StateStore.js"
import { SimulatedRuntime } from "../../src/testing/index.js"
import { defsOf, serviceManifest, settle, tempDir, waitAdvancing, waitUntil, epoch, withOrchestrator } from "./harness.js"

const { SimulatedEngine } = SimulatedRuntime
const alpha = AppId.make("alpha")
const beta = AppId.make("beta")

const stateOf = (id: AppId.AppId) => Effect.flatMap(StateStore, (s) => Effect.map(s.entry(id), (e) => e.state))
const containerOf = (name: string) =>
  Effect.flatMap(SimulatedEngine, (e) => Effect.map(e.containers, (cs) => cs.find((c) => c.name === name)))
const request = (op: Parameters<Lifecycle["Service"]["request"]>[0], id: string) =>
  Effect.flatMap(Lifecycle, (l) => l.request(op, id))

// alpha (`restart: no`) installed and running on the simulator, with scans and passes an hour
// apart so that only what a test does moves them
const withAlphaRunning = <A, E, R>(tag: string, body: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(epoch)
    const engine = yield* Layer.build(SimulatedRuntime.layer())
    const dataDir = tempDir(tag)
    const defs = defsOf([serviceManifest("alpha", { restart: "no" })], dataDir)
    return yield* withOrchestrator(engine, defs, { dataDir, reconcileInterval: "1 hour", scanInterval: "1 hour" }, Effect.gen(function*() {
      const store = yield* StateStore
      yield* request("install", "alpha")
      yield* waitUntil(Effect.map(store.entry(alpha), (e) => e.state === "running" && e.transition === undefined), "alpha running")
      return yield* body
    }))
  })

describe("Reconciler (simulator)", () => {
  it.effect("boot adopts existing containers as they are: no create, no start, ids unchanged", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const engine = yield* Layer.build(SimulatedRuntime.layer())
      const dataDir = tempDir("svc-adopt-")
      const defs = defsOf([serviceManifest("alpha"), serviceManifest("beta")], dataDir)
      const runtime = Layer.succeedContext(engine).pipe(Layer.build)
      const ctx = yield* runtime
      const rt = Context.get(ctx, ContainerRuntime)
      const idA = yield* rt.create(defs[0]!.spec)
      yield* rt.start(defs[0]!.spec.name)
      const idB = yield* rt.create(defs[1]!.spec)
      const sim = Context.get(ctx, SimulatedEngine)
      yield* sim.resetCalls
      yield* withOrchestrator(engine, defs, { dataDir }, Effect.gen(function*() {
        const store = yield* StateStore
        const s = yield* store.get
        assert.strictEqual(s.entries.alpha!.state, "running")
        assert.strictEqual(s.entries.alpha!.observed.containerId, idA)
        assert.strictEqual(s.entries.beta!.state, "installed")
        assert.deepStrictEqual(
          { installed: s.intents.alpha!.installed, wantRunning: s.intents.alpha!.wantRunning },
          { installed: true, wantRunning: true }
        )
        assert.deepStrictEqual(
          { installed: s.intents.beta!.installed, wantRunning: s.intents.beta!.wantRunning },
          { installed: true, wantRunning: false }
        )
        const calls = yield* sim.calls
        assert.strictEqual(calls.create, 0)
        assert.strictEqual(calls.start, 0)
        assert.strictEqual(calls.stop, 0)
        assert.strictEqual(calls.remove, 0)
        assert.strictEqual((yield* containerOf("beta"))!.id, idB)
        // a later pass is a converged NoOp for both
        const decisions = yield* Effect.flatMap(Reconciler, (r) => r.pass)
        assert.deepStrictEqual(decisions.map((d) => [d.appId, d.action._tag]), [["alpha", "NoOp"], ["beta", "NoOp"]])
        assert.strictEqual((yield* sim.calls).create, 0)
      }))
    }))

  it.effect("a killed app without restart policy is running again within a second (event-driven)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const engine = yield* Layer.build(SimulatedRuntime.layer())
      const dataDir = tempDir("svc-kill-")
      const defs = defsOf([serviceManifest("alpha", { restart: "no" })], dataDir)
      yield* withOrchestrator(engine, defs, { dataDir }, Effect.gen(function*() {
        const sim = yield* SimulatedEngine
        yield* request("install", "alpha")
        yield* waitUntil(Effect.map(stateOf(alpha), (s) => s === "running"), "alpha running")
        const before = (yield* containerOf("alpha"))!.id
        yield* sim.kill("alpha")
        yield* waitAdvancing(Effect.map(containerOf("alpha"), (c) => c?.state === "running"), "alpha restarted", { maxAdvance: "1 second" })
        assert.strictEqual((yield* containerOf("alpha"))!.id, before, "restarted, not recreated")
        const entry = yield* Effect.flatMap(StateStore, (s) => s.entry(alpha))
        assert.strictEqual(entry.crashLoop?.restarts, 1)
      }))
    }))

  it.effect("an engine event is looked at at once: the pass it kicks lists within 5 ms of virtual time", () =>
    withAlphaRunning("svc-kick-", Effect.gen(function*() {
      const sim = yield* SimulatedEngine
      // past the passes the install's own events kick, and their follow-up look
      for (let i = 0; i < 30; i++) {
        yield* TestClock.adjust("100 millis")
        yield* settle(20)
      }
      yield* sim.resetCalls
      yield* sim.exit("alpha", 1)
      yield* settle(50)
      assert.strictEqual((yield* sim.calls).list, 0, "no look before the clock moves")
      yield* TestClock.adjust("5 millis")
      yield* waitUntil(Effect.map(sim.calls, (c) => c.list >= 1), "the pass the exit kicked listed", 3_000)
    })))

  it.effect("a repair of a container its pass just listed is one engine call after the listing: start, no inspect before or after", () =>
    withAlphaRunning("svc-repair-calls-", Effect.gen(function*() {
      const sim = yield* SimulatedEngine
      const store = yield* StateStore
      const before = (yield* containerOf("alpha"))!
      yield* sim.exit("alpha", 1)
      yield* sim.resetCalls
      const decisions = yield* Effect.flatMap(Reconciler, (r) => r.pass)
      assert.deepStrictEqual(decisions.map((d) => d.action._tag), ["Start"])
      const calls = yield* sim.calls
      const used = Object.entries(calls).filter(([, n]) => n > 0)
      assert.deepStrictEqual(Object.fromEntries(used), { list: 1, start: 1 }, "the pass's list, then one start")
      const after = (yield* containerOf("alpha"))!
      assert.strictEqual(after.id, before.id)
      assert.strictEqual(after.state, "running")
      // shown running on the engine's answer to the start; the start time comes with the next scan
      const entry = yield* store.entry(alpha)
      assert.strictEqual(entry.state, "running")
      assert.isUndefined(entry.transition)
      assert.strictEqual(entry.observed.containerId, before.id)
      assert.isUndefined(entry.observed.startedAt)
      yield* Effect.flatMap(Scanner, (s) => s.scan)
      assert.strictEqual((yield* store.entry(alpha)).observed.startedAt, epoch, "started at the TestClock's time")
    })))

  it.effect("a repair starts what its pass listed by id: a container replaced since the listing is looked for again", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const engine = yield* Layer.build(SimulatedRuntime.layer())
      const dataDir = tempDir("svc-repair-stale-")
      const defs = defsOf([serviceManifest("alpha", { restart: "no" })], dataDir)
      yield* withOrchestrator(engine, defs, { dataDir, reconcileInterval: "1 hour", scanInterval: "1 hour" }, Effect.gen(function*() {
        const sim = yield* SimulatedEngine
        const store = yield* StateStore
        const rt = yield* ContainerRuntime
        yield* request("install", "alpha")
        yield* waitUntil(Effect.map(store.entry(alpha), (e) => e.state === "running" && e.transition === undefined), "alpha running")
        yield* sim.exit("alpha", 1)
        const listed = (yield* Effect.flatMap(Scanner, (s) => s.scan)).byApp.get(alpha)!
        assert.strictEqual(listed.state, "exited")
        // replaced behind our back under the same name (same spec and labels)
        yield* sim.removeContainer("alpha")
        const replacement = yield* rt.create(defs[0]!.spec)
        yield* sim.resetCalls
        const def = (yield* Apps).get("alpha").pipe((o) => o._tag === "Some" ? o.value : assert.fail("no def"))
        yield* (yield* Orchestrator).steps.startListed(def, listed)
        const calls = yield* sim.calls
        assert.strictEqual(calls.start, 2, "the listed id, then the container found again")
        assert.strictEqual(calls.inspect, 1, "looked for again")
        const now = (yield* containerOf("alpha"))!
        assert.strictEqual(now.id, replacement)
        assert.strictEqual(now.state, "running")
      }))
    }))

  it.effect("with a restart policy the engine restarts a killed app and the reconciler does not fight it", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const engine = yield* Layer.build(SimulatedRuntime.layer({ restartDelay: "150 millis" }))
      const dataDir = tempDir("svc-policy-")
      const defs = defsOf([serviceManifest("alpha", { restart: "always" })], dataDir)
      yield* withOrchestrator(engine, defs, { dataDir }, Effect.gen(function*() {
        const sim = yield* SimulatedEngine
        yield* request("install", "alpha")
        yield* waitUntil(Effect.map(stateOf(alpha), (s) => s === "running"), "alpha running")
        yield* sim.resetCalls
        yield* sim.kill("alpha")
        yield* settle(20)
        yield* TestClock.adjust("120 millis")
        yield* settle(20)
        yield* TestClock.adjust("1 second")
        yield* settle(20)
        yield* TestClock.adjust("5 seconds")
        yield* waitUntil(Effect.map(containerOf("alpha"), (c) => c?.state === "running"), "alpha back")
        assert.strictEqual((yield* containerOf("alpha"))!.restartCount, 1)
        assert.strictEqual((yield* sim.calls).start, 0, "the reconciler left the restart to the engine")
      }))
    }))

  it.effect("a removed container is recreated within a second", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const engine = yield* Layer.build(SimulatedRuntime.layer())
      const dataDir = tempDir("svc-rm-")
      const defs = defsOf([serviceManifest("alpha")], dataDir)
      yield* withOrchestrator(engine, defs, { dataDir }, Effect.gen(function*() {
        const sim = yield* SimulatedEngine
        yield* request("install", "alpha")
        yield* waitUntil(Effect.map(stateOf(alpha), (s) => s === "running"), "alpha running")
        const before = (yield* containerOf("alpha"))!.id
        yield* sim.removeContainer("alpha")
        yield* waitAdvancing(Effect.map(containerOf("alpha"), (c) => c?.state === "running"), "alpha recreated", { maxAdvance: "1 second" })
        assert.notStrictEqual((yield* containerOf("alpha"))!.id, before)
        yield* waitUntil(Effect.map(stateOf(alpha), (s) => s === "running"), "entry running")
      }))
    }))

  it.effect("crash loops back off exponentially and say so in the entry", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const engine = yield* Layer.build(SimulatedRuntime.layer())
      const dataDir = tempDir("svc-loop-")
      const defs = defsOf([serviceManifest("alpha", { restart: "no" })], dataDir)
      yield* withOrchestrator(engine, defs, { dataDir }, Effect.gen(function*() {
        const sim = yield* SimulatedEngine
        const store = yield* StateStore
        yield* request("install", "alpha")
        yield* waitUntil(Effect.map(stateOf(alpha), (s) => s === "running"), "alpha running")
        const restarts: Array<number> = []
        for (let i = 0; i < 4; i++) {
          yield* waitUntil(Effect.map(containerOf("alpha"), (c) => c?.state === "running"), `running before kill ${i}`)
          yield* sim.exit("alpha", 1)
          yield* settle(20)
          // before the back-off ends nothing restarts it
          const cl = (yield* store.entry(alpha)).crashLoop
          if (cl !== undefined) {
            const now = yield* Clock.currentTimeMillis
            if (cl.nextAttemptAt - now > 200) {
              yield* TestClock.adjust(cl.nextAttemptAt - now - 100)
              yield* settle(20)
              assert.strictEqual((yield* containerOf("alpha"))!.state, "exited", `held off during back-off ${i}`)
            }
          }
          // under load the exit may be seen only after this jump, starting a back-off from here:
          // keep advancing until the retry comes
          yield* TestClock.adjust("10 seconds")
          yield* waitAdvancing(Effect.map(containerOf("alpha"), (c) => c?.state === "running"), `restarted ${i}`, { maxAdvance: "1 minute" })
          yield* waitUntil(Effect.map(store.entry(alpha), (e) => e.transition === undefined), `settled ${i}`)
          restarts.push((yield* store.entry(alpha)).crashLoop!.restarts)
        }
        assert.deepStrictEqual(restarts, [1, 2, 3, 4])
      }))
    }))

  it.effect("starts dependencies first", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const engine = yield* Layer.build(SimulatedRuntime.layer())
      const dataDir = tempDir("svc-deps-")
      const defs = defsOf([serviceManifest("beta", { dependsOn: ["alpha"], restart: "no" }), serviceManifest("alpha", { restart: "no" })], dataDir)
      yield* withOrchestrator(engine, defs, { dataDir }, Effect.gen(function*() {
        const sim = yield* SimulatedEngine
        yield* request("install", "alpha")
        yield* request("install", "beta")
        yield* waitUntil(Effect.map(stateOf(beta), (s) => s === "running"), "beta running")
        yield* sim.kill("beta")
        yield* sim.kill("alpha")
        yield* waitAdvancing(Effect.map(containerOf("beta"), (c) => c?.state === "running"), "beta back", { maxAdvance: "1 minute" })
        const rt = yield* ContainerRuntime
        const [a, b] = yield* rt.inspect(["alpha", "beta"])
        assert.isTrue(a!.startedAt! <= b!.startedAt!)
        const log = (yield* sim.containers).find((c) => c.name === "alpha")!
        assert.strictEqual(log.state, "running")
      }))
    }))

  it.effect("a stop holds across an orchestrator restart; a stop in flight is resumed at boot", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const engine = yield* Layer.build(SimulatedRuntime.layer())
      const dataDir = tempDir("svc-restart-")
      const defs = defsOf([serviceManifest("alpha", { stopTimeout: 60 }, { stopDelaySec: 40 }), serviceManifest("beta")], dataDir)
      yield* withOrchestrator(engine, defs, { dataDir }, Effect.gen(function*() {
        yield* request("install", "alpha")
        yield* request("install", "beta")
        yield* waitUntil(Effect.map(stateOf(beta), (s) => s === "running"), "beta running")
        yield* waitUntil(Effect.map(stateOf(alpha), (s) => s === "running"), "alpha running")
        yield* request("stop", "beta")
        yield* waitUntil(Effect.map(stateOf(beta), (s) => s === "stopped"), "beta stopped")
        yield* request("stop", "alpha")
        assert.strictEqual(yield* stateOf(alpha), "stopping")
      }))
      // the orchestrator went away mid-stop (grace 0): the transition is on disk
      yield* withOrchestrator(engine, defs, { dataDir }, Effect.gen(function*() {
        const store = yield* StateStore
        assert.strictEqual(store.loadReport._tag, "Loaded")
        assert.isTrue((yield* store.intent(beta)).userStopped)
        assert.isTrue((yield* store.intent(alpha)).userStopped)
        assert.strictEqual(yield* stateOf(alpha), "stopping")
        yield* TestClock.adjust("45 seconds")
        // the resumed stop lands in `stopped`; a later scan may already read the engine's `exited`
        yield* waitUntil(
          Effect.map(Effect.flatMap(StateStore, (s) => s.entry(alpha)), (e) =>
            e.transition === undefined && e.lastError === undefined && (e.state === "stopped" || e.state === "exited")),
          "alpha stopped after resume"
        )
        yield* TestClock.adjust("5 minutes")
        yield* settle(20)
        assert.strictEqual((yield* containerOf("beta"))!.state, "exited")
        assert.strictEqual((yield* containerOf("alpha"))!.state, "exited")
      }))
    }))

  it.effect("a stop resumed after a long outage gets a fresh deadline instead of failing on the old one", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const engine = yield* Layer.build(SimulatedRuntime.layer())
      const dataDir = tempDir("svc-outage-")
      const defs = defsOf([serviceManifest("alpha", { stopTimeout: 60 }, { stopDelaySec: 40 })], dataDir)
      let oldDeadline = 0
      yield* withOrchestrator(engine, defs, { dataDir }, Effect.gen(function*() {
        yield* request("install", "alpha")
        yield* waitUntil(Effect.map(stateOf(alpha), (s) => s === "running"), "alpha running")
        yield* request("stop", "alpha")
        oldDeadline = (yield* Effect.flatMap(StateStore, (s) => s.entry(alpha))).transition!.deadline
      }))
      // the orchestrator stayed down until 5 s before the stop's deadline, and its stop was lost
      // meanwhile (the container is running again): the 40 s stop cannot fit in the old deadline
      yield* TestClock.setTime(oldDeadline - 5_000)
      yield* Effect.flatMap(ContainerRuntime, (rt) => rt.start("alpha")).pipe(Effect.provide(engine))
      yield* withOrchestrator(engine, defs, { dataDir }, Effect.gen(function*() {
        const resumed = (yield* Effect.flatMap(StateStore, (s) => s.entry(alpha))).transition
        assert.strictEqual(resumed?.op, "stop")
        assert.isAbove(resumed!.deadline, oldDeadline, "the resumed stop's deadline starts from the resume")
        yield* TestClock.adjust("45 seconds")
        yield* waitUntil(
          Effect.map(Effect.flatMap(StateStore, (s) => s.entry(alpha)), (e) =>
            e.transition === undefined && (e.state === "stopped" || e.state === "exited")),
          "alpha stopped after resume"
        )
        const entry = yield* Effect.flatMap(StateStore, (s) => s.entry(alpha))
        assert.isUndefined(entry.lastError, `no deadline failure: ${entry.lastError?.message}`)
      }))
    }))

  it.effect("recreates a managed container only when its spec hash changed", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const engine = yield* Layer.build(SimulatedRuntime.layer())
      const dataDir = tempDir("svc-hash-")
      const v1 = defsOf([serviceManifest("alpha")], dataDir)
      const v2 = defsOf([serviceManifest("alpha", { env: { MODE: "two" } })], dataDir)
      let first = ""
      yield* withOrchestrator(engine, v1, { dataDir }, Effect.gen(function*() {
        yield* request("install", "alpha")
        yield* waitUntil(Effect.map(stateOf(alpha), (s) => s === "running"), "alpha running")
        first = (yield* containerOf("alpha"))!.id
      }))
      yield* withOrchestrator(engine, v1, { dataDir }, Effect.gen(function*() {
        yield* Effect.flatMap(Reconciler, (r) => r.pass)
        assert.strictEqual((yield* containerOf("alpha"))!.id, first, "same spec: kept")
      }))
      yield* withOrchestrator(engine, v2, { dataDir }, Effect.gen(function*() {
        assert.strictEqual((yield* containerOf("alpha"))!.id, first, "boot adopts, never recreates")
        yield* waitUntil(Effect.map(containerOf("alpha"), (c) => c !== undefined && c.id !== first && c.state === "running"), "recreated")
        assert.strictEqual((yield* containerOf("alpha"))!.spec.env.MODE, "two")
      }))
    }))

  it.effect("an adopted container keeps its own name; operations use it; unmanaged means never recreated", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const engine = yield* Layer.build(SimulatedRuntime.layer())
      const dataDir = tempDir("svc-foreign-")
      const defs = defsOf([serviceManifest("alpha")], dataDir)
      const ctx = yield* Layer.build(Layer.succeedContext(engine))
      const rt = Context.get(ctx, ContainerRuntime)
      // created by the old orchestrator: another name, the app label, no managed-by, no hash
      const { labels: _l, ...spec } = defs[0]!.spec
      const id = yield* rt.create({ ...spec, name: "old-alpha", labels: { "io.archipelago.app": "alpha" } })
      yield* rt.start("old-alpha")
      yield* withOrchestrator(engine, defs, { dataDir }, Effect.gen(function*() {
        const store = yield* StateStore
        assert.strictEqual((yield* store.entry(alpha)).observed.containerName, "old-alpha")
        const decisions = yield* Effect.flatMap(Reconciler, (r) => r.pass)
        assert.deepStrictEqual(decisions.map((d) => d.action._tag), ["NoOp"])
        const views = yield* Effect.flatMap(AppViewsTag, (v) => v.list)
        assert.strictEqual(views[0]!.containerName, "old-alpha")
        yield* request("stop", "alpha")
        yield* waitUntil(Effect.map(stateOf(alpha), (s) => s === "stopped"), "stopped")
        assert.strictEqual((yield* containerOf("old-alpha"))!.state, "exited")
        assert.strictEqual((yield* containerOf("old-alpha"))!.id, id)
        assert.isUndefined(yield* containerOf("alpha"), "no second container")
      }))
    }))
})


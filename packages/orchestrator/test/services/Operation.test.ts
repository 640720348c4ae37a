/**
 * The one runner (`Operation.run`): the same work run by the user's caller (`Orchestrator.start`)
 * and by the reconciler's (a `Start` repair) ends in the same entry, failing or succeeding. Only
 * what the two begins are meant to differ in is left out of the comparison: the generation (a
 * user's request is counted, a repair is not) and the crash-loop record (a repair counts toward
 * the back-off, a user's request starts it over).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import type { AppEntry } from "../../src/domain/AppEntry.js"
import { AppId, FailureMessage } from "../../src/domain/index.js"
import { CommandFailed } from "../../src/runtime/RuntimeError.js"
import { AppViews } from "../../src/services/AppViews.js"
import { Lifecycle } from "../../src/services/Lifecycle.js"
import { Orchestrator } from "../../src/services/Orchestrator.js"
import { Reconciler } from "../../src/services/Reconciler.js"
import { StateStore } from "../../src/services/StateStore.js"
import { SimulatedRuntime } from "../../src/testing/index.js"
import { defsOf, epoch, serviceManifest, tempDir, waitUntil, withOrchestrator } from "./harness.js"

const { SimulatedEngine } = SimulatedRuntime
const alpha = AppId.make("alpha")

const comparable = (e: AppEntry) => {
  const { crashLoop: _c, generation: _g, ...rest } = e
  return rest
}

describe("Operation: one runner for both callers", () => {
  it.effect("the same failing and succeeding start ends in the same entry through the reconciler and the orchestrator", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const dataDir = tempDir("svc-operation-")
      const engine = yield* Layer.build(SimulatedRuntime.layer())
      // no restart policy: a dead container is the reconciler's to start at once
      const defs = defsOf([serviceManifest("alpha", { restart: "no" })], dataDir)
      yield* withOrchestrator(engine, defs, { dataDir, reconcileInterval: "1 hour", scanInterval: "1 hour" }, Effect.gen(function*() {
        const sim = yield* SimulatedEngine
        const store = yield* StateStore
        const reconciler = yield* Reconciler
        const orchestrator = yield* Orchestrator
        const log = Effect.map(Effect.flatMap(AppViews, (v) => v.installLog("alpha")), (ls) => ls.map((l) => l.message))
        yield* Effect.flatMap(Lifecycle, (l) => l.request("install", "alpha"))
        yield* waitUntil(Effect.map(store.entry(alpha), (e) => e.state === "running" && e.transition === undefined), "running")
        const boom = () => new CommandFailed({ argv: ["podman", "start", "alpha"], exitCode: 125, stderr: "boom" })

        // failing: the container died; the start fails the same way for both callers
        yield* sim.exit("alpha", 1)
        yield* sim.failNext("start", boom())
        const repair = yield* reconciler.pass
        assert.deepStrictEqual(repair.map((d) => d.action._tag), ["Start"])
        const byReconciler = yield* store.entry(alpha)
        assert.strictEqual(byReconciler.crashLoop?.restarts, 1, "a repair counts toward the back-off")
        assert.strictEqual(byReconciler.crashLoop?.neverRan, true, "a start podman refused is not a crash")
        yield* sim.failNext("start", boom())
        const asked = yield* Effect.result(orchestrator.start("alpha"))
        assert.isTrue(asked._tag === "Failure" && asked.failure._tag === "OperationFailed")
        const byUser = yield* store.entry(alpha)
        assert.isUndefined(byUser.crashLoop, "a user's request starts the back-off over")
        assert.deepStrictEqual(comparable(byUser), comparable(byReconciler))
        assert.strictEqual(byUser.state, "exited")
        assert.deepStrictEqual(byUser.lastError, { op: "start", message: "alpha could not start: boom\n\nboom", at: epoch })
        assert.deepStrictEqual((yield* log).slice(-2), [
          "reconcile start failed: alpha could not start: boom\n\nboom",
          "start failed: alpha could not start: boom\n\nboom"
        ])

        // succeeding: the reconciler repairs it, then it dies again and the user starts it
        const repaired = yield* reconciler.pass
        assert.deepStrictEqual(repaired.map((d) => d.action._tag), ["Start"])
        const okByReconciler = yield* store.entry(alpha)
        assert.isDefined(okByReconciler.crashLoop)
        assert.isUndefined(okByReconciler.crashLoop?.neverRan, "it ran this time")
        yield* sim.exit("alpha", 1)
        yield* orchestrator.start("alpha")
        const okByUser = yield* store.entry(alpha)
        assert.deepStrictEqual(comparable(okByUser), comparable(okByReconciler))
        assert.strictEqual(okByUser.state, "running")
        assert.isUndefined(okByUser.lastError)
        assert.isUndefined(okByUser.transition)
        assert.deepStrictEqual((yield* log).slice(-2), ["reconcile start done", "start done"])
      }))
    }))

  it.effect("a host port another program holds: lastError names the port first and the reconciler's starts are marked neverRan, as on podman", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const dataDir = tempDir("svc-operation-port-")
      const engine = yield* Layer.build(SimulatedRuntime.layer())
      const defs = defsOf([serviceManifest("alpha", { restart: "no", ports: [{ host: 28475, container: 80 }] })], dataDir)
      yield* withOrchestrator(engine, defs, { dataDir, reconcileInterval: "1 hour", scanInterval: "1 hour" }, Effect.gen(function*() {
        const sim = yield* SimulatedEngine
        const store = yield* StateStore
        const reconciler = yield* Reconciler
        yield* sim.holdHostPort(28475)
        yield* Effect.flatMap(Lifecycle, (l) => l.request("install", "alpha"))
        yield* waitUntil(Effect.map(store.entry(alpha), (e) => e.lastError !== undefined && e.transition === undefined), "the install failed")
        const sentence = "alpha could not install: host port 28475 is already in use by another program"
        assert.strictEqual(FailureMessage.headline((yield* store.entry(alpha)).lastError!.message), sentence)
        yield* reconciler.pass
        const entry = yield* store.entry(alpha)
        const [first, blank, ...stderr] = entry.lastError!.message.split("\n")
        assert.deepStrictEqual([first, blank], ["alpha could not start: host port 28475 is already in use by another program", ""])
        assert.match(stderr.join("\n"), /^Error: unable to start container "[0-9a-f]{12}…": cannot listen on the TCP port: listen tcp4 :28475: bind: address already in use$/)
        assert.deepStrictEqual([entry.crashLoop?.restarts, entry.crashLoop?.neverRan], [1, true])
        assert.notStrictEqual(entry.state, "running")

        yield* sim.releaseHostPort(28475)
        yield* TestClock.adjust("2 seconds")
        yield* reconciler.pass
        const ran = yield* store.entry(alpha)
        assert.strictEqual(ran.state, "running")
        assert.isUndefined(ran.lastError)
        assert.isUndefined(ran.crashLoop?.neverRan)
      }))
    }))
})

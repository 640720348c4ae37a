import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Option } from "effect"
import { TestClock } from "effect/testing"
import * as fs from "node:fs"
import * as path from "node:path"
import { AppId } from "../../src/domain/index.js"
import { ContainerRuntime } from "../../src/runtime/ContainerRuntime.js"
import { Labels } from "../../src/runtime/ContainerSpec.js"
import { Apps } from "../../src/services/Apps.js"
import { AppViews } from "../../src/services/AppViews.js"
import { Lifecycle } from "../../src/services/Lifecycle.js"
import * as Orchestrator from "../../src/services/Orchestrator.js"
import { Reconciler } from "../../src/services/Reconciler.js"
import { Scanner } from "../../src/services/Scanner.js"
import { StateStore } from "../../src/services/StateStore.js"
import { SimulatedRuntime } from "../../src/testing/index.js"
import type { HarnessConfig } from "./harness.js"
import { defsOf, epoch, orchestrator, serviceManifest, settle, tempDir, waitAdvancing, waitUntil, withOrchestrator } from "./harness.js"

const { SimulatedEngine } = SimulatedRuntime

const web = AppId.make("web")
const repo = "registry.test/archipelago/web"
const health = { type: "http", port: 8080, path: "/", interval: 2, timeout: 1, retries: 3, startPeriod: 1 }
const release = (version: string) =>
  serviceManifest("web", { version, image: `${repo}:${version}`, health, volumes: [{ source: "./data", target: "/data" }] })

const registry = [
  `${repo}:1.0.0`,
  { ref: `${repo}:1.1.0`, env: { SIM_HEALTH: "unhealthy" } },
  `${repo}:1.2.0`
]

const config = (dataDir: string): HarnessConfig => ({
  dataDir,
  scanInterval: "30 seconds",
  reconcileInterval: "30 seconds",
  healthInterval: "10 seconds",
  shutdownGrace: 0
})

const container = Effect.gen(function*() {
  const rt = yield* ContainerRuntime
  const [c] = yield* rt.inspect(["web"])
  assert.isDefined(c, "the app has a container")
  return c!
})

/** Runs `orchestrator.update` to its end, moving the TestClock through the health gate. */
const runUpdate = Effect.gen(function*() {
  const orchestrator = yield* Orchestrator.Orchestrator
  const fiber = yield* Effect.forkChild(Effect.result(orchestrator.update("web")))
  yield* waitAdvancing(Effect.sync(() => fiber.pollUnsafe() !== undefined), "the update ends", { step: "500 millis", maxAdvance: "10 minutes" })
  return yield* Fiber.join(fiber)
})

const installV1 = (dataDir: string) =>
  Effect.gen(function*() {
    const lifecycle = yield* Lifecycle
    const store = yield* StateStore
    yield* lifecycle.request("install", "web")
    yield* waitAdvancing(Effect.map(store.entry(web), (e) => e.state === "running" && e.transition === undefined), "web running", {
      maxAdvance: "1 minute"
    })
    fs.writeFileSync(path.join(dataDir, "apps", "web", "data", "wallet.dat"), "written under 1.0.0")
    return yield* container
  })

describe("health-gated update with automatic rollback (simulator, TestClock)", () => {
  it.effect("a healthy release: the update is proved, the new digest and version are recorded, nothing pending", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const dataDir = tempDir("svc-update-ok-")
      const layer = orchestrator(defsOf([release("1.0.0")], dataDir), config(dataDir)).pipe(
        Layer.provideMerge(SimulatedRuntime.layer({ registry }))
      )
      yield* Effect.gen(function*() {
        const before = yield* installV1(dataDir)
        assert.strictEqual(before.labels[Labels.version], "1.0.0")
        assert.match(before.labels[Labels.imageDigest]!, /^sha256:[0-9a-f]{64}$/)
        const apps = yield* Apps
        const views = yield* AppViews
        apps.replace(defsOf([release("1.2.0")], dataDir))
        yield* (yield* Reconciler).pass
        const offered = (yield* views.list).find((v) => v.id === "web")!
        assert.deepStrictEqual(offered.updateAvailable, { from: "1.0.0", to: "1.2.0", direction: "upgrade" })
        assert.strictEqual((yield* container).id, before.id, "a reload and a reconcile pass touch nothing running")

        const outcome = yield* runUpdate
        assert.isTrue(outcome._tag === "Success", "the update succeeds")
        const after = yield* container
        assert.strictEqual(after.labels[Labels.version], "1.2.0")
        assert.notStrictEqual(after.labels[Labels.imageDigest], before.labels[Labels.imageDigest])
        const entry = yield* (yield* StateStore).entry(web)
        assert.isUndefined(entry.journal)
        assert.isUndefined(entry.lastError)
        yield* (yield* Reconciler).pass
        const view = (yield* views.list).find((v) => v.id === "web")!
        assert.strictEqual(view.runningVersion, "1.2.0")
        assert.strictEqual(view.digest, after.labels[Labels.imageDigest])
        assert.isNull(view.updateAvailable)
        assert.isFalse(yield* (yield* ContainerRuntime).imageExists(Orchestrator.holdTag("web")), "the hold tag is dropped once settled")
        assert.strictEqual(fs.readFileSync(path.join(dataDir, "apps", "web", "data", "wallet.dat"), "utf8"), "written under 1.0.0")
      }).pipe(Effect.provide(layer))
    }))

  it.effect("a release whose health never passes is rolled back to the previous digest, even with its tag gone", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const dataDir = tempDir("svc-update-bad-")
      const layer = orchestrator(defsOf([release("1.0.0")], dataDir), config(dataDir)).pipe(
        Layer.provideMerge(SimulatedRuntime.layer({ registry }))
      )
      yield* Effect.gen(function*() {
        const before = yield* installV1(dataDir)
        const rt = yield* ContainerRuntime
        // the 1.0.0 tag is deleted locally: only the digest can bring it back
        yield* rt.untagImage(`${repo}:1.0.0`)
        ;(yield* Apps).replace(defsOf([release("1.1.0")], dataDir))
        const outcome = yield* runUpdate
        assert.isTrue(outcome._tag === "Failure")
        const reason = "update to 1.1.0 rolled back: health check failed 3 times: http :8080/"
        assert.strictEqual(outcome._tag === "Failure" && outcome.failure._tag === "OperationFailed" ? outcome.failure.reason : "", reason)
        const after = yield* container
        assert.notStrictEqual(after.id, before.id, "recreated")
        assert.strictEqual(after.labels[Labels.imageDigest], before.labels[Labels.imageDigest], "on the remembered digest")
        assert.strictEqual(`sha256:${after.imageId}`, before.labels[Labels.imageDigest])
        assert.strictEqual(after.labels[Labels.version], "1.0.0")
        assert.strictEqual(after.state, "running")
        const store = yield* StateStore
        const entry = yield* store.entry(web)
        assert.strictEqual(entry.state, "running")
        assert.strictEqual(entry.lastError?.message, reason)
        assert.isUndefined(entry.journal)
        // the entry shows the rolled-back container at once, not the failed one
        assert.strictEqual(entry.observed.digest, before.labels[Labels.imageDigest])
        assert.strictEqual(entry.observed.version, "1.0.0")
        const log = (yield* (yield* AppViews).installLog("web")).map((l) => l.message)
        assert.isTrue(log.some((l) => l.startsWith("update to 1.1.0 failed: health check failed 3 times")), log.join("\n"))
        assert.isTrue(log.some((l) => l.startsWith("rolled back to 1.0.0")), log.join("\n"))
        assert.strictEqual(fs.readFileSync(path.join(dataDir, "apps", "web", "data", "wallet.dat"), "utf8"), "written under 1.0.0")

        // the reconciler leaves the rolled-back release alone; the update stays on offer
        yield* (yield* Reconciler).pass
        yield* settle(20)
        assert.strictEqual((yield* container).id, after.id)
        const view = (yield* (yield* AppViews).list).find((v) => v.id === "web")!
        assert.deepStrictEqual(view.updateAvailable, { from: "1.0.0", to: "1.1.0", direction: "upgrade" })
      }).pipe(Effect.provide(layer))
    }))

  it.effect("an orchestrator stopped during the health gate resumes at its next start and rolls back", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const dataDir = tempDir("svc-update-kill-")
      const engine = yield* Layer.build(SimulatedRuntime.layer({ registry }))
      const before = yield* withOrchestrator(engine, defsOf([release("1.0.0")], dataDir), config(dataDir), installV1(dataDir))
      // the catalog on disk now says 1.1.0; the update starts and is cut off while gating
      yield* withOrchestrator(
        engine,
        defsOf([release("1.1.0")], dataDir),
        config(dataDir),
        Effect.gen(function*() {
          const lifecycle = yield* Lifecycle
          const store = yield* StateStore
          yield* lifecycle.request("update", "web")
          yield* waitAdvancing(Effect.map(store.entry(web), (e) => e.journal?.step === "gating"), "gating", {
            step: "100 millis",
            maxAdvance: "1 minute"
          })
        })
      )
      const persisted = JSON.parse(fs.readFileSync(path.join(dataDir, "state.json"), "utf8"))
      assert.strictEqual(persisted.apps.web.journal.step, "gating", "the phase is on disk")
      assert.strictEqual(persisted.apps.web.journal.from.digest, before.labels[Labels.imageDigest])
      yield* withOrchestrator(
        engine,
        defsOf([release("1.1.0")], dataDir),
        config(dataDir),
        Effect.gen(function*() {
          const store = yield* StateStore
          yield* waitAdvancing(Effect.map(store.entry(web), (e) => e.journal === undefined && e.transition === undefined), "settled", {
            step: "500 millis",
            maxAdvance: "10 minutes"
          })
          const entry = yield* store.entry(web)
          assert.match(entry.lastError?.message ?? "", /^update to 1\.1\.0 rolled back: health check failed 3 times/)
          const after = yield* container
          assert.strictEqual(after.labels[Labels.imageDigest], before.labels[Labels.imageDigest])
          assert.strictEqual(after.labels[Labels.version], "1.0.0")
          yield* waitUntil(Effect.map(store.entry(web), (e) => e.state === "running"), "running")
        })
      )
      void SimulatedEngine
    }).pipe(Effect.scoped))

  // issue 14: only an explicit update moves versions; repairs recreate what ran, by digest.
  it.effect("a container removed behind our back while an update is on offer comes back on the release it ran, by digest", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const dataDir = tempDir("svc-update-vanish-")
      const layer = orchestrator(defsOf([release("1.0.0")], dataDir), config(dataDir)).pipe(
        Layer.provideMerge(SimulatedRuntime.layer({ registry }))
      )
      yield* Effect.gen(function*() {
        const before = yield* installV1(dataDir)
        const rt = yield* ContainerRuntime
        const engine = yield* SimulatedEngine
        yield* rt.untagImage(`${repo}:1.0.0`)
        ;(yield* Apps).replace(defsOf([release("1.2.0")], dataDir))
        yield* engine.removeContainer("web")
        const reconciler = yield* Reconciler
        const store = yield* StateStore
        yield* waitAdvancing(
          Effect.gen(function*() {
            yield* reconciler.pass
            const [c] = yield* rt.inspect(["web"])
            const e = yield* store.entry(web)
            return c !== undefined && c.state === "running" && e.state === "running" && e.transition === undefined
          }),
          "web recreated and running",
          { step: "1 second", maxAdvance: "1 minute" }
        )
        const after = yield* container
        assert.notStrictEqual(after.id, before.id, "recreated")
        assert.strictEqual(after.labels[Labels.version], "1.0.0", "on the version it ran, not the one on offer")
        assert.strictEqual(after.labels[Labels.imageDigest], before.labels[Labels.imageDigest], "on the recorded digest")
        assert.strictEqual(`sha256:${after.imageId}`, before.labels[Labels.imageDigest])
        const view = (yield* (yield* AppViews).list).find((v) => v.id === "web")!
        assert.deepStrictEqual(view.updateAvailable, { from: "1.0.0", to: "1.2.0", direction: "upgrade" }, "the update stays on offer")
        assert.strictEqual(fs.readFileSync(path.join(dataDir, "apps", "web", "data", "wallet.dat"), "utf8"), "written under 1.0.0")

        // a user's start of the vanished app brings back the same release
        yield* engine.removeContainer("web")
        yield* (yield* Orchestrator.Orchestrator).start("web")
        const started = yield* container
        assert.strictEqual(started.labels[Labels.version], "1.0.0")
        assert.strictEqual(started.labels[Labels.imageDigest], before.labels[Labels.imageDigest])

        // with its image gone too, nothing else is put in its place: the app says why and how out
        yield* engine.removeContainer("web")
        yield* rt.tagImage(before.labels[Labels.imageDigest]!, `${repo}:1.0.0`)
        yield* engine.removeImage(`${repo}:1.0.0`, { force: true })
        assert.isTrue(Option.isNone(yield* rt.imageDigest(before.labels[Labels.imageDigest]!)), "the image is gone")
        yield* reconciler.pass
        const failed = yield* store.entry(web)
        assert.deepStrictEqual(yield* rt.inspect(["web"]), [])
        assert.strictEqual(
          failed.lastError?.message,
          `cannot recreate web on 1.0.0, the release it ran: its image ${before.labels[Labels.imageDigest]} is gone; update it to move to 1.2.0`
        )
      }).pipe(Effect.provide(layer))
    }))

  // The update asked at once (usually before any scan saw the container go: the store still
  // says running), and after a scan merged the loss (the store says not-installed while the
  // user's intent still says installed). The event-driven scan runs in wall time, so under load
  // the first case used to become the second, which refused the update (NotAllowed).
  it.effect.each([{ scanned: false }, { scanned: true }])("an update of an app whose container vanished brings back the release it ran, then updates it through the health gate (seen by a scan first: $scanned)", ({ scanned }) =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const dataDir = tempDir("svc-update-vanish-gate-")
      const layer = orchestrator(defsOf([release("1.0.0")], dataDir), config(dataDir)).pipe(
        Layer.provideMerge(SimulatedRuntime.layer({ registry }))
      )
      yield* Effect.gen(function*() {
        const before = yield* installV1(dataDir)
        ;(yield* Apps).replace(defsOf([release("1.1.0")], dataDir))
        const store = yield* StateStore
        yield* (yield* SimulatedEngine).removeContainer("web")
        if (scanned) {
          yield* (yield* Scanner).scan
          assert.strictEqual((yield* store.entry(web)).state, "not-installed", "the scan shows the container gone")
        }
        const outcome = yield* runUpdate
        assert.isTrue(outcome._tag === "Failure" && outcome.failure._tag === "OperationFailed", "1.1.0 never proves healthy")
        const after = yield* container
        assert.strictEqual(after.labels[Labels.version], "1.0.0", "rolled back, not left on an unproved release")
        assert.strictEqual(after.labels[Labels.imageDigest], before.labels[Labels.imageDigest])
        const entry = yield* (yield* StateStore).entry(web)
        assert.match(entry.lastError?.message ?? "", /^update to 1\.1\.0 rolled back: health check failed 3 times/)
        assert.strictEqual(entry.state, "running", "shown as the engine shows it, never not-installed")
      }).pipe(Effect.provide(layer))
    }))

  it.effect("the recorded release survives a restart of the orchestrator while the container is gone", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const dataDir = tempDir("svc-update-vanish-restart-")
      const engine = yield* Layer.build(SimulatedRuntime.layer({ registry }))
      const before = yield* withOrchestrator(engine, defsOf([release("1.0.0")], dataDir), config(dataDir), installV1(dataDir))
      yield* Effect.flatMap(SimulatedEngine, (e) => e.removeContainer("web")).pipe(Effect.provide(engine))
      yield* withOrchestrator(
        engine,
        defsOf([release("1.2.0")], dataDir),
        config(dataDir),
        Effect.gen(function*() {
          const store = yield* StateStore
          yield* waitAdvancing(
            Effect.map(store.entry(web), (e) => e.state === "running" && e.transition === undefined),
            "web recreated and running",
            { step: "1 second", maxAdvance: "2 minutes" }
          )
          const after = yield* container
          assert.strictEqual(after.labels[Labels.version], "1.0.0")
          assert.strictEqual(after.labels[Labels.imageDigest], before.labels[Labels.imageDigest])
        })
      )
    }).pipe(Effect.scoped))
})

import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Layer, Option, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Archipelago from "../../src/services/Archipelago.js"
import type { AppId } from "../../src/domain/index.js"
import { Apps } from "../../src/services/Apps.js"
import { AppViews } from "../../src/services/AppViews.js"
import * as HookRegistry from "../../src/services/HookRegistry.js"
import { Lifecycle } from "../../src/services/Lifecycle.js"
import { SimulatedRuntime } from "../../src/testing/index.js"
import { epoch, tempDir, waitUntil } from "./harness.js"
import { makeAppsDir } from "./demoApps.js"

const layerFor = (appsDir: string, dataDir: string) =>
  Archipelago.layer({ appsDir, dataDir, shutdownGrace: 0 }).pipe(
    Layer.provideMerge(SimulatedRuntime.layer()),
    Layer.provide(HookRegistry.layerEmpty),
    Layer.provide(NodeServices.layer)
  )

describe("Archipelago.layer", () => {
  it.effect("loads the apps folder and runs the orchestrator over it", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const appsDir = makeAppsDir([{ id: "t-svc-sim", stopDelaySec: 1, stopTimeoutSec: 5, port: 28960 }])
      const dataDir = tempDir("svc-layer-")
      yield* Effect.gen(function*() {
        const views = yield* AppViews
        assert.deepStrictEqual((yield* views.list).map((v) => [v.id, v.state, v.containerName]), [
          ["t-svc-sim", "not-installed", "t-svc-sim"]
        ])
        yield* Effect.flatMap(Lifecycle, (l) => l.request("install", "t-svc-sim"))
        yield* waitUntil(Effect.map(views.list, (vs) => vs[0]!.state === "running"), "running")
        const log = (yield* views.installLog("t-svc-sim")).map((l) => l.message)
        // a local build is tagged by its version and its context's hash
        assert.isTrue(log.some((l) => /^built localhost\/archipelago\/t-svc-sim:1\.0\.0-[0-9a-f]{12}$/.test(l)), log.join("\n"))
      }).pipe(Effect.provide(layerFor(appsDir, dataDir)))
      assert.isTrue(fs.existsSync(path.join(dataDir, "state.json")))
    }))

  it.live("reloads the catalog (by call and by watching the folder): a new version is offered, a broken manifest is reported and the old catalog kept", () =>
    Effect.gen(function*() {
      const appsDir = makeAppsDir([{ id: "t-svc-reload", stopDelaySec: 0, stopTimeoutSec: 5, port: 28962 }])
      const file = path.join(appsDir, "t-svc-reload", "manifest.yml")
      const original = fs.readFileSync(file, "utf8")
      const dataDir = tempDir("svc-reload-")
      yield* Effect.gen(function*() {
        const apps = yield* Apps
        const views = yield* AppViews
        const version = () => Option.getOrThrow(apps.get("t-svc-reload")).manifest.version
        yield* Effect.flatMap(Lifecycle, (l) => l.request("install", "t-svc-reload"))
        yield* waitUntil(Effect.map(views.list, (vs) => vs[0]!.state === "running"), "running")
        const containerId = (yield* views.list)[0]!.containerId

        // a subscriber (the dashboard's push) hears of the offer at once, not at the next scan
        const offered = yield* views.changes.pipe(
          Stream.flattenIterable,
          Stream.filter((v) => v.id === "t-svc-reload" && v.updateAvailable !== null),
          Stream.runHead,
          Effect.forkChild
        )
        yield* Effect.sleep("50 millis")
        fs.writeFileSync(file, original.replace(/version: "?1\.0\.0"?/, "version: \"1.1.0\""))
        const report = yield* apps.reload
        const pushed = yield* Fiber.join(offered).pipe(Effect.timeout("10 seconds"))
        assert.deepStrictEqual(Option.map(pushed, (v) => v.updateAvailable), Option.some({ from: "1.0.0", to: "1.1.0", direction: "upgrade" as const }))
        assert.deepStrictEqual(report, { _tag: "Reloaded", apps: 1, changed: ["t-svc-reload" as AppId.AppId] })
        assert.strictEqual(version(), "1.1.0")
        const [view] = yield* views.list
        assert.deepStrictEqual(view!.updateAvailable, { from: "1.0.0", to: "1.1.0", direction: "upgrade" })
        assert.strictEqual(view!.containerId, containerId, "nothing running is touched")

        fs.writeFileSync(file, `${original}stopTimeot: 5\n`)
        const rejected = yield* apps.reload
        assert.strictEqual(rejected._tag, "Rejected")
        assert.include(rejected._tag === "Rejected" ? rejected.errors.join("\n") : "", "stopTimeot")
        assert.strictEqual(version(), "1.1.0", "the old catalog is kept")

        // the watch picks up a fixed manifest by itself
        fs.writeFileSync(file, original.replace(/version: "?1\.0\.0"?/, "version: \"1.2.0\""))
        yield* waitUntil(Effect.sync(() => version() === "1.2.0"), "the watch reloads the catalog")
      }).pipe(Effect.provide(Archipelago.layer({ appsDir, dataDir, shutdownGrace: 0, catalogWatch: "2 seconds" }).pipe(
        Layer.provideMerge(SimulatedRuntime.layer()),
        Layer.provide(HookRegistry.layerEmpty),
        Layer.provide(NodeServices.layer)
      )))
    }))

  it.effect("a broken manifest leaves the rest managed: the broken app is listed with its located errors, its intent kept", () =>
    Effect.gen(function*() {
      const appsDir = makeAppsDir([{ id: "t-svc-good", stopDelaySec: 1, stopTimeoutSec: 5, port: 28962 }])
      fs.mkdirSync(path.join(appsDir, "broken"))
      fs.writeFileSync(path.join(appsDir, "broken", "manifest.yml"), "id: broken\nname: Broken\nversion: '1'\nimage: x\nstopTimeot: 5\n")
      const dataDir = tempDir("svc-baddata-")
      // a state file recording the broken app as stopped by its owner: kept, not dropped
      fs.writeFileSync(
        path.join(dataDir, "state.json"),
        JSON.stringify({ version: 2, apps: { broken: { state: "stopped", intent: { installed: true, wantRunning: false, userStopped: true, updatedAt: 5 } } } })
      )
      const views = yield* Effect.flatMap(AppViews, (v) => v.list).pipe(Effect.provide(layerFor(appsDir, dataDir)))
      assert.deepStrictEqual(views.map((v) => [v.id, v.catalogError === undefined]), [["t-svc-good", true], ["broken", false]])
      const broken = views[1]!
      assert.include(broken.catalogError, "broken/manifest.yml:5:1 stopTimeot")
      assert.strictEqual(broken.intent.userStopped, true)
      const saved = JSON.parse(fs.readFileSync(path.join(dataDir, "state.json"), "utf8"))
      assert.strictEqual(saved.apps.broken.intent.userStopped, true)
    }))

  it.effect("fails with a typed error naming the data dir when it cannot be used", () =>
    Effect.gen(function*() {
      const appsDir = makeAppsDir([{ id: "t-svc-nodata", stopDelaySec: 1, stopTimeoutSec: 5, port: 28961 }])
      const file = path.join(tempDir("svc-notadir-"), "a-file")
      fs.writeFileSync(file, "not a directory")
      const dataDir = path.join(file, "data")
      const exit = yield* Effect.exit(Effect.provide(Effect.void, layerFor(appsDir, dataDir)))
      assert.isTrue(Exit.isFailure(exit))
      const failure = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : Option.none()
      assert.isTrue(Option.isSome(failure))
      const e = Option.getOrThrow(failure) as { _tag: string; message: string }
      assert.strictEqual(e._tag, "StateUnavailable")
      assert.include(e.message, `cannot use the data dir ${dataDir}`)
    }))
})

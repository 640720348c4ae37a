import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Result } from "effect"
import { TestClock } from "effect/testing"
import * as fs from "node:fs"
import * as path from "node:path"
import { AppEntry, AppId, Intent } from "../../src/domain/index.js"
import { CommandFailed } from "../../src/runtime/RuntimeError.js"
import { AppViews } from "../../src/services/AppViews.js"
import { Lifecycle } from "../../src/services/Lifecycle.js"
import { Orchestrator } from "../../src/services/Orchestrator.js"
import { Scanner } from "../../src/services/Scanner.js"
import { StateStore } from "../../src/services/StateStore.js"
import { SimulatedRuntime } from "../../src/testing/index.js"
import * as Settings from "../../src/manifest/Settings.js"
import * as Apps from "../../src/services/Apps.js"
import * as HookRegistry from "../../src/services/HookRegistry.js"
import { countingHooks, decodeManifest, defsOf, epoch, serviceManifest, settle, tempDir, waitAdvancing, waitUntil, withOrchestrator } from "./harness.js"

const { SimulatedEngine } = SimulatedRuntime
const alpha = AppId.make("alpha")
const stateOf = (id: AppId.AppId) => Effect.flatMap(StateStore, (s) => Effect.map(s.entry(id), (e) => e.state))
const request = (op: Parameters<Lifecycle["Service"]["request"]>[0], id: string, purge?: boolean) =>
  Effect.flatMap(Lifecycle, (l) => l.request(op, id, purge === undefined ? {} : { purge }))

const setup = (manifests: Parameters<typeof defsOf>[0], hooks?: ReturnType<typeof countingHooks>) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(epoch)
    const engine = yield* Layer.build(SimulatedRuntime.layer())
    const dataDir = tempDir("svc-life-")
    const defs = defsOf(manifests, dataDir)
    return {
      dataDir,
      run: <A, E, R>(body: Effect.Effect<A, E, R>) =>
        withOrchestrator(engine, defs, { dataDir, ...(hooks === undefined ? {} : { hooks: hooks.layer }) }, body)
    }
  })

describe("Lifecycle.request", () => {
  it.effect("answers at once; the same request twice is one operation; another op meanwhile is a Conflict", () =>
    Effect.gen(function*() {
      const { run } = yield* setup([serviceManifest("alpha", { stopTimeout: 120 }, { stopDelaySec: 60 })])
      yield* run(Effect.gen(function*() {
        const sim = yield* SimulatedEngine
        yield* request("install", "alpha")
        yield* waitUntil(Effect.map(stateOf(alpha), (s) => s === "running"), "running")
        yield* sim.resetCalls
        const first = yield* request("stop", "alpha")
        const second = yield* request("stop", "alpha")
        assert.deepStrictEqual(first, {
          appId: "alpha",
          op: "stop",
          status: "stopping",
          generation: (yield* Effect.flatMap(StateStore, (s) => s.entry(alpha))).generation!
        })
        assert.deepStrictEqual(second, first)
        const refused = yield* Effect.result(request("start", "alpha"))
        assert.isTrue(Result.isFailure(refused) && refused.failure._tag === "Conflict")
        assert.strictEqual(
          Result.isFailure(refused) ? refused.failure.message : "",
          "cannot start alpha: stop is already in progress; wait for it to finish"
        )
        yield* TestClock.adjust("61 seconds")
        yield* waitUntil(Effect.map(stateOf(alpha), (s) => s === "stopped"), "stopped")
        assert.strictEqual((yield* sim.calls).stop, 1)
      }))
    }))

  it.effect("enforces dependsOn: refuses a start without its dependency and a remove under dependents, cascades when asked", () =>
    Effect.gen(function*() {
      const { run } = yield* setup([
        serviceManifest("node"),
        serviceManifest("lightning", { dependsOn: ["node"] }),
        serviceManifest("ui", { dependsOn: ["lightning"] }),
        serviceManifest("other")
      ])
      const node = AppId.make("node")
      const lightning = AppId.make("lightning")
      const ui = AppId.make("ui")
      const message = (e: Result.Result<unknown, { readonly message: string; readonly _tag: string }>) =>
        Result.isFailure(e) ? [e.failure._tag, e.failure.message] : ["accepted", ""]
      yield* run(Effect.gen(function*() {
        assert.deepStrictEqual(message(yield* Effect.result(request("install", "lightning"))), [
          "NotAllowed",
          "cannot install lightning: it depends on node, which is not installed; install it first"
        ])
        assert.strictEqual(yield* stateOf(lightning), "not-installed", "nothing changed")
        yield* request("install", "node")
        yield* request("install", "lightning")
        yield* request("install", "ui")
        yield* request("install", "other")
        for (const id of [node, lightning, ui]) yield* waitUntil(Effect.map(stateOf(id), (s) => s === "running"), `${id} running`)
        // stop is never refused: the dependents keep running
        yield* request("stop", "node")
        yield* waitUntil(Effect.map(stateOf(node), (s) => s === "stopped"), "node stopped")
        assert.strictEqual(yield* stateOf(lightning), "running")
        yield* request("start", "node")
        yield* waitUntil(Effect.map(stateOf(node), (s) => s === "running"), "node running")

        const refused = yield* Effect.result(request("remove", "node"))
        assert.deepStrictEqual(message(refused), [
          "NotAllowed",
          "cannot remove node: ui and lightning depend on it; remove them first, or ask for a cascade to remove them too"
        ])
        assert.deepStrictEqual(Result.isFailure(refused) ? (refused.failure as { dependents?: unknown }).dependents : [], ["ui", "lightning"])
        assert.strictEqual(yield* stateOf(node), "running", "a refused remove changes nothing")
        assert.isTrue((yield* Effect.flatMap(StateStore, (st) => st.intent(node))).installed, "nor the intent")

        const accepted = yield* Effect.flatMap(Lifecycle, (l) => l.request("remove", "node", { cascade: true }))
        assert.deepStrictEqual(accepted, {
          appId: "node",
          op: "remove",
          status: "removing",
          generation: accepted.generation,
          cascade: ["ui", "lightning"]
        })
        assert.isAtLeast(accepted.generation, 3, "recorded after the install's begin and end")
        for (const id of [ui, lightning, node]) assert.strictEqual(yield* stateOf(id), "removing", `${id} shows removing at once`)
        for (const id of [node, lightning, ui]) yield* waitUntil(Effect.map(stateOf(id), (s) => s === "not-installed"), `${id} removed`)
        assert.strictEqual(yield* stateOf(AppId.make("other")), "running", "unrelated apps untouched")

        // a removed dependency: start of the dependent is refused, naming it
        yield* request("install", "node")
        yield* request("install", "lightning")
        yield* waitUntil(Effect.map(stateOf(lightning), (s) => s === "running"), "lightning running")
        yield* request("stop", "lightning")
        yield* waitUntil(Effect.map(stateOf(lightning), (s) => s === "stopped"), "lightning stopped")
        yield* Effect.flatMap(Lifecycle, (l) => l.request("remove", "node", { cascade: false })).pipe(Effect.result)
        assert.strictEqual(yield* stateOf(node), "running", "lightning, though stopped, is installed: refused")
        // lightning removed by hand leaves node free to go; then starting lightning again needs node
        yield* request("remove", "lightning")
        yield* waitUntil(Effect.map(stateOf(lightning), (s) => s === "not-installed"), "lightning removed")
        yield* request("remove", "node")
        yield* waitUntil(Effect.map(stateOf(node), (s) => s === "not-installed"), "node removed")
        assert.deepStrictEqual(message(yield* Effect.result(request("install", "ui"))), [
          "NotAllowed",
          "cannot install ui: it depends on lightning, which is not installed; install it first"
        ])
        // an installed, stopped dependent whose dependency is gone (an older state, a salvaged one)
        yield* request("install", "node")
        yield* request("install", "lightning")
        yield* waitUntil(Effect.map(stateOf(lightning), (s) => s === "running"), "lightning running again")
        yield* request("stop", "lightning")
        yield* waitUntil(Effect.map(stateOf(lightning), (s) => s === "stopped"), "lightning stopped again")
        yield* Effect.flatMap(StateStore, (st) => st.update(node, () => ({ entry: AppEntry.make(node), intent: Intent.none })))
        assert.deepStrictEqual(message(yield* Effect.result(request("start", "lightning"))), [
          "NotAllowed",
          "cannot start lightning: it depends on node, which is not installed; install it first"
        ])
        assert.strictEqual(yield* stateOf(lightning), "stopped")
      }))
    }))

  it.effect("refuses unknown apps and ops that make no sense in the state", () =>
    Effect.gen(function*() {
      const { run } = yield* setup([serviceManifest("alpha")])
      yield* run(Effect.gen(function*() {
        const unknown = yield* Effect.result(request("start", "nope"))
        assert.isTrue(Result.isFailure(unknown) && unknown.failure._tag === "UnknownApp")
        const notInstalled = yield* Effect.result(request("start", "alpha"))
        assert.isTrue(Result.isFailure(notInstalled) && notInstalled.failure._tag === "NotAllowed")
        assert.strictEqual(yield* stateOf(alpha), "not-installed")
        assert.isFalse((yield* Effect.flatMap(StateStore, (s) => s.intent(alpha))).installed, "no intent written")
      }))
    }))

  it.effect("starts an installed app whose container vanished while its user had it stopped (chaos rm-image)", () =>
    Effect.gen(function*() {
      const { run } = yield* setup([serviceManifest("alpha")])
      yield* run(Effect.gen(function*() {
        const sim = yield* SimulatedEngine
        yield* request("install", "alpha")
        yield* waitUntil(Effect.map(stateOf(alpha), (s) => s === "running"), "running")
        yield* request("stop", "alpha")
        yield* waitUntil(Effect.map(stateOf(alpha), (s) => s === "stopped"), "stopped")
        yield* sim.removeContainer("alpha")
        yield* Effect.flatMap(Scanner, (s) => s.scan)
        assert.strictEqual(yield* stateOf(alpha), "not-installed", "the scan shows the container is gone")
        const answer = yield* request("start", "alpha")
        assert.deepStrictEqual(answer, { appId: "alpha", op: "start", status: "starting", generation: answer.generation })
        assert.isAtLeast(answer.generation, 5, "after the install's and the stop's begin and end")
        yield* waitUntil(Effect.map(stateOf(alpha), (s) => s === "running"), "running again")
        const intent = yield* Effect.flatMap(StateStore, (s) => s.intent(alpha))
        assert.isTrue(intent.installed && intent.wantRunning && !intent.userStopped)
      }))
    }))

  it.effect("an installed app whose container vanished, as a scan shows it: a restart recreates it, a remove removes it, a stop is refused", () =>
    Effect.gen(function*() {
      const { run } = yield* setup([serviceManifest("alpha")])
      yield* run(Effect.gen(function*() {
        const sim = yield* SimulatedEngine
        const store = yield* StateStore
        const vanish = Effect.gen(function*() {
          yield* sim.removeContainer("alpha")
          yield* Effect.flatMap(Scanner, (s) => s.scan)
          assert.strictEqual(yield* stateOf(alpha), "not-installed", "the scan shows the container is gone")
        })
        yield* request("install", "alpha")
        yield* waitUntil(Effect.map(stateOf(alpha), (s) => s === "running"), "running")
        yield* vanish
        const stop = yield* Effect.result(request("stop", "alpha"))
        assert.isTrue(Result.isFailure(stop) && stop.failure._tag === "NotAllowed", "nothing to stop")
        assert.strictEqual((yield* request("restart", "alpha")).status, "restarting")
        yield* waitUntil(Effect.map(stateOf(alpha), (s) => s === "running"), "recreated by the restart")
        yield* vanish
        assert.strictEqual((yield* request("remove", "alpha")).status, "removing")
        yield* waitUntil(Effect.map(store.entry(alpha), (e) => e.state === "not-installed" && e.transition === undefined), "removed")
        assert.isFalse((yield* store.intent(alpha)).installed, "the user's removal is carried out, not refused")
      }))
    }))

  it.effect("a capability dependency: refused with no provider, resolved to the installed one, its endpoints handed to hooks", () =>
    Effect.gen(function*() {
      const runs: Array<HookRegistry.HookRun> = []
      const hooks = Layer.succeed(HookRegistry.HookRegistry, {
        names: ["fake"],
        consumers: {},
        run: (request) => Effect.sync(() => {
          runs.push(request)
          return { changed: false, files: [] }
        })
      })
      const node = (id: string, port: number, other?: string) =>
        serviceManifest(id, {
          ports: [{ host: port, container: 8332 }],
          provides: [{ capability: "bitcoin-node", endpoints: { rpc: 8332 } }],
          ...(other === undefined ? {} : { conflicts: [other] })
        })
      yield* TestClock.setTime(epoch)
      const engine = yield* Layer.build(SimulatedRuntime.layer())
      const dataDir = tempDir("svc-life-cap-")
      const defs = defsOf([
        node("bitcoin-core", 18332, "bitcoin-knots"),
        node("bitcoin-knots", 19332),
        serviceManifest("lnd", { dependsOn: ["bitcoin-node"], hooks: ["fake"] })
      ], dataDir)
      const lnd = AppId.make("lnd")
      yield* withOrchestrator(engine, defs, { dataDir, hooks }, Effect.gen(function*() {
        const refused = yield* Effect.result(request("install", "lnd"))
        assert.strictEqual(
          Result.isFailure(refused) ? refused.failure.message : "",
          "cannot install lnd: it depends on bitcoin-node (provided by bitcoin-core or bitcoin-knots), which is not installed; install it first"
        )
        yield* request("install", "bitcoin-knots")
        yield* request("install", "lnd")
        yield* waitUntil(Effect.map(stateOf(lnd), (s) => s === "running"), "lnd running on knots")
        const last = runs[runs.length - 1]!
        assert.strictEqual(last.appId, "lnd")
        assert.deepStrictEqual(last.providers?.map((p) => [p.name, p.appId, p.capabilities]), [[
          "bitcoin-node",
          "bitcoin-knots",
          { "bitcoin-node": { rpc: { host: "host.containers.internal", port: 19332, containerPort: 8332 } } }
        ]])
        const view = (yield* Effect.flatMap(AppViews, (v) => v.list)).find((v) => v.id === "lnd")!
        assert.deepStrictEqual(view.dependsOn, ["bitcoin-knots"], "the view names the installed provider")
        const remove = yield* Effect.result(request("remove", "bitcoin-knots"))
        assert.strictEqual(
          Result.isFailure(remove) ? remove.failure.message : "",
          "cannot remove bitcoin-knots: lnd depends on it; remove it first, or ask for a cascade to remove it too"
        )
      }))
    }))

  it.effect("refuses installing one of two conflicting alternatives while the other is installed", () =>
    Effect.gen(function*() {
      const { run } = yield* setup([
        serviceManifest("bitcoin-core", { conflicts: ["bitcoin-knots"] }),
        serviceManifest("bitcoin-knots")
      ])
      yield* run(Effect.gen(function*() {
        yield* request("install", "bitcoin-core")
        const refused = yield* Effect.result(request("install", "bitcoin-knots"))
        assert.isTrue(Result.isFailure(refused) && refused.failure._tag === "NotAllowed")
        assert.strictEqual(
          Result.isFailure(refused) ? refused.failure.message : "",
          "cannot install bitcoin-knots: it conflicts with bitcoin-core, which is installed; remove bitcoin-core first"
        )
        yield* waitUntil(Effect.map(stateOf(AppId.make("bitcoin-core")), (s) => s === "running"), "core running")
        yield* request("remove", "bitcoin-core")
        yield* waitUntil(Effect.map(stateOf(AppId.make("bitcoin-core")), (s) => s === "not-installed"), "core removed")
        assert.deepStrictEqual(yield* request("install", "bitcoin-knots"), {
          appId: "bitcoin-knots",
          op: "install",
          status: "installing",
          generation: 1
        })
      }))
    }))

  it.effect("a failed operation restores the previous state and writes the install log", () =>
    Effect.gen(function*() {
      const { run } = yield* setup([serviceManifest("alpha")])
      yield* run(Effect.gen(function*() {
        const sim = yield* SimulatedEngine
        yield* request("install", "alpha")
        yield* waitUntil(Effect.map(stateOf(alpha), (s) => s === "running"), "running")
        yield* request("stop", "alpha")
        yield* waitUntil(Effect.map(stateOf(alpha), (s) => s === "stopped"), "stopped")
        yield* sim.failNext("start", new CommandFailed({ argv: ["podman", "start", "alpha"], exitCode: 125, stderr: "boom" }))
        assert.strictEqual((yield* request("start", "alpha")).status, "starting")
        yield* waitUntil(Effect.map(Effect.flatMap(StateStore, (s) => s.entry(alpha)), (e) => e.lastError !== undefined), "failed")
        const entry = yield* Effect.flatMap(StateStore, (s) => s.entry(alpha))
        assert.strictEqual(entry.state, "stopped")
        assert.isUndefined(entry.transition)
        assert.strictEqual(entry.lastError?.op, "start")
        assert.strictEqual(entry.lastError?.message, "alpha could not start: boom\n\nboom")
        const log = yield* Effect.flatMap(AppViews, (v) => v.installLog("alpha"))
        assert.deepStrictEqual(log.at(-1), { seq: log.length, at: epoch, level: "error", message: "start failed: alpha could not start: boom\n\nboom" })
      }))
    }))

  it.effect("start runs hooks first and restarts a running app when a hook changed a file", () =>
    Effect.gen(function*() {
      let changed = false
      const hooks = countingHooks(() => changed)
      const { run } = yield* setup([serviceManifest("alpha", { hooks: ["fake"] })], hooks)
      yield* run(Effect.gen(function*() {
        const sim = yield* SimulatedEngine
        yield* request("install", "alpha")
        yield* waitUntil(Effect.map(stateOf(alpha), (s) => s === "running"), "running")
        assert.isTrue(hooks.runs() >= 1, "hooks ran before the create")
        yield* sim.resetCalls
        yield* Effect.flatMap(Orchestrator, (o) => o.start("alpha"))
        const calls = Effect.map(sim.calls, (c) => [c.stop, c.start, c.restart])
        assert.deepStrictEqual(yield* calls, [0, 0, 0], "unchanged: nothing to do")
        changed = true
        yield* Effect.flatMap(Orchestrator, (o) => o.start("alpha"))
        assert.deepStrictEqual(yield* calls, [0, 0, 1], "changed: restarted, in one engine call")
      }))
    }))

  it.effect("remove keeps the app's data unless purged", () =>
    Effect.gen(function*() {
      const { dataDir, run } = yield* setup([serviceManifest("alpha", { volumes: [{ source: "./data", target: "/data" }] })])
      yield* run(Effect.gen(function*() {
        const o = yield* Orchestrator
        yield* o.install("alpha")
        const dir = path.join(dataDir, "apps", "alpha", "data")
        assert.isTrue(fs.existsSync(dir), "bind source created")
        fs.writeFileSync(path.join(dir, "wallet.db"), "precious")
        yield* o.remove("alpha")
        assert.strictEqual(yield* stateOf(alpha), "not-installed")
        assert.strictEqual(fs.readFileSync(path.join(dir, "wallet.db"), "utf8"), "precious")
        yield* o.install("alpha")
        yield* o.remove("alpha", { purge: true })
        assert.isFalse(fs.existsSync(path.join(dataDir, "apps", "alpha")))
        yield* settle()
      }))
    }))

  it.effect("update pulls or builds again and recreates the container, keeping volumes", () =>
    Effect.gen(function*() {
      const { run } = yield* setup([serviceManifest("alpha", { volumes: [{ source: "chain", target: "/data" }] })])
      yield* run(Effect.gen(function*() {
        const sim = yield* SimulatedEngine
        const o = yield* Orchestrator
        yield* o.install("alpha")
        const before = (yield* sim.containers).find((c) => c.name === "alpha")!
        // the update is proved by a settle period (30 s without a restart) on the TestClock
        const updating = yield* Effect.forkChild(o.update("alpha"))
        // in 1 s steps, letting the update's real file I/O run between them (Effect 4's TestClock.adjust no longer waits a timer tick)
        yield* waitAdvancing(Effect.sync(() => updating.pollUnsafe() !== undefined), "the update ends", { step: "1 second", maxAdvance: "120 seconds" })
        yield* Fiber.join(updating)
        const after = (yield* sim.containers).find((c) => c.name === "alpha")!
        assert.notStrictEqual(after.id, before.id)
        assert.deepStrictEqual(after.spec.volumes, before.spec.volumes)
        assert.strictEqual(after.state, "running")
        assert.strictEqual(yield* stateOf(alpha), "running")
      }))
    }))

  it.effect("install pulls or builds a missing image, with progress in the install log", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const engine = yield* Layer.build(SimulatedRuntime.layer({ registry: ["docker.io/library/nginx:1.27"] }))
      const dataDir = tempDir("svc-fetch-")
      const appDir = tempDir("svc-fetch-app-")
      fs.writeFileSync(path.join(appDir, "Containerfile"), "FROM localhost/archipelago/base:latest\nENV MODE=demo\n")
      const settings = Settings.make({ dataDir })
      const built = decodeManifest({ id: "built", name: "Built", version: "2.0.0", build: { context: "." } })
      const pulled = decodeManifest({ id: "pulled", name: "Pulled", version: "1.27", image: "nginx:1.27" })
      const defs = [
        Apps.defOf({ manifest: built, dir: appDir, file: path.join(appDir, "manifest.yml") }, settings),
        Apps.defOf({ manifest: pulled, dir: "/apps/pulled", file: "/apps/pulled/manifest.yml" }, settings)
      ]
      yield* withOrchestrator(engine, defs, { dataDir }, Effect.gen(function*() {
        const o = yield* Orchestrator
        const views = yield* AppViews
        yield* o.install("built")
        yield* o.install("pulled")
        const buildLog = (yield* views.installLog("built")).map((l) => l.message)
        assert.deepStrictEqual(buildLog.slice(0, 4), [
          `building localhost/archipelago/built:2.0.0 from ${appDir}`,
          `STEP 1/1: simulated build of localhost/archipelago/built:2.0.0 from ${appDir}`,
          "Successfully tagged localhost/archipelago/built:2.0.0",
          "built localhost/archipelago/built:2.0.0"
        ])
        const pullLog = (yield* views.installLog("pulled")).map((l) => l.message)
        assert.deepStrictEqual(pullLog.slice(0, 2), [
          "fetching docker.io/library/nginx:1.27 (trying docker.io/library/nginx:1.27)",
          "pulling docker.io/library/nginx:1.27"
        ])
        assert.include(pullLog, "image docker.io/library/nginx:1.27 ready")
        assert.deepStrictEqual((yield* views.list).map((v) => [v.id, v.state]), [["built", "running"], ["pulled", "running"]])
        // no `image exists`: one `image inspect` said the image was missing, it was built or
        // pulled, and one more gave the digest the container is labelled with
        const calls = yield* (yield* SimulatedEngine).calls
        assert.deepStrictEqual(
          [calls.imageExists, calls.imageDigest, calls.create, calls.build, calls.pull, calls.start],
          [0, 4, 2, 1, 1, 2]
        )
      }))
    }))
})


import * as Fs from "node:fs"
import * as Path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { AppId } from "../../src/domain/index.js"
import { CommandFailed } from "../../src/runtime/RuntimeError.js"
import { ContainerRuntime } from "../../src/runtime/ContainerRuntime.js"
import { Apps } from "../../src/services/Apps.js"
import { Lifecycle } from "../../src/services/Lifecycle.js"
import { Reconciler } from "../../src/services/Reconciler.js"
import { StateStore } from "../../src/services/StateStore.js"
import { SimulatedRuntime } from "../../src/testing/index.js"
import { driveUntil, serviceManifest, settle, withSimulated } from "./harness.js"

const { SimulatedEngine } = SimulatedRuntime
const app = AppId.make("web")

const nameInUse = () =>
  new CommandFailed({
    argv: ["podman", "create", "--name", "web"],
    exitCode: 125,
    stderr: `Error: creating container storage: the container name "web" is already in use by 0123456789ab. You have to remove that container to be able to reuse that name: that name is already in use`
  })

const run = <A, E>(body: Effect.Effect<A, E, Lifecycle | StateStore | SimulatedRuntime.SimulatedEngine>) =>
  withSimulated([serviceManifest("web")], () => body, { tempPrefix: "svc-orch-" })

describe("Orchestrator app folders (simulator, TestClock)", () => {
  it.effect("creates an app's bind-mount folders 0700", () =>
    withSimulated([serviceManifest("web", { volumes: [{ source: "./www/static", target: "/var/www" }] })], (dataDir) =>
      Effect.gen(function*() {
        const store = yield* StateStore
        yield* (yield* Lifecycle).request("install", "web")
        yield* driveUntil(Effect.map(store.entry(app), (e) => e.state === "running"), "web running")
        for (const dir of ["apps", "apps/web", "apps/web/www", "apps/web/www/static"]) {
          assert.strictEqual(Fs.statSync(Path.join(dataDir, dir)).mode & 0o777, 0o700, dir)
        }
      }), { tempPrefix: "svc-orch-mode-" }))
})

describe("Orchestrator create (simulator, TestClock)", () => {
  it.effect("waits out a container name a removal still holds, without recording an error", () =>
    run(Effect.gen(function*() {
      const engine = yield* SimulatedEngine
      const store = yield* StateStore
      yield* engine.failNext("create", nameInUse())
      yield* engine.failNext("create", nameInUse())
      yield* (yield* Lifecycle).request("install", "web")
      yield* driveUntil(Effect.map(store.entry(app), (e) => e.state === "running"), "web running")
      const entry = yield* store.entry(app)
      assert.isUndefined(entry.lastError)
      assert.strictEqual((yield* engine.calls).create, 3)
    })))

  it.effect("a fresh install from a local image is four engine calls: the ownership inspect, image inspect, create, start", () =>
    run(Effect.gen(function*() {
      const engine = yield* SimulatedEngine
      const store = yield* StateStore
      yield* engine.resetCalls
      yield* (yield* Lifecycle).request("install", "web")
      yield* driveUntil(Effect.map(store.entry(app), (e) => e.state === "running" && e.transition === undefined), "web running")
      const calls = yield* engine.calls
      // one inspect refusing another instance's container (and deciding the rest), one `image
      // inspect` saying the image is here and its digest (no `image exists` first), no `rm` of a
      // container that is not there, and no inspect after the start (its answer, with the
      // create's, is the observation)
      assert.deepStrictEqual(
        [calls.inspect, calls.imageExists, calls.imageDigest, calls.remove, calls.create, calls.start],
        [1, 0, 1, 0, 1, 1]
      )
      const entry = yield* store.entry(app)
      const [container] = (yield* engine.containers).filter((c) => c.name === "web")
      assert.strictEqual(entry.observed.containerId, container!.id)
      assert.strictEqual(container!.state, "running")
      // the release is recorded as the install settles (a repair brings back this one, by digest)
      assert.match(entry.release?.digest ?? "", /^sha256:[0-9a-f]{64}$/)
    })))

  it.effect("ten installs at once share their reads: the ownership inspects and the image inspects are a few engine calls, not ten each", () =>
    withSimulated(Array.from({ length: 10 }, (_, i) => serviceManifest(`app${i}`)), () =>
      Effect.gen(function*() {
        const engine = yield* SimulatedEngine
        const store = yield* StateStore
        const lifecycle = yield* Lifecycle
        // every read takes a while, so the installs' reads overlap
        yield* engine.setLatency("inspect", "200 millis")
        yield* engine.setLatency("imageDigest", "200 millis")
        yield* engine.resetCalls
        for (let i = 0; i < 10; i++) yield* lifecycle.request("install", `app${i}`)
        // the clock stands still while the installs reach their first read (the first inspect
        // waits on the clock meanwhile): not a timed assertion, a wait in real time
        yield* settle(300)
        const all = Effect.map(store.get, (s) =>
          Array.from({ length: 10 }, (_, i) => s.entries[`app${i}`]).every((e) => e?.state === "running" && e.transition === undefined))
        yield* driveUntil(all, "ten apps running")
        const calls = yield* engine.calls
        assert.deepStrictEqual([calls.create, calls.start, calls.imageExists], [10, 10, 0])
        assert.isAtMost(calls.inspect, 3, `inspects: ${calls.inspect}`)
        assert.isAtMost(calls.imageDigest, 3, `image inspects: ${calls.imageDigest}`)
        const s = yield* store.get
        for (let i = 0; i < 10; i++) assert.match(s.entries[`app${i}`]!.release?.digest ?? "", /^sha256:/)
      }), { tempPrefix: "svc-orch-ten-" }))

  it.effect("a name that stays taken fails the install, restores the state and says why", () =>
    run(Effect.gen(function*() {
      const engine = yield* SimulatedEngine
      const store = yield* StateStore
      for (let i = 0; i < 9; i++) yield* engine.failNext("create", nameInUse())
      yield* (yield* Lifecycle).request("install", "web")
      yield* driveUntil(Effect.map(store.entry(app), (e) => e.lastError !== undefined), "the install failed")
      const entry = yield* store.entry(app)
      assert.strictEqual(entry.state, "not-installed")
      assert.include(entry.lastError!.message, "already in use")
      assert.strictEqual((yield* engine.calls).create, 9)
    })))
})

describe("Orchestrator: a container that is not ours (simulator, TestClock; issue 26)", () => {
  it.effect("an install never stops, removes or replaces a hand-made container holding the app's name, and the app says why", () =>
    withSimulated([serviceManifest("web")], () =>
      Effect.gen(function*() {
        const engine = yield* SimulatedEngine
        const rt = yield* ContainerRuntime
        const store = yield* StateStore
        const def = Option.getOrThrow((yield* Apps).get("web"))
        // `podman run -d --name web ...` by hand: the app's name, none of Archipelago's labels
        const id = yield* rt.create({ ...def.spec, labels: {} })
        yield* rt.start(id)
        yield* engine.resetCalls
        yield* (yield* Lifecycle).request("install", "web")
        yield* driveUntil(Effect.map(store.entry(app), (e) => e.lastError !== undefined && e.transition === undefined), "the install refused")
        const entry = yield* store.entry(app)
        assert.strictEqual(entry.lastError!.message, "a container named web exists and was not made by Archipelago: left alone; remove it yourself, or run `archipelago takeover web --container web` to replace it")
        const decisions = yield* Effect.flatMap(Reconciler, (r) => r.pass)
        assert.deepStrictEqual(decisions.map((d) => d.action._tag), ["Stranger"])
        const [c] = yield* rt.inspect(["web"])
        assert.deepStrictEqual([c!.id, c!.state], [id, "running"])
        const calls = yield* engine.calls
        assert.deepStrictEqual([calls.stop, calls.remove, calls.create], [0, 0, 0])
      }), { tempPrefix: "svc-orch-stranger-" }))
})

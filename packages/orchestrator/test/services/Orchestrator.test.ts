import * as Fs from "node:fs"
import * as Path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { AppId } from "../../src/domain/index.js"
import { CommandFailed } from "../../src/runtime/RuntimeError.js"
import { Lifecycle } from "../../src/services/Lifecycle.js"
import { StateStore } from "../../src/services/StateStore.js"
import { SimulatedRuntime } from "../../src/testing/index.js"
import { driveUntil, serviceManifest, withSimulated } from "./harness.js"

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
        for (const dir of ["web", "web/www", "web/www/static"]) {
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

  it.effect("a fresh install removes nothing and inspects once before its create: no `rm` of a container that is not there", () =>
    run(Effect.gen(function*() {
      const engine = yield* SimulatedEngine
      const store = yield* StateStore
      yield* (yield* Lifecycle).request("install", "web")
      yield* driveUntil(Effect.map(store.entry(app), (e) => e.state === "running"), "web running")
      const calls = yield* engine.calls
      assert.strictEqual(calls.create, 1)
      assert.strictEqual(calls.remove, 0)
      // one inspect refusing another instance's container before any work, one just before the
      // create (not asked again inside it), one observing the result
      assert.isAtMost(calls.inspect, 3)
    })))

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

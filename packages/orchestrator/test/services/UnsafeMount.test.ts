/**
 * A hostile app (issue 11): its container can write in its data folder, so it can swap a bind
 * source there for a symlink to a host path. Podman would follow it at create and at every
 * start; the orchestrator refuses with `UnsafeMount` naming the app and the path.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { AppId } from "../../src/domain/index.js"
import { Lifecycle } from "../../src/services/Lifecycle.js"
import { StateStore } from "../../src/services/StateStore.js"
import { SimulatedRuntime } from "../../src/testing/index.js"
import { driveUntil, serviceManifest, withSimulated } from "./harness.js"

const { SimulatedEngine } = SimulatedRuntime
const app = AppId.make("web")

const run = <A, E>(body: (dataDir: string) => Effect.Effect<A, E, Lifecycle | StateStore | SimulatedRuntime.SimulatedEngine>) =>
  withSimulated([serviceManifest("web", { volumes: [{ source: "./www", target: "/var/www", readOnly: true }] })], body, { tempPrefix: "svc-mount-" })

describe("bind-mount sources that are symlinks", () => {
  it.effect("an install whose bind source is a planted symlink is refused, naming the app and the path; nothing is created", () =>
    run((dataDir) =>
      Effect.gen(function*() {
        const engine = yield* SimulatedEngine
        const store = yield* StateStore
        const www = path.join(dataDir, "apps", "web", "www")
        fs.mkdirSync(path.dirname(www), { recursive: true })
        fs.symlinkSync("/etc", www)
        yield* (yield* Lifecycle).request("install", "web")
        yield* driveUntil(Effect.map(store.entry(app), (e) => e.lastError !== undefined), "the install failed")
        const entry = yield* store.entry(app)
        assert.strictEqual(entry.state, "not-installed")
        assert.include(entry.lastError!.message, `refused to mount ${www} into web: it is a symlink`)
        assert.strictEqual((yield* engine.calls).create ?? 0, 0)
      })))

  it.effect("a start after the container swapped its bind source for a symlink is refused; the app stays stopped", () =>
    run((dataDir) =>
      Effect.gen(function*() {
        const engine = yield* SimulatedEngine
        const store = yield* StateStore
        const lifecycle = yield* Lifecycle
        yield* lifecycle.request("install", "web")
        yield* driveUntil(Effect.map(store.entry(app), (e) => e.state === "running"), "web running")
        yield* lifecycle.request("stop", "web")
        yield* driveUntil(Effect.map(store.entry(app), (e) => e.state === "stopped" || e.state === "exited"), "web stopped")
        const www = path.join(dataDir, "apps", "web", "www")
        fs.rmSync(www, { recursive: true })
        fs.symlinkSync("/root", www)
        const starts = (yield* engine.calls).start
        yield* lifecycle.request("start", "web")
        yield* driveUntil(Effect.map(store.entry(app), (e) => e.lastError !== undefined), "the start failed")
        const entry = yield* store.entry(app)
        // Not started: the failed start restores the stopped state; a later scan may read the
        // container as `exited` instead, since the owner's last word was "start" (both show Start).
        assert.include(["stopped", "exited"], entry.state)
        assert.strictEqual(entry.transition, undefined)
        assert.include(entry.lastError!.message, `refused to mount ${www} into web: it is a symlink`)
        assert.strictEqual((yield* engine.calls).start, starts)
      })))
})

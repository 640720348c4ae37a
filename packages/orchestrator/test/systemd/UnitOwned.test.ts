/**
 * Unit-owned apps. Systemd is not PID 1 on this machine, so `systemctl` never runs for real
 * here: these tests prove the argv the decorator and the installer send, the mapping of
 * `systemctl show` output to container states, and (with a fake systemd that drives the
 * simulated engine as Quadlet's `podman run --rm` would) that the async lifecycle path on top
 * is unchanged: a stop answers at once with "stopping", goes through `systemctl stop`, ends
 * "stopped"; a start goes through `systemctl start`.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Result, Layer } from "effect"
import { TestClock } from "effect/testing"
import * as Fs from "node:fs"
import * as NodePath from "node:path"
import { AppId } from "../../src/domain/index.js"
import { ContainerRuntime } from "../../src/runtime/ContainerRuntime.js"
import type { Service as RuntimeService } from "../../src/runtime/ContainerRuntime.js"
import type { ContainerSpec } from "../../src/runtime/ContainerSpec.js"
import { Lifecycle } from "../../src/services/Lifecycle.js"
import { StateStore } from "../../src/services/StateStore.js"
import * as Quadlet from "../../src/systemd/Quadlet.js"
import * as QuadletInstaller from "../../src/systemd/QuadletInstaller.js"
import * as Systemctl from "../../src/systemd/Systemctl.js"
import * as UnitOwned from "../../src/systemd/UnitOwned.js"
import { SimulatedRuntime } from "../../src/testing/index.js"
import { defsOf, epoch, serviceManifest, tempDir, waitUntil, withOrchestrator } from "../services/harness.js"

describe("Systemctl argv", () => {
  it("start/stop/restart/daemon-reload/show, system and user", () => {
    assert.deepStrictEqual(Systemctl.unitArgv("system", "start", "lnd.service"), ["start", "lnd.service"])
    assert.deepStrictEqual(Systemctl.unitArgv("system", "stop", "lnd.service"), ["stop", "lnd.service"])
    assert.deepStrictEqual(Systemctl.unitArgv("user", "restart", "lnd.service"), ["--user", "restart", "lnd.service"])
    assert.deepStrictEqual(Systemctl.daemonReloadArgv("system"), ["daemon-reload"])
    assert.deepStrictEqual(Systemctl.daemonReloadArgv("user"), ["--user", "daemon-reload"])
    assert.deepStrictEqual(Systemctl.showArgv("system", ["a.service", "b.service"]), [
      "show",
      "--property=Id,LoadState,ActiveState,SubState,Result,ExecMainStatus,ExecMainPID",
      "a.service",
      "b.service"
    ])
  })
})

const show = (p: Record<string, string>) => Object.entries(p).map(([k, v]) => `${k}=${v}`).join("\n")

describe("Systemctl.unitState: what a unit's state says about its container", () => {
  const cases: ReadonlyArray<readonly [Record<string, string>, Systemctl.UnitState]> = [
    [{ ActiveState: "active", SubState: "running" }, { state: "running", missing: false }],
    [{ ActiveState: "reloading", SubState: "running" }, { state: "running", missing: false }],
    [{ ActiveState: "activating", SubState: "start" }, { state: "created", missing: false }],
    [{ ActiveState: "deactivating", SubState: "stop-sigterm" }, { state: "stopping", missing: false }],
    [{ ActiveState: "inactive", SubState: "dead", Result: "success", ExecMainStatus: "0" }, { state: "exited", exitCode: 0, missing: false }],
    [{ ActiveState: "failed", SubState: "failed", Result: "exit-code", ExecMainStatus: "137" }, { state: "exited", exitCode: 137, missing: false }],
    [{ ActiveState: "failed", SubState: "failed", Result: "timeout", ExecMainStatus: "0" }, { state: "exited", exitCode: 1, missing: false }],
    [{ LoadState: "not-found", ActiveState: "inactive", SubState: "dead" }, { state: "exited", exitCode: 0, missing: true }],
    [{ ActiveState: "maintenance" }, { state: "unknown", missing: false }]
  ]
  for (const [props, expected] of cases) {
    it(`${props.ActiveState}/${props.SubState ?? "-"}${props.LoadState === undefined ? "" : ` (${props.LoadState})`}`, () => {
      const parsed = Systemctl.parseShow(show(props))
      assert.strictEqual(parsed.length, 1)
      assert.deepStrictEqual(Systemctl.unitState(parsed[0]!), expected)
    })
  }

  it("one show for many units: one block per unit, in order", () => {
    const out = `${show({ Id: "a.service", ActiveState: "active", SubState: "running" })}\n\n${show({ Id: "b.service", ActiveState: "inactive", SubState: "dead" })}\n`
    const blocks = Systemctl.parseShow(out)
    assert.deepStrictEqual(blocks.map((b) => b.Id), ["a.service", "b.service"])
  })
})

/**
 * A fake systemd over the simulated engine: `start` does what Quadlet's generated ExecStart
 * does (`podman run --replace --rm`: create and start), `stop` what ExecStop does (stop with
 * the container's timeout, then remove); every argv is recorded.
 */
const fakeSystemd = (inner: RuntimeService, units: Map<string, ContainerSpec>) => {
  const calls: Array<ReadonlyArray<string>> = []
  const stateOf = (unit: string) =>
    Effect.gen(function*() {
      const spec = units.get(unit)
      if (spec === undefined) return { Id: unit, LoadState: "not-found", ActiveState: "inactive", SubState: "dead" }
      const found = (yield* Effect.orDie(inner.list())).find((c) => c.name === spec.name)
      return found?.state === "running"
        ? { Id: unit, LoadState: "loaded", ActiveState: "active", SubState: "running" }
        : { Id: unit, LoadState: "loaded", ActiveState: "inactive", SubState: "dead", Result: "success", ExecMainStatus: "0" }
    })
  const service: Systemctl.Service = {
    run: (argv) =>
      Effect.gen(function*() {
        calls.push(argv)
        const [verb, ...rest] = argv
        if (verb === "show") {
          const blocks = yield* Effect.forEach(rest.slice(1), stateOf)
          return { exitCode: 0, stdout: blocks.map(show).join("\n\n"), stderr: "" }
        }
        if (verb === "daemon-reload") return { exitCode: 0, stdout: "", stderr: "" }
        const spec = units.get(rest[0]!)
        if (spec === undefined) return { exitCode: 5, stdout: "", stderr: `Unit ${rest[0]} not found.` }
        if (verb === "stop" || verb === "restart") {
          yield* inner.stop(spec.name, spec.stopTimeoutSec).pipe(Effect.catch(() => Effect.void))
          yield* inner.remove(spec.name, { force: true }).pipe(Effect.catch(() => Effect.void))
        }
        if (verb === "start" || verb === "restart") {
          yield* Effect.orDie(inner.remove(spec.name, { force: true }).pipe(Effect.catchTag("ContainerNotFound", () => Effect.void)))
          yield* Effect.orDie(inner.create(spec))
          yield* Effect.orDie(inner.start(spec.name))
        }
        return { exitCode: 0, stdout: "", stderr: "" }
      })
  }
  return { service, calls }
}

const alpha = AppId.make("alpha")
const stateOf = (id: AppId.AppId) => Effect.flatMap(StateStore, (s) => Effect.map(s.entry(id), (e) => e.state))
const request = (op: "install" | "start" | "stop" | "restart", id: string) => Effect.flatMap(Lifecycle, (l) => l.request(op, id))

describe("UnitOwned: the lifecycle of a unit-owned app goes through systemctl", () => {
  it.effect("install, stop and start: async answers, transitional states, systemctl argv, no podman stop/start of its own", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const engine = yield* Layer.build(SimulatedRuntime.layer())
      const inner = Context.get(engine, ContainerRuntime)
      const dataDir = tempDir("unit-owned-")
      const defs = defsOf([serviceManifest("alpha", { stopTimeout: 30 }, { stopDelaySec: 20 })], dataDir)
      const spec = defs[0]!.spec
      const unit = Quadlet.serviceName(spec)
      const installed = new Map<string, ContainerSpec>()
      const systemd = fakeSystemd(inner, installed)
      // What QuadletInstaller.install does for real: write the units, daemon-reload.
      const install = (s: ContainerSpec) => Effect.sync(() => void installed.set(Quadlet.serviceName(s), s))
      const decorated = UnitOwned.make(inner, systemd.service, {
        units: [{ containerName: spec.name, unit, labels: spec.labels }],
        install
      })
      const ctx = Context.add(engine, ContainerRuntime, decorated)
      yield* withOrchestrator(ctx, defs, { dataDir }, Effect.gen(function*() {
        yield* request("install", "alpha")
        yield* waitUntil(Effect.map(stateOf(alpha), (s) => s === "running"), "running")
        assert.deepStrictEqual(systemd.calls.filter((c) => c[0] !== "show"), [["start", "alpha.service"]])

        const answer = yield* request("stop", "alpha")
        assert.deepStrictEqual(answer, { appId: "alpha", op: "stop", status: "stopping", generation: answer.generation })
        assert.isAbove(answer.generation, 1, "recorded after the install's begin and end")
        assert.strictEqual(yield* stateOf(alpha), "stopping")
        yield* waitUntil(Effect.sync(() => systemd.calls.some((c) => c[0] === "stop")), "systemctl stop")
        assert.strictEqual(yield* stateOf(alpha), "stopping", "held for the whole graceful stop")
        yield* TestClock.adjust("21 seconds")
        yield* waitUntil(Effect.map(stateOf(alpha), (s) => s === "stopped"), "stopped")
        assert.deepStrictEqual(systemd.calls.filter((c) => c[0] !== "show").at(-1), ["stop", "alpha.service"])
        // Quadlet's --rm: the container is gone, and the unit's state stands for it.
        const listed = yield* ContainerRuntime.pipe(Effect.flatMap((r) => r.list()))
        assert.deepStrictEqual(listed.map((c) => [c.name, c.state, c.id]), [["alpha", "exited", "unit:alpha.service"]])

        yield* request("start", "alpha")
        yield* waitUntil(Effect.map(stateOf(alpha), (s) => s === "running"), "running again")
        assert.deepStrictEqual(systemd.calls.filter((c) => c[0] !== "show").at(-1), ["start", "alpha.service"])

        // A restart is one `systemctl restart`, never a podman restart behind the unit's back.
        const sim = yield* SimulatedRuntime.SimulatedEngine
        yield* sim.resetCalls
        yield* request("restart", "alpha")
        assert.strictEqual(yield* stateOf(alpha), "restarting")
        yield* waitUntil(Effect.sync(() => systemd.calls.some((c) => c[0] === "restart")), "systemctl restart")
        yield* TestClock.adjust("21 seconds")
        yield* waitUntil(Effect.map(stateOf(alpha), (s) => s === "running"), "running after the restart")
        assert.deepStrictEqual(systemd.calls.filter((c) => c[0] !== "show").at(-1), ["restart", "alpha.service"])
        assert.strictEqual((yield* sim.calls).restart, 0, "no podman restart of a unit-owned container")
      }))
    }))

  it.effect("create of an owned container whose unit is not installed fails naming the unit", () =>
    Effect.gen(function*() {
      const engine = yield* Layer.build(SimulatedRuntime.layer())
      const inner = Context.get(engine, ContainerRuntime)
      const spec = defsOf([serviceManifest("beta")], tempDir("unit-owned-"))[0]!.spec
      const systemd = fakeSystemd(inner, new Map())
      const rt = UnitOwned.make(inner, systemd.service, { units: [{ containerName: spec.name, unit: "beta.service", labels: spec.labels }] })
      const r = yield* Effect.result(rt.create(spec))
      assert.isTrue(Result.isFailure(r) && r.failure._tag === "CommandFailed" && r.failure.message.includes("beta.service is not installed"))
      // Apps that are not unit-owned go straight to the engine.
      const other = { ...spec, name: "gamma" }
      assert.isTrue((yield* rt.create(other)).length > 0)
      assert.deepStrictEqual(systemd.calls.filter((c) => c[0] !== "show"), [])
    }).pipe(Effect.scoped))
})

describe("UnitOwned: a unit-owned container started by id", () => {
  it.effect("a start by the id a list or a create gave goes to systemctl, never to podman directly", () =>
    Effect.gen(function*() {
      const engine = yield* Layer.build(SimulatedRuntime.layer())
      const inner = Context.get(engine, ContainerRuntime)
      const spec = defsOf([serviceManifest("beta")], tempDir("unit-owned-id-"))[0]!.spec
      const installed = new Map<string, ContainerSpec>([["beta.service", spec]])
      const systemd = fakeSystemd(inner, installed)
      const rt = UnitOwned.make(inner, systemd.service, { units: [{ containerName: spec.name, unit: "beta.service", labels: spec.labels }] })
      const created = yield* rt.create(spec)
      assert.strictEqual(created, "unit:beta.service")
      yield* rt.start(created)
      const [listed] = (yield* rt.list()).filter((c) => c.name === spec.name)
      assert.strictEqual(listed!.state, "running")
      assert.notStrictEqual(listed!.id, created, "podman's own id while Quadlet's container exists")
      yield* inner.stop(spec.name, 0)
      yield* rt.start(listed!.id)
      yield* rt.restart(listed!.id, 0).pipe(Effect.catchTag("ContainerNotFound", () => Effect.void))
      assert.deepStrictEqual(systemd.calls.filter((c) => c[0] !== "show"), [
        ["start", "beta.service"],
        ["start", "beta.service"],
        ["restart", "beta.service"]
      ])
    }).pipe(Effect.scoped))
})

describe("QuadletInstaller", () => {
  const units = Result.getOrThrow(Quadlet.quadletUnit({
    name: "demo",
    image: "localhost/demo:1",
    labels: { "io.archipelago.app": "demo" },
    ports: [],
    volumes: [{ source: "demo-data", target: "/data", readOnly: false }],
    env: {},
    extraHosts: [],
    stopTimeoutSec: 10,
    restart: "always"
  }, "5.4.2"))

  it.effect("writes each file atomically, reloads once, and neither writes nor reloads when nothing changed", () =>
    Effect.gen(function*() {
      const dir = NodePath.join(tempDir("quadlet-install-"), "containers", "systemd")
      const calls: Array<ReadonlyArray<string>> = []
      const systemctl = Layer.succeed(Systemctl.Systemctl, {
        run: (argv) => Effect.sync(() => (calls.push(argv), { exitCode: 0, stdout: "", stderr: "" }))
      })
      const run = <A, E>(e: Effect.Effect<A, E, Systemctl.Systemctl | import("effect").FileSystem.FileSystem>) =>
        e.pipe(Effect.provide(Layer.merge(systemctl, NodeServices.layer)))
      const first = yield* run(QuadletInstaller.install(units, { dir }))
      assert.deepStrictEqual(first.written.map((p) => NodePath.basename(p)), ["demo.container", "demo-data.volume"])
      assert.deepStrictEqual(calls, [["daemon-reload"]])
      assert.strictEqual(Fs.readFileSync(NodePath.join(dir, "demo.container"), "utf8"), Quadlet.render(units.container))
      assert.deepStrictEqual(Fs.readdirSync(dir).sort(), ["demo-data.volume", "demo.container"], "no temp file left")
      const again = yield* run(QuadletInstaller.install(units, { dir }))
      assert.deepStrictEqual(again.written, [])
      assert.isFalse(again.reloaded)
      assert.strictEqual(calls.length, 1)
      const gone = yield* run(QuadletInstaller.uninstall(units, { dir, scope: "user" }))
      assert.strictEqual(gone.removed.length, 2)
      assert.deepStrictEqual(calls.at(-1), ["--user", "daemon-reload"])
      assert.deepStrictEqual(Fs.readdirSync(dir), [])
    }))

  it.effect("never overwrites (nor uninstalls) a unit file it did not write; its own older file is replaced", () =>
    Effect.gen(function*() {
      const dir = tempDir("quadlet-foreign-")
      const calls: Array<ReadonlyArray<string>> = []
      const systemctl = Layer.succeed(Systemctl.Systemctl, {
        run: (argv) => Effect.sync(() => (calls.push(argv), { exitCode: 0, stdout: "", stderr: "" }))
      })
      const provide = <A, E>(e: Effect.Effect<A, E, Systemctl.Systemctl | import("effect").FileSystem.FileSystem>) =>
        e.pipe(Effect.provide(Layer.merge(systemctl, NodeServices.layer)))
      const own = NodePath.join(dir, "demo.container")
      Fs.writeFileSync(own, "[Container]\nImage=localhost/mine\n")
      const refused = yield* Effect.flip(provide(QuadletInstaller.install(units, { dir })))
      assert.strictEqual(refused._tag, "InstallFailed")
      assert.strictEqual(refused.message, `cannot install Quadlet unit ${own}: it exists and was not written by Archipelago (no "# Written by Archipelago" first line): not overwritten; move it away to let Archipelago own this container`)
      assert.strictEqual(Fs.readFileSync(own, "utf8"), "[Container]\nImage=localhost/mine\n")
      assert.deepStrictEqual(calls, [], "no reload")
      const kept = yield* provide(QuadletInstaller.uninstall(units, { dir }))
      assert.deepStrictEqual(kept.removed, [])
      assert.isTrue(Fs.existsSync(own))
      // its own file of an older spec is replaced
      Fs.writeFileSync(own, Quadlet.render(units.container).replace("localhost/demo:1", "localhost/demo:0"))
      const replaced = yield* provide(QuadletInstaller.install(units, { dir }))
      assert.deepStrictEqual(replaced.written.map((p) => NodePath.basename(p)), ["demo.container", "demo-data.volume"])
      assert.strictEqual(Fs.readFileSync(own, "utf8"), Quadlet.render(units.container))
    }))

  it.effect("a failed daemon-reload is an InstallFailed naming the folder and systemd's words", () =>
    Effect.gen(function*() {
      const dir = tempDir("quadlet-install-")
      const systemctl = Layer.succeed(Systemctl.Systemctl, {
        run: () => Effect.succeed({ exitCode: 1, stdout: "", stderr: "System has not been booted with systemd as init system (PID 1). Can't operate." })
      })
      const r = yield* Effect.result(QuadletInstaller.install(units, { dir }).pipe(Effect.provide(Layer.merge(systemctl, NodeServices.layer))))
      assert.isTrue(Result.isFailure(r) && r.failure._tag === "InstallFailed" && r.failure.message.includes("PID 1") && r.failure.message.includes(dir))
    }))

  it("the rootful and rootless Quadlet folders", () => {
    assert.strictEqual(QuadletInstaller.quadletDir("system"), "/etc/containers/systemd")
    assert.strictEqual(QuadletInstaller.quadletDir("user", { HOME: "/home/u" }), "/home/u/.config/containers/systemd")
    assert.strictEqual(QuadletInstaller.quadletDir("user", { HOME: "/home/u", XDG_CONFIG_HOME: "/cfg" }), "/cfg/containers/systemd")
  })
})

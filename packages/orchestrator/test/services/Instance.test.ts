import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Logger, Scope, TestClock } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { AppId } from "../../src/domain/index.js"
import { Labels } from "../../src/runtime/ContainerSpec.js"
import * as Instance from "../../src/services/Instance.js"
import { Orchestrator } from "../../src/services/Orchestrator.js"
import { Reconciler } from "../../src/services/Reconciler.js"
import { StateStore } from "../../src/services/StateStore.js"
import { SimulatedRuntime } from "../../src/testing/index.js"
import { defsOf, epoch, serviceManifest, tempDir, withOrchestrator } from "./harness.js"

const alpha = AppId.make("alpha")

const captureLogs = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ message }) => {
    lines.push(Array.isArray(message) ? message.join(" ") : String(message))
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

describe("Instance.id", () => {
  it.effect("is created once per data dir and read back afterwards", () =>
    Effect.gen(function*() {
      const dir = tempDir("inst-id-")
      const first = yield* Instance.id(dir)
      assert.isTrue(Instance.isInstanceId(first))
      assert.strictEqual(fs.readFileSync(path.join(dir, Instance.idFile), "utf8"), `${first}\n`)
      assert.strictEqual(yield* Instance.id(dir), first)
      assert.notStrictEqual(yield* Instance.id(tempDir("inst-id-")), first)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("a malformed id is an error naming the file", () =>
    Effect.gen(function*() {
      const dir = tempDir("inst-id-")
      fs.writeFileSync(path.join(dir, Instance.idFile), "NOT AN ID\n")
      const e = yield* Effect.flip(Instance.id(dir))
      assert.strictEqual(e._tag, "InstanceError")
      assert.include(e.message, path.join(dir, Instance.idFile))
      assert.include(e.message, "malformed instance id")
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("Instance.lock", () => {
  it.effect("is held for the scope's life with the holder's pid, then released", () =>
    Effect.gen(function*() {
      const dir = tempDir("inst-lock-")
      const file = path.join(dir, Instance.lockFile)
      const scope = yield* Scope.make()
      const held = yield* Scope.extend(Instance.lock(dir, "aaaa1111"), scope)
      assert.strictEqual(held.pid, process.pid)
      const onDisk = JSON.parse(fs.readFileSync(file, "utf8"))
      assert.deepStrictEqual([onDisk.pid, onDisk.instance], [process.pid, "aaaa1111"])
      // a second holder while the first lives is refused, naming the holder
      const refused = yield* Effect.flip(Effect.scoped(Instance.lock(dir, "aaaa1111", { pid: 4242 })))
      assert.strictEqual(refused._tag, "InstanceLocked")
      assert.include(refused.message, `pid ${process.pid}`)
      assert.include(refused.message, file)
      assert.notInclude(refused.message, "\n")
      yield* Scope.close(scope, Exit.void)
      assert.isFalse(fs.existsSync(file))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("takes over a lock whose holder is gone, and says so", () =>
    Effect.gen(function*() {
      const dir = tempDir("inst-lock-")
      const file = path.join(dir, Instance.lockFile)
      fs.writeFileSync(file, JSON.stringify({ pid: 999_999_999, instance: "old0", startedAt: 1 }))
      const logs = captureLogs()
      const held = yield* Effect.scoped(Instance.lock(dir, "new0").pipe(Effect.provide(logs.layer)))
      assert.strictEqual(held.instance, "new0")
      assert.isTrue(logs.lines.some((l) => l.includes("stale lock") && l.includes("999999999")), logs.lines.join("\n"))
      // an unreadable lock file (a crash while writing it) is taken over too
      fs.writeFileSync(file, "{")
      yield* Effect.scoped(Instance.lock(dir, "new0"))
    }).pipe(Effect.provide(NodeContext.layer)))

  it("decides: refuse only a live holder", () => {
    const holder = { pid: 1, instance: "x", startedAt: 0 }
    assert.strictEqual(Instance.decideLock(holder, true), "refuse")
    assert.strictEqual(Instance.decideLock(holder, false), "takeOver")
    assert.strictEqual(Instance.decideLock(undefined, true), "takeOver")
    assert.isTrue(Instance.processAlive(process.pid))
    assert.isFalse(Instance.processAlive(999_999_999))
  })
})

describe("two instances on one engine (simulator)", () => {
  it.scoped("an instance never adopts, stops, recreates or removes another's container, and says why", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const engine = yield* Layer.build(SimulatedRuntime.layer())
      const sim = engine.unsafeMap.get(SimulatedRuntime.SimulatedEngine.key) as SimulatedRuntime.Engine
      const dirA = tempDir("inst-a-")
      const dirB = tempDir("inst-b-")
      const defsA = defsOf([serviceManifest("alpha")], dirA, "inst-aaaa")
      // B's catalog differs (another data dir, so other mounts): its hash differs too
      const defsB = defsOf([serviceManifest("alpha", { env: { B: "1" } })], dirB, "inst-bbbb")
      assert.notStrictEqual(defsA[0]!.specHash, defsB[0]!.specHash)
      assert.strictEqual(defsA[0]!.spec.labels[Labels.instance], "inst-aaaa")
      yield* withOrchestrator(engine, defsA, { dataDir: dirA }, Effect.flatMap(Orchestrator, (o) => o.install("alpha")))
      const before = (yield* sim.containers).find((c) => c.name === "alpha")!
      assert.strictEqual(before.state, "running")
      yield* sim.resetCalls
      yield* withOrchestrator(engine, defsB, { dataDir: dirB }, Effect.gen(function*() {
        const store = yield* StateStore
        const entry = yield* store.entry(alpha)
        assert.include(entry.lastError?.message ?? "", "managed by another orchestrator (instance inst-aaaa)")
        assert.strictEqual(entry.state, "not-installed", "another instance's container is not this app's")
        assert.strictEqual((yield* store.intent(alpha)).updatedAt, 0, "not adopted")
        const decisions = yield* Effect.flatMap(Reconciler, (r) => r.pass)
        assert.deepStrictEqual(decisions.map((d) => d.action._tag), ["Foreign"])
        const o = yield* Orchestrator
        const refused = yield* Effect.flip(o.perform("install", "alpha"))
        assert.include(refused.message, "managed by another orchestrator (instance inst-aaaa)")
        assert.strictEqual((yield* store.entry(alpha)).state, "not-installed")
        // the rest are refused before any work: the app is not installed here
        for (const op of ["stop", "remove", "update", "restart"] as const) yield* Effect.flip(o.perform(op, "alpha"))
      }))
      const calls = yield* sim.calls
      assert.deepStrictEqual([calls.create, calls.start, calls.stop, calls.remove], [0, 0, 0, 0])
      const after = (yield* sim.containers).find((c) => c.name === "alpha")!
      assert.deepStrictEqual([after.id, after.state], [before.id, "running"])
    }))
})

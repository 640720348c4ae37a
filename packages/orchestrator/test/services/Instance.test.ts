import * as NodeServices from "@effect/platform-node/NodeServices"
import { spawn } from "node:child_process"
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { build } from "esbuild"
import * as fc from "fast-check"
import { Context, Effect, Exit, FileSystem, Layer, Logger, Scope } from "effect"
import { TestClock } from "effect/testing"
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
  return { lines, layer: Logger.layer([logger]) }
}

// The real file system, with every write of a new file split in its two steps 30 ms apart:
// created empty, then filled.
const slowWrites = Layer.effect(
  FileSystem.FileSystem,
  Effect.map(FileSystem.FileSystem, (real): FileSystem.FileSystem => ({
    ...real,
    writeFileString: (file, data, options) =>
      real.writeFileString(file, "", options).pipe(
        Effect.andThen(Effect.sleep("30 millis")),
        Effect.andThen(real.writeFileString(file, data, { ...options, flag: "w" }))
      )
  }))
).pipe(Layer.provideMerge(NodeServices.layer))

// The real file system where the second removal or rename of a lock file waits 100 ms: the
// second of two starters that judged a lock stale acts after the first has taken it.
const lateSecondMove = Layer.effect(
  FileSystem.FileSystem,
  Effect.map(FileSystem.FileSystem, (real): FileSystem.FileSystem => {
    let moves = 0
    const late = <A, E>(file: string, op: Effect.Effect<A, E>) =>
      path.basename(file) === Instance.lockFile && ++moves === 2 ? Effect.andThen(Effect.sleep("100 millis"), op) : op
    return {
      ...real,
      remove: (file, options) => late(file, real.remove(file, options)),
      rename: (from, to) => late(from, real.rename(from, to))
    }
  })
).pipe(Layer.provideMerge(NodeServices.layer))

describe("Instance.id", () => {
  it.effect("is created once per data dir and read back afterwards", () =>
    Effect.gen(function*() {
      const dir = tempDir("inst-id-")
      const first = yield* Instance.id(dir)
      assert.isTrue(Instance.isInstanceId(first))
      assert.strictEqual(fs.readFileSync(path.join(dir, Instance.idFile), "utf8"), `${first}\n`)
      assert.strictEqual(yield* Instance.id(dir), first)
      assert.notStrictEqual(yield* Instance.id(tempDir("inst-id-")), first)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("creates a new data dir (and its missing parents) 0700, under any umask (issue 26)", () =>
    Effect.gen(function*() {
      const dir = path.join(tempDir("inst-mode-"), "nested", "data")
      const before = process.umask(0o022)
      try {
        yield* Instance.id(dir)
      } finally {
        process.umask(before)
      }
      assert.strictEqual(fs.statSync(dir).mode & 0o777, 0o700)
      assert.strictEqual(fs.statSync(path.dirname(dir)).mode & 0o777, 0o700)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("first starts at once agree on one id, the one on disk", () =>
    Effect.gen(function*() {
      const dir = tempDir("inst-id-race-")
      const ids = yield* Effect.all(Array.from({ length: 4 }, () => Instance.id(dir)), { concurrency: "unbounded" })
      const onDisk = fs.readFileSync(path.join(dir, Instance.idFile), "utf8").trim()
      assert.deepStrictEqual(ids, ids.map(() => onDisk))
      assert.deepStrictEqual(fs.readdirSync(dir), [Instance.idFile])
    }).pipe(Effect.provide(slowWrites)))

  it.effect("a malformed id is an error naming the file", () =>
    Effect.gen(function*() {
      const dir = tempDir("inst-id-")
      fs.writeFileSync(path.join(dir, Instance.idFile), "NOT AN ID\n")
      const e = yield* Effect.flip(Instance.id(dir))
      assert.strictEqual(e._tag, "InstanceError")
      assert.include(e.message, path.join(dir, Instance.idFile))
      assert.include(e.message, "malformed instance id")
    }).pipe(Effect.provide(NodeServices.layer)))
})

describe("Instance.lock", () => {
  it.effect("is held for the scope's life with the holder's pid, then released", () =>
    Effect.gen(function*() {
      const dir = tempDir("inst-lock-")
      const file = path.join(dir, Instance.lockFile)
      const scope = yield* Scope.make()
      const held = yield* Scope.provide(Instance.lock(dir, "aaaa1111"), scope)
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
    }).pipe(Effect.provide(NodeServices.layer)))

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
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("starters racing for a free lock: exactly one holds it, the others are refused naming it", () =>
    // node writes a file in two steps (open O_EXCL, then write); the file system below makes the
    // moment between them last 30 ms. A lock file created empty and filled afterwards let a
    // starter reading it in between see no holder, take the "unreadable" lock over and run too.
    Effect.gen(function*() {
      const dir = tempDir("inst-race-")
      const results = yield* Effect.all(
        Array.from({ length: 4 }, (_, i) =>
          Effect.result(Instance.lock(dir, "race0", { pid: 50_000 + i, alive: () => true }))),
        { concurrency: "unbounded" }
      )
      const held = results.filter((r) => r._tag === "Success")
      assert.strictEqual(held.length, 1, `${held.length} holders`)
      for (const r of results) if (r._tag === "Failure") assert.strictEqual(r.failure._tag, "InstanceLocked", r.failure.message)
      const onDisk = JSON.parse(fs.readFileSync(path.join(dir, Instance.lockFile), "utf8"))
      assert.strictEqual(onDisk.pid, held[0]!.success.pid)
    }).pipe(Effect.scoped, Effect.provide(slowWrites)))

  it.live("starters taking over one stale lock at once: exactly one holds it", () =>
    // Both judged the lock stale; the second's removal came after the first had taken the lock
    // and removed the first's fresh lock instead: two serves on one data dir.
    Effect.gen(function*() {
      const dir = tempDir("inst-stale-race-")
      const file = path.join(dir, Instance.lockFile)
      fs.writeFileSync(file, JSON.stringify({ pid: 999_999_999, instance: "old0", startedAt: 1 }))
      const alive = (pid: number) => pid !== 999_999_999
      const results = yield* Effect.all(
        Array.from({ length: 2 }, (_, i) => Effect.result(Instance.lock(dir, "race0", { pid: 60_000 + i, alive }))),
        { concurrency: "unbounded" }
      )
      const held = results.filter((r) => r._tag === "Success")
      assert.strictEqual(held.length, 1, `${held.length} holders`)
      for (const r of results) if (r._tag === "Failure") assert.strictEqual(r.failure._tag, "InstanceLocked", r.failure.message)
      assert.strictEqual(JSON.parse(fs.readFileSync(file, "utf8")).pid, held[0]!.success.pid)
      assert.deepStrictEqual(fs.readdirSync(dir), [Instance.lockFile])
    }).pipe(Effect.scoped, Effect.provide(lateSecondMove)))

  describe("leftovers of serves killed mid-start (real processes, kill -9)", () => {
    let bundle = ""
    beforeAll(async () => {
      bundle = path.join(tempDir("inst-churn-bundle-"), "lock-churn.mjs")
      await build({
        entryPoints: [path.join(import.meta.dirname, "fixtures", "lock-churn.ts")],
        bundle: true,
        platform: "node",
        format: "esm",
        target: "node20",
        outfile: bundle,
        logLevel: "silent",
        // @effect/platform-node's dependencies require() node built-ins
        banner: { js: `import { createRequire } from "node:module"; const require = createRequire(import.meta.url);` }
      })
    })

    const leftover = (name: string) => /^(serve\.lock|instance-id)\.(tmp|stale)-\d+-[0-9a-f]+$/.test(name) || /^\..+\.tmp-\d+-[0-9a-f]+$/.test(name)

    const churnThenKill = () =>
      new Promise<void>((resolve, reject) => {
        const child = spawn(process.execPath, [bundle, churnDir], { stdio: ["ignore", "pipe", "inherit"] })
        let ready = false
        child.once("error", reject)
        child.once("exit", (code) => (ready ? resolve() : reject(new Error(`the churning child exited ${code} before it was ready`))))
        child.stdout!.once("data", () => {
          ready = true
          setTimeout(() => child.kill("SIGKILL"), Math.random() * 30)
        })
      })
    let churnDir = ""

    /**
     * Three serves at a time start and stop in `dir` (racing for its lock, taking over the stale
     * locks of killed ones), each SIGKILLed at a random moment, until leftovers are there.
     */
    const killUntilLeftovers = async (dir: string) => {
      churnDir = dir
      for (let round = 1; round <= 100; round++) {
        await Promise.all([churnThenKill(), churnThenKill(), churnThenKill()])
        const names = fs.readdirSync(dir).filter(leftover)
        if (names.length >= 1) return { kills: round * 3, names }
      }
      throw new Error(`no leftovers after 300 kills in ${dir}`)
    }

    it("the next start removes the temp and stale files of dead serves, never a live process's", async () => {
      const dir = tempDir("inst-leftovers-")
      const { kills, names } = await killUntilLeftovers(dir)
      // a live process's files in flight (a starter between its steps) must stay
      const live = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" })
      // the other kinds a killed serve can leave, named after a process killed for real
      const dead = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" })
      await new Promise((resolve) => {
        dead.once("exit", resolve)
        dead.kill("SIGKILL")
      })
      try {
        const ofLive = [`serve.lock.tmp-${live.pid}-0a0b0c`, `serve.lock.stale-${live.pid}-0d0e0f`, `.rpc-token.tmp-${live.pid}-abcdef`]
        const ofDead = [`serve.lock.stale-${dead.pid}-0d0e0f`, `instance-id.tmp-${dead.pid}-0a0b0c`, `.rpc-token.tmp-${dead.pid}-abcdef`]
        for (const n of [...ofLive, ...ofDead]) fs.writeFileSync(path.join(dir, n), "in flight")
        const logs = captureLogs()
        await Effect.runPromise(Effect.scoped(Effect.flatMap(Instance.id(dir), (id) => Instance.lock(dir, id))).pipe(
          Effect.provide(Layer.merge(NodeServices.layer, logs.layer))
        ))
        console.info(`lock leftovers: ${names.length} after ${kills} kills (${names.map((n) => n.replace(/-\d+-[0-9a-f]+$/, "")).join(", ")})`)
        assert.deepStrictEqual(fs.readdirSync(dir).filter(leftover).sort(), [...ofLive].sort())
        assert.isTrue(logs.lines.some((l) => l.includes("removed leftovers of dead processes") && l.includes(names[0]!) && l.includes(ofDead[0]!)), logs.lines.join("\n"))
      } finally {
        live.kill("SIGKILL")
      }
    }, 300_000)
  })

  it("leftovers: only our temp and stale names, only of dead pids other than our own", () => {
    const alive = (pid: number) => pid === 200 || pid === process.pid
    const names = [
      "serve.lock.tmp-100-0a1b2c",
      "serve.lock.stale-100-0a1b2c",
      "instance-id.tmp-100-ff",
      ".state.json.tmp-100-abcdef",
      "serve.lock.tmp-200-0a1b2c",
      `serve.lock.stale-${process.pid}-0a1b2c`,
      "serve.lock",
      "instance-id",
      "state.json",
      "serve.lock.tmp-0-0a",
      "serve.lock.tmp-abc-0a",
      "other.tmp-100-0a1b2c",
      "serve.lock.stale-100-xyz"
    ]
    assert.deepStrictEqual(Instance.leftovers(names, alive), ["serve.lock.tmp-100-0a1b2c", "serve.lock.stale-100-0a1b2c", "instance-id.tmp-100-ff", ".state.json.tmp-100-abcdef"])
    fc.assert(fc.property(fc.array(fc.string()), fc.func(fc.boolean()), (ns, f) => {
      const alivePid = (pid: number) => f(pid)
      return Instance.leftovers(ns, alivePid).every((n) => ns.includes(n) && !alivePid(Number(/-(\d+)-[0-9a-f]+$/.exec(n)![1])))
    }))
  })

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
  it.effect("an instance never adopts, stops, recreates or removes another's container, and says why", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const engine = yield* Layer.build(SimulatedRuntime.layer())
      const sim = Context.get(engine, SimulatedRuntime.SimulatedEngine)
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

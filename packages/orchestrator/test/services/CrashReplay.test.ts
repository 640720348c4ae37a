/**
 * Kill at every step, on the simulator: each journaled data operation (update to a healthy and
 * to an unhealthy release, restore healthy and unhealthy, backup, remove with purge) is stopped
 * dead right after each of its journal steps is persisted (the orchestrator's scope is closed
 * while its work hangs there, as a SIGKILL leaves it), then a new orchestrator boots on the same
 * data dir and engine. Invariant: the app ends in the state its owner asked for, its data is
 * byte-identical to before the operation or to its intended result, `lastError` and the install
 * log say what happened, and nothing is left behind. The real-podman version runs the real
 * server (packages/daemon/test/chaos/CrashPoints.test.ts).
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { Deferred, Effect, Layer, Option } from "effect"
import type { Context } from "effect"
import { AppId } from "../../src/domain/index.js"
import type { ContainerRuntime } from "../../src/runtime/ContainerRuntime.js"
import { Labels } from "../../src/runtime/ContainerSpec.js"
import { ContainerRuntime as Runtime } from "../../src/runtime/ContainerRuntime.js"
import { CommandFailed } from "../../src/runtime/RuntimeError.js"
import { Backups } from "../../src/services/Backups.js"
import { InstallLog } from "../../src/services/InstallLog.js"
import { Lifecycle } from "../../src/services/Lifecycle.js"
import { StateStore } from "../../src/services/StateStore.js"
import { SimulatedRuntime } from "../../src/testing/index.js"
import type { HarnessConfig } from "./harness.js"
import { defsOf, serviceManifest, tempDir, waitUntil, withOrchestrator } from "./harness.js"

const { SimulatedEngine } = SimulatedRuntime

const web = AppId.make("web")
const repo = "registry.test/archipelago/web"
const health = { type: "cmd", command: ["true"], interval: 1, retries: 1, startPeriod: 0 }
const release = (version: string) =>
  serviceManifest("web", { version, image: `${repo}:${version}`, health, volumes: [{ source: "./www", target: "/www" }] })
const registry = [`${repo}:1.0.0`, { ref: `${repo}:1.1.0`, env: { SIM_HEALTH: "unhealthy" } }, `${repo}:1.2.0`]

type Engine = Context.Context<ContainerRuntime | SimulatedRuntime.SimulatedEngine>

interface Dirs {
  readonly dataDir: string
  readonly backupDir: string
}

const config = (dirs: Dirs, onStep?: (point: string) => Effect.Effect<void>): HarnessConfig => ({
  dataDir: dirs.dataDir,
  scanInterval: "500 millis",
  reconcileInterval: "500 millis",
  healthInterval: "500 millis",
  shutdownGrace: 0,
  settlePeriod: "1 second",
  backup: { dir: dirs.backupDir, keep: 5 },
  ...(onStep === undefined ? {} : { onStep })
})

const appsDir = (dirs: Dirs) => Path.join(dirs.dataDir, "apps")
const www = (dirs: Dirs) => Path.join(appsDir(dirs), "web", "www")
const index = (dirs: Dirs) => Path.join(www(dirs), "index.html")
const readData = (dirs: Dirs): string | undefined => Fs.existsSync(index(dirs)) ? Fs.readFileSync(index(dirs), "utf8") : undefined

const settledEntry = Effect.flatMap(StateStore, (s) =>
  Effect.map(s.entry(web), (e) => e.transition === undefined && e.journal === undefined ? e : undefined))

const request = (op: "install" | "update" | "backup" | "restore" | "remove", options: { purge?: boolean } = {}) =>
  Effect.flatMap(Lifecycle, (l) => l.request(op, web, options))

const waitSettled = Effect.gen(function*() {
  yield* waitUntil(Effect.map(settledEntry, (e) => e !== undefined), "the operation settled", 90_000, 20)
  return (yield* settledEntry)!
})

const containerVersion = Effect.gen(function*() {
  const rt = yield* Runtime
  const [c] = yield* rt.inspect(["web"])
  return c?.labels[Labels.version]
})

/** What one scenario does before, during and after the crash. */
interface Scenario {
  readonly name: string
  readonly version: string
  readonly steps: ReadonlyArray<string>
  /** Runs before the crash phase, on 1.0.0 with data "v1": backups, data changes. */
  readonly prepare?: (dirs: Dirs) => Effect.Effect<void, unknown, Lifecycle | StateStore | Backups | SimulatedRuntime.SimulatedEngine>
  readonly act: Effect.Effect<unknown, unknown, Lifecycle | SimulatedRuntime.SimulatedEngine>
  /** The data the app may hold after recovery: before the op, or its intended result. */
  readonly data: { readonly before: string | undefined; readonly after: string | undefined }
  readonly finalState: "running" | "not-installed"
  /** False: the app is not installed before the operation (an install). */
  readonly installedBefore?: boolean
}

const failHealthOnce = Effect.flatMap(SimulatedEngine, (e) =>
  e.failNext("healthcheck", new CommandFailed({ argv: ["podman", "healthcheck", "run", "web"], exitCode: 1, stderr: "unhealthy" })))

const backupThenChange = (dirs: Dirs) =>
  Effect.gen(function*() {
    yield* request("backup")
    yield* waitSettled
    Fs.writeFileSync(index(dirs), "v2\n")
  })

const scenarios: ReadonlyArray<Scenario> = [
  {
    // no journal: an install is safe to run again whole (random kill moments only)
    name: "install",
    version: "1.0.0",
    steps: [],
    installedBefore: false,
    act: request("install"),
    data: { before: undefined, after: undefined },
    finalState: "running"
  },
  {
    name: "update to a healthy release",
    version: "1.2.0",
    steps: ["update:requested", "update:fetching", "update:gating"],
    act: request("update"),
    data: { before: "v1\n", after: "v1\n" },
    finalState: "running"
  },
  {
    name: "update to an unhealthy release",
    version: "1.1.0",
    steps: ["update:gating", "update:rolling-back"],
    act: request("update"),
    data: { before: "v1\n", after: "v1\n" },
    finalState: "running"
  },
  {
    name: "restore that proves healthy",
    version: "1.0.0",
    steps: ["restore:requested", "restore:staged", "restore:swapped", "restore:committing"],
    prepare: backupThenChange,
    act: request("restore"),
    data: { before: "v2\n", after: "v1\n" },
    finalState: "running"
  },
  {
    name: "restore that fails its health gate",
    version: "1.0.0",
    steps: ["restore:reverting"],
    prepare: backupThenChange,
    act: Effect.andThen(failHealthOnce, request("restore")),
    data: { before: "v2\n", after: "v2\n" },
    finalState: "running"
  },
  {
    name: "backup of a running app",
    version: "1.0.0",
    steps: ["backup:requested", "backup:copying", "backup:written"],
    act: request("backup"),
    data: { before: "v1\n", after: "v1\n" },
    finalState: "running"
  },
  {
    name: "remove with purge",
    version: "1.0.0",
    steps: ["remove:requested", "remove:purging"],
    act: request("remove", { purge: true }),
    data: { before: "v1\n", after: undefined },
    finalState: "not-installed"
  }
]

const leftovers = (dirs: Dirs): ReadonlyArray<string> => {
  const found: Array<string> = []
  const apps = appsDir(dirs)
  for (const name of Fs.existsSync(apps) ? Fs.readdirSync(apps) : []) {
    if (/\.(previous|restore|purging)-/.test(name) || /^\.web\.(backup-staging-|archive-copy-)/.test(name)) found.push(Path.join(apps, name))
  }
  for (const name of Fs.readdirSync(dirs.dataDir)) {
    if (/^\.web\.(backup-staging-|archive-copy-)/.test(name)) found.push(Path.join(dirs.dataDir, name))
  }
  const target = Path.join(dirs.backupDir, "web")
  if (Fs.existsSync(target)) {
    for (const name of Fs.readdirSync(target)) if (/^\.(staging-|.*\.partial-|.*\.tar(\.age)?\.tmp-)/.test(name)) found.push(Path.join(target, name))
  }
  return found
}

/** Where a case kills the orchestrator: right after a journal step, or after a random delay. */
type Kill = { readonly point: string } | { readonly afterMs: number }

const describeKill = (kill: Kill) => "point" in kill ? `at ${kill.point}` : `${kill.afterMs} ms after the request`

const runCase = (scenario: Scenario, kill: Kill) =>
  Effect.gen(function*() {
    const dirs: Dirs = { dataDir: tempDir("svc-crash-"), backupDir: tempDir("svc-crash-target-") }
    const engine: Engine = yield* Layer.build(SimulatedRuntime.layer({ registry }))
    const v1 = defsOf([release("1.0.0")], dirs.dataDir)
    const target = defsOf([release(scenario.version)], dirs.dataDir)

    // 1. installed on 1.0.0 with data v1, then the scenario's preparation
    if (scenario.installedBefore !== false) {
      yield* withOrchestrator(engine, v1, config(dirs), Effect.gen(function*() {
        yield* request("install")
        const e = yield* waitSettled
        assert.strictEqual(e.state, "running")
        Fs.mkdirSync(www(dirs), { recursive: true })
        Fs.writeFileSync(index(dirs), "v1\n")
        if (scenario.prepare !== undefined) yield* scenario.prepare(dirs)
      }))
    }
    const archivesBefore = Fs.existsSync(Path.join(dirs.backupDir, "web"))
      ? Fs.readdirSync(Path.join(dirs.backupDir, "web")).filter((n) => n.endsWith(".tar"))
      : []

    // 2. the operation, killed right after `point` is persisted (or after a random delay)
    const point = "point" in kill ? kill.point : undefined
    const reached = yield* Deferred.make<void>()
    const crashAt = (p: string) => p === point ? Effect.andThen(Deferred.succeed(reached, undefined), Effect.never) : Effect.void
    yield* withOrchestrator(engine, target, config(dirs, crashAt), Effect.gen(function*() {
      yield* scenario.act
      if ("afterMs" in kill) return yield* Effect.sleep(kill.afterMs)
      yield* Deferred.await(reached).pipe(
        Effect.timeoutOrElse({ duration: "60 seconds", orElse: () => Effect.fail(new Error(`${scenario.name}: ${point} was never reached`)) })
      )
    }))
    if (point !== undefined) {
      const persisted = JSON.parse(Fs.readFileSync(Path.join(dirs.dataDir, "state.json"), "utf8"))
      assert.strictEqual(`${persisted.apps.web.journal?.op}:${persisted.apps.web.journal?.step}`, point, "the step is on disk at the crash")
    }

    // 3. a new orchestrator replays the journal
    yield* withOrchestrator(engine, target, config(dirs), Effect.gen(function*() {
      const entry = yield* waitSettled
      yield* waitUntil(
        Effect.map(Effect.flatMap(StateStore, (s) => s.entry(web)), (e) => e.state === scenario.finalState && e.transition === undefined),
        `${scenario.name} ${describeKill(kill)}: back in ${scenario.finalState}`,
        90_000,
        20
      )
      const final = yield* Effect.flatMap(StateStore, (s) => s.entry(web))
      const data = readData(dirs)
      assert.isTrue(
        data === scenario.data.before || data === scenario.data.after,
        `${scenario.name} ${describeKill(kill)}: data ${JSON.stringify(data)} is neither before nor after`
      )
      assert.deepStrictEqual(leftovers(dirs), [], `${scenario.name} ${describeKill(kill)}: nothing left behind`)
      const log = (yield* Effect.flatMap(InstallLog, (l) => l.lines("web"))).map((l) => l.message)
      if (entry.lastError !== undefined) {
        assert.isTrue(log.some((l) => l.includes(entry.lastError!.message)), `the install log says what lastError says:\n${log.join("\n")}`)
      }
      assert.isTrue(
        log.some((l) => /interrupted|resuming|recover|rolled back|proved|done/.test(l)),
        `the install log tells how it ended:\n${log.join("\n")}`
      )
      if (scenario.finalState === "running") {
        const version = yield* containerVersion
        assert.isTrue(version === "1.0.0" || version === scenario.version, `runs ${version}`)
        // a success ends on the target release; anything else names why in lastError
        if (version !== scenario.version || data !== scenario.data.after) {
          assert.isDefined(entry.lastError, `${scenario.name} ${describeKill(kill)}: an operation that did not happen says so (runs ${version}; install log:\n${log.join("\n")})`)
          assert.match(entry.lastError!.message, /interrupted|rolled back|put back|still on/)
        }
        if (entry.lastError === undefined && scenario.name.startsWith("backup")) {
          const archives = Fs.readdirSync(Path.join(dirs.backupDir, "web")).filter((n) => n.endsWith(".tar"))
          assert.strictEqual(archives.length, archivesBefore.length + 1, "a backup that says it succeeded wrote its archive")
        }
      } else {
        assert.strictEqual(final.state, "not-installed")
        assert.isFalse(Fs.existsSync(Path.join(appsDir(dirs), "web")), "the purged data is gone whole")
      }
      const backupsNow = yield* Effect.flatMap(Backups, (b) => b.list("web"))
      assert.isAtLeast(backupsNow.length, archivesBefore.length, "no archive was lost")
      void Option
    }))
  })

describe("kill at every step (simulator)", () => {
  for (const scenario of scenarios) {
    for (const point of scenario.steps) {
      it.live(`${scenario.name}, killed at ${point}: replayed to the owner's state, truthfully`, () => Effect.scoped(runCase(scenario, { point })), 180_000)
    }
  }
})

// Random kill times over every operation: CRASH_RUNS cases (npm test: 200; npm run chaos: thousands).
const randomRuns = Number(process.env["CRASH_RUNS"] ?? 200)
const arbCase = fc.tuple(
  fc.constantFrom(...scenarios),
  fc.oneof(
    { weight: 1, arbitrary: fc.constantFrom(...scenarios.flatMap((s) => s.steps)).map((point) => ({ point }) as Kill) },
    { weight: 3, arbitrary: fc.integer({ min: 0, max: 1500 }).map((afterMs) => ({ afterMs }) as Kill) }
  )
).map(([scenario, kill]) => [scenario, "point" in kill && !scenario.steps.includes(kill.point) ? { afterMs: 50 } : kill] as const)

describe("kill at random moments (simulator, model-based)", () => {
  it.live(`${randomRuns} random operations and kill times keep every invariant`, () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(arbCase, ([scenario, kill]) => Effect.runPromise(Effect.scoped(runCase(scenario, kill)))),
        { numRuns: randomRuns, ...(process.env["CRASH_SEED"] === undefined ? {} : { seed: Number(process.env["CRASH_SEED"]) }) }
      )
    ), Math.max(600_000, randomRuns * 5_000))
})

// Found by the property above: a kill after a rollback finished but before its outcome was
// recorded read, at boot, as an update "finished while we were down". The record now stays until
// the runner writes the outcome with it.
describe("kill at the end of a rolled-back update (simulator)", () => {
  it.live("killed 30-70 ms after the request, forty times: never read as done", () =>
    Effect.gen(function*() {
      const unhealthy = scenarios.find((s) => s.name === "update to an unhealthy release")!
      for (let i = 0; i < 40; i++) yield* Effect.scoped(runCase(unhealthy, { afterMs: 30 + (i % 5) * 10 }))
    }), 600_000)
})

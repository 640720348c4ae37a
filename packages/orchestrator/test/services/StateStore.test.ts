import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Result, Fiber, Logger, Option, Schedule } from "effect"
import { TestClock } from "effect/testing"
import { vi } from "vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { AppEntry, AppId, Intent, Transition } from "../../src/domain/index.js"
import * as StateStore from "../../src/services/StateStore.js"

// A gate a test can close to hold every state.json write in progress (a slow fsync); open by default.
const writes = vi.hoisted(() => ({ gate: undefined as undefined | Promise<void> }))
vi.mock("../../src/fs/SafeFile.js", async (original) => {
  const actual = await original<typeof import("../../src/fs/SafeFile.js")>()
  return {
    ...actual,
    write: (...args: Parameters<typeof actual.write>) =>
      Effect.andThen(Effect.promise(() => writes.gate ?? Promise.resolve()), actual.write(...args))
  }
})
import { epoch, tempDir } from "./harness.js"

const lnd = AppId.make("lnd")
const ui = AppId.make("lnd-ui")
const make = (dataDir: string) => StateStore.make({ dataDir, apps: [lnd, ui] }).pipe(Effect.provide(NodeServices.layer))
const captureLogs = (into: Array<string>) =>
  Logger.layer([Logger.make(({ message }) => {
    into.push(Array.isArray(message) ? message.join(" ") : String(message))
  })])
const readFile = (dataDir: string) => JSON.parse(fs.readFileSync(path.join(dataDir, "state.json"), "utf8"))

const stop = (store: StateStore.Service, now: number) =>
  store.modify(lnd, (entry, intent) =>
    Result.map(Transition.begin(entry, "stop", now, 330), (begun) =>
      [undefined, { entry: begun, intent: Intent.request(intent, "stop", now) }] as const))

describe("StateStore", () => {
  it.effect("writes the intent together with the transition before returning, and reloads both", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const dataDir = tempDir("svc-store-")
      const store = yield* make(dataDir)
      assert.deepStrictEqual(store.loadReport, { _tag: "Fresh" })
      yield* store.update(lnd, () => ({ entry: AppEntry.make(lnd, "running") }))
      yield* stop(store, epoch)
      const onDisk = readFile(dataDir)
      assert.deepStrictEqual(onDisk.apps.lnd, {
        intent: { installed: true, wantRunning: false, userStopped: true, updatedAt: epoch },
        state: "stopping",
        generation: 1,
        transition: { op: "stop", since: epoch, deadline: epoch + 360_000, previous: "running" }
      })
      assert.strictEqual((fs.statSync(path.join(dataDir, "state.json")).mode & 0o777), 0o600)
      assert.deepStrictEqual(fs.readdirSync(dataDir), ["state.json"], "no temp file left behind")
      const again = yield* make(dataDir)
      assert.deepStrictEqual(again.loadReport, { _tag: "Loaded", apps: 2 })
      const entry = yield* again.entry(lnd)
      assert.strictEqual(entry.state, "stopping")
      assert.strictEqual(entry.generation, 1, "the generation is persisted with the transition")
      assert.deepStrictEqual(entry.transition, { op: "stop", since: epoch, deadline: epoch + 360_000, previous: "running" })
      assert.isTrue((yield* again.intent(lnd)).userStopped)
      assert.deepStrictEqual(yield* again.intent(ui), Intent.none)
    }))

  it.effect("write answers with the entry as written, its generation the store's whatever the change set; a change that changes nothing answers with the entry as it is", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const store = yield* make(tempDir("svc-written-"))
      const installed = yield* store.update(lnd, () => ({ entry: AppEntry.make(lnd, "running") }))
      assert.strictEqual(installed.entry.state, "running")
      assert.strictEqual(installed.entry.generation, 0, "no request change: the generation stays")
      const [answer, written] = yield* store.write(lnd, (entry, intent) =>
        Result.map(Transition.begin(entry, "stop", epoch, 330), (begun) =>
          ["begun", { entry: { ...begun, generation: 42 }, intent: Intent.request(intent, "stop", epoch) }] as const))
      assert.strictEqual(answer, "begun")
      assert.strictEqual(written.entry.generation, 1, "the store's generation, not the one the change set")
      assert.deepStrictEqual(written.entry, yield* store.entry(lnd))
      assert.deepStrictEqual(written.intent, yield* store.intent(lnd))
      const [, same] = yield* store.write(lnd, () => Result.succeed([undefined, {}] as const))
      assert.strictEqual(same.entry, yield* store.entry(lnd))
    }))

  it.live("a change that changes nothing (the same operation again) answers without waiting for a write in progress; a real change waits for its own", () =>
    Effect.gen(function*() {
      const dataDir = tempDir("svc-nowait-")
      const store = yield* make(dataDir)
      yield* store.update(lnd, () => ({ entry: AppEntry.make(lnd, "running") }))
      let release!: () => void
      writes.gate = new Promise<void>((r) => (release = r))
      try {
        // the first stop is recorded and its write held (a slow fsync)
        const first = yield* Effect.forkChild(stop(store, 1))
        yield* Effect.flatMap(store.entry(lnd), (e) => e.state === "stopping" ? Effect.void : Effect.fail("not yet")).pipe(
          Effect.retry({ schedule: Schedule.spaced("5 millis"), times: 2000 }),
          Effect.ignore
        )
        assert.strictEqual((yield* store.entry(lnd)).state, "stopping")
        // the same stop again changes nothing (as Lifecycle asks it): answered now, not after the write
        const stopAgain = store.modify(lnd, (entry) =>
          entry.transition?.op === "stop" ? Result.succeed([entry.transition.since, {}] as const) : Result.fail("not stopping"))
        const again = yield* Effect.timeoutOption(stopAgain, "5 seconds")
        assert.deepStrictEqual(again, Option.some(1), "a no-op change must not queue behind a write in progress")
        // a refusal too (start while stopping is a conflict)
        const refused = yield* Effect.timeoutOption(
          Effect.result(store.modify(lnd, (entry) => Transition.begin(entry, "start", 3, 330).pipe(Result.map(() => [undefined, {}] as const)))),
          "5 seconds"
        )
        assert.isTrue(Option.isSome(refused) && Result.isFailure(refused.value))
        // the first is still waiting for its write: it answers only once that is done
        assert.isUndefined(first.pollUnsafe())
        release()
        writes.gate = undefined
        yield* Fiber.join(first)
        assert.strictEqual(readFile(dataDir).apps.lnd.state, "stopping")
      } finally {
        release()
        writes.gate = undefined
      }
    }))

  it.effect("the generation grows with each intent or transition change, never with observations, and survives a reload", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const dataDir = tempDir("svc-gen-")
      // a file written before generations existed: no field, read as 0
      fs.writeFileSync(path.join(dataDir, "state.json"), JSON.stringify({
        version: 1,
        apps: { lnd: { intent: { installed: true, wantRunning: true, userStopped: false, updatedAt: 1 }, state: "running" } }
      }))
      const store = yield* make(dataDir)
      // and before pending updates: version 1, migrated to 3 (and written so at once)
      assert.deepStrictEqual(store.loadReport, { _tag: "Loaded", apps: 1, migratedFrom: 1 })
      assert.strictEqual(readFile(dataDir).version, 3)
      const gen = Effect.map(store.entry(lnd), (e) => e.generation ?? 0)
      assert.strictEqual(yield* gen, 0)
      const observed = { ...AppEntry.emptyObserved, health: "healthy" as const, startedAt: epoch }
      yield* store.merge(new Map([[lnd as string, { state: "running" as const, observed }]]), yield* store.mark, epoch)
      assert.strictEqual(yield* gen, 0, "an observation is not a request change")
      yield* stop(store, epoch)
      assert.strictEqual(yield* gen, 1)
      // the stop's end, written by a function that rebuilds the entry without a generation
      yield* store.update(lnd, (e) => ({ entry: AppEntry.make(lnd, Transition.succeed(e, "stop").state) }))
      assert.strictEqual(yield* gen, 2, "the store counts on from the stored generation")
      assert.strictEqual(readFile(dataDir).apps.lnd.generation, 2)
      const again = yield* make(dataDir)
      assert.strictEqual((yield* again.entry(lnd)).generation, 2)
      assert.strictEqual(readFile(dataDir).apps["lnd-ui"].generation, undefined, "0 is not written")
    }))

  it.effect("creates a fresh data dir 0700", () =>
    Effect.gen(function*() {
      const dataDir = path.join(tempDir("svc-mode-"), "data", "dir")
      yield* make(dataDir)
      assert.strictEqual(fs.statSync(dataDir).mode & 0o777, 0o700)
      assert.strictEqual(fs.statSync(path.dirname(dataDir)).mode & 0o777, 0o700)
    }))

  it.effect("moves an unreadable file aside, reports it, and starts from scratch", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const dataDir = tempDir("svc-corrupt-")
      fs.writeFileSync(path.join(dataDir, "state.json"), "{\"version\":1,\"apps\":{\"lnd\":{\"intent\":")
      const store = yield* make(dataDir)
      assert.strictEqual(store.loadReport._tag, "Corrupt")
      assert.isFalse(StateStore.readCleanly(store.loadReport))
      const movedTo = store.loadReport._tag === "Corrupt" ? store.loadReport.movedTo : ""
      assert.strictEqual(movedTo, path.join(dataDir, "state.json.corrupt-2023-11-14T22-13-20-000Z"))
      assert.strictEqual(fs.readFileSync(movedTo, "utf8"), "{\"version\":1,\"apps\":{\"lnd\":{\"intent\":")
      assert.deepStrictEqual(yield* store.intent(lnd), Intent.none)
    }))

  it.effect("salvages every app that decodes when one field is bad, names its path, keeps the original", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const dataDir = tempDir("svc-salvage-")
      const stopped = { installed: true, wantRunning: false, userStopped: true, updatedAt: epoch - 5 }
      const removed = { installed: false, wantRunning: false, userStopped: false, updatedAt: epoch - 9 }
      // a newer version wrote a state this one does not know
      const text = JSON.stringify({
        version: 1,
        apps: { lnd: { intent: stopped, state: "hibernating" }, "lnd-ui": { intent: removed, state: "not-installed" } }
      })
      fs.writeFileSync(path.join(dataDir, "state.json"), text)
      const logs: Array<string> = []
      const store = yield* make(dataDir).pipe(Effect.provide(captureLogs(logs)))
      const report = store.loadReport
      assert.strictEqual(report._tag, "Salvaged")
      if (report._tag !== "Salvaged") return
      assert.strictEqual(report.apps, 2)
      assert.deepStrictEqual(report.problems.map((p) => p.path), ["$.apps.lnd.state"])
      assert.isFalse(StateStore.readCleanly(report))
      assert.deepStrictEqual(yield* store.intent(lnd), stopped, "the stopped intent survives")
      assert.deepStrictEqual(yield* store.intent(ui), removed, "the removed intent survives")
      assert.strictEqual(fs.readFileSync(report.movedTo, "utf8"), text, "the original is kept")
      assert.deepStrictEqual(readFile(dataDir).apps.lnd.intent, stopped, "the salvaged state is written at once")
      const warning = logs.join("\n")
      assert.include(warning, "$.apps.lnd.state")
      assert.notInclude(warning, "readonly", "no schema dump")
      assert.isBelow(warning.length, 600)
    }))

  it.effect("a state.json that is a directory is moved aside, not a crash", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const dataDir = tempDir("svc-dir-")
      fs.mkdirSync(path.join(dataDir, "state.json"))
      const store = yield* make(dataDir)
      assert.strictEqual(store.loadReport._tag, "Corrupt")
      assert.include(store.loadReport._tag === "Corrupt" ? store.loadReport.reason : "", "is a directory")
      yield* store.update(lnd, () => ({ entry: AppEntry.make(lnd, "running") }))
      assert.strictEqual(readFile(dataDir).apps.lnd.state, "running")
    }))

  it.effect("removes only the stale temp files of state.json writers at start", () =>
    Effect.gen(function*() {
      const dataDir = tempDir("svc-tmp-")
      const dead = 999_999_999 // above any pid_max
      const names = [
        `state.json.tmp-${dead}`,
        `state.json.tmp-${process.pid}`,
        `state.json.tmp-${process.ppid}`,
        "state.json.tmp-abc",
        "other.tmp-12"
      ]
      for (const name of names) fs.writeFileSync(path.join(dataDir, name), "{}")
      yield* make(dataDir)
      assert.deepStrictEqual(
        fs.readdirSync(dataDir).sort(),
        names.slice(1).sort(),
        "the dead writer's file is gone; ours, a live one's and foreign names stay"
      )
    }))

  it.effect("a symlinked state.json is not followed: read as absent, replaced by a regular file, its target untouched", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const dataDir = tempDir("svc-link-")
      const victimDir = tempDir("svc-link-victim-")
      const victim = path.join(victimDir, "shadow")
      const planted = JSON.stringify({ version: 1, apps: { lnd: { intent: { installed: true, wantRunning: true, userStopped: false, updatedAt: 1 }, state: "running" } } })
      fs.writeFileSync(victim, planted, { mode: 0o644 })
      fs.symlinkSync(victim, path.join(dataDir, "state.json"))
      const store = yield* make(dataDir)
      assert.deepStrictEqual(store.loadReport, { _tag: "Fresh" })
      assert.deepStrictEqual(yield* store.intent(lnd), Intent.none, "nothing was read through the link")
      yield* store.update(lnd, () => ({ entry: AppEntry.make(lnd, "running") }))
      yield* stop(store, epoch)
      assert.isTrue(fs.lstatSync(path.join(dataDir, "state.json")).isFile())
      assert.strictEqual(readFile(dataDir).apps.lnd.state, "stopping")
      assert.strictEqual(fs.readFileSync(victim, "utf8"), planted, "the link's target was not written")
      assert.strictEqual(fs.statSync(victim).mode & 0o777, 0o644)
    }))

  it.effect("a scan older than an operation's last write does not overwrite it", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const store = yield* make(tempDir("svc-mark-"))
      yield* store.update(lnd, () => ({ entry: AppEntry.make(lnd, "running") }))
      const mark = yield* store.mark
      // the operation lands between the scan's list() and its merge
      yield* store.update(lnd, () => ({ entry: AppEntry.make(lnd, "stopped") }))
      const running = { state: "running" as const, observed: AppEntry.emptyObserved }
      yield* store.merge(new Map([[lnd as string, running], [ui as string, AppEntry.absent]]), mark, epoch)
      assert.strictEqual((yield* store.entry(lnd)).state, "stopped")
      const fresh = yield* store.mark
      yield* store.merge(new Map([[lnd as string, running]]), fresh, epoch)
      assert.strictEqual((yield* store.entry(lnd)).state, "running")
    }))

  it.effect("a scan past a transition's deadline drops it and reports it", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const dataDir = tempDir("svc-expire-")
      const store = yield* make(dataDir)
      yield* store.update(lnd, () => ({ entry: AppEntry.make(lnd, "running") }))
      yield* stop(store, epoch)
      const exited = { state: "exited" as const, observed: AppEntry.emptyObserved }
      const live = yield* store.merge(new Map([[lnd as string, exited]]), yield* store.mark, epoch + 359_999)
      assert.deepStrictEqual(live, [])
      assert.strictEqual((yield* store.entry(lnd)).state, "stopping")
      const expired = yield* store.merge(new Map([[lnd as string, exited]]), yield* store.mark, epoch + 360_000)
      assert.deepStrictEqual(expired.map((x) => [x.appId, x.transition.op]), [["lnd", "stop"]])
      assert.strictEqual((yield* store.entry(lnd)).state, "exited")
      assert.isUndefined(readFile(dataDir).apps.lnd.transition, "the dropped transition is persisted")
      assert.isTrue(readFile(dataDir).apps.lnd.intent.userStopped, "intent kept")
    }))
})

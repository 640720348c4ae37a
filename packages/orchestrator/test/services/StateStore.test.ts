import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, TestClock } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { AppEntry, AppId, Intent, Transition } from "../../src/domain/index.js"
import * as StateStore from "../../src/services/StateStore.js"
import { epoch, tempDir } from "./harness.js"

const lnd = AppId.make("lnd")
const ui = AppId.make("lnd-ui")
const make = (dataDir: string) => StateStore.make({ dataDir, apps: [lnd, ui] }).pipe(Effect.provide(NodeContext.layer))
const readFile = (dataDir: string) => JSON.parse(fs.readFileSync(path.join(dataDir, "state.json"), "utf8"))

const stop = (store: StateStore.Service, now: number) =>
  store.modify(lnd, (entry, intent) =>
    Either.map(Transition.begin(entry, "stop", now, 330), (begun) =>
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
        transition: { op: "stop", since: epoch, deadline: epoch + 360_000, previous: "running" }
      })
      assert.strictEqual((fs.statSync(path.join(dataDir, "state.json")).mode & 0o777), 0o600)
      assert.deepStrictEqual(fs.readdirSync(dataDir), ["state.json"], "no temp file left behind")
      const again = yield* make(dataDir)
      assert.deepStrictEqual(again.loadReport, { _tag: "Loaded", apps: 2 })
      const entry = yield* again.entry(lnd)
      assert.strictEqual(entry.state, "stopping")
      assert.deepStrictEqual(entry.transition, { op: "stop", since: epoch, deadline: epoch + 360_000, previous: "running" })
      assert.isTrue((yield* again.intent(lnd)).userStopped)
      assert.deepStrictEqual(yield* again.intent(ui), Intent.none)
    }))

  it.effect("moves a corrupt file aside, reports it, and starts from scratch", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      const dataDir = tempDir("svc-corrupt-")
      fs.writeFileSync(path.join(dataDir, "state.json"), "{\"version\":1,\"apps\":{\"lnd\":{\"intent\":")
      const store = yield* make(dataDir)
      assert.strictEqual(store.loadReport._tag, "Corrupt")
      const movedTo = store.loadReport._tag === "Corrupt" ? store.loadReport.movedTo : ""
      assert.strictEqual(movedTo, path.join(dataDir, "state.json.corrupt-2023-11-14T22-13-20-000Z"))
      assert.strictEqual(fs.readFileSync(movedTo, "utf8"), "{\"version\":1,\"apps\":{\"lnd\":{\"intent\":")
      assert.deepStrictEqual(yield* store.intent(lnd), Intent.none)
      // a well-formed file with a wrong shape is corrupt too
      const other = tempDir("svc-corrupt2-")
      fs.writeFileSync(path.join(other, "state.json"), JSON.stringify({ version: 1, apps: { lnd: { state: "sleeping" } } }))
      assert.strictEqual((yield* make(other)).loadReport._tag, "Corrupt")
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

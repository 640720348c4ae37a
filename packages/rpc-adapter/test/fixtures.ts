/**
 * In-memory stand-ins for the orchestrator's Lifecycle and AppViews tags, for tests of the
 * adapter alone. The test decides when background work finishes (`complete`), so ordering can
 * be asserted without timing. Anything the fake does not implement dies loudly.
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Layer, PubSub, Ref, Stream } from "effect"
import { Apps, AppViews, Lifecycle, RuntimeError, ServiceError } from "@archipelago/orchestrator"
import { AppEntry, AppId, AppState, AppView, Intent, Op, Transition, VisualState } from "@archipelago/orchestrator/domain"
import * as ServerInfo from "../src/ServerInfo.js"

export const view = (id: string, state: AppState.AppState, extra: Partial<AppView.AppView> = {}): AppView.AppView => ({
  ...AppView.make(AppEntry.make(AppId.make(id), state), { name: id, version: "1.0.0", containerName: id, dependsOn: [] }, Intent.none),
  ...extra
})

export interface Fake {
  readonly layer: Layer.Layer<Lifecycle.Lifecycle | AppViews.AppViews | Apps.Apps | ServerInfo.ServerInfo>
  /** Every accepted or refused request, in order. */
  readonly requests: Array<{ op: string; appId: string; purge?: boolean; cascade?: boolean }>
  readonly current: () => ReadonlyArray<AppView.AppView>
  /** Finishes the operation in flight for the app: final state, a change is published. */
  readonly complete: (appId: string) => Promise<void>
  /** Publishes an arbitrary view as a change. */
  readonly emit: (v: AppView.AppView) => Promise<void>
  /** Changes the store without publishing the change (yet). */
  readonly setSilently: (v: AppView.AppView) => void
  /** Writes lines to an app's container log: followers get them. */
  readonly logLines: (appId: string, lines: ReadonlyArray<string>) => Promise<void>
  /** The app's container stops: its followers' streams end. */
  readonly endLogs: (appId: string) => Promise<void>
  /** Log follows open right now (each is an engine process in the real server). */
  readonly followers: () => number
  /** How many times `resources` sampled the engine. */
  readonly samples: () => number
}

export const makeFake = (initial: ReadonlyArray<AppView.AppView>): Fake => {
  const views = Effect.runSync(Ref.make(initial))
  const hub = Effect.runSync(PubSub.unbounded<AppView.AppView>())
  const requests: Fake["requests"] = []
  const logHub = Effect.runSync(PubSub.unbounded<{ appId: string; line?: string }>())
  let followers = 0
  let samples = 0
  const put = (v: AppView.AppView) =>
    Effect.andThen(
      Ref.update(views, (vs) => (vs.some((x) => x.id === v.id) ? vs.map((x) => (x.id === v.id ? v : x)) : [...vs, v])),
      PubSub.publish(hub, v)
    )
  const find = (appId: string) =>
    Effect.flatMap(Ref.get(views), (vs) => {
      const v = vs.find((x) => x.id === appId)
      return v === undefined ? Effect.fail(new ServiceError.UnknownApp({ appId })) : Effect.succeed(v)
    })

  const lifecycle: Lifecycle.Service = {
    request: (op, appId, options) =>
      Effect.gen(function*() {
        requests.push({ op, appId, ...(options?.purge === undefined ? {} : { purge: options.purge }), ...(options?.cascade === undefined ? {} : { cascade: options.cascade }) })
        if (op === "backup" || op === "restore") return yield* Effect.die(new Error(`fake Lifecycle: ${op} is not implemented`))
        const v = yield* find(appId)
        const entry: AppEntry.AppEntry = {
          ...AppEntry.make(AppId.make(appId), v.state),
          ...(v.transition === null ? {} : { transition: v.transition })
        }
        const begun = Transition.begin(entry, op, 1_000, 10)
        if (begun._tag === "Failure") return yield* Effect.fail(begun.failure)
        const generation = v.generation + 1
        yield* put({
          ...v,
          state: begun.success.state,
          generation,
          visualState: VisualState.ofState(begun.success.state),
          transition: begun.success.transition ?? null
        })
        return { appId, op, status: Op.acceptedStatus(op), generation }
      })
  }

  const appViews: AppViews.Service = {
    list: Ref.get(views),
    // the picture, then each published view: subscribed before the picture is read, so a view
    // published in between arrives (at worst twice, which views allow)
    changes: Stream.unwrap(Effect.gen(function*() {
      const sub = yield* PubSub.subscribe(hub)
      const picture = yield* Ref.get(views)
      return Stream.concat(Stream.make(picture), Stream.fromSubscription(sub).pipe(Stream.map((v) => [v])))
    })),
    installLog: (appId) =>
      Effect.as(find(appId), [{ seq: 1, at: 1, level: "info" as const, message: `installed ${appId}` }]),
    containerLogs: (appId, tail) =>
      Effect.flatMap(find(appId), (v) =>
        v.state === "not-installed"
          ? Effect.fail(new RuntimeError.ContainerNotFound({ name: appId }))
          : Effect.succeed(`${appId} log, last ${tail} lines\n`)),
    followLogs: (appId, tail) =>
      Stream.unwrap(Effect.gen(function*() {
        const v = yield* find(appId)
        if (v.state === "not-installed") return yield* Effect.fail(new RuntimeError.ContainerNotFound({ name: appId }))
        yield* Effect.acquireRelease(Effect.sync(() => void followers++), () => Effect.sync(() => void followers--))
        const sub = yield* PubSub.subscribe(logHub)
        return Stream.concat(
          Stream.make(`${appId} log, last ${tail} lines`),
          Stream.fromSubscription(sub).pipe(
            Stream.filter((m) => m.appId === appId),
            Stream.takeWhile((m) => m.line !== undefined),
            Stream.map((m) => m.line!)
          )
        )
      })),
    resources: Effect.gen(function*() {
      samples++
      const vs = yield* Ref.get(views)
      return {
        at: samples,
        apps: vs.filter((v) => v.state === "running").map((v) => ({
          appId: v.id,
          cpuPercent: 1.5,
          memoryBytes: 32 * 1024 ** 2,
          memoryLimitBytes: 64 * 1024 ** 2
        }))
      }
    })
  }

  return {
    layer: Layer.mergeAll(
      Layer.succeed(Lifecycle.Lifecycle, lifecycle),
      Layer.succeed(AppViews.AppViews, appViews),
      // a catalog given in code: `catalog-reload` reports there is nothing to reload
      Apps.layer([]),
      ServerInfo.layer({ engine: "simulated", engineVersion: "sim-1" })
    ),
    requests,
    current: () => Effect.runSync(Ref.get(views)),
    complete: (appId) =>
      Effect.runPromise(Effect.gen(function*() {
        const v = yield* Effect.orDie(find(appId))
        if (v.transition === null) return yield* Effect.die(new Error(`fake: nothing in flight for ${appId}`))
        const state = Op.finalState(v.transition.op, v.transition.previous)
        yield* put({ ...v, state, visualState: VisualState.ofState(state), transition: null })
      })),
    emit: (v) => Effect.runPromise(Effect.asVoid(put(v))),
    setSilently: (v) => Effect.runSync(Ref.update(views, (vs) => vs.map((x) => (x.id === v.id ? v : x)))),
    logLines: (appId, lines) => Effect.runPromise(Effect.forEach(lines, (line) => PubSub.publish(logHub, { appId, line }), { discard: true })),
    endLogs: (appId) => Effect.runPromise(Effect.asVoid(PubSub.publish(logHub, { appId }))),
    followers: () => followers,
    samples: () => samples
  }
}

export const tempDir = (prefix = "rpc-test-"): string => mkdtempSync(join(tmpdir(), prefix))

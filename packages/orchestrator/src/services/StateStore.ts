/**
 * What the orchestrator believes (entries) and what the user asked for (intents), in one
 * `SubscriptionRef`, persisted to `<dataDir>/state.json` atomically whenever an intent, a
 * transition or a final state changes. The file itself (schema, migrations, salvage, reading
 * and writing) is `StateFile`; its names are re-exported here as they always were.
 *
 * @since 0.1.0
 */
import { Context, Effect, Result, Layer, Ref, Stream, SubscriptionRef, Semaphore } from "effect"
import * as AppEntry from "../domain/AppEntry.js"
import type { AppId } from "../domain/AppId.js"
import * as Generation from "../domain/Generation.js"
import * as Intent from "../domain/Intent.js"
import * as Merge from "../domain/Merge.js"
import * as StateFile from "./StateFile.js"
import { fromPersisted, type LoadReport, type State, toPersisted } from "./StateFile.js"

export {
  /** @since 0.1.0 */
  currentVersion,
  /** @since 0.1.0 */
  decode,
  /** @since 0.1.0 */
  fileName,
  /** @since 0.1.0 */
  fromPersisted,
  /** @since 0.1.0 */
  migrations,
  /** @since 0.1.0 */
  Persisted,
  /** @since 0.1.0 */
  readCleanly,
  /** @since 0.1.0 */
  staleTempFiles,
  /** @since 0.1.0 */
  StateUnavailable,
  /** @since 0.1.0 */
  tempFileName,
  /** @since 0.1.0 */
  toPersisted
} from "./StateFile.js"
export type {
  /** @since 0.1.0 */
  Decoded,
  /** @since 0.1.0 */
  LoadReport,
  /** @since 0.1.0 */
  Migration,
  /** @since 0.1.0 */
  Problem,
  /** @since 0.1.0 */
  State
} from "./StateFile.js"

/**
 * A transition dropped by a scan because it ran past its deadline.
 *
 * @since 0.1.0
 * @category models
 */
export interface Expired {
  readonly appId: string
  readonly transition: AppEntry.Transition
}

/**
 * What a change of one app returns: the new entry and intent (either omitted to keep it).
 *
 * @since 0.1.0
 * @category models
 */
export interface Change {
  readonly entry?: AppEntry.AppEntry
  readonly intent?: Intent.Intent
}

/**
 * What the store holds for one app after a change: the entry as written (with the generation
 * the store gave it) and the intent.
 *
 * @since 0.1.0
 * @category models
 */
export interface Written {
  readonly entry: AppEntry.AppEntry
  readonly intent: Intent.Intent
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The file the state persists to. */
  readonly path: string
  readonly loadReport: LoadReport
  readonly get: Effect.Effect<State>
  /** The current state, then every change. */
  readonly changes: Stream.Stream<State>
  readonly entry: (appId: AppId) => Effect.Effect<AppEntry.AppEntry>
  readonly intent: (appId: AppId) => Effect.Effect<Intent.Intent>
  /**
   * Changes one app atomically and persists before returning. `f` may refuse with `E`; then
   * nothing changes. The store keeps the entry's generation itself: one more when the change
   * touches the intent or the transition (`Generation.advance`), whatever `f` set.
   */
  readonly modify: <A, E>(
    appId: AppId,
    f: (entry: AppEntry.AppEntry, intent: Intent.Intent) => Result.Result<readonly [A, Change], E>
  ) => Effect.Effect<A, E>
  /**
   * `modify`, answering also with what the store holds for the app after it: the entry as
   * written (its generation the store's own) and the intent. A caller reads the generation it
   * answers with here, never computes it.
   */
  readonly write: <A, E>(
    appId: AppId,
    f: (entry: AppEntry.AppEntry, intent: Intent.Intent) => Result.Result<readonly [A, Change], E>
  ) => Effect.Effect<readonly [A, Written], E>
  /** Changes one app (see `modify`); answers with the entry and intent as written. */
  readonly update: (appId: AppId, f: (entry: AppEntry.AppEntry, intent: Intent.Intent) => Change) => Effect.Effect<Written>
  /**
   * A mark taken before observing the engine; `merge` ignores apps changed since the mark, so
   * an observation older than an operation's last write never overwrites it.
   */
  readonly mark: Effect.Effect<number>
  /** True when the app changed after `mark` was taken. */
  readonly changedSince: (appId: AppId, mark: number) => Effect.Effect<boolean>
  /** Merges one scan's observations (see `Merge.merge`); returns transitions that expired. */
  readonly merge: (
    observations: ReadonlyMap<string, AppEntry.Observation>,
    mark: number,
    now: number
  ) => Effect.Effect<ReadonlyArray<Expired>>
  /** Writes the state now (also done on every relevant change). */
  readonly flush: Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class StateStore extends Context.Service<StateStore, Service>()("@archipelago/orchestrator/StateStore") {}

const sameJson = (a: unknown, b: unknown): boolean => a === b || JSON.stringify(a) === JSON.stringify(b)

/**
 * Builds the store: loads `<dataDir>/state.json` (moving a corrupt one aside), then keeps it
 * written.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: { readonly dataDir: string; readonly apps: ReadonlyArray<AppId> }) =>
  Effect.gen(function*() {
    const { file, persisted, loadReport } = yield* StateFile.load(options.dataDir)
    const initial = fromPersisted(options.apps, persisted)
    const ref = yield* SubscriptionRef.make(initial)
    const lock = yield* Semaphore.make(1)
    // A salvaged or migrated state is written at once, in the current format.
    const asRead = loadReport._tag === "Loaded" && loadReport.migratedFrom === undefined
    const written = yield* Ref.make(asRead ? JSON.stringify(toPersisted(initial)) : "")
    const epoch = yield* Ref.make(0)
    const touched = new Map<string, number>()

    const writeAtomic = (content: string) =>
      StateFile.write(options.dataDir, content)

    // Runs under `lock`, so the file always holds the latest state, in order.
    const persist = (state: State) =>
      Effect.gen(function*() {
        const content = JSON.stringify(toPersisted(state))
        if (content === (yield* Ref.get(written))) return
        yield* writeAtomic(`${content}\n`).pipe(
          Effect.tap(() => Ref.set(written, content)),
          Effect.catch((e) => Effect.logError(`could not write ${file}: ${e.message}`))
        )
      })

    const emptyFor = (id: AppId) => AppEntry.make(id)

    // What `f` decides on `state`: its answer, or the next entry and intent when they change.
    const decide = <A, E>(
      state: State,
      appId: AppId,
      f: (entry: AppEntry.AppEntry, intent: Intent.Intent) => Result.Result<readonly [A, Change], E>
    ) => {
      const entry = state.entries[appId] ?? emptyFor(appId)
      const intent = state.intents[appId] ?? Intent.none
      return Result.map(f(entry, intent), ([a, change]) => {
        const nextIntent = change.intent === undefined || sameJson(change.intent, intent) ? intent : change.intent
        const advanced = Generation.advance(entry, intent, change.entry ?? entry, nextIntent)
        const nextEntry = sameJson(advanced, entry) ? entry : advanced
        return { a, entry, intent, nextEntry, nextIntent, unchanged: nextEntry === entry && nextIntent === intent }
      })
    }

    // A change that changes nothing (an operation asked for again while in flight) or is
    // refused is answered from the state as it is, without queueing behind a write of
    // state.json in progress (an fsync can take a second on a busy disk); `f` is pure, so
    // asking it twice is safe. A real change takes the lock and is written before it returns.
    const write = <A, E>(
      appId: AppId,
      f: (entry: AppEntry.AppEntry, intent: Intent.Intent) => Result.Result<readonly [A, Change], E>
    ): Effect.Effect<readonly [A, Written], E> =>
      Effect.flatMap(SubscriptionRef.get(ref), (state) => {
        const quick = decide(state, appId, f)
        if (Result.isFailure(quick)) return Effect.fail(quick.failure)
        const { a, entry, intent, unchanged } = quick.success
        if (unchanged) return Effect.succeed([a, { entry, intent }] as const)
        return modifyLocked(appId, f)
      })

    const modify = <A, E>(
      appId: AppId,
      f: (entry: AppEntry.AppEntry, intent: Intent.Intent) => Result.Result<readonly [A, Change], E>
    ): Effect.Effect<A, E> => Effect.map(write(appId, f), ([a]) => a)

    const modifyLocked = <A, E>(
      appId: AppId,
      f: (entry: AppEntry.AppEntry, intent: Intent.Intent) => Result.Result<readonly [A, Change], E>
    ): Effect.Effect<readonly [A, Written], E> =>
      lock.withPermits(1)(Effect.gen(function*() {
        const state = yield* SubscriptionRef.get(ref)
        const decided = decide(state, appId, f)
        if (Result.isFailure(decided)) return yield* Effect.fail(decided.failure)
        const { a, entry, intent, nextEntry, nextIntent, unchanged } = decided.success
        if (!unchanged) {
          const n = yield* Ref.updateAndGet(epoch, (x) => x + 1)
          touched.set(appId, n)
          const next: State = {
            entries: nextEntry === entry ? state.entries : { ...state.entries, [appId]: nextEntry },
            intents: nextIntent === intent ? state.intents : { ...state.intents, [appId]: nextIntent }
          }
          yield* SubscriptionRef.set(ref, next)
          yield* persist(next)
        }
        return [a, { entry: nextEntry, intent: nextIntent }] as const
      }))

    const merge = (observations: ReadonlyMap<string, AppEntry.Observation>, mark: number, now: number) =>
      lock.withPermits(1)(Effect.gen(function*() {
        const state = yield* SubscriptionRef.get(ref)
        const expired: Array<Expired> = []
        let entries = state.entries
        for (const [appId, observation] of observations) {
          const existing = state.entries[appId]
          if (existing === undefined) continue
          if ((touched.get(appId) ?? 0) > mark) continue
          const merged = Merge.merge(existing, observation, now)
          if (merged.expired !== undefined) expired.push({ appId, transition: merged.expired })
          const intent = state.intents[appId] ?? Intent.none
          const entry = Generation.advance(existing, intent, merged.entry, intent)
          if (!sameJson(entry, existing)) entries = { ...entries, [appId]: entry }
        }
        if (entries !== state.entries) {
          const next: State = { entries, intents: state.intents }
          yield* SubscriptionRef.set(ref, next)
          yield* persist(next)
        }
        return expired
      }))

    if (loadReport._tag === "Salvaged" || (loadReport._tag === "Loaded" && !asRead)) {
      yield* lock.withPermits(1)(persist(initial))
    }

    const service: Service = {
      path: file,
      loadReport,
      get: SubscriptionRef.get(ref),
      changes: SubscriptionRef.changes(ref),
      entry: (appId) => Effect.map(SubscriptionRef.get(ref), (s) => s.entries[appId] ?? emptyFor(appId)),
      intent: (appId) => Effect.map(SubscriptionRef.get(ref), (s) => s.intents[appId] ?? Intent.none),
      modify,
      write,
      update: (appId, f) => Effect.map(write(appId, (e, i) => Result.succeed([undefined, f(e, i)] as const)), ([, w]) => w),
      mark: Ref.get(epoch),
      changedSince: (appId, mark) => Effect.sync(() => (touched.get(appId) ?? 0) > mark),
      merge,
      flush: lock.withPermits(1)(Effect.flatMap(SubscriptionRef.get(ref), (s) =>
        writeAtomic(`${JSON.stringify(toPersisted(s))}\n`).pipe(
          Effect.catch((e) => Effect.logError(`could not write ${file}: ${e.message}`))
        )))
    }
    return service
  })

/**
 * The store for a data dir and the apps of the catalog. Fails only when the data dir cannot be
 * created or read.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: { readonly dataDir: string; readonly apps: ReadonlyArray<AppId> }) =>
  Layer.effect(
    StateStore,
    Effect.tap(make(options), (store) => Effect.addFinalizer(() => store.flush))
  )

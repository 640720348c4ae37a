/**
 * What the orchestrator believes (entries) and what the user asked for (intents), in one
 * `SubscriptionRef`, persisted to `<dataDir>/state.json` atomically whenever an intent, a
 * transition or a final state changes.
 *
 * @since 0.1.0
 */
import { FileSystem, Path } from "@effect/platform"
import { Clock, Context, Data, Effect, Either, Layer, Ref, Schema, Stream, SubscriptionRef } from "effect"
import * as AppEntry from "../domain/AppEntry.js"
import type { AppId } from "../domain/AppId.js"
import * as AppState from "../domain/AppState.js"
import * as Intent from "../domain/Intent.js"
import * as Merge from "../domain/Merge.js"
import * as Op from "../domain/Op.js"

/**
 * Entries and intents of every app of the catalog, keyed by app id.
 *
 * @since 0.1.0
 * @category models
 */
export interface State {
  readonly entries: Readonly<Record<string, AppEntry.AppEntry>>
  readonly intents: Readonly<Record<string, Intent.Intent>>
}

/**
 * How the persisted state was found at start-up. A corrupt file is moved aside, never dropped.
 *
 * @since 0.1.0
 * @category models
 */
export type LoadReport =
  | { readonly _tag: "Fresh" }
  | { readonly _tag: "Loaded"; readonly apps: number }
  | { readonly _tag: "Corrupt"; readonly movedTo: string; readonly reason: string }

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
   * nothing changes.
   */
  readonly modify: <A, E>(
    appId: AppId,
    f: (entry: AppEntry.AppEntry, intent: Intent.Intent) => Either.Either<readonly [A, Change], E>
  ) => Effect.Effect<A, E>
  readonly update: (appId: AppId, f: (entry: AppEntry.AppEntry, intent: Intent.Intent) => Change) => Effect.Effect<void>
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
export class StateStore extends Context.Tag("@archipelago/orchestrator/StateStore")<StateStore, Service>() {}

/**
 * The state file's name inside the data dir.
 *
 * @since 0.1.0
 * @category constants
 */
export const fileName = "state.json"

// The persisted format's literals; the domain itself stays free of Schema values so browser
// bundles of it stay small.
const StateSchema = Schema.Literal(...AppState.all)
const OpSchema = Schema.Literal(...Op.all)

const TransitionSchema = Schema.Struct({
  op: OpSchema,
  since: Schema.Number,
  deadline: Schema.Number,
  previous: StateSchema
})

const PersistedApp = Schema.Struct({
  intent: Schema.Struct({
    installed: Schema.Boolean,
    wantRunning: Schema.Boolean,
    userStopped: Schema.Boolean,
    updatedAt: Schema.Number
  }),
  state: StateSchema,
  transition: Schema.optional(TransitionSchema),
  lastError: Schema.optional(Schema.Struct({
    op: Schema.Union(OpSchema, Schema.Literal("reconcile")),
    message: Schema.String,
    at: Schema.Number
  })),
  crashLoop: Schema.optional(Schema.Struct({ restarts: Schema.Number, nextAttemptAt: Schema.Number }))
})

/**
 * The schema of `state.json`.
 *
 * @since 0.1.0
 * @category models
 */
export const Persisted = Schema.Struct({
  version: Schema.Literal(1),
  apps: Schema.Record({ key: Schema.String, value: PersistedApp })
})

const decodePersisted = Schema.decodeUnknownEither(Schema.parseJson(Persisted))

/**
 * The persisted projection of a state: intents, states, transitions, last errors and
 * crash-loop records (observed fields are volatile and come back with the first scan).
 *
 * @since 0.1.0
 * @category getters
 */
export const toPersisted = (state: State): typeof Persisted.Type => {
  const apps: Record<string, typeof PersistedApp.Type> = {}
  for (const id of Object.keys(state.entries).sort()) {
    const e = state.entries[id]!
    apps[id] = {
      intent: state.intents[id] ?? Intent.none,
      state: e.state,
      ...(e.transition === undefined ? {} : { transition: e.transition }),
      ...(e.lastError === undefined ? {} : { lastError: e.lastError }),
      ...(e.crashLoop === undefined ? {} : { crashLoop: e.crashLoop })
    }
  }
  return { version: 1, apps }
}

/**
 * The initial state for the given apps from a persisted one (apps unknown to the catalog are
 * dropped; apps new to it start not installed).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromPersisted = (ids: ReadonlyArray<AppId>, persisted: typeof Persisted.Type | undefined): State => {
  const entries: Record<string, AppEntry.AppEntry> = {}
  const intents: Record<string, Intent.Intent> = {}
  for (const id of ids) {
    const p = persisted?.apps[id]
    if (p === undefined) {
      entries[id] = AppEntry.make(id)
      intents[id] = Intent.none
      continue
    }
    entries[id] = {
      ...AppEntry.make(id, p.state),
      ...(p.transition === undefined ? {} : { transition: p.transition }),
      ...(p.lastError === undefined ? {} : { lastError: p.lastError }),
      ...(p.crashLoop === undefined ? {} : { crashLoop: p.crashLoop })
    }
    intents[id] = p.intent
  }
  return { entries, intents }
}

const sameJson = (a: unknown, b: unknown): boolean => a === b || JSON.stringify(a) === JSON.stringify(b)

/**
 * The data dir or its state file cannot be read or written (permissions, a full disk).
 *
 * @since 0.1.0
 * @category errors
 */
export class StateUnavailable extends Data.TaggedError("StateUnavailable")<{
  readonly dataDir: string
  readonly reason: string
}> {
  override get message(): string {
    return `cannot use the data dir ${this.dataDir}: ${this.reason}`
  }
}

/**
 * Builds the store: loads `<dataDir>/state.json` (moving a corrupt one aside), then keeps it
 * written.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: { readonly dataDir: string; readonly apps: ReadonlyArray<AppId> }) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const file = path.join(options.dataDir, fileName)
    yield* fs.makeDirectory(options.dataDir, { recursive: true })

    const load = Effect.gen(function*() {
      if (!(yield* fs.exists(file))) return [undefined, { _tag: "Fresh" }] as const
      const text = yield* fs.readFileString(file)
      const decoded = decodePersisted(text)
      if (Either.isRight(decoded)) {
        return [decoded.right, { _tag: "Loaded", apps: Object.keys(decoded.right.apps).length }] as const
      }
      const now = yield* Clock.currentTimeMillis
      const movedTo = `${file}.corrupt-${new Date(now).toISOString().replace(/[:.]/g, "-")}`
      yield* fs.rename(file, movedTo)
      const reason = decoded.left.message.split("\n").slice(0, 3).join(" ")
      yield* Effect.logWarning(`state file ${file} is corrupt; moved aside to ${movedTo}; starting from observation`).pipe(
        Effect.annotateLogs({ reason })
      )
      return [undefined, { _tag: "Corrupt", movedTo, reason }] as const
    })
    const [persisted, loadReport] = yield* load
    const initial = fromPersisted(options.apps, persisted)
    const ref = yield* SubscriptionRef.make(initial)
    const lock = yield* Effect.makeSemaphore(1)
    const written = yield* Ref.make(persisted === undefined ? "" : JSON.stringify(toPersisted(initial)))
    const epoch = yield* Ref.make(0)
    const touched = new Map<string, number>()

    const writeAtomic = (content: string) =>
      Effect.scoped(Effect.gen(function*() {
        const tmp = `${file}.tmp-${process.pid}`
        const handle = yield* fs.open(tmp, { flag: "w", mode: 0o600 })
        yield* handle.writeAll(new TextEncoder().encode(content))
        yield* handle.sync
        yield* fs.rename(tmp, file)
        const dir = yield* fs.open(options.dataDir, { flag: "r" })
        yield* dir.sync.pipe(Effect.ignore)
      }))

    // Runs under `lock`, so the file always holds the latest state, in order.
    const persist = (state: State) =>
      Effect.gen(function*() {
        const content = JSON.stringify(toPersisted(state))
        if (content === (yield* Ref.get(written))) return
        yield* writeAtomic(`${content}\n`).pipe(
          Effect.tap(() => Ref.set(written, content)),
          Effect.catchAll((e) => Effect.logError(`could not write ${file}: ${e.message}`))
        )
      })

    const emptyFor = (id: AppId) => AppEntry.make(id)

    const modify = <A, E>(
      appId: AppId,
      f: (entry: AppEntry.AppEntry, intent: Intent.Intent) => Either.Either<readonly [A, Change], E>
    ): Effect.Effect<A, E> =>
      lock.withPermits(1)(Effect.gen(function*() {
        const state = yield* SubscriptionRef.get(ref)
        const entry = state.entries[appId] ?? emptyFor(appId)
        const intent = state.intents[appId] ?? Intent.none
        const result = f(entry, intent)
        if (Either.isLeft(result)) return yield* Effect.fail(result.left)
        const [a, change] = result.right
        const nextEntry = change.entry === undefined || sameJson(change.entry, entry) ? entry : change.entry
        const nextIntent = change.intent === undefined || sameJson(change.intent, intent) ? intent : change.intent
        if (nextEntry !== entry || nextIntent !== intent) {
          const n = yield* Ref.updateAndGet(epoch, (x) => x + 1)
          touched.set(appId, n)
          const next: State = {
            entries: nextEntry === entry ? state.entries : { ...state.entries, [appId]: nextEntry },
            intents: nextIntent === intent ? state.intents : { ...state.intents, [appId]: nextIntent }
          }
          yield* SubscriptionRef.set(ref, next)
          yield* persist(next)
        }
        return a
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
          if (!sameJson(merged.entry, existing)) entries = { ...entries, [appId]: merged.entry }
        }
        if (entries !== state.entries) {
          const next: State = { entries, intents: state.intents }
          yield* SubscriptionRef.set(ref, next)
          yield* persist(next)
        }
        return expired
      }))

    const service: Service = {
      path: file,
      loadReport,
      get: SubscriptionRef.get(ref),
      changes: ref.changes,
      entry: (appId) => Effect.map(SubscriptionRef.get(ref), (s) => s.entries[appId] ?? emptyFor(appId)),
      intent: (appId) => Effect.map(SubscriptionRef.get(ref), (s) => s.intents[appId] ?? Intent.none),
      modify,
      update: (appId, f) => modify(appId, (e, i) => Either.right([undefined, f(e, i)] as const)),
      mark: Ref.get(epoch),
      changedSince: (appId, mark) => Effect.sync(() => (touched.get(appId) ?? 0) > mark),
      merge,
      flush: lock.withPermits(1)(Effect.flatMap(SubscriptionRef.get(ref), (s) =>
        writeAtomic(`${JSON.stringify(toPersisted(s))}\n`).pipe(
          Effect.catchAll((e) => Effect.logError(`could not write ${file}: ${e.message}`))
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
  Layer.scoped(
    StateStore,
    Effect.tap(make(options), (store) => Effect.addFinalizer(() => store.flush))
  )

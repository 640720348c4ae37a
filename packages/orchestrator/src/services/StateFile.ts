/**
 * The state file, `<dataDir>/state.json`: its persisted schema, the forward migrations, the
 * salvaging decoder, the projection of the store's state to and from it, the cleanup of temp
 * files crashed writers left, reading it at start-up (moving a corrupt one aside) and the atomic
 * write. `StateStore` holds the state in memory and uses this module for every byte on disk.
 *
 * A little over 500 lines: the schema, its migrations and the salvaging decoder describe one
 * format and are read together.
 *
 * @since 0.1.0
 */
import * as NodePath from "node:path"
import { Clock, Data, Effect, Result, Option, Schema, SchemaAST, SchemaIssue } from "effect"
import * as SchemaIssues from "../schema/SchemaIssues.js"
import * as AppEntry from "../domain/AppEntry.js"
import type { AppId } from "../domain/AppId.js"
import * as AppState from "../domain/AppState.js"
import * as Generation from "../domain/Generation.js"
import * as Intent from "../domain/Intent.js"
import * as Journal from "../domain/Journal.js"
import * as Op from "../domain/Op.js"
import * as Fs from "../fs/internal/Files.js"
import * as SafeFile from "../fs/SafeFile.js"

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
  | { readonly _tag: "Loaded"; readonly apps: number; readonly migratedFrom?: number }
  | {
    readonly _tag: "Salvaged"
    readonly apps: number
    readonly movedTo: string
    readonly problems: ReadonlyArray<Problem>
  }
  | { readonly _tag: "Corrupt"; readonly movedTo: string; readonly reason: string }

/**
 * One part of `state.json` that could not be read, by its JSON path (`$.apps.lnd.state`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Problem {
  readonly path: string
  readonly message: string
}

/**
 * True when the state file was read as written (or there was none): every recorded intent is
 * known. First-start automation (`serve --install`) acts only then, so a decision lost with a
 * corrupt file is never undone.
 *
 * @since 0.1.0
 * @category guards
 */
export const readCleanly = (report: LoadReport): boolean => report._tag === "Fresh" || report._tag === "Loaded"

/**
 * The state file's name inside the data dir.
 *
 * @since 0.1.0
 * @category constants
 */
export const fileName = "state.json"

// The persisted format's literals; the domain itself stays free of Schema values so browser
// bundles of it stay small.
const StateSchema = Schema.Literals(AppState.all)
const OpSchema = Schema.Literals(Op.all)

const TransitionSchema = Schema.Struct({
  op: OpSchema,
  since: Schema.Number,
  deadline: Schema.Number,
  previous: StateSchema
})

// A release an app ran (`AppEntry.Release`): an update's `from`, and the last one seen.
const PersistedRelease = Schema.Struct({ version: Schema.String, image: Schema.String, digest: Schema.String })

const UpdateTarget = Schema.Struct({ version: Schema.String, image: Schema.String, digest: Schema.optionalKey(Schema.String) })
const SwapRecordSchema = Schema.Struct({
  live: Schema.String,
  fresh: Schema.String,
  previous: Schema.String,
  volume: Schema.optionalKey(Schema.String)
})
const opt = <S extends Schema.Top>(s: S) => Schema.optionalKey(s)

// The journal's records (`Journal.Entry`), one struct per journaled op.
const JournalSchema = Schema.Union([Schema.Struct({
    op: Schema.Literal("update"),
    step: Schema.Literals(Journal.steps.update),
    since: Schema.Number,
    to: UpdateTarget,
    from: opt(PersistedRelease),
    reason: opt(Schema.String)
  }), Schema.Struct({
    op: Schema.Literal("restore"),
    step: Schema.Literals(Journal.steps.restore),
    since: Schema.Number,
    archive: opt(Schema.String),
    wasRunning: opt(Schema.Boolean),
    swaps: opt(Schema.Array(SwapRecordSchema)),
    reason: opt(Schema.String)
  }), Schema.Struct({
    op: Schema.Literal("backup"),
    step: Schema.Literals(Journal.steps.backup),
    since: Schema.Number,
    stopped: opt(Schema.Boolean),
    hook: opt(Schema.String),
    archive: opt(Schema.String)
  }), Schema.Struct({
    op: Schema.Literal("remove"),
    step: Schema.Literals(Journal.steps.remove),
    since: Schema.Number,
    trash: opt(Schema.String)
  })])

const PersistedApp = Schema.Struct({
  intent: Schema.Struct({
    installed: Schema.Boolean,
    wantRunning: Schema.Boolean,
    userStopped: Schema.Boolean,
    updatedAt: Schema.Number
  }),
  state: StateSchema,
  /** The request generation (see `Generation`); absent in files written before it existed: 0. */
  generation: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  transition: Schema.optional(TransitionSchema),
  lastError: Schema.optional(Schema.Struct({
    op: Schema.Union([OpSchema, Schema.Literal("reconcile")]),
    message: Schema.String,
    at: Schema.Number
  })),
  crashLoop: Schema.optional(Schema.Struct({ restarts: Schema.Number, nextAttemptAt: Schema.Number, neverRan: Schema.optionalKey(Schema.Boolean) })),
  /** The journal record of a data operation in progress (version 3 on; see `Journal`). */
  journal: Schema.optional(JournalSchema),
  /** The release the app's container was last seen on, kept while it is gone (optional, version 2). */
  release: Schema.optional(PersistedRelease)
})

/**
 * The schema of `state.json`.
 *
 * @since 0.1.0
 * @category models
 */
export const Persisted = Schema.Struct({
  version: Schema.Literal(3),
  apps: Schema.Record(Schema.String, PersistedApp)
})

/**
 * The version of `state.json` this program writes. Older files are migrated forward on load.
 *
 * @since 0.1.0
 * @category constants
 */
export const currentVersion = 3

/**
 * One step of the forward migration: `migrations[v]` turns a version `v` document (already
 * known to be an object) into a version `v + 1` one. Version 3 replaced each app's pending
 * `update` with the `journal` (an update's record, `op: "update"`, its `phase` now `step`).
 * Version 2 added each app's pending
 * `update` (optional), so version 1 files read as they are.
 *
 * @since 0.1.0
 * @category models
 */
export type Migration = (doc: Readonly<Record<string, unknown>>) => Record<string, unknown>

/**
 * The forward migrations, by the version they read.
 *
 * @since 0.1.0
 * @category constants
 */
// Version 2's pending `update` of each app becomes its journal record (version 3).
const migrateUpdates = (apps: unknown): unknown => {
  if (!isRecord(apps)) return apps
  const out: Record<string, unknown> = {}
  for (const [id, app] of Object.entries(apps)) {
    if (!isRecord(app) || !isRecord(app.update)) {
      out[id] = app
      continue
    }
    const { update, ...rest } = app
    const { phase, ...fields } = update as Record<string, unknown>
    out[id] = { ...rest, journal: { op: "update", step: phase, ...fields } }
  }
  return out
}

export const migrations: Readonly<Record<number, Migration>> = {
  1: (doc) => ({ ...doc, version: 2 }),
  2: (doc) => ({ ...doc, version: 3, apps: migrateUpdates(doc.apps) })
}

/**
 * What `decode` makes of a state file: the persisted state it could read (undefined when
 * nothing was usable), every part it could not read, and the version it was written in.
 *
 * @since 0.1.0
 * @category models
 */
export interface Decoded {
  readonly persisted: typeof Persisted.Type | undefined
  readonly problems: ReadonlyArray<Problem>
  readonly version?: number
}

const decodeApp = Schema.decodeUnknownResult(PersistedApp, { errors: "all", reportInput: true })

// The value a required field gets when its own value is unreadable; optional fields are dropped.
const requiredFallbacks: Readonly<Record<string, unknown>> = { intent: Intent.none, state: "not-installed" }

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const describe = (u: unknown): string => u === null ? "null" : Array.isArray(u) ? "an array" : `a ${typeof u}`

const jsonPath = (segments: ReadonlyArray<PropertyKey>): string =>
  segments.map((k) => typeof k === "number" ? `[${k}]` : /^[A-Za-z_$][\w$-]*$/.test(String(k)) ? `.${String(k)}` : `[${JSON.stringify(String(k))}]`).join("")

const valueAt = (root: unknown, segments: ReadonlyArray<PropertyKey>): unknown =>
  segments.reduce<unknown>((u, k) => isRecord(u) || Array.isArray(u) ? (u as Record<PropertyKey, unknown>)[k] : undefined, root)

const shortJson = (u: unknown): string => {
  const text = JSON.stringify(u) ?? String(u)
  return text.length > 60 ? `${text.slice(0, 60)}…` : text
}

// A literal or a union of literals (the state, an op, a journal step).
const isLiterals = (ast: SchemaAST.AST): boolean =>
  SchemaAST.isLiteral(ast) || (SchemaAST.isUnion(ast) && ast.types.every(isLiterals))

// Every leaf issue with its path and message; a value outside a set of literals is only named
// (`unexpected value 3`), not answered with the whole set.
const issuesOf = (
  issue: SchemaIssue.Issue,
  candidate: unknown,
  path: ReadonlyArray<PropertyKey> = []
): Array<{ readonly path: ReadonlyArray<PropertyKey>; readonly message: string }> => {
  switch (issue._tag) {
    case "Pointer":
      return issuesOf(issue.issue, candidate, [...path, ...issue.path])
    case "Composite":
      return issue.issues.flatMap((i) => issuesOf(i, candidate, path))
    case "AnyOf":
      if (isLiterals(issue.ast)) return [{ path, message: `unexpected value ${shortJson(valueAt(candidate, path))}` }]
      if (issue.issues.length > 0) return issue.issues.flatMap((i) => issuesOf(i, candidate, path))
      break
    case "InvalidType":
      if (isLiterals(issue.ast)) return [{ path, message: `unexpected value ${shortJson(valueAt(candidate, path))}` }]
  }
  return SchemaIssues.leaves(issue).map((i) => ({ path: [...path, ...i.path], message: i.message }))
}

/** Salvages one app: fields that do not decode are dropped (or reset, when required). */
const salvageApp = (
  id: string,
  raw: unknown,
  problems: Array<Problem>
): typeof PersistedApp.Type | undefined => {
  const at = `$.apps${jsonPath([id])}`
  if (!isRecord(raw)) {
    problems.push({ path: at, message: `expected an object, got ${describe(raw)}; entry dropped` })
    return undefined
  }
  let candidate: Record<string, unknown> = raw
  // Each round drops or resets at least one top-level field, so this ends.
  for (let round = 0; round <= Object.keys(PersistedApp.fields).length; round++) {
    const decoded = decodeApp(candidate)
    if (Result.isSuccess(decoded)) return decoded.success
    const next = { ...candidate }
    // One problem per path: a union may report several issues at one path, and then the value is
    // only named.
    const byPath = new Map<string, { path: ReadonlyArray<PropertyKey>; message: string; count: number }>()
    for (const issue of issuesOf(decoded.failure.issue, candidate)) {
      const k = jsonPath(issue.path)
      const seen = byPath.get(k)
      if (seen === undefined) byPath.set(k, { path: issue.path, message: issue.message, count: 1 })
      else seen.count++
    }
    // A union (an optional field's `| undefined` branch, say) may add an issue at the field above a
    // deeper one: the deeper one says more.
    const paths = [...byPath.keys()]
    for (const k of paths) if (paths.some((o) => o.startsWith(`${k}.`) || o.startsWith(`${k}[`))) byPath.delete(k)
    for (const issue of byPath.values()) {
      if (issue.count > 1) issue.message = `unexpected value ${shortJson(valueAt(candidate, issue.path))}`
      const key = issue.path[0]
      if (typeof key !== "string") {
        problems.push({ path: at, message: `${issue.message}; entry dropped` })
        return undefined
      }
      const fallback = requiredFallbacks[key]
      problems.push({
        path: `${at}${jsonPath(issue.path)}`,
        message: `${issue.message}; ${fallback === undefined ? "field dropped" : `reset to ${JSON.stringify(fallback)}`}`
      })
      if (fallback === undefined) delete next[key]
      else next[key] = fallback
      // A transition belongs to the state it leads from; an unknown state makes it meaningless.
      if (key === "state") delete next.transition
    }
    candidate = next
  }
  problems.push({ path: at, message: "entry dropped" })
  return undefined
}

/**
 * Reads a `state.json` text, salvaging everything that decodes: a bad field of one app (an
 * unknown state written by a newer version, a wrong type) drops or resets only that field and
 * names its path; a file that is not a JSON object yields nothing. Older versions are migrated
 * forward through `migrations`; a newer version is read as far as this one understands it.
 * Pure: no I/O.
 *
 * @since 0.1.0
 * @category constructors
 */
export const decode = (text: string, steps: Readonly<Record<number, Migration>> = migrations): Decoded => {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (e) {
    const message = text.trim() === "" ? "the file is empty" : `not JSON (${e instanceof Error ? e.message : String(e)})`
    return { persisted: undefined, problems: [{ path: "$", message }] }
  }
  if (!isRecord(doc)) {
    return { persisted: undefined, problems: [{ path: "$", message: `expected an object, got ${describe(doc)}` }] }
  }
  const problems: Array<Problem> = []
  let version = doc.version
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 1) {
    problems.push({ path: "$.version", message: `expected a version number, got ${JSON.stringify(version) ?? "nothing"}; read as version 1` })
    version = 1
  }
  const writtenIn = version as number
  let current: Record<string, unknown> = doc
  for (let v = writtenIn; v < currentVersion; v++) {
    const step = steps[v]
    if (step === undefined) {
      problems.push({ path: "$.version", message: `no migration from version ${v}` })
      return { persisted: undefined, problems, version: writtenIn }
    }
    current = step(current)
  }
  if (writtenIn > currentVersion) {
    problems.push({
      path: "$.version",
      message: `version ${writtenIn} is newer than this program's ${currentVersion}; reading what it understands`
    })
  }
  const apps: Record<string, typeof PersistedApp.Type> = {}
  if (!isRecord(current.apps)) {
    problems.push({ path: "$.apps", message: `expected an object, got ${describe(current.apps)}` })
    return { persisted: undefined, problems, version: writtenIn }
  }
  for (const [id, raw] of Object.entries(current.apps)) {
    const app = salvageApp(id, raw, problems)
    if (app !== undefined) apps[id] = app
  }
  return { persisted: { version: 3, apps }, problems, version: writtenIn }
}

/**
 * The name of the temp file writers of `state.json` used before `SafeFile` (which names and
 * cleans its own): `state.json.tmp-<pid>`. Nodes that ran them may hold such leftovers.
 *
 * @since 0.1.0
 * @category constants
 */
export const tempFileName = (pid: number): string => `${fileName}.tmp-${pid}`

/**
 * Among the names of a data dir, the temp files of `state.json` writers that are gone: named
 * `state.json.tmp-<pid>` with a pid that is neither ours nor alive. Nothing else is touched.
 *
 * @since 0.1.0
 * @category getters
 */
export const staleTempFiles = (
  names: ReadonlyArray<string>,
  ownPid: number,
  isAlive: (pid: number) => boolean
): ReadonlyArray<string> =>
  names.filter((name) => {
    const m = /^state\.json\.tmp-([1-9][0-9]{0,9})$/.exec(name)
    if (m === null) return false
    const pid = Number(m[1])
    return pid !== ownPid && !isAlive(pid)
  })

const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * The persisted projection of a state: intents, states, request generations, transitions, last
 * errors, crash-loop records, pending updates and the release each app's container was last seen
 * on (observed fields are volatile and come back with the first scan).
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
      ...(Generation.of(e) === 0 ? {} : { generation: Generation.of(e) }),
      ...(e.transition === undefined ? {} : { transition: e.transition }),
      ...(e.lastError === undefined ? {} : { lastError: e.lastError }),
      ...(e.crashLoop === undefined ? {} : { crashLoop: e.crashLoop }),
      ...(e.journal === undefined ? {} : { journal: e.journal }),
      ...(e.release === undefined ? {} : { release: e.release })
    }
  }
  return { version: 3, apps }
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
      ...(p.generation === undefined ? {} : { generation: p.generation }),
      ...(p.transition === undefined ? {} : { transition: p.transition }),
      ...(p.lastError === undefined ? {} : { lastError: p.lastError }),
      ...(p.crashLoop === undefined ? {} : { crashLoop: p.crashLoop }),
      ...(p.journal === undefined ? {} : { journal: p.journal }),
      ...(p.release === undefined ? {} : { release: p.release })
    }
    intents[id] = p.intent
  }
  return { entries, intents }
}


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

const io = Fs.attempt

// Removes the temp files crashed writers left; a failure to list or remove is only logged.
const cleanTempFiles = (dataDir: string) =>
  Effect.gen(function*() {
    const stale = staleTempFiles(yield* io(() => Fs.readdir(dataDir)), process.pid, pidAlive)
    for (const name of stale) {
      const full = NodePath.join(dataDir, name)
      const info = yield* io(() => Fs.stat(full))
      if (!info.isFile()) continue
      yield* io(() => Fs.rm(full))
      yield* Effect.logInfo(`removed ${full}, left by a writer that is gone`)
    }
  }).pipe(Effect.catch((e) => Effect.logWarning(`cannot clean temp files in ${dataDir}: ${e.message}`)))

/**
 * Opens the state file of a data dir: creates the data dir (0700), removes temp files crashed
 * writers left, reads and decodes `state.json`, and moves a corrupt or partly readable one aside
 * (never dropped). Answers the file's path, the persisted state it could read and how it was
 * found.
 *
 * @since 0.1.0
 * @category constructors
 */
export const load = (dataDir: string) =>
  Effect.gen(function*() {
    const file = NodePath.join(dataDir, fileName)
    // 0700: the data dir holds the token, the secrets and every app's folder.
    yield* io(() => Fs.mkdir(dataDir, { recursive: true, mode: 0o700 })).pipe(
      Effect.mapError((e) => new StateUnavailable({ dataDir, reason: e.message }))
    )

    yield* cleanTempFiles(dataDir)

    const moveAside = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const movedTo = `${file}.corrupt-${new Date(now).toISOString().replace(/[:.]/g, "-")}`
      yield* io(() => Fs.rename(file, movedTo))
      return movedTo
    })

    const read = Effect.gen(function*() {
      // A symlink planted at state.json is never followed: it reads as absent (and is logged).
      const text = yield* SafeFile.readString(file, { root: dataDir })
      const isDirectory = Option.isNone(text) &&
        (yield* io(() => Fs.stat(file)).pipe(Effect.map((i) => i.isDirectory()), Effect.orElseSucceed(() => false)))
      if (Option.isNone(text) && !isDirectory) return [undefined, { _tag: "Fresh" }] as const
      const decoded: Decoded = Option.isSome(text)
        ? decode(text.value)
        : { persisted: undefined, problems: [{ path: "$", message: `${file} is a directory, not a file` }] }
      if (decoded.problems.length === 0 && decoded.persisted !== undefined) {
        const apps = Object.keys(decoded.persisted.apps).length
        const migratedFrom = decoded.version !== undefined && decoded.version < currentVersion ? decoded.version : undefined
        return [decoded.persisted, { _tag: "Loaded", apps, ...(migratedFrom === undefined ? {} : { migratedFrom }) }] as const
      }
      const movedTo = yield* moveAside
      const shown = decoded.problems.slice(0, 20).map((p) => `${p.path}: ${p.message}`)
      const more = decoded.problems.length > shown.length ? [`and ${decoded.problems.length - shown.length} more`] : []
      const reason = [...shown, ...more].join("; ")
      if (decoded.persisted === undefined) {
        yield* Effect.logWarning(
          `state file ${file} is unreadable (${reason}); moved aside to ${movedTo}; starting from observation`
        )
        return [undefined, { _tag: "Corrupt", movedTo, reason }] as const
      }
      const apps = Object.keys(decoded.persisted.apps).length
      yield* Effect.logWarning(
        `state file ${file} is partly unreadable (${reason}); salvaged ${apps} app(s), kept the original at ${movedTo}`
      )
      return [decoded.persisted, { _tag: "Salvaged", apps, movedTo, problems: decoded.problems }] as const
    }).pipe(
      Effect.mapError((e) => new StateUnavailable({ dataDir: dataDir, reason: e.message }))
    )
    const [persisted, loadReport] = yield* read
    return { file, persisted, loadReport }
  })

/**
 * Writes the state file of a data dir atomically (see `SafeFile.write`): 0600, its folders 0700.
 *
 * @since 0.1.0
 * @category constructors
 */
export const write = (dataDir: string, content: string) =>
  SafeFile.write(NodePath.join(dataDir, fileName), content, { root: dataDir, mode: 0o600, dirMode: 0o700 })

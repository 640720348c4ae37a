/**
 * Admission, decided in one place: whether an operation may begin for an app, and how. The op
 * already in flight is taken up unchanged; anything else is checked, in this order, against
 * the apps around it (a user's request only: an installed alternative, a missing dependency,
 * installed dependents), the app's unsettled journal record, another op in flight, and the
 * app's state. Every refusal a request can meet is built here and nowhere else; the state
 * change of a beginning is `Transition.enter`.
 *
 * @since 0.1.0
 */
import { Data, Result } from "effect"
import type { AppEntry } from "./AppEntry.js"
import type { AppState } from "./AppState.js"
import type * as Op from "./Op.js"

/**
 * A different operation is already running for the app.
 *
 * @since 0.1.0
 * @category errors
 */
export class Conflict extends Data.TaggedError("Conflict")<{
  readonly appId: string
  readonly running: Op.Op
  readonly refused: Op.Op
}> {
  override get message(): string {
    return `cannot ${this.refused} ${this.appId}: ${this.running} is already in progress; wait for it to finish`
  }
}

/**
 * The operation makes no sense in the app's current state (e.g. starting an app that is not
 * installed).
 *
 * @since 0.1.0
 * @category errors
 */
export class NotAllowed extends Data.TaggedError("NotAllowed")<{
  readonly appId: string
  readonly op: Op.Op
  readonly state: AppState
}> {
  override get message(): string {
    return this.state === "not-installed"
      ? `cannot ${this.op} ${this.appId}: it is not installed`
      : `cannot ${this.op} ${this.appId}: it is already installed (state ${this.state})`
  }
}

/**
 * Installing the app is refused because a conflicting alternative (e.g. `bitcoin-core` and
 * `bitcoin-knots`) is installed. It is a `NotAllowed` (same tag, so adapters answer it as "not
 * allowed in this state") that names the other app.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConflictingApp extends NotAllowed {
  readonly other: string
  constructor(props: { readonly appId: string; readonly other: string }) {
    super({ appId: props.appId, op: "install", state: "not-installed" })
    this.other = props.other
  }
  override get message(): string {
    return `cannot install ${this.appId}: it conflicts with ${this.other}, which is installed; remove ${this.other} first`
  }
}

const listed = (ids: ReadonlyArray<string>): string =>
  ids.length <= 1 ? ids.join("") : `${ids.slice(0, -1).join(", ")} and ${ids[ids.length - 1]}`

/**
 * Starting (or installing) the app is refused because apps it depends on are not installed.
 * A `NotAllowed` (same tag, so adapters answer it as "not allowed") naming the missing apps.
 *
 * @since 0.1.0
 * @category errors
 */
export class MissingDependency extends NotAllowed {
  readonly missing: ReadonlyArray<string>
  constructor(props: { readonly appId: string; readonly op: Op.Op; readonly state: AppState; readonly missing: ReadonlyArray<string> }) {
    super({ appId: props.appId, op: props.op, state: props.state })
    this.missing = props.missing
  }
  override get message(): string {
    const one = this.missing.length === 1
    return `cannot ${this.op} ${this.appId}: it depends on ${listed(this.missing)}, which ${one ? "is" : "are"} not installed; install ${one ? "it" : "them"} first`
  }
}

/**
 * Removing the app is refused because installed apps depend on it; a cascade (`{ cascade: true }`)
 * removes them first. A `NotAllowed` naming the dependents.
 *
 * @since 0.1.0
 * @category errors
 */
export class DependentsInstalled extends NotAllowed {
  readonly dependents: ReadonlyArray<string>
  constructor(props: { readonly appId: string; readonly state: AppState; readonly dependents: ReadonlyArray<string> }) {
    super({ appId: props.appId, op: "remove", state: props.state })
    this.dependents = props.dependents
  }
  override get message(): string {
    const one = this.dependents.length === 1
    return `cannot remove ${this.appId}: ${listed(this.dependents)} ${one ? "depends" : "depend"} on it; remove ${one ? "it" : "them"} first, or ask for a cascade to remove ${one ? "it" : "them"} too`
  }
}

/**
 * Every refusal.
 *
 * @since 0.1.0
 * @category errors
 */
export type Refusal = Conflict | NotAllowed

/**
 * What the apps around an app say about a request for it, taken from one look at the store
 * (`Apps.admissionFacts` gathers them).
 *
 * @since 0.1.0
 * @category models
 */
export interface Facts {
  /** Its alternatives that are installed, in the catalog's order. */
  readonly conflicting: ReadonlyArray<string>
  /** What it depends on that is not installed, described for the user. */
  readonly missing: ReadonlyArray<string>
  /** The installed apps depending on it, directly or not, each before what it depends on. */
  readonly dependents: ReadonlyArray<string>
}

/**
 * No app around says anything (an app with no alternatives, dependencies or dependents).
 *
 * @since 0.1.0
 * @category constructors
 */
export const noFacts: Facts = { conflicting: [], missing: [], dependents: [] }

/**
 * A user's request: the facts around the app, and whether a remove may take its dependents
 * with it.
 *
 * @since 0.1.0
 * @category models
 */
export interface User {
  readonly facts: Facts
  readonly cascade: boolean
}

/**
 * What is asked: the op, the app's entry and whether its user's intent says installed (a start,
 * restart or update may then recreate an app whose container is gone, and a remove remove it).
 * `user` is set for a user's request; the reconciler's own repairs and a journal's replay carry
 * out what the intent already admitted, so only the app's own state is checked for them.
 *
 * @since 0.1.0
 * @category models
 */
export interface Request {
  readonly op: Op.Op
  readonly entry: AppEntry
  readonly installed: boolean
  readonly user?: User
}

/**
 * How an admitted operation begins: `TakeUp` (the same op is in flight: run it as it is, write
 * nothing) or `Begin` (a new transition; for a cascading remove, the dependents to remove first).
 *
 * @since 0.1.0
 * @category models
 */
export type Verdict = Data.TaggedEnum<{
  TakeUp: {}
  Begin: { readonly cascade: ReadonlyArray<string> }
}>

/**
 * @since 0.1.0
 * @category constructors
 */
export const Verdict = Data.taggedEnum<Verdict>()

// An app its user installed whose container is gone (removed behind our back, or with its
// image) is still theirs: a start, a restart or an update recreates the container (an update on
// the release it ran, then through the health gate), and a remove carries out the removal. Only a
// stop has nothing to act on.
const recreatable: ReadonlySet<Op.Op> = new Set<Op.Op>(["start", "restart", "update", "remove"])

/**
 * Whether `op` makes sense in `state` (see `NotAllowed`); `installed` is the user's intent.
 *
 * @since 0.1.0
 * @category predicates
 */
export const allowed = (op: Op.Op, state: AppState, installed: boolean): boolean =>
  op === "install"
    ? state === "not-installed" || state === "failed"
    : state !== "not-installed" || (installed && recreatable.has(op))

const needsDependencies: ReadonlySet<Op.Op> = new Set<Op.Op>(["install", "start", "restart"])

/**
 * The one admission decision; see the module's description for the order of the checks. Pure
 * and total.
 *
 * @example
 * Admission.admit({ op: "stop", entry: stopping, installed: true }) // Success(TakeUp)
 * Admission.admit({ op: "start", entry: stopping, installed: true }) // Failure(Conflict)
 *
 * @since 0.1.0
 * @category combinators
 */
export const admit = (request: Request): Result.Result<Verdict, Refusal> => {
  const { entry, op, user } = request
  const appId = entry.id
  if (entry.transition?.op === op) return Result.succeed(Verdict.TakeUp())
  let cascade: ReadonlyArray<string> = []
  if (user !== undefined) {
    const { conflicting, dependents, missing } = user.facts
    if (op === "install" && conflicting.length > 0) return Result.fail(new ConflictingApp({ appId, other: conflicting[0]! }))
    if (needsDependencies.has(op) && missing.length > 0) {
      return Result.fail(new MissingDependency({ appId, op, state: entry.state, missing }))
    }
    if (op === "remove" && dependents.length > 0) {
      if (!user.cascade) return Result.fail(new DependentsInstalled({ appId, state: entry.state, dependents }))
      cascade = dependents
    }
    // a data operation's record that is not settled yet (its replay failed) comes first
    if (entry.journal !== undefined && entry.journal.op !== op) {
      return Result.fail(new Conflict({ appId, running: entry.journal.op, refused: op }))
    }
  }
  if (entry.transition !== undefined) return Result.fail(new Conflict({ appId, running: entry.transition.op, refused: op }))
  if (!allowed(op, entry.state, request.installed)) return Result.fail(new NotAllowed({ appId, op, state: entry.state }))
  return Result.succeed(Verdict.Begin({ cascade }))
}

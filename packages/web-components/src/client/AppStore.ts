/**
 * The dashboard's pure state: the server's app views, the ordered change sequence, and the
 * operations the user requested that the server has not settled yet. The display it derives
 * never lies: a clicked button shows its transitional label at once and keeps it until the
 * store applies a view of the app taken after the server recorded the request (a view whose
 * `generation` is at least the one the request was answered with), and a refused request shows
 * the server's state again with the error.
 *
 * @since 0.1.0
 */
import { Op, VisualState } from "@archipelago/orchestrator/domain"
import type { AppView } from "@archipelago/orchestrator/domain"
import type { LifecycleOp } from "./Protocol.js"

/**
 * A request the user made that the server has not settled yet. It settles when the store
 * applies a view of its app whose `generation` is at least the one the server answered with:
 * that view was taken after the request was recorded. No other field of a view can settle it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Pending {
  readonly op: LifecycleOp
  /** The generation of the view shown when the user clicked. */
  readonly clickGeneration: number
  /** The generation the server recorded the request at; null until it answers. */
  readonly generation: number | null
}

/**
 * A request the server refused, shown on the app's card until the next request.
 *
 * @since 0.1.0
 * @category models
 */
export interface Refusal {
  readonly op: LifecycleOp
  readonly code: number | null
  readonly message: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface AppStore {
  readonly order: ReadonlyArray<string>
  readonly views: Readonly<Record<string, AppView.AppView>>
  /** The sequence number of the last change applied, or null before any socket snapshot. */
  readonly seq: number | null
  readonly pending: Readonly<Record<string, Pending>>
  readonly refusals: Readonly<Record<string, Refusal>>
  /**
   * Set once a full list has been applied (a snapshot or a polled list): from then on no app
   * means an empty catalog, not one still loading.
   *
   * @since 0.1.0
   */
  readonly loaded?: true
}

/**
 * What an element renders for one app: the server's view, and the visual state to show.
 *
 * @since 0.1.0
 * @category models
 */
export interface DisplayApp {
  readonly view: AppView.AppView
  readonly visualState: VisualState.VisualState
  /** The operation the user requested that is still unsettled. */
  readonly pending: LifecycleOp | null
  readonly refusal: Refusal | null
}

/**
 * The store before anything arrived.
 *
 * @since 0.1.0
 * @category constructors
 */
export const empty: AppStore = { order: [], views: {}, seq: null, pending: {}, refusals: {} }

/**
 * The visual state an operation shows while it runs, e.g. `stop` → `stopping`.
 *
 * @since 0.1.0
 * @category getters
 */
export const transitionalVisual = (op: LifecycleOp): VisualState.VisualState =>
  VisualState.ofState(Op.transitionalState(op))

const without = <A>(record: Readonly<Record<string, A>>, key: string): Readonly<Record<string, A>> => {
  if (!Object.hasOwn(record, key)) return record
  const { [key]: _dropped, ...rest } = record
  return rest
}

/**
 * True when `view` settles `p`: the server answered, and the view's generation is at least the
 * answer's. A generation below the one shown at the click means the server's history started
 * over (its state file was lost): nothing it says can be ordered against the request any more,
 * so its view is the truth.
 *
 * @since 0.1.0
 * @category predicates
 */
export const settles = (p: Pending, view: AppView.AppView): boolean =>
  view.generation < p.clickGeneration || (p.generation !== null && view.generation >= p.generation)

const withView = (store: AppStore, view: AppView.AppView): AppStore => {
  const p = store.pending[view.id]
  const views = { ...store.views, [view.id]: view }
  const order = Object.hasOwn(store.views, view.id) ? store.order : [...store.order, view.id]
  if (p === undefined || !settles(p, view)) return { ...store, views, order }
  return { ...store, views, order, pending: without(store.pending, view.id) }
}

/**
 * Replaces every view with a full list: a socket's `state.snapshot` (with its `seq`) or a polled
 * `container-list` (`seq` null keeps the current one). Pending requests settle by the same rule
 * as for a change: only a view of at least the answer's generation settles one.
 *
 * @since 0.1.0
 * @category combinators
 */
export const snapshot = (
  store: AppStore,
  apps: ReadonlyArray<AppView.AppView>,
  seq: number | null
): AppStore => {
  const ids = new Set(apps.map((a) => a.id))
  let next: AppStore = {
    ...store,
    order: [],
    views: {},
    seq: seq ?? store.seq,
    pending: Object.fromEntries(Object.entries(store.pending).filter(([id]) => ids.has(id))),
    loaded: true
  }
  for (const app of apps) next = withView(next, app)
  return next
}

/**
 * The outcome of applying a `state.changed`: the new store, or a request to resync because a
 * change was missed.
 *
 * @since 0.1.0
 * @category models
 */
export type ChangeResult =
  | { readonly _tag: "Applied"; readonly store: AppStore }
  | { readonly _tag: "Ignored"; readonly store: AppStore }
  | { readonly _tag: "Gap"; readonly store: AppStore; readonly expected: number; readonly got: number }

/**
 * Applies one ordered change. A change at or below the current `seq` is a duplicate and ignored;
 * one past `seq + 1` means changes were missed and the caller must resync.
 *
 * @since 0.1.0
 * @category combinators
 */
export const change = (store: AppStore, app: AppView.AppView, seq: number): ChangeResult => {
  if (store.seq === null) return { _tag: "Gap", store, expected: seq, got: seq }
  if (seq <= store.seq) return { _tag: "Ignored", store }
  if (seq !== store.seq + 1) return { _tag: "Gap", store, expected: store.seq + 1, got: seq }
  return { _tag: "Applied", store: { ...withView(store, app), seq } }
}

/**
 * Records a click: the app shows the operation's transitional state at once, and a previous
 * refusal is cleared.
 *
 * @since 0.1.0
 * @category combinators
 */
export const begin = (store: AppStore, appId: string, op: LifecycleOp): AppStore => {
  const view = store.views[appId]
  if (view === undefined) return store
  const pending: Pending = { op, clickGeneration: view.generation, generation: null }
  return {
    ...store,
    pending: { ...store.pending, [appId]: pending },
    refusals: without(store.refusals, appId)
  }
}

/**
 * The server accepted the request and recorded it at `generation`. The app keeps its
 * transitional state until a view of at least that generation is applied (at once when the
 * view already held is one).
 *
 * @since 0.1.0
 * @category combinators
 */
export const accept = (store: AppStore, appId: string, op: LifecycleOp, generation: number): AppStore => {
  const p = store.pending[appId]
  const view = store.views[appId]
  if (p === undefined || p.op !== op || view === undefined) return store
  const accepted: Pending = { ...p, generation }
  return settles(accepted, view)
    ? { ...store, pending: without(store.pending, appId) }
    : { ...store, pending: { ...store.pending, [appId]: accepted } }
}

/**
 * The server refused the request: the app shows the server's state again, with the error.
 *
 * @since 0.1.0
 * @category combinators
 */
export const refuse = (store: AppStore, appId: string, op: LifecycleOp, message: string, code: number | null): AppStore => {
  const p = store.pending[appId]
  const pending = p !== undefined && p.op === op ? without(store.pending, appId) : store.pending
  return { ...store, pending, refusals: { ...store.refusals, [appId]: { op, code, message } } }
}

/**
 * Forgets the refusal shown on an app's card.
 *
 * @since 0.1.0
 * @category combinators
 */
export const dismiss = (store: AppStore, appId: string): AppStore => ({
  ...store,
  refusals: without(store.refusals, appId)
})

/**
 * What to render for one app, or undefined for an unknown id.
 *
 * @since 0.1.0
 * @category getters
 */
export const displayOf = (store: AppStore, appId: string): DisplayApp | undefined => {
  const view = store.views[appId]
  if (view === undefined) return undefined
  const p = store.pending[appId]
  // A view below the answer's generation predates the request, whatever state it shows.
  const visualState = p === undefined ? view.visualState : transitionalVisual(p.op)
  return { view, visualState, pending: p?.op ?? null, refusal: store.refusals[appId] ?? null }
}

/**
 * What to render for every app, in the server's order.
 *
 * @since 0.1.0
 * @category getters
 */
export const display = (store: AppStore): ReadonlyArray<DisplayApp> =>
  store.order.flatMap((id) => {
    const d = displayOf(store, id)
    return d === undefined ? [] : [d]
  })

/**
 * The dashboard's pure state: the server's app views, the ordered change sequence, and the
 * operations the user requested that the server has not finished yet. The display it derives
 * never lies: a clicked button keeps its transitional label until the server reports a final
 * state, and a refused request shows the server's state again with the error.
 *
 * @since 0.1.0
 */
import { Op, VisualState } from "@archipelago/orchestrator/domain"
import type { AppView } from "@archipelago/orchestrator/domain"
import type { LifecycleOp } from "./Protocol.js"

/**
 * A request the user made that the server has not settled yet.
 *
 * @since 0.1.0
 * @category models
 */
export interface Pending {
  readonly op: LifecycleOp
  /** The visual state shown when the user clicked. */
  readonly previous: VisualState.VisualState
  /** The server accepted the request; `acceptedTick` orders it against snapshots. */
  readonly acceptedTick: number | null
  /** The server was seen in a transitional state since the click. */
  readonly sawTransitional: boolean
  /** `lastError.at` and `startedAt` when the user clicked: a change of either settles the op. */
  readonly lastErrorAt: number | null
  readonly startedAt: number | null
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
  /** Grows by one per accepted request; snapshots fetched at or after it are newer than the acceptance. */
  readonly tick: number
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
export const empty: AppStore = { order: [], views: {}, seq: null, pending: {}, refusals: {}, tick: 0 }

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
 * Decides what a pending request becomes when a new view of its app arrives: kept, updated, or
 * settled (undefined). `fresh` says the view was fetched after the server accepted the request.
 */
const settle = (p: Pending, view: AppView.AppView, fresh: boolean): Pending | undefined => {
  if (VisualState.isBusy(view.visualState)) return p.sawTransitional ? p : { ...p, sawTransitional: true }
  if (p.sawTransitional) return undefined
  if (view.visualState !== p.previous) return undefined
  if ((view.lastError?.at ?? null) !== p.lastErrorAt) return undefined
  if (view.startedAt !== p.startedAt) return undefined
  if (fresh && p.acceptedTick !== null) return undefined
  return p
}

const withView = (store: AppStore, view: AppView.AppView, issuedAt: number | null): AppStore => {
  const p = store.pending[view.id]
  const views = { ...store.views, [view.id]: view }
  const order = Object.hasOwn(store.views, view.id) ? store.order : [...store.order, view.id]
  if (p === undefined) return { ...store, views, order }
  const fresh = issuedAt !== null && p.acceptedTick !== null && issuedAt >= p.acceptedTick
  const next = settle(p, view, fresh)
  const pending = next === undefined ? without(store.pending, view.id) : { ...store.pending, [view.id]: next }
  return { ...store, views, order, pending }
}

/**
 * Replaces every view with a full list: a socket's `state.snapshot` (with its `seq`) or a polled
 * `container-list` (`seq` null keeps the current one). `issuedAt` is the store's `tick` when the
 * list was requested, so a list asked for after a request was accepted can settle it.
 *
 * @since 0.1.0
 * @category combinators
 */
export const snapshot = (
  store: AppStore,
  apps: ReadonlyArray<AppView.AppView>,
  seq: number | null,
  issuedAt: number
): AppStore => {
  const ids = new Set(apps.map((a) => a.id))
  let next: AppStore = {
    ...store,
    order: [],
    views: {},
    seq: seq ?? store.seq,
    pending: Object.fromEntries(Object.entries(store.pending).filter(([id]) => ids.has(id)))
  }
  for (const app of apps) next = withView(next, app, issuedAt)
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
  return { _tag: "Applied", store: { ...withView(store, app, null), seq } }
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
  const shown = displayOf(store, appId)?.visualState ?? view.visualState
  const pending: Pending = {
    op,
    previous: shown,
    acceptedTick: null,
    sawTransitional: false,
    lastErrorAt: view.lastError?.at ?? null,
    startedAt: view.startedAt
  }
  return {
    ...store,
    pending: { ...store.pending, [appId]: pending },
    refusals: without(store.refusals, appId)
  }
}

/**
 * The server accepted the request.
 *
 * @since 0.1.0
 * @category combinators
 */
export const accept = (store: AppStore, appId: string, op: LifecycleOp): AppStore => {
  const p = store.pending[appId]
  if (p === undefined || p.op !== op) return store
  const tick = store.tick + 1
  return { ...store, tick, pending: { ...store.pending, [appId]: { ...p, acceptedTick: tick } } }
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
  const visualState = p === undefined || VisualState.isBusy(view.visualState) ? view.visualState : transitionalVisual(p.op)
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

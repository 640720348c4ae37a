/**
 * Waiting for a lifecycle operation to settle, for callers that do not write Effect:
 * `await client.stop("lnd", { wait: true })` resolves once the server's view of the app says the
 * stop it accepted is over, and rejects with the reason when it failed. "Over" is judged by
 * generation (see the orchestrator's `Generation`), never by guessing from a state: the server
 * answers an accepted request with the generation its transition was recorded at, and every end
 * of that transition (success, failure, expiry) advances it.
 *
 * @since 0.1.0
 */
import { Op } from "@archipelago/orchestrator/domain"
import type { AppView } from "@archipelago/orchestrator/domain"
import type * as Protocol from "./Protocol.js"

/**
 * Options of every operation method (`client.stop(appId, options)`, `client.perform(op, appId,
 * options)`, …).
 *
 * @since 0.1.0
 * @category models
 */
export interface OperationOptions {
  /**
   * Resolve once the operation has settled (with a `Settled`) instead of as soon as the server
   * accepted it (with its `Accepted` answer); reject with an `OperationError` when it failed.
   */
  readonly wait?: boolean
  /**
   * With `wait`: reject with an `OperationTimeoutError` after this many milliseconds (the
   * operation itself goes on on the server). Default: no limit but the server's own deadline,
   * past which it settles every operation.
   */
  readonly timeoutMs?: number
  /**
   * Stops waiting when aborted, rejecting with the signal's reason; an already aborted signal
   * sends nothing. The operation itself goes on on the server once accepted.
   */
  readonly signal?: AbortSignal
  /**
   * With `wait`, while no live socket is open (the client was not `start`ed, or its socket is
   * down): how often to read `container-list`, in milliseconds. Default 1000.
   */
  readonly pollIntervalMs?: number
}

/**
 * The options of a remove: `purge` deletes the app's data folder too; `cascade` removes the
 * installed apps that depend on it first.
 *
 * @since 0.1.0
 * @category models
 */
export interface RemoveOptions extends OperationOptions {
  readonly purge?: boolean
  readonly cascade?: boolean
}

/**
 * The options of a restore: `archive` is one of the app's archives (`backupList`; default the
 * newest), `closeChannels` confirms a channel recovery.
 *
 * @since 0.1.0
 * @category models
 */
export interface RestoreOptions extends OperationOptions {
  readonly archive?: string
  readonly closeChannels?: boolean
}

/**
 * What a waited operation resolves with: the server's answer to the request, and the first view
 * of the app that shows the operation settled.
 *
 * @since 0.1.0
 * @category models
 */
export interface Settled {
  readonly accepted: Protocol.Accepted
  readonly app: AppView.AppView
}

/**
 * What an operation method resolves with: a `Settled` with `{ wait: true }`, else the
 * server's `Accepted` answer.
 *
 * @since 0.1.0
 * @category models
 */
export type OperationResult<O extends OperationOptions> = O extends { readonly wait: true } ? Settled
  : O extends { readonly wait?: false | undefined } ? Protocol.Accepted
  : Settled | Protocol.Accepted

/**
 * The operation the server accepted failed: `reason` is the app's `lastError` (what the engine
 * said), or says which state the app was left in when it did not reach the operation's outcome
 * (a start whose container exited at once, an operation past its deadline). `app` is the view
 * that showed it.
 *
 * @since 0.1.0
 * @category errors
 */
export class OperationError extends Error {
  override readonly name: string = "OperationError"
  constructor(
    readonly appId: string,
    readonly op: Protocol.LifecycleOp,
    readonly reason: string,
    readonly app: AppView.AppView
  ) {
    super(`${op} ${appId} failed: ${reason}`)
  }
}

/**
 * A waited operation did not settle within `timeoutMs`. The operation goes on on the server;
 * `app` is the last view of the app seen, if any.
 *
 * @since 0.1.0
 * @category errors
 */
export class OperationTimeoutError extends Error {
  override readonly name: string = "OperationTimeoutError"
  constructor(
    readonly appId: string,
    readonly op: Protocol.LifecycleOp,
    readonly timeoutMs: number,
    readonly app: AppView.AppView | undefined
  ) {
    super(`${op} ${appId} did not settle within ${timeoutMs} ms${app === undefined ? "" : ` (the app is ${app.state})`}`)
  }
}

/**
 * Where an operation stands in one view of its app.
 *
 * @since 0.1.0
 * @category models
 */
export type Progress =
  | { readonly _tag: "Pending" }
  | { readonly _tag: "Succeeded"; readonly app: AppView.AppView }
  | { readonly _tag: "Failed"; readonly app: AppView.AppView; readonly reason: string }

const pending: Progress = { _tag: "Pending" }

const sameError = (a: AppView.AppView["lastError"], b: AppView.AppView["lastError"]): boolean =>
  a === b || (a !== null && b !== null && a.op === b.op && a.at === b.at && a.message === b.message)

/**
 * Where the operation `accepted` stands in `view`. The view predates its end while its
 * generation is at most the answer's (the transition was recorded at that generation), or while
 * it still shows a transition of the same op (a repeated request changed the intent). Past that
 * it has settled: failed when the view carries a `lastError` of the op that is not `before`'s
 * (the error already shown before the request, which an expiry leaves in place), or when the
 * state does not show the op's outcome (`Op.settledBy`; a data op's never does); else succeeded.
 *
 * @example
 * // the server answered { op: "stop", generation: 7, ... }
 * progress(accepted, { ...view, generation: 7, state: "stopping" }, null) // Pending
 * progress(accepted, { ...view, generation: 8, state: "stopped" }, null) // Succeeded
 *
 * @since 0.1.0
 * @category getters
 */
export const progress = (
  accepted: Protocol.Accepted,
  view: AppView.AppView | undefined,
  before: AppView.AppView["lastError"] | undefined
): Progress => {
  if (view === undefined || view.generation <= accepted.generation) return pending
  const t = view.transition
  if (t !== null && t.op === accepted.op) return pending
  const e = view.lastError
  if (e !== null && e.op === accepted.op && !(before !== undefined && sameError(before, e))) {
    return { _tag: "Failed", app: view, reason: e.message }
  }
  const dataOp = accepted.op === "backup" || accepted.op === "restore"
  if (t === null && !dataOp && !Op.settledBy(accepted.op, view.state)) {
    const exit = view.exitCode === null ? "" : ` (exit code ${view.exitCode})`
    return { _tag: "Failed", app: view, reason: `the app is ${view.state}${exit} after ${accepted.op}` }
  }
  return { _tag: "Succeeded", app: view }
}

/**
 * What `wait` reads of a client: the app's view it holds (kept current by its socket or its
 * polling), whether its live socket is open, its change events, and a fresh `container-list`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ViewSource {
  readonly view: (appId: string) => AppView.AppView | undefined
  readonly live: () => boolean
  readonly subscribe: (listener: () => void) => () => void
  readonly list: () => Promise<ReadonlyArray<AppView.AppView>>
}

/**
 * Resolves once `accepted` settled (see `progress`), watching every view `source` holds and
 * reading `container-list` every `pollIntervalMs` while its socket is not open; rejects with an
 * `OperationError`, an `OperationTimeoutError`, or the signal's reason. `before` is the view
 * held before the request, if any (its error is not the operation's).
 *
 * @since 0.1.0
 * @category combinators
 */
export const wait = (
  source: ViewSource,
  accepted: Protocol.Accepted,
  before: AppView.AppView | undefined,
  options: OperationOptions = {}
): Promise<Settled> =>
  new Promise<Settled>((resolve, reject) => {
    const { appId, op } = accepted
    let baseline: { readonly generation: number; readonly lastError: AppView.AppView["lastError"] } | undefined
    let last: AppView.AppView | undefined
    let done = false
    let pollTimer: ReturnType<typeof setTimeout> | undefined
    let timeoutTimer: ReturnType<typeof setTimeout> | undefined
    const signal = options.signal
    const onAbort = (): void => finish(() => reject(signal?.reason))
    const unsubscribe = source.subscribe(() => consider(source.view(appId)))
    function finish(settle: () => void): void {
      if (done) return
      done = true
      unsubscribe()
      if (pollTimer !== undefined) clearTimeout(pollTimer)
      if (timeoutTimer !== undefined) clearTimeout(timeoutTimer)
      signal?.removeEventListener("abort", onAbort)
      settle()
    }
    function consider(view: AppView.AppView | undefined): void {
      if (done || view === undefined) return
      if (last === undefined || view.generation >= last.generation) last = view
      // the newest view taken before the operation ended holds the error shown before it
      if (view.generation <= accepted.generation && (baseline === undefined || view.generation >= baseline.generation)) {
        baseline = { generation: view.generation, lastError: view.lastError }
      }
      const p = progress(accepted, view, baseline?.lastError)
      if (p._tag === "Succeeded") finish(() => resolve({ accepted, app: p.app }))
      else if (p._tag === "Failed") finish(() => reject(new OperationError(appId, op, p.reason, p.app)))
    }
    const poll = (): void => {
      pollTimer = undefined
      if (done) return
      const next = (): void => {
        if (!done) pollTimer = setTimeout(poll, options.pollIntervalMs ?? 1000)
      }
      if (source.live()) return next()
      // a server out of reach is waited for, until the timeout or the signal
      source.list().then((apps) => consider(apps.find((a) => a.id === appId)), () => {}).finally(next)
    }
    if (signal?.aborted === true) return onAbort()
    signal?.addEventListener("abort", onAbort)
    if (options.timeoutMs !== undefined) {
      timeoutTimer = setTimeout(() => finish(() => reject(new OperationTimeoutError(appId, op, options.timeoutMs!, last))), options.timeoutMs)
    }
    consider(before)
    consider(source.view(appId))
    poll()
  })

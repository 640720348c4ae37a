/**
 * The wire protocol the dashboard speaks with `archipelago serve`: JSON-RPC 2.0 on `POST /rpc`
 * and on the WebSocket `/ws`, which pushes a snapshot on connect and then ordered changes.
 *
 * @since 0.1.0
 */
import type { AppResources, AppView, Op } from "@archipelago/orchestrator/domain"

/**
 * The answer to an accepted lifecycle request: the transitional state the app is now in, and
 * the generation the server recorded the request at (views of the app with a lower generation
 * were taken before it).
 *
 * @since 0.1.0
 * @category models
 */
export interface Accepted {
  readonly appId: string
  readonly op: LifecycleOp
  readonly status: string
  /** @since 0.1.0 */
  readonly generation: number
}

/**
 * One line of an app's install log.
 *
 * @since 0.1.0
 * @category models
 */
export interface LogLine {
  /** Unix milliseconds. */
  readonly at: number
  readonly level: "info" | "warn" | "error"
  readonly message: string
}

/**
 * The answer of `server.version`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ServerVersion {
  readonly version: string
  readonly engine: "podman" | "simulated"
  readonly engineVersion: string
}

/**
 * The params of the `state.snapshot` notification sent when a socket connects.
 *
 * @since 0.1.0
 * @category models
 */
export interface Snapshot {
  readonly apps: ReadonlyArray<AppView.AppView>
  readonly seq: number
}

/**
 * The params of a `state.changed` notification; `seq` grows by one per change.
 *
 * @since 0.1.0
 * @category models
 */
export interface Changed {
  readonly app: AppView.AppView
  readonly seq: number
}

/**
 * The lifecycle operations the dashboard can request.
 *
 * @since 0.1.0
 * @category models
 */
export type LifecycleOp = Extract<Op.Op, "install" | "start" | "stop" | "restart" | "update" | "remove" | "backup" | "restore">

/**
 * The RPC method of each lifecycle operation.
 *
 * @since 0.1.0
 * @category constants
 */
export const methodOf: Readonly<Record<LifecycleOp, string>> = {
  install: "container-install",
  start: "container-start",
  stop: "container-stop",
  restart: "container-restart",
  update: "container-update",
  remove: "container-remove",
  backup: "container-backup",
  restore: "container-restore"
}

/**
 * True for the operations the dashboard can request.
 *
 * @since 0.1.0
 * @category guards
 */
export const isLifecycleOp = (u: unknown): u is LifecycleOp => typeof u === "string" && Object.hasOwn(methodOf, u)

/**
 * The WebSocket subprotocol the server selects. A client sending its token as a subprotocol
 * offers this one too, so the server's answer never carries the token.
 *
 * @since 0.1.0
 * @category constants
 */
export const subprotocol = "archipelago.v1"

/**
 * The WebSocket subprotocol that carries a bearer token (browsers cannot set headers on a socket).
 *
 * @since 0.1.0
 * @category constructors
 */
export const bearerSubprotocol = (token: string): string => `archipelago.bearer.${token}`

/**
 * The params of a `logs.lines` notification: the next lines of a followed log; `dropped` counts
 * lines the server skipped because this client fell behind.
 *
 * @since 0.1.0
 * @category models
 */
export interface LogLines {
  readonly subscription: string
  readonly appId: string
  readonly lines: ReadonlyArray<string>
  readonly dropped: number
}

/**
 * The params of a `logs.ended` notification: the followed log ended (`stopped` when the
 * container stopped, else why it could not be read).
 *
 * @since 0.1.0
 * @category models
 */
export interface LogsEnded {
  readonly subscription: string
  readonly appId: string
  readonly reason: string
}

/**
 * The params of a `stats.changed` notification: one sample of every running app.
 *
 * @since 0.1.0
 * @category models
 */
export interface StatsChanged extends AppResources.Sample {
  readonly subscription: string
}

/**
 * The wire protocol the dashboard speaks with `archipelago serve`: JSON-RPC 2.0 on `POST /rpc`
 * and on the WebSocket `/ws`, which pushes a snapshot on connect and then ordered changes.
 * Every name here is the orchestrator's protocol module's (`@archipelago/orchestrator/protocol`:
 * one description of the protocol for the server and this client, no twin); this module only
 * keeps the names the web components always had.
 *
 * @since 0.1.0
 */
import type { Op } from "@archipelago/orchestrator/domain"
import * as Methods from "@archipelago/orchestrator/protocol/Methods"
import type * as Params from "@archipelago/orchestrator/protocol/Params"
import type * as Views from "@archipelago/orchestrator/protocol/Views"

/**
 * The answer to an accepted lifecycle request: the transitional state the app is now in, and
 * the generation the server recorded the request at (views of the app with a lower generation
 * were taken before it); a cascading remove lists the dependents it removes first. Written out
 * (the protocol's `Views.Accepted` is a Schema's type, and a test below keeps the two the same)
 * so that a project without `effect` installed reads it typed too.
 *
 * @since 0.1.0
 * @category models
 */
export interface Accepted {
  readonly appId: string
  readonly op: LifecycleOp
  /** e.g. `"stopping"`. */
  readonly status: string
  readonly generation: number
  readonly cascade?: ReadonlyArray<string> | undefined
}

/**
 * One line of an app's install log (written out as `Accepted` is).
 *
 * @since 0.1.0
 * @category models
 */
export interface LogLine {
  readonly seq: number
  readonly at: number
  readonly level: "info" | "warn" | "error"
  readonly message: string
}

/**
 * The answer of `server.version` (written out as `Accepted` is).
 *
 * @since 0.1.0
 * @category models
 */
export interface ServerVersion {
  readonly version: string
  readonly engine: "podman" | "simulated"
  readonly engineVersion: string
}

// The written-out types say what the protocol's schemas say, field by field, both ways.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const same: [Same<Accepted, Views.Accepted>, Same<LogLine, Views.LogLine>, Same<ServerVersion, Views.ServerVersion>] = [true, true, true]
void same

/**
 * The params of the `state.snapshot` notification sent when a socket connects.
 *
 * @since 0.1.0
 * @category models
 */
export type Snapshot = Params.Snapshot

/**
 * The params of a `state.changed` notification; `seq` grows by one per change.
 *
 * @since 0.1.0
 * @category models
 */
export type Changed = Params.Changed

/**
 * The params of a `logs.lines` notification: the next lines of a followed log; `dropped` counts
 * lines the server skipped because this client fell behind.
 *
 * @since 0.1.0
 * @category models
 */
export type LogLines = Params.LogLines

/**
 * The params of a `logs.ended` notification: the followed log ended (`stopped` when the
 * container stopped, else why it could not be read).
 *
 * @since 0.1.0
 * @category models
 */
export type LogsEnded = Params.LogsEnded

/**
 * The params of a `stats.changed` notification: one sample of every running app.
 *
 * @since 0.1.0
 * @category models
 */
export type StatsChanged = Params.StatsChanged

/**
 * The params of a `backups.changed` notification: what the backup target holds for the app
 * changed; `backup-list` tells what it holds now.
 *
 * @since 0.1.0
 * @category models
 */
export type BackupsChanged = Params.BackupsChanged

/**
 * The answer of `backup-list`.
 *
 * @since 0.1.0
 * @category models
 */
export type BackupList = Views.BackupList

/**
 * The lifecycle operations the dashboard can request.
 *
 * @since 0.1.0
 * @category models
 */
export type LifecycleOp = Op.Op

/**
 * The RPC method of each lifecycle operation.
 *
 * @since 0.1.0
 * @category constants
 */
export const methodOf: Readonly<Record<LifecycleOp, string>> = Methods.methodOf

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
export const subprotocol = Methods.subprotocol

/**
 * The WebSocket subprotocol that carries a bearer token (browsers cannot set headers on a socket).
 *
 * @since 0.1.0
 * @category constructors
 */
export const bearerSubprotocol = Methods.bearerSubprotocol

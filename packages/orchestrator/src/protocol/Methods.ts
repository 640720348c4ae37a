/**
 * The names of the wire protocol between `archipelago serve` and its clients: JSON-RPC 2.0 on
 * `POST /rpc` and on the WebSocket `/ws`. The methods every transport answers, the methods of a
 * socket only, the notifications the server pushes, and the WebSocket subprotocols. Plain
 * constants: a browser reads them without Schema.
 *
 * @since 0.1.0
 */
import type * as Op from "../domain/Op.js"

/**
 * The methods every transport answers (`POST /rpc` and `/ws`).
 *
 * @since 0.1.0
 * @category constants
 */
export const Method = {
  ContainerList: "container-list",
  ContainerInstall: "container-install",
  ContainerStart: "container-start",
  ContainerStop: "container-stop",
  ContainerRestart: "container-restart",
  ContainerUpdate: "container-update",
  ContainerRemove: "container-remove",
  ContainerBackup: "container-backup",
  ContainerRestore: "container-restore",
  BackupList: "backup-list",
  InstallLog: "install-log",
  ContainerLogs: "container-logs",
  ContainerStats: "container-stats",
  CatalogReload: "catalog-reload",
  ServerVersion: "server.version",
  NodeDisk: "node.disk"
} as const

/**
 * @since 0.1.0
 * @category models
 */
export type Method = typeof Method[keyof typeof Method]

/**
 * The methods that live on a WebSocket connection only (subscriptions end with it).
 *
 * @since 0.1.0
 * @category constants
 */
export const SocketMethod = {
  LogsSubscribe: "logs.subscribe",
  LogsUnsubscribe: "logs.unsubscribe",
  StatsSubscribe: "stats.subscribe",
  StatsUnsubscribe: "stats.unsubscribe"
} as const

/**
 * @since 0.1.0
 * @category models
 */
export type SocketMethod = typeof SocketMethod[keyof typeof SocketMethod]

/**
 * The notifications the server pushes on `/ws`.
 *
 * @since 0.1.0
 * @category constants
 */
export const Notification = {
  StateSnapshot: "state.snapshot",
  StateChanged: "state.changed",
  LogsLines: "logs.lines",
  LogsEnded: "logs.ended",
  StatsChanged: "stats.changed",
  BackupsChanged: "backups.changed"
} as const

/**
 * @since 0.1.0
 * @category models
 */
export type Notification = typeof Notification[keyof typeof Notification]

/**
 * The lifecycle operations a client can request, and the method of each.
 *
 * @since 0.1.0
 * @category constants
 */
export const methodOf: { readonly [K in Op.Op]: Method } = {
  install: Method.ContainerInstall,
  start: Method.ContainerStart,
  stop: Method.ContainerStop,
  restart: Method.ContainerRestart,
  update: Method.ContainerUpdate,
  remove: Method.ContainerRemove,
  backup: Method.ContainerBackup,
  restore: Method.ContainerRestore
}

/**
 * The WebSocket subprotocol the server selects. A client sending its token as a subprotocol
 * offers this one too, so the server's answer never carries the token.
 *
 * @since 0.1.0
 * @category constants
 */
export const subprotocol = "archipelago.v1"

/**
 * The prefix of the WebSocket subprotocol that carries a bearer token (browsers cannot set
 * headers on a socket).
 *
 * @since 0.1.0
 * @category constants
 */
export const bearerPrefix = "archipelago.bearer."

/**
 * The subprotocol carrying `token`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const bearerSubprotocol = (token: string): string => `${bearerPrefix}${token}`

/**
 * The messages of the wire protocol: the JSON-RPC envelopes (a response and its error object,
 * a pushed notification), the result schema of each method a client reads, and every message
 * schema by name (the names `Guards.checks` answers for).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Num, Str } from "./internal/Vocabulary.js"
import { BackupsChanged, Changed, LogLines, LogsEnded, Snapshot, StatsChanged } from "./Params.js"
import {
  Accepted,
  AppList,
  AppResources,
  AppView,
  BackupList,
  ContainerLogs,
  DiskReport,
  InstallLog,
  LogLine,
  ServerVersion,
  Stats,
  Subscribed
} from "./Views.js"

/**
 * The error object of a failed request.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ErrorObject = /*#__PURE__*/ Schema.Struct({
  code: Num,
  message: Str,
  data: /*#__PURE__*/ Schema.optional(Schema.Unknown)
})

const Id = /*#__PURE__*/ Schema.Union([Str, Num, Schema.Null])

/**
 * A response: `result` or `error`, with the request's id.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Response = /*#__PURE__*/ Schema.Union([/*#__PURE__*/ Schema.Struct({ jsonrpc: /*#__PURE__*/ Schema.Literal("2.0"), id: Id, result: Schema.Unknown }), /*#__PURE__*/ Schema.Struct({ jsonrpc: /*#__PURE__*/ Schema.Literal("2.0"), id: Id, error: ErrorObject })])

/**
 * A notification the server pushes (no id); its params are one of `Params.notifications`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const NotificationMessage = /*#__PURE__*/ Schema.Struct({
  jsonrpc: /*#__PURE__*/ Schema.Literal("2.0"),
  method: Str,
  params: Schema.Unknown
})

/**
 * The result schema of each method the dashboard reads.
 *
 * @since 0.1.0
 * @category schemas
 */
export const results = {
  "container-list": AppList,
  "container-install": Accepted,
  "container-start": Accepted,
  "container-stop": Accepted,
  "container-restart": Accepted,
  "container-update": Accepted,
  "container-remove": Accepted,
  "container-backup": Accepted,
  "container-restore": Accepted,
  "backup-list": BackupList,
  "install-log": InstallLog,
  "container-logs": ContainerLogs,
  "container-stats": Stats,
  "server.version": ServerVersion,
  "node.disk": DiskReport,
  "logs.subscribe": Subscribed,
  "stats.subscribe": Subscribed
} as const

/**
 * @since 0.1.0
 * @category models
 */
export type Response = typeof Response.Type

/**
 * The result of each method the dashboard reads, by name.
 *
 * @since 0.1.0
 * @category models
 */
export type Results = { readonly [K in keyof typeof results]: typeof results[K]["Type"] }

/**
 * Every message schema by name: the guards of `Guards.checks` answer for the same names.
 *
 * @since 0.1.0
 * @category schemas
 */
export const schemas = {
  AppView,
  Accepted,
  ServerVersion,
  LogLine,
  ContainerLogs,
  AppResources,
  BackupList,
  Subscribed,
  Snapshot,
  Changed,
  LogLines,
  LogsEnded,
  StatsChanged,
  BackupsChanged,
  ErrorObject,
  Response,
  NotificationMessage,
  AppList,
  InstallLog,
  Stats,
  DiskReport
} as const

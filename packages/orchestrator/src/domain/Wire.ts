/**
 * The wire protocol between `archipelago serve` and its clients, said once: JSON-RPC 2.0 on
 * `POST /rpc` and on the WebSocket `/ws`. Error codes, method and notification names, the
 * WebSocket subprotocols, and one `Schema` per message; the server types what it sends by them
 * and a test decodes everything it sends with them.
 *
 * Browsers decode with `check`/`decode`: small hand-written guards (property by property from
 * the schemas, proven equal to `Schema.is` by fast-check on arbitrary values), so the dashboard
 * bundle carries no Schema code. Every schema below is marked pure for that reason: a bundler
 * drops the ones a client never reads.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as AppState from "./AppState.js"
import * as DiskSpace from "./DiskSpace.js"
import type { AppView as AppViewModel } from "./AppView.js"
import * as Op from "./Op.js"
import type { VisualState } from "./VisualState.js"

// ---------------------------------------------------------------------------------------------
// constants
// ---------------------------------------------------------------------------------------------

/**
 * The error codes the server answers with.
 *
 * @since 0.1.0
 * @category constants
 */
export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  Internal: -32603,
  UnknownApp: -32001,
  Conflict: -32002,
  NotAllowed: -32003,
  Engine: -32004,
  Limit: -32005
} as const

/**
 * @since 0.1.0
 * @category models
 */
export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode]

/**
 * The same codes under camelCase names (the web components' `codes`); derived, so a code added
 * to `ErrorCode` without a name here fails to compile.
 *
 * @since 0.1.0
 * @category constants
 */
export const codes: { readonly [K in keyof typeof ErrorCode as Uncapitalize<K>]: typeof ErrorCode[K] } = {
  parseError: ErrorCode.ParseError,
  invalidRequest: ErrorCode.InvalidRequest,
  methodNotFound: ErrorCode.MethodNotFound,
  invalidParams: ErrorCode.InvalidParams,
  internal: ErrorCode.Internal,
  unknownApp: ErrorCode.UnknownApp,
  conflict: ErrorCode.Conflict,
  notAllowed: ErrorCode.NotAllowed,
  engine: ErrorCode.Engine,
  limit: ErrorCode.Limit
}

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

// ---------------------------------------------------------------------------------------------
// schemas (what the server sends; `/*#__PURE__*/` lets a browser bundle drop them)
// ---------------------------------------------------------------------------------------------

/**
 * The visual states, in the order of `VisualState`.
 *
 * @since 0.1.0
 * @category constants
 */
export const visualStates = [
  "not-installed",
  "running",
  "stopped",
  "starting",
  "stopping",
  "restarting",
  "installing",
  "updating",
  "removing",
  "backing-up",
  "restoring"
] as const satisfies ReadonlyArray<VisualState>

const healths = ["healthy", "unhealthy", "starting", "none"] as const
const directions = ["upgrade", "downgrade", "change"] as const
const protocols = ["tcp", "udp"] as const
const levels = ["info", "warn", "error"] as const
const engines = ["podman", "simulated"] as const
const errorOps = [...Op.all, "reconcile"] as const

// `Schema.Literal(...xs)` spreads (an iterator call a bundler must keep); through a function the
// call is pure and a bundler can drop it.
const oneOf = <const L extends ReadonlyArray<string>>(values: L) => Schema.Literal(...values)

const Num = Schema.Number
const Str = Schema.String
const NullableNum = /*#__PURE__*/ Schema.NullOr(Num)
const NullableStr = /*#__PURE__*/ Schema.NullOr(Str)

/**
 * The view of one app (`container-list`, `state.changed`, `state.snapshot`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const AppView = /*#__PURE__*/ Schema.Struct({
  id: Str,
  name: Str,
  version: Str,
  state: /*#__PURE__*/ oneOf(AppState.all),
  generation: Num,
  visualState: /*#__PURE__*/ oneOf(visualStates),
  health: /*#__PURE__*/ oneOf(healths),
  ports: /*#__PURE__*/ Schema.Array(/*#__PURE__*/ Schema.Struct({
    host: Num,
    container: Num,
    protocol: /*#__PURE__*/ oneOf(protocols)
  })),
  containerName: Str,
  containerId: NullableStr,
  image: NullableStr,
  lanAddress: NullableStr,
  startedAt: NullableNum,
  exitCode: NullableNum,
  transition: /*#__PURE__*/ Schema.NullOr(/*#__PURE__*/ Schema.Struct({
    op: /*#__PURE__*/ oneOf(Op.all),
    since: Num,
    deadline: Num,
    previous: /*#__PURE__*/ oneOf(AppState.all)
  })),
  lastError: /*#__PURE__*/ Schema.NullOr(/*#__PURE__*/ Schema.Struct({
    op: /*#__PURE__*/ oneOf(errorOps),
    message: Str,
    at: Num
  })),
  crashLoop: /*#__PURE__*/ Schema.NullOr(/*#__PURE__*/ Schema.Struct({
    restarts: Num,
    nextAttemptAt: Num,
    neverRan: /*#__PURE__*/ Schema.optionalWith(Schema.Boolean, { exact: true })
  })),
  dependsOn: /*#__PURE__*/ Schema.Array(Str),
  intent: /*#__PURE__*/ Schema.Struct({
    installed: Schema.Boolean,
    wantRunning: Schema.Boolean,
    userStopped: Schema.Boolean,
    updatedAt: Num
  }),
  uiPort: NullableNum,
  digest: NullableStr,
  runningVersion: NullableStr,
  updateAvailable: /*#__PURE__*/ Schema.NullOr(/*#__PURE__*/ Schema.Struct({ from: Str, to: Str, direction: /*#__PURE__*/ oneOf(directions) })),
  catalogError: /*#__PURE__*/ Schema.optionalWith(Str, { exact: true }),
  manifestPorts: /*#__PURE__*/ Schema.optionalWith(
    /*#__PURE__*/ Schema.Array(/*#__PURE__*/ Schema.Struct({ host: Num, container: Num, protocol: /*#__PURE__*/ oneOf(protocols) })),
    { exact: true }
  )
})

/**
 * The answer to an accepted lifecycle request: the transitional state the app is now in, and
 * the generation the server recorded the request at; a cascading remove lists the dependents
 * it removes first.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Accepted = /*#__PURE__*/ Schema.Struct({
  appId: Str,
  op: /*#__PURE__*/ oneOf(Op.all),
  status: Str,
  generation: Num,
  cascade: /*#__PURE__*/ Schema.optional(/*#__PURE__*/ Schema.Array(Str))
})

/**
 * The answer of `server.version`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ServerVersion = /*#__PURE__*/ Schema.Struct({
  version: Str,
  engine: /*#__PURE__*/ oneOf(engines),
  engineVersion: Str
})

/**
 * One line of an app's install log.
 *
 * @since 0.1.0
 * @category schemas
 */
export const LogLine = /*#__PURE__*/ Schema.Struct({
  seq: Num,
  at: Num,
  level: /*#__PURE__*/ oneOf(levels),
  message: Str
})

/**
 * The answer of `container-logs`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ContainerLogs = /*#__PURE__*/ Schema.Struct({ appId: Str, text: Str, truncated: Schema.Boolean })

/**
 * The resource use of one app.
 *
 * @since 0.1.0
 * @category schemas
 */
export const AppResources = /*#__PURE__*/ Schema.Struct({
  appId: Str,
  cpuPercent: Num,
  memoryBytes: Num,
  memoryLimitBytes: NullableNum
})

/**
 * The answer of `backup-list`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BackupList = /*#__PURE__*/ Schema.Struct({
  dir: Str,
  keep: Num,
  apps: /*#__PURE__*/ Schema.Array(/*#__PURE__*/ Schema.Struct({
    appId: Str,
    archives: /*#__PURE__*/ Schema.Array(/*#__PURE__*/ Schema.Struct({ file: Str, createdAt: Num, bytes: Num })),
    watched: /*#__PURE__*/ Schema.Array(/*#__PURE__*/ Schema.Struct({
      path: Str,
      copies: Num,
      lastCopyAt: NullableNum,
      /** The newest copy shrank sharply from the newest good one (sizes in bytes); the good copies are kept. */
      shrank: /*#__PURE__*/ Schema.NullOr(/*#__PURE__*/ Schema.Struct({ from: Num, to: Num }))
    })),
    /**
     * Non-null when a restore of the app now would be a channel recovery (its channel state is
     * gone): what will happen, in words; `container-restore` then needs `closeChannels: true`.
     */
    recovery: /*#__PURE__*/ Schema.NullOr(Str),
    /** Automatic backups: every `everyHours`, the last archive's and the next run's times. */
    schedule: /*#__PURE__*/ Schema.NullOr(/*#__PURE__*/ Schema.Struct({ everyHours: Num, lastAt: NullableNum, nextAt: Num }))
  }))
})

/**
 * The answer of `logs.subscribe` and `stats.subscribe`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Subscribed = /*#__PURE__*/ Schema.Struct({ subscription: Str, appId: /*#__PURE__*/ Schema.optional(Str) })

/**
 * The params of `state.snapshot`: every app, as of change number `seq`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Snapshot = /*#__PURE__*/ Schema.Struct({ apps: /*#__PURE__*/ Schema.Array(AppView), seq: Num })

/**
 * The params of `state.changed`; `seq` grows by one per change.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Changed = /*#__PURE__*/ Schema.Struct({ app: AppView, seq: Num })

/**
 * The params of `logs.lines`: the next lines of a followed log; `dropped` counts lines the
 * server skipped because this client fell behind.
 *
 * @since 0.1.0
 * @category schemas
 */
export const LogLines = /*#__PURE__*/ Schema.Struct({
  subscription: Str,
  appId: Str,
  lines: /*#__PURE__*/ Schema.Array(Str),
  dropped: Num
})

/**
 * The params of `logs.ended`: the followed log ended (`stopped` when the container stopped,
 * else why it could not be read).
 *
 * @since 0.1.0
 * @category schemas
 */
export const LogsEnded = /*#__PURE__*/ Schema.Struct({ subscription: Str, appId: Str, reason: Str })

/**
 * The params of `stats.changed`: one sample of every running app.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StatsChanged = /*#__PURE__*/ Schema.Struct({
  subscription: Str,
  at: Num,
  apps: /*#__PURE__*/ Schema.Array(AppResources)
})

/**
 * The params of `backups.changed`: what the backup target holds for the app changed (an
 * archive written or pruned, a watched file copied); `backup-list` tells what it holds now.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BackupsChanged = /*#__PURE__*/ Schema.Struct({ appId: Str })

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

const Id = /*#__PURE__*/ Schema.Union(Str, Num, Schema.Null)

/**
 * A response: `result` or `error`, with the request's id.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Response = /*#__PURE__*/ Schema.Union(
  /*#__PURE__*/ Schema.Struct({ jsonrpc: /*#__PURE__*/ Schema.Literal("2.0"), id: Id, result: Schema.Unknown }),
  /*#__PURE__*/ Schema.Struct({ jsonrpc: /*#__PURE__*/ Schema.Literal("2.0"), id: Id, error: ErrorObject })
)

/**
 * A notification the server pushes (no id); its params are one of `notifications`.
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
 * The params schema of each notification.
 *
 * @since 0.1.0
 * @category schemas
 */
export const notifications = {
  "state.snapshot": Snapshot,
  "state.changed": Changed,
  "logs.lines": LogLines,
  "logs.ended": LogsEnded,
  "stats.changed": StatsChanged,
  "backups.changed": BackupsChanged
} as const satisfies { readonly [K in Notification]: Schema.Schema.Any }

/**
 * The answer of `container-list`: every app, in catalog order.
 *
 * @since 0.1.0
 * @category schemas
 */
export const AppList = /*#__PURE__*/ Schema.Array(AppView)

/**
 * The answer of `install-log`: a page of lines, oldest first.
 *
 * @since 0.1.0
 * @category schemas
 */
export const InstallLog = /*#__PURE__*/ Schema.Array(LogLine)

/**
 * The answer of `container-stats`: one sample of every running app.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Stats = /*#__PURE__*/ Schema.Struct({ at: Num, apps: /*#__PURE__*/ Schema.Array(AppResources) })

/**
 * The answer of `node.disk`: the data disk's free and total bytes, its warning level
 * (`DiskSpace.level`), and the bytes under each app's folder (`<data>/apps/<id>`), as of the
 * last measurement `at` (the server measures on an interval, not per request). `partial` is true
 * when a walk stopped at its bound (the real size is larger).
 *
 * @since 0.1.0
 * @category schemas
 */
export const DiskReport = /*#__PURE__*/ Schema.Struct({
  at: Num,
  freeBytes: Num,
  totalBytes: Num,
  level: /*#__PURE__*/ oneOf(DiskSpace.levels),
  apps: /*#__PURE__*/ Schema.Array(/*#__PURE__*/ Schema.Struct({ appId: Str, bytes: Num, partial: Schema.Boolean }))
})

/**
 * @since 0.1.0
 * @category models
 */
export type DiskReport = typeof DiskReport.Type

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

// ---------------------------------------------------------------------------------------------
// types (from the schemas)
// ---------------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category models
 */
export type Accepted = typeof Accepted.Type
/**
 * @since 0.1.0
 * @category models
 */
export type ServerVersion = typeof ServerVersion.Type
/**
 * @since 0.1.0
 * @category models
 */
export type LogLine = typeof LogLine.Type
/**
 * @since 0.1.0
 * @category models
 */
export type ContainerLogs = typeof ContainerLogs.Type
/**
 * @since 0.1.0
 * @category models
 */
export type BackupList = typeof BackupList.Type
/**
 * @since 0.1.0
 * @category models
 */
export type Subscribed = typeof Subscribed.Type
/**
 * @since 0.1.0
 * @category models
 */
export type Snapshot = typeof Snapshot.Type
/**
 * @since 0.1.0
 * @category models
 */
export type Changed = typeof Changed.Type
/**
 * @since 0.1.0
 * @category models
 */
export type LogLines = typeof LogLines.Type
/**
 * @since 0.1.0
 * @category models
 */
export type LogsEnded = typeof LogsEnded.Type
/**
 * @since 0.1.0
 * @category models
 */
export type StatsChanged = typeof StatsChanged.Type
/**
 * @since 0.1.0
 * @category models
 */
export type BackupsChanged = typeof BackupsChanged.Type
/**
 * @since 0.1.0
 * @category models
 */
export type Response = typeof Response.Type

/**
 * The params of each notification, by name.
 *
 * @since 0.1.0
 * @category models
 */
export type NotificationParams = { readonly [K in Notification]: typeof notifications[K]["Type"] }

/**
 * The result of each method the dashboard reads, by name.
 *
 * @since 0.1.0
 * @category models
 */
export type Results = { readonly [K in keyof typeof results]: typeof results[K]["Type"] }

// The schema says what the domain's `AppView` says, field by field, both ways.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const sameAppView: Same<typeof AppView.Type, AppViewModel> = true
const sameVisual: Same<typeof visualStates[number], VisualState> = true
void sameAppView
void sameVisual

// ---------------------------------------------------------------------------------------------
// guards (the browser's decoder): one per schema, proven equal to `Schema.is` in Wire.test.ts
// ---------------------------------------------------------------------------------------------

/**
 * Why a value is not the message it should be: the dotted path of the first bad field and what
 * was expected there.
 *
 * @since 0.1.0
 * @category models
 */
export interface Issue {
  readonly field: string
  readonly expected: string
}

/**
 * A guard: undefined when `u` is valid, else the first issue (`at` is the path of `u`).
 *
 * @since 0.1.0
 * @category models
 */
export type Check = (u: unknown, at: string) => Issue | undefined

const hasOwn = (u: object, key: string): boolean => Object.prototype.hasOwnProperty.call(u, key)
const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)
const join = (at: string, key: string): string => (at === "" ? key : `${at}.${key}`)

const kind = (expected: string, test: (u: unknown) => boolean): Check => (u, at) =>
  test(u) ? undefined : { field: at, expected }

const str = kind("a string", (u) => typeof u === "string")
const num = kind("a number", (u) => typeof u === "number")
const bool = kind("a boolean", (u) => typeof u === "boolean")
const unknown: Check = () => undefined
const lit = (values: ReadonlyArray<string>): Check => {
  const set = new Set<unknown>(values)
  return kind(values.length === 1 ? JSON.stringify(values[0]) : `one of ${values.join(", ")}`, (u) => set.has(u))
}
const nullable = (c: Check): Check => (u, at) => (u === null ? undefined : c(u, at))
const array = (c: Check): Check => (u, at) => {
  if (!Array.isArray(u)) return { field: at, expected: "an array" }
  for (let i = 0; i < u.length; i++) {
    const issue = c(u[i], `${at}[${i}]`)
    if (issue !== undefined) return issue
  }
  return undefined
}
const struct = (required: Readonly<Record<string, Check>>, optional: Readonly<Record<string, Check>> = {}): Check => {
  const req = Object.entries(required)
  const opt = Object.entries(optional)
  return (u, at) => {
    if (!isRecord(u)) return { field: at, expected: "an object" }
    for (const [key, c] of req) {
      if (!hasOwn(u, key)) return { field: join(at, key), expected: "a value (it is missing)" }
      const issue = c(u[key], join(at, key))
      if (issue !== undefined) return issue
    }
    for (const [key, c] of opt) {
      if (!hasOwn(u, key) || u[key] === undefined) continue
      const issue = c(u[key], join(at, key))
      if (issue !== undefined) return issue
    }
    return undefined
  }
}
const nullableNum = nullable(num)
const nullableStr = nullable(str)
const opValue = lit(Op.all)
const stateValue = lit(AppState.all)

const checkAppView = struct({
  id: str,
  name: str,
  version: str,
  state: stateValue,
  generation: num,
  visualState: lit(visualStates),
  health: lit(healths),
  ports: array(struct({ host: num, container: num, protocol: lit(protocols) })),
  containerName: str,
  containerId: nullableStr,
  image: nullableStr,
  lanAddress: nullableStr,
  startedAt: nullableNum,
  exitCode: nullableNum,
  transition: nullable(struct({ op: opValue, since: num, deadline: num, previous: stateValue })),
  lastError: nullable(struct({ op: lit(errorOps), message: str, at: num })),
  crashLoop: nullable(struct({ restarts: num, nextAttemptAt: num }, { neverRan: bool })),
  dependsOn: array(str),
  intent: struct({ installed: bool, wantRunning: bool, userStopped: bool, updatedAt: num }),
  uiPort: nullableNum,
  digest: nullableStr,
  runningVersion: nullableStr,
  updateAvailable: nullable(struct({ from: str, to: str, direction: lit(directions) }))
}, { catalogError: str, manifestPorts: array(struct({ host: num, container: num, protocol: lit(protocols) })) })
const checkAccepted = struct({ appId: str, op: opValue, status: str, generation: num }, { cascade: array(str) })
const checkLogLine = struct({ seq: num, at: num, level: lit(levels), message: str })
const checkResources = struct({ appId: str, cpuPercent: num, memoryBytes: num, memoryLimitBytes: nullableNum })
const checkSubscribed = struct({ subscription: str }, { appId: str })
const checkErrorObject = struct({ code: num, message: str }, { data: unknown })
const checkId: Check = kind("a string, a number or null", (u) => u === null || typeof u === "string" || typeof u === "number")
const checkSuccess = struct({ jsonrpc: lit(["2.0"]), id: checkId, result: unknown })
const checkFailure = struct({ jsonrpc: lit(["2.0"]), id: checkId, error: checkErrorObject })

/**
 * The guard of every message, by the name of its schema (`notifications`' and `results`' keys
 * included). Each answers exactly what `Schema.is` of the same-named schema answers.
 *
 * @since 0.1.0
 * @category guards
 */
export const checks = {
  AppView: checkAppView,
  Accepted: checkAccepted,
  ServerVersion: struct({ version: str, engine: lit(engines), engineVersion: str }),
  LogLine: checkLogLine,
  ContainerLogs: struct({ appId: str, text: str, truncated: bool }),
  AppResources: checkResources,
  BackupList: struct({
    dir: str,
    keep: num,
    apps: array(struct({
      appId: str,
      archives: array(struct({ file: str, createdAt: num, bytes: num })),
      watched: array(struct({ path: str, copies: num, lastCopyAt: nullableNum, shrank: nullable(struct({ from: num, to: num })) })),
      recovery: nullableStr,
      schedule: nullable(struct({ everyHours: num, lastAt: nullableNum, nextAt: num }))
    }))
  }),
  Subscribed: checkSubscribed,
  Snapshot: struct({ apps: array(checkAppView), seq: num }),
  Changed: struct({ app: checkAppView, seq: num }),
  LogLines: struct({ subscription: str, appId: str, lines: array(str), dropped: num }),
  LogsEnded: struct({ subscription: str, appId: str, reason: str }),
  StatsChanged: struct({ subscription: str, at: num, apps: array(checkResources) }),
  BackupsChanged: struct({ appId: str }),
  ErrorObject: checkErrorObject,
  Response: ((u, at) => {
    if (checkSuccess(u, at) === undefined) return undefined
    return isRecord(u) && hasOwn(u, "error") ? checkFailure(u, at) : checkSuccess(u, at)
  }) as Check,
  NotificationMessage: struct({ jsonrpc: lit(["2.0"]), method: str, params: unknown }),
  AppList: array(checkAppView),
  InstallLog: array(checkLogLine),
  Stats: struct({ at: num, apps: array(checkResources) }),
  DiskReport: struct({
    at: num,
    freeBytes: num,
    totalBytes: num,
    level: lit(DiskSpace.levels),
    apps: array(struct({ appId: str, bytes: num, partial: bool }))
  })
} as const satisfies { readonly [K in keyof typeof schemas]: Check }

/**
 * Every message schema by name: the guards of `checks` answer for the same names.
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

/**
 * The values each guard admits, by name.
 *
 * @since 0.1.0
 * @category models
 */
export type Checked = { readonly [K in keyof typeof schemas]: typeof schemas[K]["Type"] }

/**
 * The guard of each notification's params, by notification name.
 *
 * @since 0.1.0
 * @category guards
 */
export const notificationChecks: { readonly [K in Notification]: Check } = {
  "state.snapshot": checks.Snapshot,
  "state.changed": checks.Changed,
  "logs.lines": checks.LogLines,
  "logs.ended": checks.LogsEnded,
  "stats.changed": checks.StatsChanged,
  "backups.changed": checks.BackupsChanged
}

/**
 * True for the name of a notification the protocol defines.
 *
 * @since 0.1.0
 * @category guards
 */
export const isNotification = (u: unknown): u is Notification =>
  typeof u === "string" && Object.prototype.hasOwnProperty.call(notificationChecks, u)

/**
 * A decoded message, or the issue that makes it not one.
 *
 * @since 0.1.0
 * @category models
 */
export type Decoded<A> =
  | { readonly _tag: "Valid"; readonly value: A }
  | { readonly _tag: "Invalid"; readonly issue: Issue }

/**
 * Decodes `u` as the message `name` with its guard; `at` is the path of `u` in what arrived
 * (`params`, `result`).
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = <K extends keyof Checked>(name: K, u: unknown, at = ""): Decoded<Checked[K]> => {
  const issue = checks[name](u, at)
  return issue === undefined ? { _tag: "Valid", value: u as Checked[K] } : { _tag: "Invalid", issue }
}

/**
 * Decodes the params of notification `method` with its guard.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeParams = <K extends Notification>(method: K, params: unknown): Decoded<NotificationParams[K]> => {
  const issue = notificationChecks[method](params, "params")
  return issue === undefined ? { _tag: "Valid", value: params as NotificationParams[K] } : { _tag: "Invalid", issue }
}

/**
 * An issue in words: `params.app.state: expected one of ...`.
 *
 * @since 0.1.0
 * @category getters
 */
export const describe = (issue: Issue): string => `${issue.field === "" ? "the message" : issue.field}: expected ${issue.expected}`

/**
 * The views of the wire protocol: what the server answers a request with (an app's view, an
 * accepted lifecycle request, a page of log lines, a backup listing, a disk report), one
 * `Schema` each. The server types what it sends by them and a test decodes everything it sends
 * with them; browsers check them with `Guards` instead.
 *
 * Every schema is marked pure: a bundler drops the ones a client never reads.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as AppState from "../domain/AppState.js"
import type { AppView as AppViewModel } from "../domain/AppView.js"
import * as DiskSpace from "../domain/DiskSpace.js"
import * as Op from "../domain/Op.js"
import type { VisualState } from "../domain/VisualState.js"
import * as Literals from "./internal/Literals.js"
import { NullableNum, NullableStr, Num, oneOf, Str } from "./internal/Vocabulary.js"

/**
 * The visual states, in the order of `VisualState`.
 *
 * @since 0.1.0
 * @category constants
 */
export const visualStates: typeof Literals.visualStates = Literals.visualStates

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
  health: /*#__PURE__*/ oneOf(Literals.healths),
  ports: /*#__PURE__*/ Schema.Array(/*#__PURE__*/ Schema.Struct({
    host: Num,
    container: Num,
    protocol: /*#__PURE__*/ oneOf(Literals.protocols)
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
    op: /*#__PURE__*/ oneOf(Literals.errorOps),
    message: Str,
    at: Num
  })),
  crashLoop: /*#__PURE__*/ Schema.NullOr(/*#__PURE__*/ Schema.Struct({
    restarts: Num,
    nextAttemptAt: Num,
    neverRan: /*#__PURE__*/ Schema.optionalKey(Schema.Boolean)
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
  updateAvailable: /*#__PURE__*/ Schema.NullOr(/*#__PURE__*/ Schema.Struct({ from: Str, to: Str, direction: /*#__PURE__*/ oneOf(Literals.directions) })),
  catalogError: /*#__PURE__*/ Schema.optionalKey(Str),
  manifestPorts: /*#__PURE__*/ Schema.optionalKey(
    /*#__PURE__*/ Schema.Array(/*#__PURE__*/ Schema.Struct({ host: Num, container: Num, protocol: /*#__PURE__*/ oneOf(Literals.protocols) }))
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
  engine: /*#__PURE__*/ oneOf(Literals.engines),
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
  level: /*#__PURE__*/ oneOf(Literals.levels),
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

// The schema says what the domain's `AppView` says, field by field, both ways.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const sameAppView: Same<typeof AppView.Type, AppViewModel> = true
const sameVisual: Same<typeof visualStates[number], VisualState> = true
void sameAppView
void sameVisual

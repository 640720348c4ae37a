/**
 * The params of the notifications the server pushes on `/ws` (a snapshot on connect, then
 * ordered changes; followed logs; resource samples; backup changes), one `Schema` each, and the
 * schema of each notification by name.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import type { Notification } from "./Methods.js"
import { Num, Str } from "./internal/Vocabulary.js"
import { AppResources, AppView } from "./Views.js"

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
} as const satisfies { readonly [K in Notification]: Schema.Top }

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
 * The params of each notification, by name.
 *
 * @since 0.1.0
 * @category models
 */
export type NotificationParams = { readonly [K in Notification]: typeof notifications[K]["Type"] }

/**
 * Every state an app can be in, by its kebab-case name.
 *
 * @since 0.1.0
 */

/**
 * All app states, in a stable order.
 *
 * @since 0.1.0
 * @category models
 */
export const all = [
  "not-installed",
  "installing",
  "installed",
  "starting",
  "running",
  "stopping",
  "stopped",
  "exited",
  "restarting",
  "updating",
  "removing",
  "backing-up",
  "creating-backup",
  "restoring-backup",
  "failed"
] as const

/**
 * @since 0.1.0
 * @category models
 */
export type AppState = typeof all[number]

/**
 * The states an operation holds an app in while it runs.
 *
 * @since 0.1.0
 * @category models
 */
export const transitional: ReadonlyArray<AppState> = [
  "installing",
  "starting",
  "stopping",
  "restarting",
  "updating",
  "removing",
  "backing-up",
  "creating-backup",
  "restoring-backup"
]

const transitionalSet: ReadonlySet<AppState> = new Set(transitional)

/**
 * True while an operation is in flight for the app.
 *
 * @since 0.1.0
 * @category guards
 */
export const isTransitional = (state: AppState): boolean => transitionalSet.has(state)

/**
 * True for any of the kebab-case state names.
 *
 * @since 0.1.0
 * @category guards
 */
export const is = (u: unknown): u is AppState => typeof u === "string" && (all as ReadonlyArray<string>).includes(u)

/**
 * Lifecycle operations, with their transitional state, final state and deadline.
 *
 * @since 0.1.0
 */
import type { AppState } from "./AppState.js"

/**
 * All operations.
 *
 * @since 0.1.0
 * @category models
 */
export const all = ["install", "start", "stop", "restart", "update", "remove", "backup", "restore"] as const

/**
 * @since 0.1.0
 * @category models
 */
export type Op = typeof all[number]

/**
 * The state an app shows while the operation runs.
 *
 * @since 0.1.0
 * @category getters
 */
export const transitionalState = (op: Op): AppState => {
  switch (op) {
    case "install":
      return "installing"
    case "start":
      return "starting"
    case "stop":
      return "stopping"
    case "restart":
      return "restarting"
    case "update":
      return "updating"
    case "remove":
      return "removing"
    case "backup":
      return "backing-up"
    case "restore":
      return "restoring-backup"
  }
}

// What "settled" means, once: the state a successful op lands in (`previous`: as it was), and
// the observed states that show its outcome was reached. A data op's outcome is not visible in
// the engine's state, so none shows it.
const outcomes: { readonly [K in Op]: { readonly lands: AppState | "previous"; readonly shownBy: ReadonlyArray<AppState> } } = {
  install: { lands: "running", shownBy: ["running"] },
  start: { lands: "running", shownBy: ["running"] },
  restart: { lands: "running", shownBy: ["running"] },
  update: { lands: "running", shownBy: ["running"] },
  stop: { lands: "stopped", shownBy: ["stopped", "exited", "installed", "not-installed"] },
  remove: { lands: "not-installed", shownBy: ["not-installed"] },
  backup: { lands: "previous", shownBy: [] },
  restore: { lands: "previous", shownBy: [] }
}

/**
 * The state an app lands in when the operation succeeds. Backups leave the app as it was.
 *
 * @since 0.1.0
 * @category getters
 */
export const finalState = (op: Op, previous: AppState): AppState => {
  const lands = outcomes[op].lands
  return lands === "previous" ? previous : lands
}

/**
 * Whether an observed state already shows the outcome the operation was heading for (the
 * definition of "settled" the runner's final state and the reconciler's boot both read): a
 * stop is settled by any state with the container not running, a remove by its absence, the
 * others by a running container. A backup or a restore is never settled by observation (its
 * journal replays it). Every non-data op's `finalState` settles it.
 *
 * @example
 * Op.settledBy("stop", "exited") // true
 * Op.settledBy("start", "exited") // false
 *
 * @since 0.1.0
 * @category predicates
 */
export const settledBy = (op: Op, state: AppState): boolean => outcomes[op].shownBy.includes(state)

/**
 * Time allowed for starting a container and seeing it run, in seconds.
 *
 * @since 0.1.0
 * @category constants
 */
export const startAllowanceSec = 120

/**
 * Time allowed for pulling or building an image, in seconds.
 *
 * @since 0.1.0
 * @category constants
 */
export const fetchAllowanceSec = 1800

/**
 * Slack added to an app's stop timeout: podman's SIGKILL after the timeout and its cleanup.
 *
 * @since 0.1.0
 * @category constants
 */
export const stopSlackSec = 30

/**
 * Time allowed for a backup or a restore, in seconds.
 *
 * @since 0.1.0
 * @category constants
 */
export const backupAllowanceSec = 3600

/**
 * How long the operation may hold its transitional state, in milliseconds, given the app's
 * graceful stop timeout in seconds. A restart covers a stop and a start; an update covers a
 * fetch, a stop and a start. Past it, observation wins over the transitional state.
 *
 * @since 0.1.0
 * @category getters
 */
export const deadlineMs = (op: Op, stopTimeoutSec: number): number => {
  const stop = Math.max(0, stopTimeoutSec) + stopSlackSec
  const sec = (() => {
    switch (op) {
      case "install":
        return fetchAllowanceSec + startAllowanceSec
      case "start":
        return startAllowanceSec
      case "stop":
        return stop
      case "restart":
        return stop + startAllowanceSec
      case "update":
        return fetchAllowanceSec + stop + startAllowanceSec
      case "remove":
        return stop + startAllowanceSec
      case "backup":
      case "restore":
        return backupAllowanceSec + stop + startAllowanceSec
    }
  })()
  return sec * 1000
}

/**
 * The status word an RPC answers with when the operation is accepted, e.g. `"stopping"`.
 *
 * @since 0.1.0
 * @category getters
 */
export const acceptedStatus = transitionalState

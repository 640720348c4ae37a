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

/**
 * The state an app lands in when the operation succeeds. Backups leave the app as it was.
 *
 * @since 0.1.0
 * @category getters
 */
export const finalState = (op: Op, previous: AppState): AppState => {
  switch (op) {
    case "install":
    case "start":
    case "restart":
    case "update":
      return "running"
    case "stop":
      return "stopped"
    case "remove":
      return "not-installed"
    case "backup":
    case "restore":
      return previous
  }
}

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

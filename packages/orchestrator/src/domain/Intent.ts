/**
 * What the user asked for, persisted before any work starts so that crash recovery never
 * undoes a user's decision.
 *
 * @since 0.1.0
 */
import type { Op } from "./Op.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Intent {
  /** The user installed the app and has not removed it. */
  readonly installed: boolean
  /** The user wants the app running. */
  readonly wantRunning: boolean
  /** The user's last word was Stop: nothing automatic may start the app. */
  readonly userStopped: boolean
  /** When the user last spoke, Unix milliseconds. */
  readonly updatedAt: number
}

/**
 * The intent of an app nobody asked for yet.
 *
 * @since 0.1.0
 * @category constructors
 */
export const none: Intent = { installed: false, wantRunning: false, userStopped: false, updatedAt: 0 }

/**
 * The intent an app already running on the engine gets when it is adopted at boot.
 *
 * @since 0.1.0
 * @category constructors
 */
export const adopted = (running: boolean, now: number): Intent => ({
  installed: true,
  wantRunning: running,
  userStopped: false,
  updatedAt: now
})

/**
 * The intent after the user requests an operation. Backups and restores do not change intent.
 *
 * @since 0.1.0
 * @category combinators
 */
export const request = (intent: Intent, op: Op, now: number): Intent => {
  switch (op) {
    case "install":
    case "start":
    case "restart":
    case "update":
      return { installed: true, wantRunning: true, userStopped: false, updatedAt: now }
    case "stop":
      return { installed: true, wantRunning: false, userStopped: true, updatedAt: now }
    case "remove":
      return { installed: false, wantRunning: false, userStopped: false, updatedAt: now }
    case "backup":
    case "restore":
      return intent
  }
}

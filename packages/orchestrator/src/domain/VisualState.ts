/**
 * What the dashboard shows: the visual state of an app and its one primary button.
 * The same functions drive the web components, so the table of docs/background.md ("The primary button") lives here once.
 *
 * @since 0.1.0
 */
import type { AppEntry } from "./AppEntry.js"
import type { AppState } from "./AppState.js"
import type { Op } from "./Op.js"

/**
 * @since 0.1.0
 * @category models
 */
export type VisualState =
  | "not-installed"
  | "running"
  | "stopped"
  | "starting"
  | "stopping"
  | "restarting"
  | "installing"
  | "updating"
  | "removing"
  | "backing-up"
  | "restoring"

/**
 * Maps an app state to what the dashboard shows. Raw exited, created, paused, installed and
 * failed states all read as stopped (the card shows the last error separately).
 *
 * @since 0.1.0
 * @category getters
 */
export const ofState = (state: AppState): VisualState => {
  switch (state) {
    case "not-installed":
      return "not-installed"
    case "running":
      return "running"
    case "installed":
    case "stopped":
    case "exited":
    case "failed":
      return "stopped"
    case "installing":
      return "installing"
    case "starting":
      return "starting"
    case "stopping":
      return "stopping"
    case "restarting":
      return "restarting"
    case "updating":
      return "updating"
    case "removing":
      return "removing"
    case "backing-up":
    case "creating-backup":
      return "backing-up"
    case "restoring-backup":
      return "restoring"
  }
}

/**
 * The visual state of an entry.
 *
 * @since 0.1.0
 * @category getters
 */
export const visualState = (entry: Pick<AppEntry, "state">): VisualState => ofState(entry.state)

/**
 * The single primary button of an app card.
 *
 * @since 0.1.0
 * @category models
 */
export interface PrimaryButton {
  /** The operation a click requests, or undefined while transitional. */
  readonly action: Op | undefined
  readonly label: string
  readonly spinner: boolean
  readonly disabled: boolean
}

const idle = (action: Op, label: string): PrimaryButton => ({ action, label, spinner: false, disabled: false })
const busy = (label: string): PrimaryButton => ({ action: undefined, label, spinner: true, disabled: true })

/**
 * The primary button for a visual state: the table of docs/background.md.
 *
 * @since 0.1.0
 * @category getters
 */
export const primaryButton = (visual: VisualState): PrimaryButton => {
  switch (visual) {
    case "not-installed":
      return idle("install", "Install")
    case "running":
      return idle("stop", "Stop")
    case "stopped":
      return idle("start", "Start")
    case "starting":
      return busy("Starting…")
    case "stopping":
      return busy("Stopping…")
    case "restarting":
      return busy("Restarting…")
    case "installing":
      return busy("Installing…")
    case "updating":
      return busy("Updating…")
    case "removing":
      return busy("Removing…")
    case "backing-up":
      return busy("Backing up…")
    case "restoring":
      return busy("Restoring…")
  }
}

/**
 * Whether the separate Restart button shows: only while running.
 *
 * @since 0.1.0
 * @category getters
 */
export const showsRestart = (visual: VisualState): boolean => visual === "running"

/**
 * True for the visual states that hold a spinner.
 *
 * @since 0.1.0
 * @category guards
 */
export const isBusy = (visual: VisualState): boolean => primaryButton(visual).spinner

/**
 * A human label for the status badge.
 *
 * @since 0.1.0
 * @category getters
 */
export const statusLabel = (visual: VisualState): string => {
  switch (visual) {
    case "not-installed":
      return "Not installed"
    case "running":
      return "Running"
    case "stopped":
      return "Stopped"
    default:
      return primaryButton(visual).label
  }
}

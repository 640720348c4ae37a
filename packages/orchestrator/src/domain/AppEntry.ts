/**
 * What the orchestrator believes is true about one app: its state, the operation in flight, the
 * fields last observed on the engine, and the last error.
 *
 * @since 0.1.0
 */
import type * as Journal from "./Journal.js"
import type { AppId } from "./AppId.js"
import type { AppState } from "./AppState.js"
import type { Op } from "./Op.js"

/**
 * Container health as the engine reports it.
 *
 * @since 0.1.0
 * @category models
 */
export type Health = "healthy" | "unhealthy" | "starting" | "none"

/**
 * A published port.
 *
 * @since 0.1.0
 * @category models
 */
export interface PortBinding {
  readonly host: number
  readonly container: number
  readonly protocol: "tcp" | "udp"
}

/**
 * The operation in flight: what it is, when it began, when it must be over, and the state to
 * restore if it fails. Times are Unix milliseconds.
 *
 * @since 0.1.0
 * @category models
 */
export interface Transition {
  readonly op: Op
  readonly since: number
  readonly deadline: number
  readonly previous: AppState
}

/**
 * Fields taken fresh from every observation of the engine.
 *
 * @since 0.1.0
 * @category models
 */
export interface Observed {
  readonly containerId?: string
  readonly containerName?: string
  readonly image?: string
  readonly specHash?: string
  /**
   * The digest (`sha256:<image id>`) of the image the container was created from.
   *
   * @since 0.1.0
   */
  readonly digest?: string
  /**
   * The app version the container runs, and the image reference it was created for (from its
   * labels; absent on containers created before they existed, and on adopted ones).
   *
   * @since 0.1.0
   */
  readonly version?: string
  readonly imageRef?: string
  readonly health: Health
  readonly ports: ReadonlyArray<PortBinding>
  readonly lanAddress?: string
  readonly startedAt?: number
  readonly exitCode?: number
}

/**
 * The last failure of an operation, kept until an operation succeeds.
 *
 * @since 0.1.0
 * @category models
 */
export interface LastError {
  readonly op: Op | "reconcile"
  readonly message: string
  readonly at: number
}

/**
 * Crash-loop back-off, when the reconciler is holding off restarting an app.
 *
 * @since 0.1.0
 * @category models
 */
export interface CrashLoop {
  readonly restarts: number
  readonly nextAttemptAt: number
  /**
   * True when the last automatic (re)start never got the container running (podman's start
   * failed, e.g. a host port in use): a failure to start, not a crash.
   *
   * @since 0.1.0
   */
  readonly neverRan?: boolean
}

/**
 * A release of an app: its version, the image reference it asked for, and the digest of the
 * image its container was created from.
 *
 * @since 0.1.0
 * @category models
 */
export interface Release {
  readonly version: string
  readonly image: string
  readonly digest: string
}

/**
 * A health-gated update in progress: the update's journal record (see `Journal.UpdateEntry`).
 *
 * @since 0.1.0
 * @category models
 */
export type PendingUpdate = Journal.UpdateEntry

/**
 * @since 0.1.0
 * @category models
 */
export interface AppEntry {
  readonly id: AppId
  readonly state: AppState
  /**
   * Grows by one with each change of the app's intent or transition (see `Generation`);
   * absent means 0.
   */
  readonly generation?: number
  readonly transition?: Transition
  readonly observed: Observed
  readonly lastError?: LastError
  readonly crashLoop?: CrashLoop
  /**
   * The journal record of a data operation in progress (update, restore, backup, purging
   * remove): its step and what undoes it, persisted before the step changes anything (see
   * `Journal`).
   *
   * @since 0.1.0
   */
  readonly journal?: Journal.Entry
  /**
   * The release the app's container was last seen on (from its labels), kept while the
   * container is gone: a repair recreates this release, by digest, and only an explicit update
   * moves the app to another. Absent for containers without the labels (adopted ones).
   *
   * @since 0.1.0
   */
  readonly release?: Release
}

/**
 * The release a container is on, from its observed labels: its version, image reference and
 * digest; undefined when a label is missing.
 *
 * @since 0.1.0
 * @category getters
 */
export const releaseOf = (observed: Observed): Release | undefined =>
  observed.digest === undefined || observed.version === undefined
    ? undefined
    : { version: observed.version, image: observed.imageRef ?? observed.image ?? "", digest: observed.digest }

/**
 * Records the release observed fields show, when they show one; otherwise the entry keeps the
 * release it had (the container is gone, or its labels say nothing). Idempotent.
 *
 * @since 0.1.0
 * @category combinators
 */
export const recordRelease = (entry: AppEntry, observed: Observed): AppEntry => {
  const seen = releaseOf(observed)
  if (seen === undefined) return entry
  const r = entry.release
  return r !== undefined && r.version === seen.version && r.image === seen.image && r.digest === seen.digest
    ? entry
    : { ...entry, release: seen }
}

/**
 * What one scan saw of an app: the state mapped from the container, and the fresh fields.
 *
 * @since 0.1.0
 * @category models
 */
export interface Observation {
  readonly state: AppState
  readonly observed: Observed
}

/**
 * Observed fields when no container exists.
 *
 * @since 0.1.0
 * @category constructors
 */
export const emptyObserved: Observed = { health: "none", ports: [] }

/**
 * A fresh entry for an app with no container.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (id: AppId, state: AppState = "not-installed", observed: Observed = emptyObserved): AppEntry => ({
  id,
  state,
  observed
})

/**
 * The observation of an app with no container.
 *
 * @since 0.1.0
 * @category constructors
 */
export const absent: Observation = { state: "not-installed", observed: emptyObserved }

/**
 * Maps a raw container state (as podman prints it) to an app state.
 * `exited` with a non-zero code stays `exited`; the visual layer shows it as stopped.
 *
 * @since 0.1.0
 * @category constructors
 */
export const stateOfContainer = (raw: string): AppState => {
  switch (raw.toLowerCase()) {
    case "running":
      return "running"
    case "created":
    case "configured":
    case "initialized":
      return "installed"
    case "exited":
      return "exited"
    case "stopped":
    case "paused":
      return "stopped"
    case "stopping":
      return "stopping"
    case "removing":
      return "removing"
    default:
      return "failed"
  }
}

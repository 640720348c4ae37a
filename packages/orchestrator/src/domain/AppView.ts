/**
 * The view of one app that `container-list` returns and `state.changed` pushes: what the
 * dashboard renders. Plain JSON.
 *
 * @since 0.1.0
 */
import type { AppEntry, CrashLoop, Health, LastError, PortBinding, Transition } from "./AppEntry.js"
import type { AppState } from "./AppState.js"
import type { Intent } from "./Intent.js"
import * as VisualState from "./VisualState.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface AppView {
  readonly id: string
  readonly name: string
  readonly version: string
  readonly state: AppState
  /**
   * The entry's request generation (see `Generation`): a view with a higher one was taken
   * after every request accepted at a lower or equal one.
   */
  readonly generation: number
  readonly visualState: VisualState.VisualState
  readonly health: Health
  readonly ports: ReadonlyArray<PortBinding>
  readonly containerName: string
  readonly containerId: string | null
  readonly image: string | null
  readonly lanAddress: string | null
  readonly startedAt: number | null
  readonly exitCode: number | null
  readonly transition: Transition | null
  readonly lastError: LastError | null
  readonly crashLoop: CrashLoop | null
  readonly dependsOn: ReadonlyArray<string>
  readonly intent: Intent
  /** The host port of the app's web UI, when it has one. */
  readonly uiPort: number | null
}

/**
 * The catalog facts a view needs besides the entry.
 *
 * @since 0.1.0
 * @category models
 */
export interface AppMeta {
  readonly name: string
  readonly version: string
  readonly containerName: string
  readonly dependsOn: ReadonlyArray<string>
  readonly uiPort?: number
}

/**
 * Builds the view of an app.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (entry: AppEntry, meta: AppMeta, intent: Intent): AppView => ({
  id: entry.id,
  name: meta.name,
  version: meta.version,
  state: entry.state,
  generation: entry.generation ?? 0,
  visualState: VisualState.visualState(entry),
  health: entry.observed.health,
  ports: entry.observed.ports,
  containerName: entry.observed.containerName ?? meta.containerName,
  containerId: entry.observed.containerId ?? null,
  image: entry.observed.image ?? null,
  lanAddress: entry.observed.lanAddress ?? null,
  startedAt: entry.observed.startedAt ?? null,
  exitCode: entry.observed.exitCode ?? null,
  transition: entry.transition ?? null,
  lastError: entry.lastError ?? null,
  crashLoop: entry.crashLoop ?? null,
  dependsOn: meta.dependsOn,
  intent,
  uiPort: meta.uiPort ?? null
})

/**
 * The view of one app that `container-list` returns and `state.changed` pushes: what the
 * dashboard renders. Plain JSON.
 *
 * @since 0.1.0
 */
import type { AppEntry, CrashLoop, Health, LastError, PortBinding, Transition } from "./AppEntry.js"
import type { AppState } from "./AppState.js"
import type { Intent } from "./Intent.js"
import * as Version from "./Version.js"
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
  /**
   * The digest (`sha256:<image id>`) of the image the app's container was created from.
   *
   * @since 0.1.0
   */
  readonly digest: string | null
  /**
   * The version the container runs (its label), which trails `version` (the catalog's) while
   * an update is available or after one was rolled back.
   *
   * @since 0.1.0
   */
  readonly runningVersion: string | null
  /**
   * Set when the catalog's manifest asks for another version or image than the container
   * runs: `container-update` moves it from `from` to `to`.
   *
   * @since 0.1.0
   */
  readonly updateAvailable: UpdateAvailable | null
  /**
   * Set when the app's manifest did not validate at start-up: its located errors, one per line.
   * The app is left as it is (nothing is started, stopped or removed) until the manifest is fixed.
   *
   * @since 0.1.0
   */
  readonly catalogError?: string
  /**
   * The ports the catalog's manifest publishes (host → container), shown before the app is
   * installed, when `ports` (what the engine reports) is still empty.
   *
   * @since 0.1.0
   */
  readonly manifestPorts?: ReadonlyArray<PortBinding>
}

/**
 * An update the catalog offers for an installed app.
 *
 * @since 0.1.0
 * @category models
 */
export interface UpdateAvailable {
  readonly from: string
  readonly to: string
  /**
   * `downgrade` when `to` is an older semver than `from` (label it so: an app's database may not
   * go back), `upgrade` when newer, `change` when the two cannot be ordered.
   *
   * @since 0.1.0
   */
  readonly direction: "upgrade" | "downgrade" | "change"
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
  /**
   * The image reference the catalog's manifest asks for.
   *
   * @since 0.1.0
   */
  readonly image?: string
  /**
   * The ports the manifest publishes.
   *
   * @since 0.1.0
   */
  readonly ports?: ReadonlyArray<PortBinding>
}

/**
 * The update the catalog offers: the container says (by its labels) which version and image it
 * was created for; when either differs from the manifest's, `{ from, to }`. A container without
 * those labels (created before they existed, or adopted) offers none: its spec hash already
 * tells the reconciler whether it differs.
 *
 * @since 0.1.0
 * @category getters
 */
export const updateAvailable = (entry: AppEntry, meta: AppMeta): UpdateAvailable | null => {
  const o = entry.observed
  if (entry.state === "not-installed" || o.containerId === undefined || o.version === undefined) return null
  const versionDiffers = o.version !== meta.version
  const imageDiffers = meta.image !== undefined && o.imageRef !== undefined && o.imageRef !== meta.image
  return versionDiffers || imageDiffers ? { from: o.version, to: meta.version, direction: Version.direction(o.version, meta.version) } : null
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
  uiPort: meta.uiPort ?? null,
  digest: entry.observed.digest ?? null,
  runningVersion: entry.observed.version ?? null,
  updateAvailable: updateAvailable(entry, meta),
  ...(meta.ports === undefined ? {} : { manifestPorts: meta.ports })
})

/**
 * The view of an app left out of the catalog for errors in its manifest: its last known entry
 * (if any) under its folder's name, with the errors.
 *
 * @since 0.1.0
 * @category constructors
 */
export const broken = (entry: AppEntry, intent: Intent, errors: ReadonlyArray<string>): AppView => ({
  ...make(entry, { name: entry.id, version: "", containerName: entry.observed.containerName ?? entry.id, dependsOn: [] }, intent),
  catalogError: errors.join("\n")
})

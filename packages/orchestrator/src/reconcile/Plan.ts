/**
 * The reconciler's decision, as a pure function: given what an app should be, what the engine
 * shows and what the user asked for, take ONE action. Time is an argument; nothing here does
 * I/O, reads a clock or draws randomness.
 *
 * @since 0.1.0
 */
import { Data } from "effect"
import type { CrashLoop, Observation } from "../domain/AppEntry.js"
import type { AppId } from "../domain/AppId.js"
import type { AppState } from "../domain/AppState.js"
import type { Intent } from "../domain/Intent.js"

/**
 * The engine's restart policy of an app's container, as its manifest asks.
 *
 * @since 0.1.0
 * @category models
 */
export type RestartPolicy = "no" | "always" | "on-failure" | "unless-stopped"

/**
 * What an app should be, from its manifest and settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface Desired {
  readonly id: AppId
  /** The spec hash the orchestrator would stamp on a container created now. */
  readonly specHash: string
  /** The manifest's `dependsOn`: app ids and capabilities. */
  readonly dependsOn: ReadonlyArray<string>
  readonly restartPolicy: RestartPolicy
  /** This orchestrator's instance id (the `io.archipelago.instance` label it stamps), if it has one. */
  readonly instance?: string
  /**
   * The manifest's version and image reference: a container labelled with others is on
   * another release, which only a (health-gated) update changes.
   *
   * @since 0.1.0
   */
  readonly version?: string
  readonly imageRef?: string
}

/**
 * The app's container as the engine shows it.
 *
 * @since 0.1.0
 * @category models
 */
export interface ContainerFacts {
  readonly id: string
  readonly name: string
  /** The container's raw state mapped to an app state (`running`, `exited`, `installed`, ...). */
  readonly state: AppState
  /** Carries the `io.archipelago.managed-by=archipelago` label: the orchestrator created it. */
  readonly managed: boolean
  /**
   * False for a container that carries none of Archipelago's labels (neither
   * `io.archipelago.managed-by` nor `io.archipelago.app`): made by hand or by another tool, found
   * only because its name is the app's. Absent counts as labelled.
   *
   * @since 0.1.0
   */
  readonly labelled?: boolean
  /** The `io.archipelago.spec-hash` label, when present. */
  readonly specHash?: string
  /** The `io.archipelago.instance` label: the orchestrator instance that created it. */
  readonly instance?: string
  /** When the container last exited, Unix ms. */
  readonly exitedAt?: number
  /**
   * The `io.archipelago.version` and `io.archipelago.image` labels: the release it was created for.
   *
   * @since 0.1.0
   */
  readonly version?: string
  readonly imageRef?: string
}

/**
 * True when the container was created for another release than the manifest asks for (an
 * update is available, or was rolled back): its labels say so. Containers without the labels
 * are never on "another release".
 *
 * @since 0.1.0
 * @category guards
 */
export const otherRelease = (desired: Desired, c: ContainerFacts): boolean =>
  (c.version !== undefined && desired.version !== undefined && c.version !== desired.version) ||
  (c.imageRef !== undefined && desired.imageRef !== undefined && c.imageRef !== desired.imageRef)

/**
 * What the reconciler knows about an app besides its manifest and intent.
 *
 * @since 0.1.0
 * @category models
 */
export interface Observed {
  /** The app's container; absent when the engine has none. */
  readonly container?: ContainerFacts
  /** An operation holds the app (a live transition). */
  readonly inTransition: boolean
  /** This orchestrator instance has already taken the app's existing container in. */
  readonly adopted: boolean
  /** Dependencies that are not running now. */
  readonly waitingFor: ReadonlyArray<string>
  readonly crashLoop?: CrashLoop
}

/**
 * One reconcile action.
 *
 * - `NoOp`: nothing to do; `recheckAt` asks for another look at that time (back-off, grace).
 * - `Install`: the app is installed but has no container: fetch the image, run hooks, create,
 *   and start when `start`.
 * - `Start`: start the existing container.
 * - `Recreate`: the managed container's spec hash differs: replace it (volumes kept), start when `start`.
 * - `Adopt`: take an existing container in as it is: no recreation, no restart.
 * - `Stop`: the container runs although the user stopped the app.
 * - `Remove`: the user removed the app but its managed container is still there.
 * - `Foreign`: the container belongs to another orchestrator instance: touch nothing, show
 *   `reason` as the app's error.
 * - `Stranger`: a container with the app's name carries none of Archipelago's labels: never
 *   stop, remove or replace it; show `reason` as the app's error until the operator removes it
 *   or runs `archipelago takeover <app> --container <name>`.
 *
 * @since 0.1.0
 * @category models
 */
export type Action = Data.TaggedEnum<{
  NoOp: { readonly reason: string; readonly recheckAt?: number }
  Install: { readonly start: boolean }
  Start: {}
  Recreate: { readonly reason: string; readonly start: boolean }
  Adopt: { readonly running: boolean }
  Stop: { readonly reason: string }
  Remove: {}
  Foreign: { readonly instance: string; readonly reason: string }
  Stranger: { readonly name: string; readonly reason: string }
}>

/**
 * Constructors and matchers of `Action`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const Action = Data.taggedEnum<Action>()

/**
 * How long a dead container whose restart policy restarts it is left to the engine before the
 * reconciler acts: podman brings a killed container back in well under this.
 *
 * @since 0.1.0
 * @category constants
 */
export const engineRestartGraceMs = 2_000

/**
 * How soon to look again at a container the engine is stopping or removing: its event may
 * already have been seen, so no further event is guaranteed.
 *
 * @since 0.1.0
 * @category constants
 */
export const engineBusyRecheckMs = 1_000

/**
 * First crash-loop delay; each further restart doubles it.
 *
 * @since 0.1.0
 * @category constants
 */
export const backoffBaseMs = 1_000

/**
 * The longest crash-loop delay.
 *
 * @since 0.1.0
 * @category constants
 */
export const backoffMaxMs = 5 * 60_000

/**
 * After this long without a reconciler restart past the last allowed attempt, the crash-loop
 * count starts over.
 *
 * @since 0.1.0
 * @category constants
 */
export const crashLoopResetMs = 10 * 60_000

/**
 * The wait before the next automatic restart after `restarts` automatic restarts:
 * 1 s, 2 s, 4 s, ... capped at `backoffMaxMs`.
 *
 * @since 0.1.0
 * @category getters
 */
export const backoffDelayMs = (restarts: number): number => {
  if (restarts <= 0) return 0
  const exp = Math.min(restarts - 1, 30)
  return Math.min(backoffMaxMs, backoffBaseMs * 2 ** exp)
}

/**
 * The crash-loop record after the reconciler restarts an app at `now`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const nextCrashLoop = (previous: CrashLoop | undefined, now: number): CrashLoop => {
  const restarts = previous === undefined || now >= previous.nextAttemptAt + crashLoopResetMs
    ? 1
    : previous.restarts + 1
  return { restarts, nextAttemptAt: now + backoffDelayMs(restarts) }
}

/**
 * The crash-loop record once an automatic (re)start settled: `neverRan` when the container never
 * got running, because the start failed (podman refused it: a host port in use, a missing
 * command) or the engine shows it not running and never started. A failure to start is not a
 * crash, and the operator is told so. Undefined stays undefined.
 *
 * @since 0.1.0
 * @category combinators
 */
export const attemptSettled = (
  crashLoop: CrashLoop | undefined,
  failed: boolean,
  seen: Observation | undefined
): CrashLoop | undefined => {
  if (crashLoop === undefined) return undefined
  const running = seen?.state === "running"
  const neverStarted = seen !== undefined && !((seen.observed.startedAt ?? 0) > 0)
  const { neverRan: _n, ...rest } = crashLoop
  return !running && (failed || neverStarted) ? { ...rest, neverRan: true } : rest
}

/**
 * True when the crash-loop record has gone stale and should be dropped from the entry.
 *
 * @since 0.1.0
 * @category guards
 */
export const crashLoopExpired = (crashLoop: CrashLoop, now: number): boolean =>
  now >= crashLoop.nextAttemptAt + crashLoopResetMs

/**
 * Who owns a container, as seen by the orchestrator instance `ours`:
 *
 * - `Own`: it carries our instance id;
 * - `Unclaimed`: no instance label (created by hand, or by an orchestrator from before instance
 *   ids): adoptable;
 * - `Foreign`: another instance's id. An instance without an id of its own (an embedded
 *   orchestrator) treats every labelled container as foreign.
 *
 * @since 0.1.0
 * @category models
 */
export type Ownership =
  | { readonly _tag: "Own" }
  | { readonly _tag: "Unclaimed" }
  | { readonly _tag: "Foreign"; readonly instance: string }

/**
 * The ownership of a container labelled `containerInstance`, for the instance `ours`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const ownership = (containerInstance: string | undefined, ours: string | undefined): Ownership => {
  if (containerInstance === undefined || containerInstance === "") return { _tag: "Unclaimed" }
  if (containerInstance === ours) return { _tag: "Own" }
  return { _tag: "Foreign", instance: containerInstance }
}

const foreignPrefix = "managed by another orchestrator (instance "

/**
 * The error an app shows while another instance owns its container, naming the way out.
 *
 * @since 0.1.0
 * @category getters
 */
export const foreignReason = (appId: string, instance: string): string =>
  `${foreignPrefix}${instance}): left alone; stop that orchestrator or run \`archipelago takeover ${appId}\` to take it over`

const strangerPrefix = "a container named "
const strangerMiddle = " exists and was not made by Archipelago"

/**
 * The error an app shows while a container without Archipelago's labels holds its name, naming
 * the way out.
 *
 * @since 0.1.0
 * @category getters
 */
export const strangerReason = (appId: string, name: string): string =>
  `${strangerPrefix}${name}${strangerMiddle}: left alone; remove it yourself, or run \`archipelago takeover ${appId} --container ${name}\` to replace it`

/**
 * True for the errors `foreignReason` and `strangerReason` write, so they are cleared once the
 * container is ours again.
 *
 * @since 0.1.0
 * @category guards
 */
export const isForeignReason = (message: string): boolean =>
  message.startsWith(foreignPrefix) || (message.startsWith(strangerPrefix) && message.includes(strangerMiddle))

const isActive = (state: AppState): boolean => state === "running"

const engineBusy = (state: AppState): boolean => state === "stopping" || state === "removing"

/**
 * Decides the one action for an app.
 *
 * Rules, in order: an app held by an operation is left alone; a container of another
 * orchestrator instance is left alone (`Foreign`), and so is a container without Archipelago's
 * labels that holds the app's name (`Stranger`); an existing container not yet
 * adopted is adopted as it is; a removed app's managed container is removed; an installed app
 * without a container is installed; a managed container whose spec hash differs is recreated,
 * unless it runs another release than the manifest's (only `update` moves it, health-gated); a
 * running app the user stopped is stopped; a stopped app the user wants running is started once
 * its dependencies run, after the engine's own restart policy had its grace and outside a
 * crash-loop back-off. Nothing the user stopped is ever started.
 *
 * @since 0.1.0
 * @category combinators
 */
export const plan = (desired: Desired, observed: Observed, intent: Intent, now: number): Action => {
  if (observed.inTransition) return Action.NoOp({ reason: "an operation is in progress" })
  const c = observed.container
  if (c !== undefined) {
    if (c.labelled === false) return Action.Stranger({ name: c.name, reason: strangerReason(desired.id, c.name) })
    const owner = ownership(c.instance, desired.instance)
    if (owner._tag === "Foreign") {
      return Action.Foreign({ instance: owner.instance, reason: foreignReason(desired.id, owner.instance) })
    }
  }
  if (c !== undefined && !observed.adopted) return Action.Adopt({ running: isActive(c.state) })
  const wantsRunning = intent.wantRunning && !intent.userStopped
  if (!intent.installed) {
    if (c === undefined) return Action.NoOp({ reason: "not installed" })
    if (intent.updatedAt === 0) return Action.Adopt({ running: isActive(c.state) })
    if (c.managed) return Action.Remove()
    return Action.NoOp({ reason: `container ${c.name} is not managed by archipelago; left alone` })
  }
  const backingOff = observed.crashLoop !== undefined && now < observed.crashLoop.nextAttemptAt
  if (c === undefined) {
    if (backingOff) {
      return Action.NoOp({ reason: "crash-loop back-off", recheckAt: observed.crashLoop!.nextAttemptAt })
    }
    return Action.Install({ start: wantsRunning && observed.waitingFor.length === 0 })
  }
  if (engineBusy(c.state)) {
    return Action.NoOp({ reason: `the engine is ${c.state} the container`, recheckAt: now + engineBusyRecheckMs })
  }
  if (c.managed && c.specHash !== desired.specHash && !otherRelease(desired, c)) {
    if (backingOff) {
      return Action.NoOp({ reason: "crash-loop back-off", recheckAt: observed.crashLoop!.nextAttemptAt })
    }
    return Action.Recreate({
      reason: `spec changed (${c.specHash ?? "none"} → ${desired.specHash})`,
      start: wantsRunning && observed.waitingFor.length === 0
    })
  }
  if (isActive(c.state)) {
    return wantsRunning
      ? Action.NoOp({ reason: "running as asked" })
      : Action.Stop({ reason: intent.userStopped ? "the user stopped it" : "not wanted running" })
  }
  if (!wantsRunning) {
    return Action.NoOp({ reason: intent.userStopped ? "stopped by the user" : "not wanted running" })
  }
  if (observed.waitingFor.length > 0) {
    return Action.NoOp({ reason: `waiting for ${observed.waitingFor.join(", ")}` })
  }
  // podman lists a container it is about to restart as exited or stopped
  if (desired.restartPolicy !== "no" && (c.state === "exited" || c.state === "stopped") && c.exitedAt !== undefined) {
    const graceEnds = c.exitedAt + engineRestartGraceMs
    if (now < graceEnds) {
      return Action.NoOp({ reason: "the engine's restart policy gets the first try", recheckAt: graceEnds })
    }
  }
  if (backingOff) {
    return Action.NoOp({ reason: "crash-loop back-off", recheckAt: observed.crashLoop!.nextAttemptAt })
  }
  return Action.Start()
}

/**
 * True for actions that change nothing.
 *
 * @since 0.1.0
 * @category guards
 */
export const isNoOp = (action: Action): action is Extract<Action, { _tag: "NoOp" }> => action._tag === "NoOp"

/**
 * Orders apps so that every app comes after the apps it depends on (dependencies first),
 * keeping the given order otherwise. Dependencies on unknown apps are ignored; apps on a cycle
 * keep their given order after everything that could be ordered.
 *
 * @since 0.1.0
 * @category combinators
 */
export const order = <A extends { readonly id: AppId; readonly dependsOn: ReadonlyArray<AppId> }>(
  apps: ReadonlyArray<A>
): ReadonlyArray<A> => {
  const known = new Set(apps.map((a) => a.id))
  const placed = new Set<AppId>()
  const out: Array<A> = []
  let remaining = [...apps]
  let progress = true
  while (remaining.length > 0 && progress) {
    progress = false
    const next: Array<A> = []
    for (const a of remaining) {
      if (a.dependsOn.every((d) => !known.has(d) || placed.has(d))) {
        out.push(a)
        placed.add(a.id)
        progress = true
      } else {
        next.push(a)
      }
    }
    remaining = next
  }
  return [...out, ...remaining]
}

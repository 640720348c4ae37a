/**
 * Errors the orchestrator's services answer requests with.
 *
 * @since 0.1.0
 */
import { Data } from "effect"
import type { AppState } from "../domain/AppState.js"
import type { Op } from "../domain/Op.js"
import { NotAllowed } from "../domain/Transition.js"

/**
 * No app of that id is in the catalog.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownApp extends Data.TaggedError("UnknownApp")<{ readonly appId: string }> {
  override get message(): string {
    return `unknown app: ${this.appId}`
  }
}

/**
 * Installing the app is refused because a conflicting alternative (e.g. `bitcoin-core` and
 * `bitcoin-knots`) is installed. It is a `NotAllowed` (same tag, so adapters answer it as "not
 * allowed in this state") that names the other app.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConflictingApp extends NotAllowed {
  readonly other: string
  constructor(props: { readonly appId: string; readonly other: string }) {
    super({ appId: props.appId, op: "install", state: "not-installed" })
    this.other = props.other
  }
  override get message(): string {
    return `cannot install ${this.appId}: it conflicts with ${this.other}, which is installed; remove ${this.other} first`
  }
}

const listed = (ids: ReadonlyArray<string>): string =>
  ids.length <= 1 ? ids.join("") : `${ids.slice(0, -1).join(", ")} and ${ids[ids.length - 1]}`

/**
 * Starting (or installing) the app is refused because apps it depends on are not installed.
 * A `NotAllowed` (same tag, so adapters answer it as "not allowed") naming the missing apps.
 *
 * @since 0.1.0
 * @category errors
 */
export class MissingDependency extends NotAllowed {
  readonly missing: ReadonlyArray<string>
  constructor(props: { readonly appId: string; readonly op: Op; readonly state: AppState; readonly missing: ReadonlyArray<string> }) {
    super({ appId: props.appId, op: props.op, state: props.state })
    this.missing = props.missing
  }
  override get message(): string {
    const one = this.missing.length === 1
    return `cannot ${this.op} ${this.appId}: it depends on ${listed(this.missing)}, which ${one ? "is" : "are"} not installed; install ${one ? "it" : "them"} first`
  }
}

/**
 * Removing the app is refused because installed apps depend on it; a cascade (`{ cascade: true }`)
 * removes them first. A `NotAllowed` naming the dependents.
 *
 * @since 0.1.0
 * @category errors
 */
export class DependentsInstalled extends NotAllowed {
  readonly dependents: ReadonlyArray<string>
  constructor(props: { readonly appId: string; readonly state: AppState; readonly dependents: ReadonlyArray<string> }) {
    super({ appId: props.appId, op: "remove", state: props.state })
    this.dependents = props.dependents
  }
  override get message(): string {
    const one = this.dependents.length === 1
    return `cannot remove ${this.appId}: ${listed(this.dependents)} ${one ? "depends" : "depend"} on it; remove ${one ? "it" : "them"} first, or ask for a cascade to remove ${one ? "it" : "them"} too`
  }
}

/**
 * An operation's work failed; the app was restored to its previous state and the reason went
 * to its install log.
 *
 * @since 0.1.0
 * @category errors
 */
export class OperationFailed extends Data.TaggedError("OperationFailed")<{
  readonly appId: string
  readonly op: string
  readonly reason: string
}> {
  override get message(): string {
    return `${this.op} ${this.appId} failed: ${this.reason}`
  }
}

/**
 * A bind-mount source under the app's data folder is a symlink (or passes through one): podman
 * would follow it and mount whatever it points to, so the container is not created or started.
 * The app's container can write in that folder, so such a link is treated as hostile.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnsafeMount extends Data.TaggedError("UnsafeMount")<{
  readonly appId: string
  readonly path: string
  readonly reason: string
}> {
  override get message(): string {
    return `refused to mount ${this.path} into ${this.appId}: ${this.reason}`
  }
}

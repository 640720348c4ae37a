/**
 * Errors the orchestrator's services answer requests with.
 *
 * @since 0.1.0
 */
import { Data } from "effect"
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

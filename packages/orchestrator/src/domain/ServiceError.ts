/**
 * Errors the orchestrator's services answer requests with.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

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
 * The refusals of a request that name the apps around it, defined with the admission decision
 * (`Admission`) and re-exported here, where they always were.
 *
 * @since 0.1.0
 * @category errors
 */
export { ConflictingApp, DependentsInstalled, MissingDependency } from "./Admission.js"

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

/**
 * What the work of an operation can fail with: the orchestrator's own errors (re-exported by
 * `Orchestrator`, where users meet them) and the union of everything an operation's engine
 * work may answer.
 *
 * @since 0.1.0
 * @internal
 */
import type { PlatformError } from "effect/PlatformError"
import { Data } from "effect"
import { foreignReason, strangerReason } from "../../reconcile/Plan.js"
import type { RuntimeError } from "../../runtime/RuntimeError.js"
import type * as BackupWork from "../BackupWork.js"
import type { HookError } from "../HookRegistry.js"
import type { DeadlineExceeded } from "../Operation.js"
import type { UnsafeMount } from "../../domain/ServiceError.js"

/**
 * The operation is not something this orchestrator can do (backups and restores without a
 * backup target: provide `Backups.layer`).
 *
 * @since 0.1.0
 * @category errors
 */
export class Unsupported extends Data.TaggedError("Unsupported")<{ readonly op: string }> {
  override get message(): string {
    return `${this.op} is not supported by this orchestrator yet`
  }
}

/**
 * The app's container belongs to another orchestrator instance: nothing was touched.
 *
 * @since 0.1.0
 * @category errors
 */
export class ForeignContainer extends Data.TaggedError("ForeignContainer")<{
  readonly appId: string
  readonly name: string
  readonly instance: string
}> {
  override get message(): string {
    return `container ${this.name} is ${foreignReason(this.appId, this.instance)}`
  }
}

/**
 * A container holding the app's name carries none of Archipelago's labels (made by hand or by
 * another tool): it was not stopped, removed or replaced.
 *
 * @since 0.1.0
 * @category errors
 */
export class StrangerContainer extends Data.TaggedError("StrangerContainer")<{
  readonly appId: string
  readonly name: string
}> {
  override get message(): string {
    return strangerReason(this.appId, this.name)
  }
}

/**
 * A health-gated update did not prove healthy (or could not finish) and the app was put back on
 * the release it ran before, by digest.
 *
 * @since 0.1.0
 * @category errors
 */
export class RolledBack extends Data.TaggedError("RolledBack")<{
  readonly to: string
  readonly from: string
  readonly reason: string
}> {
  override get message(): string {
    return `update to ${this.to} rolled back: ${this.reason}`
  }
}

/**
 * An update cannot start: the running container's image digest is unknown, so there would be
 * nothing certain to roll back to.
 *
 * @since 0.1.0
 * @category errors
 */
export class NoRollbackTarget extends Data.TaggedError("NoRollbackTarget")<{ readonly appId: string; readonly name: string }> {
  override get message(): string {
    return `cannot update ${this.appId}: the image digest of its container ${this.name} is unknown, so there is nothing to roll back to`
  }
}

/**
 * A data operation was interrupted by a restart of the orchestrator and, replayed from its
 * journal at boot, put back as it was (`reason` says what happened and where the app stands).
 *
 * @since 0.1.0
 * @category errors
 */
export class Interrupted extends Data.TaggedError("Interrupted")<{ readonly op: string; readonly reason: string }> {
  override get message(): string {
    return this.reason
  }
}

/**
 * A repair cannot bring back the release the app ran: its image (by digest) is gone from this
 * machine. Only an explicit update moves the app to the release its manifest now asks for.
 *
 * @since 0.1.0
 * @category errors
 */
export class ReleaseUnavailable extends Data.TaggedError("ReleaseUnavailable")<{
  readonly appId: string
  readonly version: string
  readonly digest: string
  readonly offered: string
}> {
  override get message(): string {
    return `cannot recreate ${this.appId} on ${this.version}, the release it ran: its image ${this.digest} is gone; update it to move to ${this.offered}`
  }
}

/**
 * The app's image may not be pulled: `offline` is on and no mirror or listed registry has a
 * place for it. `reason` names the manifest, the image and what to change.
 *
 * @since 0.1.0
 * @category errors
 */
export class PullRefused extends Data.TaggedError("PullRefused")<{ readonly appId: string; readonly ref: string; readonly reason: string }> {
  override get message(): string {
    return `cannot fetch the image of ${this.appId}: ${this.reason}`
  }
}

/**
 * Everything the work of an operation can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type WorkError =
  | RuntimeError
  | HookError
  | UnsafeMount
  | PlatformError
  | Unsupported
  | DeadlineExceeded
  | ForeignContainer
  | StrangerContainer
  | BackupWork.Error
  | RolledBack
  | NoRollbackTarget
  | ReleaseUnavailable
  | Interrupted
  | PullRefused

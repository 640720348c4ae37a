/**
 * The literal values of the protocol's enumerations, shared by the schemas (`Views`) and the
 * guards (`Guards`) so both read one list. Plain arrays: no Schema reaches a browser through here.
 *
 * @internal
 */
import * as Op from "../../domain/Op.js"
import type { VisualState } from "../../domain/VisualState.js"

/** @internal */
export const visualStates = [
  "not-installed",
  "running",
  "stopped",
  "starting",
  "stopping",
  "restarting",
  "installing",
  "updating",
  "removing",
  "backing-up",
  "restoring"
] as const satisfies ReadonlyArray<VisualState>

/** @internal */
export const healths = ["healthy", "unhealthy", "starting", "none"] as const
/** @internal */
export const directions = ["upgrade", "downgrade", "change"] as const
/** @internal */
export const protocols = ["tcp", "udp"] as const
/** @internal */
export const levels = ["info", "warn", "error"] as const
/** @internal */
export const engines = ["podman", "simulated"] as const
/** @internal */
export const errorOps = [...Op.all, "reconcile"] as const

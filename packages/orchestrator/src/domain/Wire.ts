/**
 * The wire protocol under its first name: every name of `@archipelago/orchestrator/protocol`'s
 * modules (`Methods`, `Errors`, `Views`, `Params`, `Messages`, `Guards`) in one flat namespace,
 * so `Wire.*` and the `@archipelago/orchestrator/wire` subpath keep working.
 *
 * The protocol is not part of the lifecycle domain; it lives in `src/protocol/` (see
 * docs/decisions/0040-protocol-module.md).
 *
 * @deprecated Import the concept's module from `@archipelago/orchestrator/protocol` instead
 * (`Methods.Method`, `Guards.decode`, `Views.AppView`).
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * from "../protocol/Errors.js"
/** @since 0.1.0 */
export * from "../protocol/Guards.js"
/** @since 0.1.0 */
export * from "../protocol/Messages.js"
/** @since 0.1.0 */
export * from "../protocol/Methods.js"
/** @since 0.1.0 */
export * from "../protocol/Params.js"
/** @since 0.1.0 */
export * from "../protocol/Views.js"

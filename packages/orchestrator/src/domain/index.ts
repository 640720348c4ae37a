/**
 * The browser-safe domain of the orchestrator: pure data and pure functions, no I/O.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Admission from "./Admission.js"
/** @since 0.1.0 */
export * as AppEntry from "./AppEntry.js"
/** @since 0.1.0 */
export * as AppId from "./AppId.js"
/** @since 0.1.0 */
export * as AppState from "./AppState.js"
/** @since 0.1.0 */
export * as AppResources from "./AppResources.js"
/** @since 0.1.0 */
export * as AppView from "./AppView.js"
/** @since 0.1.0 */
export * as DiskSpace from "./DiskSpace.js"
/** @since 0.1.0 */
export * as FailureMessage from "./FailureMessage.js"
/** @since 0.1.0 */
export * as Generation from "./Generation.js"
/** @since 0.1.0 */
export * as Intent from "./Intent.js"
/** @since 0.1.0 */
export * as Journal from "./Journal.js"
/** @since 0.1.0 */
export * as Transition from "./Transition.js"
/** @since 0.1.0 */
export * as MemoryLimit from "./MemoryLimit.js"
/** @since 0.1.0 */
export * as Merge from "./Merge.js"
/** @since 0.1.0 */
export * as Op from "./Op.js"
/** @since 0.1.0 */
export * as VisualState from "./VisualState.js"
/**
 * @since 0.1.0
 */
export * as Version from "./Version.js"
/**
 * The wire protocol in one flat namespace, kept so `Wire.*` keeps working; the protocol is not
 * lifecycle domain and lives in `@archipelago/orchestrator/protocol`.
 *
 * @deprecated Use `@archipelago/orchestrator/protocol` (`Methods`, `Errors`, `Views`, `Params`,
 * `Messages`, `Guards`).
 * @since 0.1.0
 */
export * as Wire from "./Wire.js"

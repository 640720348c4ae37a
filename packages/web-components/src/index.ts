/**
 * `@archipelago/web-components`: the Archipelago dashboard as Lit custom elements, and the
 * browser client they share. Importing this module defines every `archy-*` element.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as AppStore from "./client/AppStore.js"
/** @since 0.1.0 */
export * from "./client/ArchyClient.js"
/** @since 0.1.0 */
export * from "./client/ArchyController.js"
/** @since 0.1.0 */
export * as Operations from "./client/Operations.js"
/** @since 0.1.0 */
export { OperationError, OperationTimeoutError } from "./client/Operations.js"
/** @since 0.1.0 */
export type { OperationOptions, OperationResult, RemoveOptions, RestoreOptions, Settled } from "./client/Operations.js"
/** @since 0.1.0 */
export * as Protocol from "./client/Protocol.js"
/** @since 0.1.0 */
export * from "./client/RpcError.js"
/** @since 0.1.0 */
export * from "./components/app-card/app-card.js"
/** @since 0.1.0 */
export * from "./components/container-logs/container-logs.js"
/** @since 0.1.0 */
export * from "./components/dashboard/dashboard.js"
/** @since 0.1.0 */
export * from "./components/install-log/install-log.js"
/** @since 0.1.0 */
export * from "./components/backup-panel/backup-panel.js"
/** @since 0.1.0 */
export * from "./components/lifecycle-button/lifecycle-button.js"
/** @since 0.1.0 */
export * from "./components/status-badge/status-badge.js"
/** @since 0.1.0 */
export type { Theme } from "./styles/theme.js"

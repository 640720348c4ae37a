/**
 * `@archipelago/rpc-adapter`: JSON-RPC 2.0 over HTTP and WebSocket for the Archipelago
 * orchestrator, with state push, authentication and the dashboard page. The `archipelago`
 * program that serves it (configuration, commands, service unit) is `@archipelago/daemon`.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Auth from "./Auth.js"
/** @since 0.1.0 */
export * as Dashboard from "./Dashboard.js"
/** @since 0.1.0 */
export * as Dispatch from "./Dispatch.js"
/** @since 0.1.0 */
export * as JsonRpc from "./JsonRpc.js"
/** @since 0.1.0 */
export * as Methods from "./Methods.js"
/** @since 0.1.0 */
export * as Push from "./Push.js"
/** @since 0.1.0 */
export * as RateLimit from "./RateLimit.js"
/** @since 0.1.0 */
export * as Resources from "./Resources.js"
/** @since 0.1.0 */
export * as RpcError from "./RpcError.js"
/** @since 0.1.0 */
export * as Server from "./Server.js"
/** @since 0.1.0 */
export * as ServerInfo from "./ServerInfo.js"
/** @since 0.1.0 */
export * as Sessions from "./Sessions.js"
/** @since 0.1.0 */
export * as Subscriptions from "./Subscriptions.js"

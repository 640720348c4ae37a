/**
 * `@archipelago/daemon`: the `archipelago` program that assembles an Archipelago node: its
 * configuration, `archipelago serve` and the other commands, the systemd unit, status and
 * takeover. The transport it serves with is `@archipelago/rpc-adapter`.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Cli from "./Cli.js"
/** @since 0.1.0 */
export * as Serve from "./Serve.js"
/** @since 0.1.0 */
export * as Validate from "./Validate.js"
/** @since 0.1.0 */
export * as Config from "./Config.js"
/** @since 0.1.0 */
export * as Status from "./Status.js"
/** @since 0.1.0 */
export * as Unit from "./Unit.js"
/** @since 0.1.0 */
export * as Takeover from "./Takeover.js"
/** @since 0.1.0 */
export * as InProcess from "./InProcess.js"

/**
 * Test tools: the simulated container engine and fixtures. Not for production use.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as SimulatedRuntime from "./SimulatedRuntime.js"
/** @since 0.1.0 */
export * as Fixtures from "./Fixtures.js"

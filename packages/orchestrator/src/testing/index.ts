/**
 * Test tools: fixtures, and the simulated container engine (also exported from the main entry,
 * where `archipelago serve --engine sim` takes it; kept here so test imports keep working).
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as SimulatedRuntime from "../runtime/SimulatedRuntime.js"
/** @since 0.1.0 */
export * as Fixtures from "./Fixtures.js"

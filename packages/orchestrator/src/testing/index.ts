/**
 * Test tools: the simulated container engine and fixtures. Not for production use.
 *
 * @since 0.1.0
 */
export {}

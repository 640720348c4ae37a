/**
 * Moved to `reconcile/Observation.ts`, beside the plan it feeds: pure functions over what the
 * engine shows; re-exported here so the old path keeps working.
 *
 * @since 0.1.0
 */
export * from "../reconcile/Observation.js"

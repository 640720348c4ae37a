/**
 * Moved to the domain (`domain/Request.ts`): it is plain data; re-exported here so the old path
 * keeps working.
 *
 * @since 0.1.0
 */
export * from "../domain/Request.js"

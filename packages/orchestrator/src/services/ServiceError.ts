/**
 * Moved to the domain (`domain/ServiceError.ts`): its errors are plain tagged data; re-exported
 * here so the old path keeps working.
 *
 * @since 0.1.0
 */
export * from "../domain/ServiceError.js"

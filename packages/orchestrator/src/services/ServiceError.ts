/**
 * Errors the orchestrator's services answer requests with.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/**
 * No app of that id is in the catalog.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownApp extends Data.TaggedError("UnknownApp")<{ readonly appId: string }> {
  override get message(): string {
    return `unknown app: ${this.appId}`
  }
}

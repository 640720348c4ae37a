/**
 * The error of a pure renderer: an input a config file cannot carry safely.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/**
 * A renderer refused an input. Names the field and why, never the value (it may be a secret).
 *
 * @since 0.1.0
 * @category errors
 */
export class RenderError extends Data.TaggedError("RenderError")<{
  readonly field: string
  readonly reason: string
}> {
  override get message(): string {
    return `cannot render ${this.field}: ${this.reason}`
  }
}

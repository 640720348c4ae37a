/**
 * The identifier of an app: the folder name of its manifest and the key of every entry.
 * Everything that reaches podman argv or a file path is an `AppId` or comes from a validated manifest.
 *
 * @since 0.1.0
 */
import { Result, Schema } from "effect"

/**
 * The pattern every app id matches: lowercase letters, digits and dashes, 1-63 characters,
 * never starting with a dash (so it can never be read as a command-line flag).
 *
 * @since 0.1.0
 * @category models
 */
export const pattern = /^[a-z0-9][a-z0-9-]{0,62}$/

/**
 * The schema of an app id (a branded string).
 *
 * @since 0.1.0
 * @category models
 */
export const AppId = Schema.String.check(
  Schema.isPattern(pattern, {
    message: "an app id: 1-63 lowercase letters, digits or dashes, not starting with a dash"
  })
).pipe(Schema.brand("AppId"))

/**
 * @since 0.1.0
 * @category models
 */
export type AppId = typeof AppId.Type

/**
 * True when the value is a valid app id.
 *
 * @since 0.1.0
 * @category guards
 */
export const is = (u: unknown): u is AppId => typeof u === "string" && pattern.test(u)

/**
 * Validates a string as an app id, explaining the refusal.
 *
 * @since 0.1.0
 * @category constructors
 */
export const parse = (s: string): Result.Result<AppId, string> =>
  is(s)
    ? Result.succeed(s)
    : Result.fail(
      `invalid app id ${JSON.stringify(s)}: expected 1-63 lowercase letters, digits or dashes, not starting with a dash`
    )

/**
 * Makes an app id, throwing on invalid input. For literals in tests and fixtures only.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (s: string): AppId => {
  if (!is(s)) throw new Error(`invalid app id ${JSON.stringify(s)}`)
  return s
}

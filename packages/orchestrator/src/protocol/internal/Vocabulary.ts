/**
 * The small Schema vocabulary the protocol's schemas are written in. Every value is marked pure
 * so a browser bundle that reads only the guards drops them.
 *
 * @internal
 */
import * as Schema from "effect/Schema"

// `Schema.Literal(...xs)` spreads (an iterator call a bundler must keep); through a function the
// call is pure and a bundler can drop it.
/** @internal */
export const oneOf = <const L extends ReadonlyArray<string>>(values: L) => Schema.Literal(...values)

/** @internal */
export const Num = Schema.Number
/** @internal */
export const Str = Schema.String
/** @internal */
export const NullableNum = /*#__PURE__*/ Schema.NullOr(Num)
/** @internal */
export const NullableStr = /*#__PURE__*/ Schema.NullOr(Str)

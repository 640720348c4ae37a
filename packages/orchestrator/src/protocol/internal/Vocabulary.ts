/**
 * The small Schema vocabulary the protocol's schemas are written in. Every value is marked pure
 * so a browser bundle that reads only the guards drops them.
 *
 * @internal
 */
import * as Schema from "effect/Schema"

// A call of `Schema.Literals(xs)` at module level is one a bundler must keep unless it is marked
// pure; through a function every use site is a plain call a bundler can drop.
/** @internal */
export const oneOf = <const L extends ReadonlyArray<string>>(values: L) => Schema.Literals(values)

/** @internal */
export const Num = Schema.Number
/** @internal */
export const Str = Schema.String
/** @internal */
export const NullableNum = /*#__PURE__*/ Schema.NullOr(Num)
/** @internal */
export const NullableStr = /*#__PURE__*/ Schema.NullOr(Str)

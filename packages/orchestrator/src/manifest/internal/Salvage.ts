/**
 * The valid parts of a value that does not decode as a whole: a struct keeps the fields that
 * decode, a list keeps its items at their indices (`undefined` where one does not decode), a
 * record keeps its valid entries. Rules that look at several fields run on it, so a manifest
 * with a type error still gets every other problem reported in the same pass.
 *
 * @internal
 */
import { Option, Result, Schema, SchemaAST, SchemaIssue, SchemaParser } from "effect"

/**
 * A value of type `A` with any part missing (defaults not applied).
 *
 * @internal
 */
export type Salvaged<A> = A extends string | number | boolean ? A
  : A extends ReadonlyArray<infer I> ? ReadonlyArray<Salvaged<I> | undefined>
  : A extends object ? { readonly [K in keyof A]?: Salvaged<A[K]> }
  : A

type Decoder = (u: unknown) => Result.Result<unknown, SchemaIssue.Issue>

const decoders = new WeakMap<SchemaAST.AST, Decoder>()

const decoder = (ast: SchemaAST.AST): Decoder => {
  const known = decoders.get(ast)
  if (known !== undefined) return known
  const d: Decoder = SchemaParser.decodeUnknownResult(Schema.make<Schema.Codec<unknown>>(ast))
  decoders.set(ast, d)
  return d
}

/** The schema a value is decoded from: the far end of its encoding (a field's default, its `optional`). */
const encodedSide = (ast: SchemaAST.AST): SchemaAST.AST =>
  ast.encoding === undefined ? ast : encodedSide(ast.encoding[ast.encoding.length - 1]!.to)

/** The members of a union, nested unions flattened, without `undefined` (an optional field's). */
const members = (ast: SchemaAST.Union): ReadonlyArray<SchemaAST.AST> =>
  ast.types.flatMap((t) => t._tag === "Union" ? members(t) : t._tag === "Undefined" ? [] : [t])

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

// the checks of a struct (the manifest's image-or-build) do not stop its fields from being
// salvaged: `parts` looks at the struct's shape only
const parts = (ast: SchemaAST.AST, u: unknown): Option.Option<unknown> => {
  if (ast.encoding !== undefined) return parts(encodedSide(ast), u)
  switch (ast._tag) {
    case "Union": {
      const each = members(ast)
      return each.length === 1 ? salvage(each[0]!, u) : Option.none()
    }
    case "Objects": {
      if (!isRecord(u)) return Option.none()
      const out: Record<string, unknown> = {}
      const named = new Set<PropertyKey>()
      for (const ps of ast.propertySignatures) {
        named.add(ps.name)
        if (typeof ps.name !== "string" || !Object.hasOwn(u, ps.name)) continue
        const v = salvage(ps.type, u[ps.name])
        if (Option.isSome(v)) out[ps.name] = v.value
      }
      for (const sig of ast.indexSignatures) {
        for (const [k, x] of Object.entries(u)) {
          if (named.has(k) || Result.isFailure(decoder(sig.parameter)(k))) continue
          const v = salvage(sig.type, x)
          if (Option.isSome(v)) out[k] = v.value
        }
      }
      return Option.some(out)
    }
    case "Arrays": {
      if (!Array.isArray(u)) return Option.none()
      const rest = ast.rest[0]
      return Option.some(u.map((x, i) => {
        const t = ast.elements[i] ?? rest
        return t === undefined ? undefined : Option.getOrUndefined(salvage(t, x))
      }))
    }
    default:
      return Option.none()
  }
}

/**
 * `u` decoded by `ast` when it decodes; else its valid parts (see the module's note); `None`
 * when nothing of it is valid.
 *
 * @internal
 */
export const salvage = (ast: SchemaAST.AST, u: unknown): Option.Option<unknown> => {
  const whole = decoder(ast)(u)
  return Result.isSuccess(whole) ? Option.some(whole.success) : parts(ast, u)
}

/**
 * The valid parts of a value that does not decode as a whole: a struct keeps the fields that
 * decode, a list keeps its items at their indices (`undefined` where one does not decode), a
 * record keeps its valid entries. Rules that look at several fields run on it, so a manifest
 * with a type error still gets every other problem reported in the same pass.
 *
 * @internal
 */
import { Result, Option, ParseResult, Schema, SchemaAST } from "effect"

/**
 * A value of type `A` with any part missing (defaults not applied).
 *
 * @internal
 */
export type Salvaged<A> = A extends string | number | boolean ? A
  : A extends ReadonlyArray<infer I> ? ReadonlyArray<Salvaged<I> | undefined>
  : A extends object ? { readonly [K in keyof A]?: Salvaged<A[K]> }
  : A

const decoders = new WeakMap<SchemaAST.AST, (u: unknown) => Result.Result<unknown, ParseResult.ParseIssue>>()

const decoder = (ast: SchemaAST.AST) => {
  let d = decoders.get(ast)
  if (d === undefined) {
    d = ParseResult.decodeUnknownEither(Schema.make(ast))
    decoders.set(ast, d)
  }
  return d
}

const structural = (ast: SchemaAST.AST): boolean =>
  ast._tag === "TypeLiteral" || ast._tag === "TupleType" || (ast._tag === "Transformation" && structural(ast.from))

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const parts = (ast: SchemaAST.AST, u: unknown): Option.Option<unknown> => {
  switch (ast._tag) {
    case "Refinement":
    case "Transformation":
      // a refinement of a struct (the manifest's image-or-build) salvages the struct's fields
      return structural(ast.from) ? parts(ast.from, u) : Option.none()
    case "Union": {
      const members = ast.types.filter((t) => t._tag !== "UndefinedKeyword")
      return members.length === 1 ? salvage(members[0]!, u) : Option.none()
    }
    case "TypeLiteral": {
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
    case "TupleType": {
      if (!Array.isArray(u)) return Option.none()
      const rest = ast.rest[0]?.type
      return Option.some(u.map((x, i) => {
        const t = ast.elements[i]?.type ?? rest
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

/**
 * Reads `manifest.yml` text into a `Manifest`, or into every problem found, each located by
 * file, line, column and field path:
 * `apps/lnd/manifest.yml:12:9 ports[1].host: expected an integer 1-65535, got "80a"`.
 *
 * The loader does only the YAML work: it parses with positions, decodes the plain value with
 * the `Manifest` schema (every issue at once, unknown keys refused) and turns each issue into a
 * located `ManifestError` in the words the schema's annotations give; `Rules` adds the rules
 * that look at more than one field.
 *
 * Pure: no file system, no clock.
 *
 * Over 500 lines: turning each kind of Schema issue (`SchemaIssue.Issue`) into one located
 * sentence is one walk over the issue tree; its cases read best together.
 *
 * @since 0.1.0
 */
import { Option, Result, Schema, SchemaAST, SchemaIssue } from "effect"
import * as SchemaIssues from "../schema/SchemaIssues.js"
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from "yaml"
import type { Document } from "yaml"
import { salvage, type Salvaged } from "./internal/Salvage.js"
import { closest } from "./internal/Suggest.js"
import { ExpectedId, KeyAliasesId, Manifest, type Problem, ProblemId } from "./Manifest.js"
import { ManifestError } from "./ManifestError.js"
import * as Rules from "./Rules.js"

/**
 * @since 0.1.0
 * @category models
 */
export type Options = Rules.Options

/**
 * A 1-based line and column.
 *
 * @since 0.1.0
 * @category models
 */
export interface Position {
  readonly line: number
  readonly column: number
}

/**
 * A manifest with the positions of its fields, so later checks (the catalog's) can point at
 * the right line.
 *
 * @since 0.1.0
 * @category models
 */
export interface Located {
  readonly manifest: Manifest
  readonly file: string
  /** The position of the field at `path` (`ports[1].host`), or of its nearest located parent. */
  readonly locate: (path: string) => Position
}

/**
 * The largest manifest accepted, in bytes (UTF-16 code units for text already read). A real
 * manifest is a few KiB; a bigger file is refused before YAML parsing starts.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxBytes = 256 * 1024

/**
 * At most this many problems are reported per manifest; the rest are counted in a last one.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxErrors = 100

const maxAliases = 200

/**
 * The limits on mounts and memory live with the schema (`Manifest.ts`), the reserved host ports
 * with the rules (`Rules.ts`); re-exported here where they used to be.
 *
 * @since 0.1.0
 * @category constants
 */
export { forbiddenTarget, forbiddenTargets, forbiddenTargetTrees, minMemoryBytes } from "./Manifest.js"
export { reservedHostPorts } from "./Rules.js"

// ---------------------------------------------------------------------------------------------
// the schema's shape, read from its AST

type AST = SchemaAST.AST

/**
 * The annotation `key` of a value's schema: a schema with checks keeps what it was annotated
 * with on its last check, so the checks are read last to first, then the node itself.
 */
const annotationOf = (ast: AST, key: string): unknown => {
  const inCheck = (check: SchemaAST.Check<unknown>): unknown => {
    const own = check.annotations?.[key]
    if (own !== undefined || check._tag === "Filter") return own
    return inChecks(check.checks)
  }
  const inChecks = (checks: ReadonlyArray<SchemaAST.Check<unknown>>): unknown => {
    for (let i = checks.length - 1; i >= 0; i--) {
      const found = inCheck(checks[i]!)
      if (found !== undefined) return found
    }
    return undefined
  }
  return inChecks(ast.checks ?? []) ?? ast.annotations?.[key]
}

const expectedOf = (ast: AST): string | undefined => {
  const words = annotationOf(ast, ExpectedId)
  return typeof words === "string" ? words : undefined
}

const isProblem = (u: unknown): u is Problem =>
  typeof u === "object" && u !== null && "rule" in u && typeof u.rule === "string" && "format" in u &&
  (u.format === "expected" || u.format === "got" || u.format === "plain")

const problemOf = (annotations: Schema.Annotations.Annotations | undefined): Problem => {
  const p = annotations?.[ProblemId]
  return isProblem(p) ? p : { rule: "type", format: "expected" }
}

const messageOf = (annotations: Schema.Annotations.Annotations | undefined): string | undefined => {
  const m = annotations?.message
  return typeof m === "string" ? m : undefined
}

/** The members of a union, nested unions flattened, without `undefined` (an optional field's). */
const members = (ast: SchemaAST.Union): ReadonlyArray<AST> =>
  ast.types.flatMap((t) => t._tag === "Union" ? members(t) : t._tag === "Undefined" ? [] : [t])

const literals = (ast: AST): ReadonlyArray<string> | undefined => {
  switch (ast._tag) {
    case "Literal":
      return typeof ast.literal === "string" ? [ast.literal] : undefined
    case "Union": {
      const each = members(ast).map(literals)
      return each.every((l) => l !== undefined) ? each.flat() : undefined
    }
    default:
      return undefined
  }
}

/** The words after "expected" for one of `asts`. */
const wordsOfMembers = (asts: ReadonlyArray<AST>): string =>
  asts.length === 1
    ? words(asts[0]!)
    : asts.every((m) => m._tag === "Objects")
    ? "a map"
    : asts.map(words).join(" or ")

/** The words after "expected" for a value of `ast`: its annotation, else its type's. */
const words = (ast: AST): string => {
  const annotated = expectedOf(ast)
  if (annotated !== undefined) return annotated
  const choices = literals(ast)
  if (choices !== undefined) return `one of ${choices.map((v) => JSON.stringify(v)).join(", ")}`
  switch (ast._tag) {
    case "String":
      return "a string"
    case "Number":
      return "a number"
    case "Boolean":
      return "true or false"
    case "Arrays":
      return ast.elements.length > 0 ? "a non-empty list" : "a list"
    case "Objects": {
      const values = ast.indexSignatures.map((s) => s.type)
      return ast.propertySignatures.length === 0 && values.length > 0 && values.every((v) => v._tag === "String") ? "a map of strings" : "a map"
    }
    case "Union":
      return wordsOfMembers(members(ast))
    default:
      return "a valid value"
  }
}

/**
 * A union of maps told apart by one key holding a literal (`health`'s `type`): that key and the
 * literals it may hold.
 */
const discriminator = (ast: SchemaAST.Union): { readonly key: string; readonly choices: ReadonlyArray<string> } | undefined => {
  const maps = members(ast)
  if (maps.length < 2) return undefined
  const objects = maps.flatMap((m) => m._tag === "Objects" ? [m] : [])
  if (objects.length !== maps.length) return undefined
  for (const ps of objects[0]!.propertySignatures) {
    if (typeof ps.name !== "string") continue
    const each = objects.map((o) => o.propertySignatures.find((p) => p.name === ps.name)?.type)
    const choices = each.map((t) => t === undefined ? undefined : literals(t))
    if (choices.every((c) => c !== undefined)) return { key: ps.name, choices: [...new Set(choices.flat())] }
  }
  return undefined
}

/**
 * Every field path of the manifest, e.g. `ports[].host`, `health.command`, read from the
 * schema (for documentation and the docs sync test).
 *
 * @since 0.1.0
 * @category getters
 */
export const fieldPaths: ReadonlyArray<string> = (() => {
  const out = new Set<string>()
  const walk = (ast: AST, prefix: string): void => {
    switch (ast._tag) {
      case "Objects":
        for (const ps of ast.propertySignatures) {
          const p = prefix === "" ? String(ps.name) : `${prefix}.${String(ps.name)}`
          out.add(p)
          walk(ps.type, p)
        }
        return
      case "Union":
        for (const t of ast.types) walk(t, prefix)
        return
      case "Arrays":
        for (const e of [...ast.elements, ...ast.rest]) walk(e, `${prefix}[]`)
        return
      default:
        return
    }
  }
  walk(SchemaAST.toEncoded(Manifest.ast), "")
  return [...out].sort()
})()

// ---------------------------------------------------------------------------------------------
// issues: each Schema issue becomes a finding at a field path

type Path = ReadonlyArray<PropertyKey>

interface Finding {
  readonly path: Path
  /** Where it points: the field's value, its key, or the map holding it (a missing field). */
  readonly anchor: "value" | "key" | "parent"
  readonly rule: string
  readonly format: Problem["format"] | "required" | "unknown-key" | "key"
  readonly text: string
  readonly actual?: unknown
  /** A string field given another scalar: "quote it". */
  readonly quote?: boolean
  /** The values of an enum, for "did you mean". */
  readonly choices?: ReadonlyArray<string>
  /** The keys of the struct, for an unknown key. */
  readonly known?: ReadonlyArray<string>
}

interface WalkCtx {
  /** The struct or list the current pointer is in (for missing keys). */
  readonly container?: SchemaAST.Objects | SchemaAST.Arrays
  /** The union the container is a member of (a discriminated `health`). */
  readonly union?: SchemaAST.Union
  /** The outermost schema of the field: its annotation gives the words. */
  readonly outer?: AST
  /** The check that failed. */
  readonly filter?: SchemaAST.Filter<unknown>
}

/** A map or a list: what a union of maps looks into for its discriminating key. */
const isMapOrList = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === "object" && u !== null

/** The value an issue is about (the loader decodes with `reportInput`). */
const inputOf = (issue: SchemaIssue.Issue): unknown => SchemaIssue.hasInput(issue) ? issue.input : undefined

const fieldTypes = (container: SchemaAST.Objects | SchemaAST.Arrays, union: SchemaAST.Union | undefined, key: PropertyKey): ReadonlyArray<AST> => {
  const of = (ast: AST) => ast._tag === "Objects" ? ast.propertySignatures.find((ps) => ps.name === key)?.type : undefined
  return (union !== undefined ? members(union) : [container]).map(of).filter((t): t is AST => t !== undefined)
}

const walk = (issue: SchemaIssue.Issue, path: Path, ctx: WalkCtx, out: Array<Finding>): void => {
  switch (issue._tag) {
    case "Pointer": {
      const inner = [...path, ...issue.path]
      const child = issue.issue
      if (child._tag === "MissingKey") return missing(inner, ctx, out)
      if (child._tag === "UnexpectedKey") return unexpected(child, inner, out)
      // a check's problem at a path below its value (the backup's recovery.from) keeps the check
      return walk(child, inner, ctx.filter !== undefined ? { filter: ctx.filter, ...(ctx.outer ? { outer: ctx.outer } : {}) } : {}, out)
    }
    case "Composite": {
      const ast = issue.ast
      // the failed checks of one value: as in a chain of refinements, the first one is reported
      const check = issue.issues.find((i) => i._tag === "Filter")
      if (check !== undefined) walk(check, path, { ...ctx, outer: ctx.outer ?? ast }, out)
      const container = ast._tag === "Objects" || ast._tag === "Arrays" ? ast : ctx.container
      for (const i of issue.issues) {
        if (i._tag !== "Filter") walk(i, path, { ...ctx, ...(container ? { container } : {}) }, out)
      }
      return
    }
    case "AnyOf": {
      const ast = issue.ast
      const outer = ctx.outer ?? ast
      // the one member the value could be (by its type, or its discriminating key)
      if (issue.issues.length === 1) return walk(issue.issues[0]!, path, { ...ctx, outer, union: ast }, out)
      const actual = inputOf(issue)
      const tag = issue.issues.length === 0 && isMapOrList(actual) ? discriminator(ast) : undefined
      if (tag !== undefined && isMapOrList(actual)) {
        // a map (or list) whose discriminating key is missing or names no member
        const at = [...path, tag.key]
        const text = `one of ${tag.choices.map((v) => JSON.stringify(v)).join(", ")}`
        if (!Object.hasOwn(actual, tag.key)) return void out.push({ path: at, anchor: "parent", rule: "required", format: "required", text })
        return void out.push({ path: at, anchor: "value", rule: "type", format: "expected", text, actual: actual[tag.key], quote: false, choices: tag.choices })
      }
      // no member takes a value of this type: a single one says what was expected ("quote it")
      const each = members(ast)
      return void out.push(mismatch(path, outer, actual, issue.issues.length === 0 && each.length === 1 && each[0]!._tag === "String"))
    }
    case "Filter":
      return walk(issue.issue, path, { ...ctx, filter: issue.filter }, out)
    case "Encoding":
      return walk(issue.issue, path, { ...ctx, outer: ctx.outer ?? issue.ast }, out)
    case "InvalidType": {
      const outer = ctx.outer ?? issue.ast
      if (ctx.filter === undefined) return void out.push(mismatch(path, outer, inputOf(issue), issue.ast._tag === "String"))
      return void out.push(failed(path, ctx.filter, outer, undefined, inputOf(issue)))
    }
    case "InvalidValue": {
      const message = messageOf(issue.annotations)
      if (ctx.filter !== undefined) return void out.push(failed(path, ctx.filter, ctx.outer, message, inputOf(issue)))
      const text = message ?? (ctx.outer !== undefined ? words(ctx.outer) : "a valid value")
      return void out.push({ path, anchor: "value", rule: "type", format: "expected", text, actual: inputOf(issue) })
    }
    case "MissingKey":
      return missing(path, ctx, out)
    case "UnexpectedKey":
      return unexpected(issue, path, out)
    case "Forbidden":
    case "OneOf":
      return void out.push(ctx.outer !== undefined
        ? mismatch(path, ctx.outer, inputOf(issue), false)
        : { path, anchor: "value", rule: "type", format: "expected", text: "a valid value", actual: inputOf(issue) })
  }
}

/** A check that failed: its message (or the field's words) under the check's rule. */
const failed = (path: Path, filter: SchemaAST.Filter<unknown>, outer: AST | undefined, message: string | undefined, actual: unknown): Finding => {
  const problem = problemOf(filter.annotations)
  const text = message ?? (outer !== undefined ? expectedOf(outer) : undefined) ?? messageOf(filter.annotations) ??
    (outer !== undefined ? words(outer) : "a valid value")
  return { path, anchor: "value", rule: problem.rule, format: problem.format, text, actual }
}

const mismatch = (path: Path, ast: AST, actual: unknown, quote: boolean): Finding => {
  const choices = literals(ast)
  return { path, anchor: "value", rule: "type", format: "expected", text: words(ast), actual, quote, ...(choices ? { choices } : {}) }
}

const missing = (path: Path, ctx: WalkCtx, out: Array<Finding>): void => {
  const container = ctx.container
  if (container?._tag === "Arrays") {
    // a required item missing: the list is too short
    out.push(mismatch(path.slice(0, -1), container, undefined, false))
    return
  }
  const types = container === undefined ? [] : fieldTypes(container, ctx.union, path[path.length - 1]!)
  out.push({ path, anchor: "parent", rule: "required", format: "required", text: types.length === 0 ? "a value" : wordsOfMembers(types) })
}

const unexpected = (issue: SchemaIssue.UnexpectedKey, path: Path, out: Array<Finding>): void => {
  const container = issue.ast
  if (container._tag === "Arrays") {
    const problem = problemOf(container.annotations)
    out.push({ path, anchor: "value", rule: problem.rule, format: problem.format, text: messageOf(container.annotations) ?? "no more items", actual: inputOf(issue) })
    return
  }
  const struct = container._tag === "Objects" ? container : undefined
  const key = String(path[path.length - 1])
  const signature = struct?.indexSignatures[0]
  if (signature !== undefined && !struct!.propertySignatures.some((ps) => ps.name === key)) {
    out.push({ path, anchor: "key", rule: "key", format: "key", text: words(signature.parameter) })
    return
  }
  const known = (struct?.propertySignatures ?? []).map((ps) => String(ps.name))
  out.push({ path, anchor: "key", rule: "unknown-key", format: "unknown-key", text: "", known })
}

// ---------------------------------------------------------------------------------------------
// YAML: the plain value and where each of its parts is written

interface Tree {
  readonly text: string
  readonly doc: Document.Parsed
  readonly lines: LineCounter
  /** Field path → where its value is written, and the YAML node (aliases resolved). */
  readonly values: Map<string, { readonly at: Position; readonly node: unknown }>
  /** Field path → where its key is written. */
  readonly keys: Map<string, Position>
  readonly problems: Array<ManifestError>
  /** Each YAML node converted once: an alias shares its anchor's value, so alias bombs stay small. */
  readonly converted: Map<unknown, unknown>
  readonly converting: Set<unknown>
  aliases: number
}

const position = (tree: Tree, node: unknown): Position => {
  const offset = (node as { range?: [number, number, number] } | null | undefined)?.range?.[0]
  if (offset === undefined) return { line: 1, column: 1 }
  const p = tree.lines.linePos(offset)
  return { line: p.line, column: p.col }
}

const render = (text: string, node: unknown): string => {
  if (node === null || node === undefined) return "nothing"
  if (isMap(node)) return "a map"
  if (isSeq(node)) return "a list"
  if (isScalar(node)) {
    const v = node.value
    if (typeof v === "string") return JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v)
    if (v === null) return "nothing"
    const src = node.range ? text.slice(node.range[0], node.range[1]).trim() : String(v)
    return src.length > 80 ? `${src.slice(0, 77)}...` : src
  }
  return "an unsupported value"
}

const renderValue = (u: unknown): string =>
  u === null || u === undefined
    ? "nothing"
    : Array.isArray(u)
    ? "a list"
    : typeof u === "object"
    ? "a map"
    : typeof u === "string"
    ? JSON.stringify(u.length > 80 ? `${u.slice(0, 77)}...` : u)
    : String(u)

const problemAt = (tree: Tree, file: string, at: Position, path: string, rule: string, detail: string): void => {
  tree.problems.push(new ManifestError({ file, line: at.line, column: at.column, path, rule, detail }))
}

const toPlain = (tree: Tree, file: string, raw: unknown, path: string, at: Position): unknown => {
  let node = raw
  while (isAlias(node)) {
    if (++tree.aliases > maxAliases) return null
    node = node.resolve(tree.doc)
  }
  tree.values.set(path, { at, node })
  if (tree.converting.has(node)) {
    // an alias inside its own anchor: a value without end
    tree.aliases = maxAliases + 1
    return null
  }
  if (tree.converted.has(node)) return tree.converted.get(node)
  if (isScalar(node)) return node.value
  if (isSeq(node)) {
    const out: Array<unknown> = []
    tree.converted.set(node, out)
    tree.converting.add(node)
    node.items.forEach((item, i) => out.push(toPlain(tree, file, item, `${path}[${i}]`, position(tree, item))))
    tree.converting.delete(node)
    return out
  }
  if (isMap(node)) {
    const out: Record<string, unknown> = {}
    tree.converted.set(node, out)
    tree.converting.add(node)
    const seen = new Map<string, Position>()
    for (const pair of node.items) {
      if (!isPair(pair)) continue
      let keyNode: unknown = pair.key
      while (isAlias(keyNode) && tree.aliases++ <= maxAliases) keyNode = keyNode.resolve(tree.doc)
      const keyAt = position(tree, pair.key)
      if (!isScalar(keyNode) || (typeof keyNode.value !== "string" && typeof keyNode.value !== "number")) {
        problemAt(tree, file, keyAt, path, "key", `expected a plain key, got ${render(tree.text, keyNode)}`)
        continue
      }
      const key = String(keyNode.value)
      if (key === "__proto__") {
        problemAt(tree, file, keyAt, path, "key", `expected a plain key, got "__proto__"`)
        continue
      }
      const p = Rules.keyPath(path, key)
      const first = seen.get(key)
      if (first !== undefined) {
        problemAt(tree, file, keyAt, p, "duplicate-key", `duplicate key (first at line ${first.line})`)
        continue
      }
      seen.set(key, keyAt)
      tree.keys.set(p, keyAt)
      out[key] = toPlain(tree, file, pair.value, p, pair.value ? position(tree, pair.value) : keyAt)
    }
    tree.converting.delete(node)
    return out
  }
  return null
}

const locateIn = (values: Tree["values"], path: string): Position => {
  let p = path
  for (;;) {
    const hit = values.get(p)
    if (hit !== undefined) return hit.at
    if (p === "") return { line: 1, column: 1 }
    const cut = Math.max(p.lastIndexOf("."), p.lastIndexOf("["))
    p = cut <= 0 ? "" : p.slice(0, cut)
  }
}

const yamlDetail = (message: string): string =>
  (message.split("\n")[0] ?? message).replace(/ at line \d+, column \d+:?$/, "").trim()

const issuePath = (path: Path): string =>
  path.reduce<string>((acc, k) => (typeof k === "number" ? `${acc}[${k}]` : Rules.keyPath(acc, String(k))), "")

const parentPath = (path: Path): string => issuePath(path.slice(0, -1))

const isStringRecord = (u: unknown): u is Readonly<Record<string, string>> =>
  typeof u === "object" && u !== null && Object.values(u).every((v) => typeof v === "string")

const keyAliases: Readonly<Record<string, string>> = (() => {
  const aliases = annotationOf(Manifest.ast, KeyAliasesId)
  return isStringRecord(aliases) ? aliases : {}
})()

/** The detail a packager reads for a finding. */
const detailOf = (tree: Tree, f: Finding, path: string): string => {
  const node = tree.values.get(path)
  const got = node !== undefined ? render(tree.text, node.node) : renderValue(f.actual)
  switch (f.format) {
    case "expected": {
      const actual = node !== undefined && isScalar(node.node) ? node.node.value : f.actual
      const near = f.choices !== undefined && typeof actual === "string" ? closest(actual, f.choices) : undefined
      if (near !== undefined) return `expected ${f.text}, got ${got}; did you mean ${JSON.stringify(near)}?`
      const scalar = node !== undefined ? isScalar(node.node) && node.node.value !== null : f.actual !== null && typeof f.actual !== "object"
      return `expected ${f.text}${f.quote === true && scalar ? " (quote it)" : ""}, got ${got}`
    }
    case "got":
      return `${f.text}, got ${got}`
    case "plain":
      return f.text
    case "required":
      return `required field missing; expected ${f.text}`
    case "key":
      return `expected ${f.text}, got ${JSON.stringify(String(f.path[f.path.length - 1]))}`
    case "unknown-key": {
      const key = String(f.path[f.path.length - 1])
      const known = f.known ?? []
      const alias = f.path.length === 1 && Object.hasOwn(keyAliases, key) ? keyAliases[key] : undefined
      const near = alias ?? closest(key, known)
      return near === undefined ? `unknown key; expected one of ${known.join(", ")}` : `unknown key; did you mean ${JSON.stringify(near)}?`
    }
  }
}

const decodeManifest = Schema.decodeUnknownResult(Manifest)

/**
 * Parses a manifest and keeps the positions of its fields.
 *
 * @since 0.1.0
 * @category constructors
 */
export const parseLocated = (
  text: string,
  file: string,
  options: Options = {}
): Result.Result<Located, ReadonlyArray<ManifestError>> => {
  if (text.length > maxBytes) {
    return Result.fail([
      new ManifestError({ file, line: 1, column: 1, path: "", rule: "size", detail: `the manifest is larger than ${maxBytes / 1024} KiB` })
    ])
  }
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false })
  const tree: Tree = { text, doc, lines, values: new Map(), keys: new Map(), problems: [], converted: new Map(), converting: new Set(), aliases: 0 }
  for (const e of doc.errors) {
    const lp = e.linePos?.[0] ?? lines.linePos(e.pos[0])
    problemAt(tree, file, { line: lp.line, column: lp.col }, "", "yaml", `YAML syntax: ${yamlDetail(e.message)}`)
  }
  if (tree.problems.length > 0) return Result.fail(tree.problems.slice(0, maxErrors))
  let root: unknown = doc.contents
  while (isAlias(root) && tree.aliases++ <= maxAliases) root = root.resolve(doc)
  if (!isMap(root)) {
    problemAt(tree, file, position(tree, root), "", "type", `expected a map of manifest fields, got ${render(text, root)}`)
    return Result.fail(tree.problems)
  }
  const value = toPlain(tree, file, root, "", position(tree, root))
  if (tree.aliases > maxAliases) {
    return Result.fail([new ManifestError({ file, line: 1, column: 1, path: "", rule: "yaml", detail: `more than ${maxAliases} alias expansions` })])
  }

  const decoded = decodeManifest(value, { errors: "all", onExcessProperty: "error", reportInput: true })
  const findings: Array<Finding> = []
  if (Result.isFailure(decoded)) {
    walk(decoded.failure.issue, [], {}, findings)
    if (findings.length === 0) {
      // an issue of a kind the walk does not know: say it in Effect's words rather than nothing
      for (const i of SchemaIssues.leaves(decoded.failure.issue)) {
        findings.push({ path: i.path, anchor: "value", rule: "schema", format: "plain", text: i.message })
      }
    }
  }
  const located = findings.map((f) => {
    const path = issuePath(f.path)
    const at = f.anchor === "key"
      ? tree.keys.get(path) ?? locateIn(tree.values, path)
      : f.anchor === "parent"
      ? locateIn(tree.values, parentPath(f.path))
      : locateIn(tree.values, path)
    return { f, path, at }
  })
  const reported = new Set(located.map((l) => l.path))
  const partial = Result.isSuccess(decoded) ? decoded.success : Option.getOrElse(salvage(Manifest.ast, value), () => ({}))
  const rules = Rules.check(partial as Salvaged<Manifest>, options, (p) => reported.has(p))

  type Pending = { readonly at: Position; readonly path: string; readonly rule: string; readonly detail: () => string }
  const pending: Array<Pending> = [
    ...tree.problems.map((e): Pending => ({ at: e, path: e.path, rule: e.rule, detail: () => e.detail })),
    ...located.map(({ at, f, path }): Pending => ({ at, path, rule: f.rule, detail: () => detailOf(tree, f, path) })),
    ...rules.map((r): Pending => ({ at: locateIn(tree.values, r.path), path: r.path, rule: r.rule, detail: () => r.detail }))
  ]
  if (pending.length === 0 && Result.isSuccess(decoded)) {
    return Result.succeed({ manifest: decoded.success, file, locate: (path: string) => locateIn(tree.values, path) })
  }
  pending.sort((a, b) => a.at.line - b.at.line || a.at.column - b.at.column)
  const errors: Array<ManifestError> = []
  const said = new Set<string>()
  let dropped = 0
  for (const p of pending) {
    if (errors.length >= maxErrors) {
      dropped++
      continue
    }
    const detail = p.detail()
    // the schema's image-or-build and the rule that also says it on a partly valid manifest
    const key = `${p.path}\n${detail}`
    if (said.has(key)) continue
    said.add(key)
    errors.push(new ManifestError({ file, line: p.at.line, column: p.at.column, path: p.path, rule: p.rule, detail }))
  }
  if (dropped > 0) {
    const last = errors[errors.length - 1]!
    errors.push(new ManifestError({
      file,
      line: last.line,
      column: last.column,
      path: "",
      rule: "too-many-errors",
      detail: `${dropped} more ${dropped === 1 ? "problem" : "problems"} not shown (at most ${maxErrors} per manifest)`
    }))
  }
  return Result.fail(errors)
}

/**
 * Parses and validates one manifest. `file` is only used in messages (keep it relative, e.g.
 * `apps/lnd/manifest.yml`). Never throws: every problem comes back located.
 *
 * @example
 * parseManifest(text, "apps/lnd/manifest.yml", { expectedId: "lnd", hookNames: ["lnd-conf"] })
 *
 * @since 0.1.0
 * @category constructors
 */
export const parseManifest = (
  text: string,
  file: string,
  options: Options = {}
): Result.Result<Manifest, ReadonlyArray<ManifestError>> =>
  Result.map(parseLocated(text, file, options), (l) => l.manifest)

/**
 * Admission is decided in one place (`domain/Admission.ts`) and "settled" is defined in one
 * (`Op.settledBy`, over the table `Op.finalState` reads too): a scan of every package's sources
 * fails when a second place starts deciding either (docs/decisions/0039-one-admission.md).
 */
import { readdirSync, readFileSync } from "node:fs"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"

const root = fileURLToPath(new URL("../../..", import.meta.url))
const sources = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []
  )
const files = ["orchestrator", "hooks", "rpc-adapter", "daemon", "web-components"]
  .flatMap((p) => sources(join(root, "packages", p, "src")))
  .map((f) => ({ path: relative(root, f), text: readFileSync(f, "utf8") }))

/** The files where `pattern` occurs, as paths from the repository root. */
const where = (pattern: RegExp): Array<string> => files.filter((f) => pattern.test(f.text)).map((f) => f.path)

const admission = "packages/orchestrator/src/domain/Admission.ts"
const op = "packages/orchestrator/src/domain/Op.ts"

describe("one place", () => {
  it("only Admission asks whether the op is already in flight", () => {
    assert.deepStrictEqual(where(/transition\??\.op\s*===/), [admission])
  })

  it("only Admission builds a refusal of an operation", () => {
    assert.deepStrictEqual(
      where(/\bnew\s+(?:\w+\.)?(?:Conflict|NotAllowed|ConflictingApp|MissingDependency|DependentsInstalled)\s*\(/),
      [admission]
    )
    assert.deepStrictEqual(where(/\bextends\s+(?:\w+\.)?NotAllowed\b/), [admission])
    assert.deepStrictEqual(where(/TaggedError\(\s*"(?:Conflict|NotAllowed)"\s*\)/), [admission])
  })

  it("the store's generation is read, never computed by a caller", () => {
    // the store (whatever files it is split into) keeps it; Generation.ts shows it in an example
    const computing = where(/Generation\.advance\(/).filter((p) =>
      p !== "packages/orchestrator/src/domain/Generation.ts" && !/^packages\/orchestrator\/src\/services\/State\w*\.ts$/.test(p)
    )
    assert.deepStrictEqual(computing, [])
  })

  it("only Op says what settles an operation", () => {
    assert.deepStrictEqual(where(/(?:const|function)\s+(?:settledBy|finalState)\b/), [op])
  })

  it("Admission is pure: it imports only effect and the domain", () => {
    const text = files.find((f) => f.path === admission)!.text
    const imports = [...text.matchAll(/(?:^|\n)\s*import\b[^;"']*?from\s+["']([^"']+)["']/g)].map((m) => m[1]!)
    assert.isTrue(imports.length > 0)
    for (const i of imports) assert.isTrue(i === "effect" || /^\.\/[A-Za-z]+\.js$/.test(i), `Admission imports ${i}`)
  })

  it("a source file over 500 lines says at its top why it is one file", () => {
    const long = files.filter((f) => f.text.split("\n").length > 500)
    const unexplained = long.filter((f) => !/over 500[\s*]+lines/i.test(f.text.split("\n").slice(0, 40).join("\n")))
    assert.deepStrictEqual(unexplained.map((f) => f.path), [])
    // the rule has something to bite on: without a reason these files would fail it
    assert.isAbove(long.length, 0)
  })
})

import { assert, describe, it } from "@effect/vitest"
import { Either, SchemaAST } from "effect"
import * as Fs from "node:fs"
import { fileURLToPath } from "node:url"
import * as Loader from "../../src/manifest/Loader.js"
import { Manifest } from "../../src/manifest/Manifest.js"

const docs = Fs.readFileSync(fileURLToPath(new URL("../../../../docs/manifest.md", import.meta.url)), "utf8")

/** Every field path of a schema, `ports[].host` style, read from its encoded AST. */
const schemaPaths = (ast: SchemaAST.AST, prefix = "", out = new Set<string>()): Set<string> => {
  switch (ast._tag) {
    case "TypeLiteral":
      for (const ps of ast.propertySignatures) {
        const p = prefix === "" ? String(ps.name) : `${prefix}.${String(ps.name)}`
        out.add(p)
        schemaPaths(ps.type, p, out)
      }
      return out
    case "Union":
      for (const t of ast.types) schemaPaths(t, prefix, out)
      return out
    case "TupleType":
      for (const e of [...ast.elements, ...ast.rest]) schemaPaths(e.type, `${prefix}[]`, out)
      return out
    case "Refinement":
    case "Transformation":
      return schemaPaths(ast.from, prefix, out)
    default:
      return out
  }
}

const paths = [...schemaPaths(SchemaAST.encodedAST(Manifest.ast))].sort()

describe("docs/manifest.md", () => {
  it("the schema has the fields the architecture names", () => {
    for (const f of ["id", "name", "version", "image", "build.context", "container.name", "ports[].host", "volumes[].source", "env", "extraHosts", "memory", "stopTimeout", "restart", "dependsOn", "hooks", "health.type"]) {
      assert.include(paths, f)
    }
  })

  it("documents every schema field", () => {
    const missing = paths.filter((p) => !docs.includes(`\`${p}\``))
    assert.deepStrictEqual(missing, [])
  })

  it("the loader knows exactly the schema's fields", () => {
    assert.deepStrictEqual([...Loader.fieldPaths], paths)
  })

  it("its full example is a valid manifest", () => {
    const example = /```yaml\n([\s\S]*?)```/.exec(docs)?.[1] ?? ""
    const result = Loader.parseManifest(example, "docs/manifest.md", { expectedId: "demo-ui", hookNames: ["demo-ui-page"] })
    assert.deepStrictEqual(Either.isLeft(result) ? result.left.map((e) => e.message) : [], [])
  })
})

import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import * as Fs from "node:fs"
import { fileURLToPath } from "node:url"
import * as Loader from "../../src/manifest/Loader.js"

const docs = Fs.readFileSync(fileURLToPath(new URL("../../../../docs/manifest.md", import.meta.url)), "utf8")

/** The field paths the tables of the "Fields" section name, one per row (`| \`ports[].host\` | ...`). */
const documented = (): ReadonlyArray<string> => {
  const section = /\n## Fields\n([\s\S]*?)\n## /.exec(docs)?.[1] ?? ""
  return [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!).sort()
}

// the schema's fields, read from its AST: the one description of a manifest
const paths = Loader.fieldPaths

describe("docs/manifest.md", () => {
  it("the schema has the fields the architecture names", () => {
    for (const f of ["id", "name", "version", "image", "build.context", "container.name", "ports[].host", "volumes[].source", "env", "extraHosts", "memory", "stopTimeout", "restart", "dependsOn", "hooks", "health.type"]) {
      assert.include(paths, f)
    }
  })

  it("the Fields tables name exactly the schema's fields, each once", () => {
    assert.deepStrictEqual(documented(), [...paths])
  })

  it("its full example is a valid manifest", () => {
    const example = /```yaml\n([\s\S]*?)```/.exec(docs)?.[1] ?? ""
    const result = Loader.parseManifest(example, "docs/manifest.md", { expectedId: "demo-ui", hookNames: ["demo-ui-page"] })
    assert.deepStrictEqual(Result.isFailure(result) ? result.failure.map((e) => e.message) : [], [])
  })
})

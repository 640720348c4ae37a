/**
 * Every `@since` tag in the packages' sources names a version a user can have: one already
 * released, or the next minor release changesets will produce from the current version. Helpers
 * and templates have written later versions (`0.3.0`) before the first release existed.
 */
import * as Fs from "node:fs"
import * as NodePath from "node:path"
import { assert, describe, it } from "@effect/vitest"

const root = NodePath.join(import.meta.dirname, "..", "..", "..")
const packages = ["orchestrator", "hooks", "rpc-adapter", "daemon", "web-components"]

const parse = (v: string): ReadonlyArray<number> => v.split(".").map((n) => Number(n))
const compare = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): number => {
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0)
  return 0
}
/** The next minor release of a version, as `changeset version` makes it with minor changesets. */
const nextMinor = (v: string): ReadonlyArray<number> => {
  const [major = 0, minor = 0] = parse(v)
  return [major, minor + 1, 0]
}

const sources = (dir: string): ReadonlyArray<string> =>
  Fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = NodePath.join(dir, e.name)
    if (e.isDirectory()) return sources(path)
    return e.name.endsWith(".ts") ? [path] : []
  })

describe("@since tags", () => {
  it("never name a version later than the next release of their package", () => {
    const late: Array<string> = []
    let seen = 0
    for (const name of packages) {
      const dir = NodePath.join(root, "packages", name)
      const { version } = JSON.parse(Fs.readFileSync(NodePath.join(dir, "package.json"), "utf8")) as { version: string }
      const limit = nextMinor(version)
      for (const file of sources(NodePath.join(dir, "src"))) {
        Fs.readFileSync(file, "utf8").split("\n").forEach((line, i) => {
          const m = /@since\s+(\d+\.\d+\.\d+)/.exec(line)
          if (m === null) return
          seen++
          if (compare(parse(m[1]!), limit) > 0) late.push(`${NodePath.relative(root, file)}:${i + 1}: @since ${m[1]} (next release ${limit.join(".")})`)
        })
      }
    }
    assert.isAbove(seen, 100, "the scan found the packages' @since tags")
    assert.deepStrictEqual(late, [])
  })
})

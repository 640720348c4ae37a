/**
 * The modules of every package form no import cycle (type-only imports count: they tie the
 * modules' designs together all the same); docs/decisions/0023-effect-progress-and-cycles.md
 * records how the last ones were removed.
 */
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"

const root = fileURLToPath(new URL("../../..", import.meta.url))
const sources = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []
  )

/** Each module's relative imports, as paths from the repository root. */
const graph = (): Map<string, Array<string>> => {
  const files = ["orchestrator", "hooks", "rpc-adapter", "daemon", "web-components"].flatMap((p) => sources(join(root, "packages", p, "src")))
  return new Map(
    files.map((f) => [
      relative(root, f),
      [...readFileSync(f, "utf8").matchAll(/(?:^|\n)\s*(?:import|export)\b[^;"']*?from\s+["'](\.{1,2}\/[^"']+)["']/g)].map((m) =>
        relative(root, resolve(dirname(f), m[1]!.replace(/\.js$/, ".ts")))
      )
    ])
  )
}

/** The strongly connected components with more than one module (Tarjan), each sorted. */
const cycles = (g: Map<string, Array<string>>): Array<Array<string>> => {
  let index = 0
  const indices = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: Array<string> = []
  const onStack = new Set<string>()
  const out: Array<Array<string>> = []
  const visit = (v: string): void => {
    indices.set(v, index)
    low.set(v, index++)
    stack.push(v)
    onStack.add(v)
    for (const w of g.get(v) ?? []) {
      if (!g.has(w)) continue
      if (!indices.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indices.get(w)!))
    }
    if (low.get(v) === indices.get(v)) {
      const component: Array<string> = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        component.push(w)
      } while (w !== v)
      if (component.length > 1) out.push(component.sort())
    }
  }
  for (const v of g.keys()) if (!indices.has(v)) visit(v)
  return out.sort((a, b) => a[0]!.localeCompare(b[0]!))
}

describe("import cycles", () => {
  it("finds a cycle when there is one", () => {
    const g = new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]])
    expect(cycles(g)).toEqual([["a", "b", "c"]])
  })

  it("the packages have no import cycle", () => {
    expect(cycles(graph())).toEqual([])
  })
})

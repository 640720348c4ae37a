/**
 * Which test files `scripts/node-matrix.sh` runs again on other Node majors, decided by what a
 * file does, never by a list of names (a list drifts: a new podman test would run on Node 22/24
 * until someone remembered to add it).
 *
 * The rule:
 * - A test-side module (a test file or a helper it imports; not `src/`, not `node_modules`) *runs
 *   podman* when it spawns `podman` itself (or, for a helper, starts a server with `--engine
 *   podman`), and *drives Chromium* when it imports playwright-core's values. A test file that
 *   reaches such a module through its relative imports (type-only ones aside), at any depth,
 *   needs that tool.
 * - A *randomized* test (a long fuzz or model-based run) says so by its name, the convention
 *   `npm run fuzz` keys on too: `*Fuzz.test.ts`, `Model.test.ts` or `*.model.test.ts`.
 * - A *packaging* test reaches test-support/packing.ts: it tests the packed install on the Node
 *   it runs on, so it stays in the matrix even when it shows the installed server in Chromium.
 * - The matrix runs the published packages' tests (`packages/<name>/test/**`), minus those that
 *   need podman, minus those that drive Chromium (unless packaging), minus randomized ones.
 */
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, normalize, relative } from "node:path"

/** Why a test file stays on the machine's Node. */
export type Reason = "podman" | "chromium" | "randomized"

/** What the rule found for one test file. */
export interface Selected {
  /** Repo-relative path. */
  readonly file: string
  /** Empty when the file runs in the matrix. */
  readonly excluded: ReadonlyArray<Reason>
  /** Whether it reaches test-support/packing.ts (a packaging test). */
  readonly packaging: boolean
  /** For each reason, the module that brought it in (the file itself, or a helper it reaches). */
  readonly via: Partial<Record<Reason, string>>
}

/** Reads a repo-relative file; undefined when there is none. */
export type Read = (file: string) => string | undefined

const podmanSpawn = /\b(?:spawn|spawnSync|execFile|execFileSync|execa|execaSync)\(\s*["']podman["']/
const podmanEngine = /["']--engine["']\s*,\s*["']podman["']/
const playwrightValue = /^[ \t]*import\s+(?!type\b)[\w$*{}\s,]+?\s+from\s+["']playwright-core["']/m
const randomizedName = /(?:Fuzz|(?:^|\/)Model|\.model)\.test\.ts$/

/**
 * The tools a module uses itself (not through its imports). `--engine podman` counts in a helper
 * only: a test file may pass it to prove what happens without podman (PATH emptied).
 */
export const usesDirectly = (file: string, text: string): ReadonlyArray<"podman" | "chromium"> => [
  ...(podmanSpawn.test(text) || (!file.endsWith(".test.ts") && podmanEngine.test(text)) ? ["podman" as const] : []),
  ...(playwrightValue.test(text) ? ["chromium" as const] : [])
]

/** True when the name marks a randomized test. */
export const hasRandomizedName = (file: string): boolean => randomizedName.test(file)

// `import x, { y } from "…"`, `export * from "…"`, `import "…"` (each at the start of a line, so
// code quoted in a string is no import) and `import("…")`; group 1 marks `import type`
const importSpecifiers =
  /^[ \t]*(?:import|export)\s+(type\s+)?(?:[\w$*{}\s,]+?\s+from\s+)?["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/gm

/** `from` modules' relative imports that are test-side: repo-relative `.ts` paths, `src/` left out. */
export const testSideImports = (from: string, text: string): Array<string> => {
  const out: Array<string> = []
  for (const m of text.matchAll(importSpecifiers)) {
    const spec = m[2] ?? m[3]!
    // a type-only import brings in no code
    if (!spec.startsWith(".") || m[1] !== undefined) continue
    const file = normalize(join(dirname(from), spec)).replace(/\.js$/, ".ts")
    if (/(^|\/)src\//.test(file) || file.includes("node_modules/")) continue
    out.push(file)
  }
  return out
}

/** Classifies test files by the rule above; `read` gives the text of any repo-relative file. */
export const classify = (files: ReadonlyArray<string>, read: Read): Array<Selected> => {
  const direct = new Map<string, { readonly uses: ReadonlyArray<"podman" | "chromium">; readonly imports: ReadonlyArray<string> }>()
  const scan = (file: string) => {
    const known = direct.get(file)
    if (known !== undefined) return known
    const text = read(file) ?? ""
    const entry = { uses: usesDirectly(file, text), imports: testSideImports(file, text) }
    direct.set(file, entry)
    return entry
  }
  return files.map((file) => {
    const via: Partial<Record<Reason, string>> = {}
    let packaging = false
    const seen = new Set<string>()
    const queue = [file]
    while (queue.length > 0) {
      const at = queue.shift()!
      if (seen.has(at)) continue
      seen.add(at)
      if (at === "test-support/packing.ts") packaging = true
      const { imports, uses } = scan(at)
      for (const tool of uses) via[tool] ??= at
      queue.push(...imports)
    }
    if (hasRandomizedName(file)) via.randomized = file
    const excluded: Array<Reason> = [
      ...(via.podman !== undefined ? ["podman" as const] : []),
      ...(via.chromium !== undefined && !packaging ? ["chromium" as const] : []),
      ...(via.randomized !== undefined ? ["randomized" as const] : [])
    ]
    return { file, excluded, packaging, via }
  })
}

/** Every `packages/<name>/test/**\/*.test.ts` under `root`, repo-relative and sorted. */
export const packageTestFiles = (root: string): Array<string> =>
  readdirSync(join(root, "packages"), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => {
      const dir = join(root, "packages", d.name, "test")
      try {
        return readdirSync(dir, { recursive: true, encoding: "utf8" })
          .filter((f) => f.endsWith(".test.ts") && !f.split("/").includes("node_modules"))
          .map((f) => relative(root, join(dir, f)))
      } catch {
        return []
      }
    })
    .sort()

/** A `Read` over the files under `root`. */
export const readUnder = (root: string): Read => (file) => {
  try {
    return readFileSync(join(root, file), "utf8")
  } catch {
    return undefined
  }
}

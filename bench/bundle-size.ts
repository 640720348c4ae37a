/**
 * Sizes of the dashboard's distributed code, raw and gzip: the self-contained browser bundle
 * (lit and the domain inlined) and the ESM build (lit external), with the bundle's composition.
 * Prints a table, then JSON.
 *
 * Run: `node --import tsx bench/bundle-size.ts` (builds into a temp dir; no prior build needed).
 */
import * as esbuild from "esbuild"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { gzipSync } from "node:zlib"
import { buildBrowser } from "../packages/web-components/scripts/build-browser.js"
import { emit, summarize } from "./lib/Bench.js"

const pkg = (p: string): string => fileURLToPath(new URL(`../packages/${p}`, import.meta.url))

const measure = (name: string, file: string) => {
  const code = readFileSync(file)
  return { name, raw: code.length, gzip: gzipSync(code, { level: 9 }).length }
}

const dir = mkdtempSync(join(tmpdir(), "archy-size-"))
try {
  const rows = []
  const bundle = join(dir, "archipelago.js")
  const meta = await buildBrowser(bundle)
  rows.push(measure("dist/browser/archipelago.js (lit + domain inlined, minified)", bundle))

  const esm = join(dir, "index.js")
  await esbuild.build({
    entryPoints: [pkg("web-components/src/index.ts")],
    outfile: esm,
    bundle: true,
    format: "esm",
    minify: true,
    target: "es2022",
    tsconfig: pkg("web-components/tsconfig.json"),
    external: ["lit", "lit/*", "@archipelago/orchestrator/domain", "@archipelago/orchestrator/protocol", "@archipelago/orchestrator/protocol/*", "@archipelago/orchestrator/wire"],
    logLevel: "warning"
  })
  rows.push(measure("ESM build, lit and domain external (minified)", esm))

  const inputs = Object.values(meta.outputs).find((o) => o.entryPoint !== undefined)?.inputs ?? {}
  const share = (match: RegExp) =>
    Object.entries(inputs).filter(([k]) => match.test(k)).reduce((n, [, v]) => n + v.bytesInOutput, 0)
  const parts = {
    lit: share(/node_modules\/(lit|lit-html|lit-element|@lit)\//),
    domain: share(/orchestrator\/src\/domain\//),
    protocol: share(/orchestrator\/src\/protocol\//),
    components: share(/web-components\/src\//)
  }

  const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`
  const width = Math.max(...rows.map((r) => r.name.length))
  console.log(`${"artifact".padEnd(width)}  ${"raw".padStart(10)}  ${"gzip".padStart(10)}`)
  for (const r of rows) console.log(`${r.name.padEnd(width)}  ${kb(r.raw).padStart(10)}  ${kb(r.gzip).padStart(10)}`)
  console.log(`\nbundle composition (minified bytes): lit ${kb(parts.lit)}, domain ${kb(parts.domain)}, protocol ${kb(parts.protocol)}, components + client ${kb(parts.components)}`)
  console.log(JSON.stringify({ rows, parts }))
  emit({
    id: "bundle-gzip",
    measure: "dashboard bundle, Lit included (gzip -9)",
    ours: summarize([Math.round((rows[0]!.gzip / 1000) * 10) / 10], "KB"),
    target: { kind: "max", stat: "median", value: 25 },
    note: `raw ${kb(rows[0]!.raw)}; lit ${kb(parts.lit)}, domain ${kb(parts.domain)}, protocol ${kb(parts.protocol)}, components + client ${kb(parts.components)} (minified)`
  })
} finally {
  rmSync(dir, { recursive: true, force: true })
}

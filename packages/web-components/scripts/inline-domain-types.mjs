#!/usr/bin/env node
// Ships the orchestrator's domain declarations inside this package (run after emit-dts): copies
// `../orchestrator/dist/domain/*.d.ts` to `dist/domain/` and points every
// `@archipelago/orchestrator/domain` (and `/wire`) import of our declarations at that copy. The JavaScript is
// bundled by tsup; with this the package's types need no @archipelago/orchestrator either.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { dirname, join, relative, sep } from "node:path"

const from = "../orchestrator/dist/domain"
const to = "dist/domain"
mkdirSync(to, { recursive: true })
const copied = readdirSync(from).filter((f) => f.endsWith(".d.ts"))
if (!copied.includes("index.d.ts")) {
  console.error(`inline-domain-types: ${from}/index.d.ts is missing; build @archipelago/orchestrator first`)
  process.exit(1)
}
for (const f of copied) copyFileSync(join(from, f), join(to, f))

const walk = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? walk(path) : [path]
  })
const specifier = /(["'])@archipelago\/orchestrator\/(domain|wire)\1/g
const target = { domain: "index.js", wire: "Wire.js" }
let rewritten = 0
for (const file of walk("dist").filter((f) => f.endsWith(".d.ts") && !f.startsWith(to + sep))) {
  specifier.lastIndex = 0
  const text = readFileSync(file, "utf8")
  if (!specifier.test(text)) continue
  const rel = (which) => {
    const r = relative(dirname(file), join(to, target[which])).split(sep).join("/")
    return r.startsWith(".") ? r : `./${r}`
  }
  writeFileSync(file, text.replace(specifier, (_m, q, which) => `${q}${rel(which)}${q}`))
  rewritten++
}
console.log(`inline-domain-types: ${copied.length} domain declarations copied, ${rewritten} files rewritten`)

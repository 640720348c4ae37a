#!/usr/bin/env node
// Ships the orchestrator's browser-safe declarations inside this package (run after emit-dts):
// copies `../orchestrator/dist/domain/*.d.ts` to `dist/domain/` and `../orchestrator/dist/protocol/`
// (with its `internal/`) to `dist/protocol/`, keeping their relative imports, and points every
// `@archipelago/orchestrator/domain` (and `/protocol`, `/protocol/<Module>`, `/wire`) import of our declarations at that
// copy. The JavaScript is bundled by tsup; with this the package's types need no
// @archipelago/orchestrator either.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { dirname, join, relative, sep } from "node:path"

const walk = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? walk(path) : [path]
  })

const from = "../orchestrator/dist/domain"
const to = "dist/domain"
mkdirSync(to, { recursive: true })
const copied = readdirSync(from).filter((f) => f.endsWith(".d.ts"))
if (!copied.includes("index.d.ts")) {
  console.error(`inline-domain-types: ${from}/index.d.ts is missing; build @archipelago/orchestrator first`)
  process.exit(1)
}
for (const f of copied) copyFileSync(join(from, f), join(to, f))

const protocolFrom = "../orchestrator/dist/protocol"
const protocolTo = "dist/protocol"
const protocolCopied = walk(protocolFrom).filter((f) => f.endsWith(".d.ts")).map((f) => relative(protocolFrom, f))
if (!protocolCopied.includes("index.d.ts")) {
  console.error(`inline-domain-types: ${protocolFrom}/index.d.ts is missing; build @archipelago/orchestrator first`)
  process.exit(1)
}
for (const f of protocolCopied) {
  mkdirSync(dirname(join(protocolTo, f)), { recursive: true })
  copyFileSync(join(protocolFrom, f), join(protocolTo, f))
}

const specifier = /(["'])@archipelago\/orchestrator\/(domain|protocol(?:\/\w+)?|wire)\1/g
const target = (which) =>
  which === "domain" ? join(to, "index.js")
  : which === "wire" ? join(to, "Wire.js")
  : join(protocolTo, which === "protocol" ? "index.js" : `${which.slice("protocol/".length)}.js`)
let rewritten = 0
const ours = (f) => f.endsWith(".d.ts") && !f.startsWith(to + sep) && !f.startsWith(protocolTo + sep)
for (const file of walk("dist").filter(ours)) {
  specifier.lastIndex = 0
  const text = readFileSync(file, "utf8")
  if (!specifier.test(text)) continue
  const rel = (which) => {
    const r = relative(dirname(file), target(which)).split(sep).join("/")
    return r.startsWith(".") ? r : `./${r}`
  }
  writeFileSync(file, text.replace(specifier, (_m, q, which) => `${q}${rel(which)}${q}`))
  rewritten++
}
console.log(`inline-domain-types: ${copied.length} domain and ${protocolCopied.length} protocol declarations copied, ${rewritten} files rewritten`)

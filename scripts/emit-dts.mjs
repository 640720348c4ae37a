#!/usr/bin/env node
// Emits a package's type declarations with tsc, one .d.ts per source module (run from the
// package's folder after tsup). tsup's bundled declarations (rollup-plugin-dts) drop the value
// half of a namespace member that is both a value and a type (`AppId.AppId` the schema and the
// type), so published types would be wrong. When the package also ships CommonJS, each .d.ts
// gets a .d.cts twin whose relative imports point at .cjs, so `require` consumers resolve
// CommonJS-flavoured types.
import { spawnSync } from "node:child_process"
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { join } from "node:path"

const require = createRequire(import.meta.url)
const tsc = require.resolve("typescript/bin/tsc")
const pkg = JSON.parse(readFileSync("package.json", "utf8"))

const r = spawnSync(process.execPath, [tsc, "-p", "tsconfig.json", "--emitDeclarationOnly", "--declaration", "--outDir", "dist"], {
  stdio: "inherit"
})
if (r.status !== 0) {
  console.error(`emit-dts: tsc failed for ${pkg.name}`)
  process.exit(r.status ?? 1)
}

const shipsCjs = JSON.stringify(pkg.exports ?? {}).includes('"require"')
if (shipsCjs) {
  const walk = (dir) =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name)
      return statSync(path).isDirectory() ? walk(path) : [path]
    })
  const relative = /(from\s+|import\(\s*)(["'])(\.{1,2}\/[^"']*?)\.js\2/g
  let count = 0
  for (const file of walk("dist").filter((f) => f.endsWith(".d.ts"))) {
    const text = readFileSync(file, "utf8").replace(relative, (_m, lead, q, spec) => `${lead}${q}${spec}.cjs${q}`)
    writeFileSync(file.replace(/\.d\.ts$/, ".d.cts"), text)
    count++
  }
  console.log(`emit-dts: ${pkg.name}: declarations emitted, ${count} CommonJS twins`)
} else {
  console.log(`emit-dts: ${pkg.name}: declarations emitted`)
}

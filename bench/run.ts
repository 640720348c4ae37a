/**
 * Runs every benchmark of bench/ in turn (`npm run bench`), or the ones named on the command
 * line (`npm run bench -- runtime-list`). Each prints its own table and JSON.
 */
import { spawnSync } from "node:child_process"
import { readdirSync } from "node:fs"
import { fileURLToPath } from "node:url"

const dir = fileURLToPath(new URL(".", import.meta.url))
const wanted = process.argv.slice(2)
const benches = readdirSync(dir)
  .filter((f) => f.endsWith(".ts") && f !== "run.ts")
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort()

let failed = 0
for (const file of benches) {
  console.log(`\n== bench/${file}`)
  const r = spawnSync(process.execPath, ["--import", "tsx", `${dir}${file}`], { stdio: "inherit" })
  if (r.status !== 0) {
    failed++
    console.error(`bench/${file} exited ${r.status ?? r.signal}`)
  }
}
process.exit(failed === 0 ? 0 : 1)

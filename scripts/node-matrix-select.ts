/**
 * The node matrix's selection (test-support/selection.ts), for scripts/node-matrix.sh:
 *   node --import tsx scripts/node-matrix-select.ts            lists every package test file: run, or skip and why
 *   node --import tsx scripts/node-matrix-select.ts --excluded prints the files to leave out, one a line
 */
import { fileURLToPath } from "node:url"
import { classify, packageTestFiles, readUnder } from "../test-support/selection.js"

const root = fileURLToPath(new URL("..", import.meta.url))
const files = packageTestFiles(root)
const selected = classify(files, readUnder(root))
if (process.argv.includes("--excluded")) {
  for (const s of selected) if (s.excluded.length > 0) console.log(s.file)
} else {
  for (const s of selected) {
    console.log(
      s.excluded.length === 0
        ? `run  ${s.file}${s.packaging ? " (packaging)" : ""}`
        : `skip ${s.file} (${s.excluded.map((r) => `${r} via ${s.via[r]}`).join("; ")})`
    )
  }
  const runs = selected.filter((s) => s.excluded.length === 0).length
  console.log(`node-matrix: ${runs} of ${selected.length} package test files run on the other Node majors`)
}

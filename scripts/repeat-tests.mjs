#!/usr/bin/env node
// Runs test files N times in a row (default 10) and records each run: the gate for race-prone
// tests ("they pass 10 runs in a row"). Stops at the first failure unless --keep-going.
//
//   node scripts/repeat-tests.mjs [--runs 10] [--contention <workers>] [--keep-going]
//                                 [--filter <test name pattern>] [--out <file.json>] <test files...>
//
// --contention sets ARCHY_CONTENTION for the runs (tests that read it add that many busy
// processes while they run). The record (one entry per run: exit code, seconds, the summary
// vitest printed, the failing tests) goes to --out, and a table to stdout.
import { spawn } from "node:child_process"
import { writeFileSync } from "node:fs"
import { loadavg } from "node:os"

const args = process.argv.slice(2)
const take = (flag, fallback) => {
  const i = args.indexOf(flag)
  if (i === -1) return fallback
  const [, value] = args.splice(i, 2)
  return value
}
const runs = Number.parseInt(take("--runs", "10"), 10)
const contention = take("--contention", undefined)
const out = take("--out", undefined)
const filter = take("--filter", undefined)
const keepGoing = args.includes("--keep-going")
const files = args.filter((a) => a !== "--keep-going")
if (files.length === 0 || !(runs > 0)) {
  console.error("usage: node scripts/repeat-tests.mjs [--runs 10] [--contention N] [--keep-going] [--filter pattern] [--out file.json] <test files...>")
  process.exit(2)
}

const env = { ...process.env, ...(contention === undefined ? {} : { ARCHY_CONTENTION: contention }) }
const record = { files, filter: filter ?? null, runs, contention: contention ?? null, started: new Date().toISOString(), results: [] }
const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, "")

for (let i = 1; i <= runs; i++) {
  const t0 = Date.now()
  const load = loadavg()[0]
  const output = await new Promise((resolve) => {
    let text = ""
    const child = spawn("npx", ["vitest", "run", ...(filter === undefined ? [] : ["-t", filter]), ...files], { env, stdio: ["ignore", "pipe", "pipe"] })
    child.stdout.on("data", (d) => (text += d))
    child.stderr.on("data", (d) => (text += d))
    child.on("exit", (code) => resolve({ code, text: strip(text) }))
  })
  const seconds = (Date.now() - t0) / 1000
  const summary = (output.text.match(/^\s+Tests\s+.*$/m) ?? ["(no summary)"])[0].trim()
  const failed = [...output.text.matchAll(/^\s+(?:×|FAIL)\s+(.*)$/gm)].map((m) => m[1].trim())
  record.results.push({ run: i, exitCode: output.code, seconds, loadAvg1m: load, summary, failed: [...new Set(failed)] })
  console.log(`run ${String(i).padStart(2)}/${runs}  exit ${output.code}  ${seconds.toFixed(0).padStart(4)} s  load ${load.toFixed(1).padStart(5)}  ${summary}`)
  if (output.code !== 0) {
    for (const f of new Set(failed)) console.log(`    ${f}`)
    const tail = output.text.split("\n").filter((l) => /Error|expected|Timeout/.test(l)).slice(0, 20)
    for (const l of tail) console.log(`    | ${l.trim()}`)
    if (!keepGoing) break
  }
}
record.finished = new Date().toISOString()
record.passedInARow = record.results.findIndex((r) => r.exitCode !== 0)
if (record.passedInARow === -1) record.passedInARow = record.results.length
console.log(`${record.passedInARow} of ${runs} runs passed in a row`)
if (out !== undefined) writeFileSync(out, `${JSON.stringify(record, null, 2)}\n`)
process.exit(record.passedInARow === runs ? 0 : 1)

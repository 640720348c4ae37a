/**
 * A real process rewriting a file in place, the way some apps write their files (truncate, then
 * write chunk by chunk into the same inode): a reader racing it can see an empty, short or mixed
 * file. Used by the tests of readers that must never keep such a torn read (watched-file backups,
 * hooks reading another app's secret files).
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as NodePath from "node:path"

// Plain JS run with `node -e`: argv = path, versions dir, chunk bytes, pause ms, idle ms.
const child = `
const fs = require("node:fs")
const path = require("node:path")
const [file, dir, chunk, pause, idle] = process.argv.slice(1)
const versions = fs.readdirSync(dir).sort().map((n) => fs.readFileSync(path.join(dir, n)))
const sleep = (ms) => { if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms) }
let first = true
for (let i = 0;; i = (i + 1) % versions.length) {
  const data = versions[i]
  const fd = fs.openSync(file, "w")
  for (let at = 0; at < data.length; at += Number(chunk)) {
    fs.writeSync(fd, data, at, Math.min(Number(chunk), data.length - at))
    sleep(Number(pause))
  }
  fs.closeSync(fd)
  if (first) { process.stdout.write("ready\\n"); first = false }
  sleep(Number(idle))
}
`

/** @internal */
export interface InPlaceWriter {
  readonly pid: number
  /** Stops the process (SIGKILL) and waits for its exit. */
  readonly stop: () => Promise<void>
}

/**
 * Starts a process that rewrites `file` in place forever, cycling through `versions`: each
 * rewrite truncates the file, writes `chunkBytes` at a time with `pauseMs` between chunks (a
 * reader in a pause sees a short file that does not change), then leaves it alone for `idleMs`.
 * Resolves once the first rewrite is complete.
 */
export const startInPlaceWriter = async (
  file: string,
  versions: ReadonlyArray<string | Uint8Array>,
  options: { readonly chunkBytes: number; readonly pauseMs: number; readonly idleMs: number }
): Promise<InPlaceWriter> => {
  const dir = await Fs.mkdtemp(NodePath.join(Os.tmpdir(), "archy-inplace-"))
  await Promise.all(versions.map((v, i) => Fs.writeFile(NodePath.join(dir, String(i).padStart(4, "0")), v)))
  const proc: ChildProcess = spawn(
    process.execPath,
    ["-e", child, file, dir, String(options.chunkBytes), String(options.pauseMs), String(options.idleMs)],
    { stdio: ["ignore", "pipe", "inherit"] }
  )
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()))
  await new Promise<void>((resolve, reject) => {
    proc.once("error", reject)
    void exited.then(() => reject(new Error(`the in-place writer of ${file} exited before its first rewrite`)))
    proc.stdout!.once("data", () => resolve())
  })
  return {
    pid: proc.pid!,
    stop: async () => {
      proc.kill("SIGKILL")
      await exited
      await Fs.rm(dir, { recursive: true, force: true })
    }
  }
}

/**
 * The built `archipelago` as child processes, for the CLI tests: one-shot commands (`run`) and a
 * `serve` kept running (`serve`), each with no config file of the host (`cleanEnv`); servers a
 * test leaves running are killed after it.
 */
import { execFile, spawn } from "node:child_process"
import type { ChildProcessWithoutNullStreams } from "node:child_process"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterEach } from "@effect/vitest"

export const root = fileURLToPath(new URL("../../..", import.meta.url))
// the built CLI (npm test builds first): three times faster to start than through tsx
export const main = join(root, "packages/daemon/dist/cli.js")
if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`)

// no config file of the host leaks into the tests
export const cleanEnv = { ...process.env, ARCHIPELAGO_CONFIG: join(root, "packages/daemon/test/golden/empty.yml") }

/** Runs one command to its end; `timeoutMs` bounds it. */
export const run = (args: Array<string>, env: NodeJS.ProcessEnv = cleanEnv, timeoutMs = 60_000) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [main, ...args], { cwd: root, timeout: timeoutMs, env }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stdout, stderr })
    })
  })

export interface Running {
  readonly child: ChildProcessWithoutNullStreams
  readonly out: () => string
  readonly err: () => string
  readonly waitFor: (re: RegExp) => Promise<RegExpExecArray>
  readonly exited: Promise<number | null>
}

const children: Array<ChildProcessWithoutNullStreams> = []
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL")
})

/** Starts `archipelago serve` with `args`; `waitFor` resolves when its stdout matches. */
export const serve = (args: Array<string>, env: NodeJS.ProcessEnv = cleanEnv): Running => {
  const child = spawn(process.execPath, [main, "serve", ...args], { cwd: root, env })
  children.push(child)
  let stdout = ""
  let stderr = ""
  const waiters: Array<() => void> = []
  const poke = () => waiters.splice(0).forEach((w) => w())
  child.stdout.on("data", (d) => {
    stdout += d
    poke()
  })
  child.stderr.on("data", (d) => {
    stderr += d
    poke()
  })
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))
  const waitFor = (re: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const m = re.exec(stdout)
        if (m !== null) return resolve(m)
        if (child.exitCode !== null) return reject(new Error(`serve exited ${child.exitCode}: ${stdout}\n${stderr}`))
        waiters.push(check)
      }
      check()
    })
  return { child, out: () => stdout, err: () => stderr, waitFor, exited }
}

/**
 * Every package README's install line and examples, run as written in an empty project against
 * the npm registry's current versions: the README's `npm install` line (our packages swapped for
 * their packed tarballs, everything else fetched from the registry as written, no lock), then
 * each ```ts and ```js example written to a file, type-checked (strict) and run with plain `node`
 * (Node 22.18 and later strip the types). An example that reads `./apps` finds the repository's
 * catalog there. A comment right before a block says how it runs (`ReadmeBlocks.parse`):
 *
 *   <!-- readme-test: runs -->            the default: exits 0 within two minutes
 *   <!-- readme-test: serves "TEXT" -->   stays up and prints TEXT, then stops on SIGTERM
 *   <!-- readme-test: browser -->         a page's code: every name it imports from the served
 *                                         bundle is exported by it, every `archy-` element defined
 *   <!-- readme-test: client "APP" -->    a client script: run with APP as its argument, and
 *                                         ARCHY_URL/ARCHY_TOKEN of a simulated `archipelago serve`
 *                                         (the workspace's build) on the catalog, APP running
 *
 * A README without an install line, or a block the parser cannot place, fails the test.
 */
import { spawn } from "node:child_process"
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { exec, pack, packageDir, packageNames, root, tempProject } from "../../../../test-support/packing.js"
import type { PackageName } from "../../../../test-support/packing.js"
import * as ReadmeBlocks from "./ReadmeBlocks.js"

const tsc = join(root, "node_modules/typescript/bin/tsc")

/**
 * The examples' environment: any free port for a server that takes its port from the settings
 * (flag > ARCHIPELAGO_* > config file > default), an empty config file of the project's instead
 * of the machine's, no colours.
 */
const exampleEnv: Record<string, string> = { ARCHIPELAGO_PORT: "0", NO_COLOR: "1" }

/** Runs `node file` in `cwd` as a `serves` block says: until `text` is printed, then SIGTERM. */
const serveUntil = (file: string, args: ReadonlyArray<string>, cwd: string, text: string): Promise<{ readonly out: string; readonly seen: boolean }> =>
  new Promise((resolve) => {
    // its own process group: `npx` starts the program as a child, and a signal to npx alone
    // would leave that child serving (and holding the output pipe)
    const child = spawn(file, [...args], { cwd, env: { ...process.env, ...exampleEnv }, detached: true })
    const signal = (s: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, s)
      } catch {
        // the group is gone already
      }
    }
    let out = ""
    let seen = false
    const timer = setTimeout(() => signal("SIGKILL"), 120_000)
    const look = (d: Buffer) => {
      out += d.toString()
      if (!seen && out.includes(text)) {
        seen = true
        signal("SIGTERM")
      }
    }
    child.stdout.on("data", look)
    child.stderr.on("data", look)
    child.on("close", () => {
      clearTimeout(timer)
      resolve({ out, seen })
    })
  })

/**
 * A client example's server: the workspace's built `archipelago serve` on the simulated engine
 * over `apps`, with `app` installed and running; answers its URL and token, and how to stop it.
 */
const serverFor = async (apps: string, data: string, app: string): Promise<{ readonly url: string; readonly token: string; readonly close: () => Promise<void> }> => {
  const cli = join(root, "packages/daemon/dist/cli.js")
  const child = spawn(process.execPath, [cli, "serve", "--engine", "sim", "--apps", apps, "--data", data, "--port", "0", "--print-login-url"], {
    env: { ...process.env, ...exampleEnv }
  })
  let out = ""
  const login = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no login URL within 60 s:\n${out}`)), 60_000)
    const look = (d: Buffer) => {
      out += d.toString()
      const m = /Dashboard: (http:\/\/127\.0\.0\.1:\d+)\/login\?token=([A-Za-z0-9_-]+)/.exec(out)
      if (m !== null) {
        clearTimeout(timer)
        resolve(m)
      }
    }
    child.stdout.on("data", look)
    child.stderr.on("data", look)
    child.on("exit", (code) => reject(new Error(`serve exited ${code}:\n${out}`)))
  })
  const url = login[1]!
  const token = login[2]!
  const rpc = async (method: string, params: object) =>
    (await (await fetch(`${url}/rpc`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) })).json()) as { result?: unknown }
  await rpc("container-install", { appId: app })
  for (let i = 0; i < 600; i++) {
    const list = (await rpc("container-list", {})).result as Array<{ id: string; state: string; transition: unknown }>
    if (list.some((v) => v.id === app && v.state === "running" && v.transition === null)) break
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    url,
    token,
    close: () => new Promise((resolve) => {
      child.once("close", () => resolve())
      child.kill("SIGTERM")
    })
  }
}

describe("every README's install line and examples, as written, in an empty project", { timeout: 900_000 }, () => {
  const project = tempProject("readme")
  let tarballs: Record<string, string> = {}
  beforeAll(async () => {
    tarballs = await pack(packageNames, join(project.dir, "tarballs"))
    exampleEnv["ARCHIPELAGO_CONFIG"] = join(project.dir, "config.yml")
    writeFileSync(exampleEnv["ARCHIPELAGO_CONFIG"], "{}\n", { mode: 0o644 })
  }, 600_000)
  afterAll(() => project.remove())

  describe.each(packageNames)("%s", (name: PackageName) => {
    const readme = readFileSync(join(packageDir(name), "README.md"), "utf8")
    const blocks = ReadmeBlocks.parse(readme)
    const app = join(project.dir, name)

    it("has one install line, and every code block is an install line, an example or reference", () => {
      expect(blocks.install, "no ```sh block with an `npm install` line").toBeDefined()
    })

    it("installs as written: each install line, in order, succeeds against the registry", async () => {
      mkdirSync(app, { recursive: true })
      cpSync(join(root, "apps"), join(app, "apps"), { recursive: true })
      const named = new Set(blocks.installs.flatMap((i) => i.line.packages.filter((p) => p.startsWith("@archipelago/"))))
      // our packages are not on the registry: the ones a line names become its tarballs, the
      // others (their dependencies) overrides; everything else comes from the registry
      const overrides = Object.fromEntries(Object.entries(tarballs).filter(([n]) => !named.has(n)).map(([n, f]) => [n, `file:${f}`]))
      writeFileSync(join(app, "package.json"), JSON.stringify({ name: `readme-${name}`, private: true, type: "module", overrides }, null, 2))
      for (const { line, at } of blocks.installs) {
        const args = line.args.map((a) => tarballs[a] ?? a)
        const out = await exec("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], { cwd: app })
        expect(out.code, `README line ${at}: ${line.text}\n${out.stderr}`).toBe(0)
      }
    })

    for (const [i, example] of blocks.examples.entries()) {
      it(`example ${i + 1} (${example.lang}, line ${example.line}) ${example.mode.kind === "runs" ? "runs" : example.mode.kind === "serves" ? `serves until "${example.mode.text}"` : example.mode.kind === "client" ? `drives a server where ${example.mode.app} runs` : "names only what the served bundle has"}`, async () => {
        if (example.mode.kind === "browser") {
          const bundle = readFileSync(join(packageDir("web-components"), "dist/browser/archipelago.js"), "utf8")
          expect(ReadmeBlocks.missingFromBundle(example.code, bundle)).toEqual([])
          return
        }
        if (example.lang === "sh") {
          const [cmd, ...args] = example.code.trim().split(/\s+/)
          const r = await serveUntil(cmd === "npx" ? "npx" : cmd!, args, app, example.mode.kind === "serves" ? example.mode.text : "")
          expect(r.seen, r.out).toBe(true)
          return
        }
        const file = join(app, `example-${i + 1}.${example.lang === "ts" ? "ts" : "mjs"}`)
        writeFileSync(file, example.code)
        if (example.lang === "ts") {
          const checked = await exec(process.execPath, [tsc, "--noEmit", "--strict", "--target", "es2022", "--module", "nodenext", "--moduleResolution", "nodenext", "--skipLibCheck", "--types", "node", "--typeRoots", join(root, "node_modules/@types"), file], { cwd: app })
          expect(checked.code, `tsc on README line ${example.line}:\n${checked.stdout}${checked.stderr}`).toBe(0)
        }
        if (example.mode.kind === "serves") {
          const r = await serveUntil(process.execPath, [file], app, example.mode.text)
          expect(r.seen, r.out).toBe(true)
        } else if (example.mode.kind === "client") {
          const server = await serverFor(join(app, "apps"), join(app, `data-${i + 1}`), example.mode.app)
          try {
            const ran = await exec(process.execPath, [file, example.mode.app], {
              cwd: app,
              timeoutMs: 120_000,
              env: { ...exampleEnv, ARCHY_URL: server.url, ARCHY_TOKEN: server.token }
            })
            expect(ran.code, `node on README line ${example.line}:\n${ran.stdout}${ran.stderr}`).toBe(0)
          } finally {
            await server.close()
          }
        } else {
          const ran = await exec(process.execPath, [file], { cwd: app, timeoutMs: 120_000, env: exampleEnv })
          expect(ran.code, `node on README line ${example.line}:\n${ran.stdout}${ran.stderr}`).toBe(0)
        }
      })
    }
  })
})

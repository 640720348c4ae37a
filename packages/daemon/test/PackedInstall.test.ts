/**
 * The server as a user installs it: an empty project, `npm install` of the packed
 * `@archipelago/daemon` tarball (the dashboard's package comes from its own packed tarball, the
 * rest from the npm cache; the program is one bundle, so nothing else is installed), then the
 * installed `archipelago` binary: its size, `--version`,
 * and `serve` on the simulated engine with the dashboard loaded in Chromium from that install.
 * Nothing here reaches into the workspace's sources or node_modules.
 */
import { spawn } from "node:child_process"
import type { ChildProcessWithoutNullStreams } from "node:child_process"
import { realpathSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { exec, megabytes, packageNames, root, usePackedInstall } from "../../../test-support/packing.js"
import { hasChromium, launch } from "../../web-components/test/support/Browser.js"

describe("a project installing the packed daemon", { timeout: 300_000 }, () => {
  const installed = usePackedInstall("server-install", packageNames, "daemon")
  const bin = () => join(installed.app, "node_modules", ".bin", "archipelago")
  let child: ChildProcessWithoutNullStreams | undefined
  afterAll(() => {
    if (child !== undefined && child.exitCode === null) child.kill("SIGKILL")
  })

  it("is the program alone: the dashboard's package and lit, no effect and no library package, in at most 40 MB", () => {
    // cli.js carries effect, the orchestrator, the hooks and the transport in it; the library
    // entry's packages are optional peers (see the README's "As a library")
    expect(installed.packages).toContain("@archipelago/web-components")
    expect(installed.packages).toContain("lit")
    for (const name of ["effect", "@effect/platform", "@effect/platform-node", "@effect/cli", "@archipelago/orchestrator", "@archipelago/hooks", "@archipelago/rpc-adapter", "yaml"]) {
      expect(installed.packages).not.toContain(name)
    }
    console.log(`the server's install: ${megabytes(installed.bytes)} in node_modules (${installed.packages.length} packages)`)
    expect(installed.bytes).toBeLessThanOrEqual(40e6)
  })

  it("archipelago --version prints the package's version", async () => {
    const out = await exec(bin(), ["--version"], { cwd: installed.app })
    const { version } = JSON.parse((await exec(process.execPath, ["-p", "JSON.stringify(require('@archipelago/daemon/package.json'))"], { cwd: installed.app })).stdout)
    expect(out.stdout, out.stderr).toBe(`archipelago ${version}\n`)
    // the binary is the installed one, not the workspace's
    expect(realpathSync(bin()).startsWith(realpathSync(installed.app))).toBe(true)
  })

  it.skipIf(!hasChromium)("archipelago serve --engine sim serves the dashboard, and Chromium shows the apps", async () => {
    const data = join(installed.project, "data")
    const config = join(installed.project, "empty.yml")
    writeFileSync(config, "{}\n")
    child = spawn(bin(), ["serve", "--apps", join(root, "apps"), "--data", data, "--engine", "sim", "--port", "0", "--print-login-url"], {
      cwd: installed.app,
      env: { ...process.env, ARCHIPELAGO_CONFIG: config }
    })
    let out = ""
    child.stderr.on("data", (d) => (out += d))
    const loginUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no login URL within 60 s:\n${out}`)), 60_000)
      child!.stdout.on("data", (d) => {
        out += d
        const m = /Dashboard: (http:\/\/127\.0\.0\.1:\d+\/login\?token=[A-Za-z0-9_-]+)\n/.exec(out)
        if (m !== null) {
          clearTimeout(timer)
          resolve(m[1]!)
        }
      })
      child!.on("exit", (code) => reject(new Error(`serve exited ${code}:\n${out}`)))
    })

    const browser = await launch()
    try {
      const page = await browser.newPage()
      const errors: Array<string> = []
      page.on("pageerror", (e) => errors.push(e.message))
      const bundle = page.waitForResponse((r) => r.url().endsWith(".js") && r.url().includes("archipelago"))
      await page.goto(loginUrl)
      expect((await bundle).status()).toBe(200)
      await page.locator("archy-app-card").first().waitFor({ timeout: 60_000 })
      await page.getByText("Demo node", { exact: false }).first().waitFor({ timeout: 30_000 })
      expect(await page.getByText("The dashboard bundle is not built").count()).toBe(0)
      expect(await page.locator("archy-app-card").count()).toBeGreaterThan(3)
      expect(errors).toEqual([])
    } finally {
      await browser.close()
    }
    child.kill("SIGTERM")
    expect(await new Promise((resolve) => child!.once("close", resolve))).toBe(0)
  })
})

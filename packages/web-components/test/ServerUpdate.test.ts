/**
 * Issue 14's update flow on the dashboard, in real Chromium against a real `archipelago serve`
 * (the built CLI) on podman, pulling from a registry on loopback: an app installed at 1.0.0 whose
 * catalog, after `catalog-reload`, asks for 1.2.0 shows "Update to 1.2.0" on its card; the button
 * shows Updating…, then the outcome: the card running 1.2.0, the offer gone.
 * Needs podman, docker-registry, Chromium and `npm run build`.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Page } from "playwright-core"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { randomBytes } from "node:crypto"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type Serve, startServe, type View } from "../../../test-support/chaos/Serve.js"
import { must, podman } from "../../../test-support/podman.js"
import { hasRegistry, type Registry, startRegistry } from "../../../test-support/registry.js"
import { releaseContainerfile, releaseManifest } from "../../../test-support/releases.js"
import { buildBrowser, defaultOutfile } from "../scripts/build-browser.js"
import { hasChromium, launch } from "./support/Browser.js"
import type { Browser } from "./support/Browser.js"
import { sel } from "./support/Page.js"
import { hasPodman, root } from "./support/RealServer.js"

const tag = randomBytes(3).toString("hex")
const id = `t-wupd-${tag}`
const repo = `archy-wupd-${tag}/app`
const base = "localhost/archipelago/base:latest"
const cli = join(root, "packages/daemon/dist/cli.js")

if (!hasRegistry) console.warn("ServerUpdate.test.ts skipped: /usr/bin/docker-registry is missing (scripts/setup-host.sh installs it)")

// Short health timings keep the wall time small.
const manifest = (host: string, version: string) =>
  releaseManifest({ id, host, repo, version, health: { command: ["true"], interval: 1, timeout: 2, retries: 3, startPeriod: 1 } })

describe.skipIf(!hasChromium || !hasPodman || !hasRegistry)("update flow on the dashboard against archipelago serve on podman", () => {
  let registry: Registry | undefined
  let serve: Serve | undefined
  let browser: Browser | undefined
  let page: Page
  let appsDir = ""
  let dataDir = ""
  const refs: Array<string> = []
  const problems: Array<string> = []
  const view = async (): Promise<View> => (await serve!.list()).find((v) => v.id === id)!

  beforeAll(async () => {
    if (!existsSync(cli)) throw new Error(`${cli} is missing: run npm run build first`)
    if (!existsSync(defaultOutfile)) await buildBrowser()
    registry = await startRegistry()
    refs.push(...registry.publish(repo, ["1.0.0", "1.2.0"], (version) => releaseContainerfile(base, version)))
    appsDir = mkdtempSync(join(tmpdir(), "archy-wupd-apps-"))
    dataDir = mkdtempSync(join(tmpdir(), "archy-wupd-data-"))
    mkdirSync(join(appsDir, id))
    writeFileSync(join(appsDir, id, "manifest.yml"), manifest(registry.host, "1.0.0"))
    serve = await startServe({ root, appsDir, dataDir, env: registry.env(process.env), interval: "1s" })
    browser = await launch()
    page = await browser.newPage()
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console error: ${m.text()}`)
    })
    const token = readFileSync(join(dataDir, "rpc-token"), "utf8").trim()
    await page.goto(`${serve.url}/login?token=${encodeURIComponent(token)}`)
    await page.locator(sel(id).button).waitFor({ timeout: 60_000 })
  }, 240_000)

  afterAll(async () => {
    await browser?.close()
    await serve?.close()
    podman("rm", "--force", "--time", "0", "--ignore", id)
    for (const ref of refs) podman("rmi", "--force", ref)
    podman("untag", `localhost/archipelago/hold/${id}:rollback`)
    await registry?.stop()
    for (const dir of [appsDir, dataDir]) if (dir !== "") rmSync(dir, { recursive: true, force: true })
  }, 120_000)

  it("a catalog reload offers \"Update to 1.2.0\"; clicking it shows Updating…, then the card running 1.2.0 without the offer", { timeout: 300_000 }, async () => {
    const app = sel(id)
    const update = `${app.card} [part="update"]`
    await page.locator(app.button).click()
    await page.locator(app.label).filter({ hasText: /^Stop$/ }).waitFor({ timeout: 180_000 })
    expect(await page.locator(`${app.card} [part=meta]`).textContent()).toContain("v1.0.0")
    expect(await page.locator(update).count()).toBe(0)
    expect((await view()).runningVersion).toBe("1.0.0")

    writeFileSync(join(appsDir, id, "manifest.yml"), manifest(registry!.host, "1.2.0"))
    expect(await serve!.rpc("catalog-reload")).toEqual({ _tag: "Reloaded", apps: 1, changed: [id] })
    await page.locator(update).waitFor({ timeout: 30_000 })
    expect(await page.locator(update).textContent()).toBe("Update to 1.2.0")
    expect(await page.locator(update).getAttribute("title")).toBe("1.0.0 → 1.2.0")
    // the reload touched nothing: still 1.0.0 running, and the card says so
    expect((await view()).runningVersion).toBe("1.0.0")
    expect(await page.locator(`${app.card} [part=meta]`).textContent()).toContain("v1.0.0")

    await page.locator(update).click()
    await page.locator(app.label).filter({ hasText: /^Updating…$/ }).waitFor({ timeout: 10_000 })
    expect(await page.locator(update).count()).toBe(0)

    await page.locator(app.label).filter({ hasText: /^Stop$/ }).waitFor({ timeout: 180_000 })
    expect(await page.locator(update).count()).toBe(0)
    expect(await page.locator(app.error).count()).toBe(0)
    expect(await page.locator(`${app.card} [part=meta]`).textContent()).toContain("v1.2.0")
    const v = await view()
    expect(v.runningVersion).toBe("1.2.0")
    expect(v.updateAvailable).toBeNull()
    expect(v.lastError).toBeNull()
    expect(v.state).toBe("running")
    expect(must("inspect", "--format", "{{index .Config.Labels \"x.release\"}}", id)).toBe("1.2.0")
    expect(problems).toEqual([])
  })
})

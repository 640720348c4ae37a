/**
 * The dashboard as `archipelago serve` serves it on podman, in real Chromium: a clean load (no
 * console error, no failed request), and a layout where no card overlaps another and nothing
 * leaves its card at any width from 320 px up, with Bitcoin Knots' long version string.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Page } from "playwright-core"
import { existsSync } from "node:fs"
import { buildBrowser, defaultOutfile } from "../scripts/build-browser.js"
import { hasChromium, launch } from "./support/Browser.js"
import type { Browser } from "./support/Browser.js"
import { layoutProblems, widths } from "./support/Layout.js"
import { sel } from "./support/Page.js"
import { hasPodman, startRealServer } from "./support/RealServer.js"
import type { RealServer } from "./support/RealServer.js"

const long = { timeout: 240_000 }
const knotsVersion = "28.1.knots20250305"

describe.skipIf(!hasChromium || !hasPodman)("dashboard panels against archipelago serve on podman", () => {
  let server: RealServer
  let browser: Browser
  let page: Page
  const problems: Array<string> = []

  beforeAll(async () => {
    if (!existsSync(defaultOutfile)) await buildBrowser()
    server = await startRealServer({
      manifests: { "demo-node": (text) => text.replace(/^version: .*$/m, `version: "${knotsVersion}"`) }
    })
    browser = await launch()
    page = await browser.newPage()
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console error: ${m.text()} (${m.location().url})`)
    })
    page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}: ${r.failure()?.errorText ?? ""}`))
    page.on("response", (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`)
    })
    await page.goto(server.loginUrl)
    await page.locator(sel(server.id("demo-node")).button).waitFor({ timeout: 60_000 })
  }, 240_000)

  afterAll(async () => {
    await browser?.close()
    await server?.cleanup()
  }, 120_000)

  it("loads the dashboard without a console error or a failed request", async () => {
    await page.reload()
    await page.locator(sel(server.id("demo-node")).button).waitFor()
    await page.waitForLoadState("networkidle")
    expect(problems).toEqual([])
  })

  it("no card overlaps another and nothing leaves its card, from 320 px to 1920 px", long, async () => {
    expect(await page.locator(`${sel(server.id("demo-node")).card} [part=meta]`).textContent()).toContain(`v${knotsVersion}`)
    const found: Array<string> = []
    for (const width of widths) {
      await page.setViewportSize({ width, height: 900 })
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))))
      for (const p of await layoutProblems(page)) found.push(`${width}px: ${p.what}`)
    }
    expect(found).toEqual([])
  })
})

/**
 * The dashboard as `archipelago serve` serves it on podman, in real Chromium: a clean load (no
 * console error, no failed request), a layout where no card overlaps another and nothing
 * leaves its card at any width from 320 px up (with Bitcoin Knots' long version string), and a
 * running app's resource use and live container log on its card.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Page } from "playwright-core"
import { spawnSync } from "node:child_process"
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

  const node = () => sel(server.id("demo-node"))
  const followers = () =>
    spawnSync("pgrep", ["-f", `logs --follow --tail 200 ${server.id("demo-node")}`], { encoding: "utf8" }).stdout.trim()

  it("a running app shows its CPU and its memory against the manifest's 64Mi limit", long, async () => {
    await page.locator(node().button).click()
    await page.locator(node().label).filter({ hasText: /^Stop$/ }).waitFor({ timeout: 200_000 })
    const bar = page.locator(`${node().card} [part=memory-bar]`)
    await bar.waitFor({ timeout: 30_000 })
    expect(await bar.getAttribute("max")).toBe(String(64 * 1024 * 1024))
    expect(Number(await bar.getAttribute("value"))).toBeGreaterThan(0)
    expect(await page.locator(`${node().card} [part=memory]`).textContent()).toMatch(/^\d+(\.\d)? (B|KiB|MiB) of 64 MiB$/)
    expect(await page.locator(`${node().card} [part=cpu]`).textContent()).toMatch(/^\d+\.\d %$/)
  })

  it("the Logs disclosure follows the container's log live; closing it ends the podman process", long, async () => {
    const log = page.locator(`${node().card} archy-container-logs [part=log]`)
    await page.locator(`${node().card} [part=logs] summary`).click()
    await log.filter({ hasText: "serving on :" }).waitFor({ timeout: 30_000 })
    expect(followers()).not.toBe("")
    // the layout holds with the log open and the resources shown
    const found: Array<string> = []
    for (const width of widths) {
      await page.setViewportSize({ width, height: 900 })
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))))
      for (const p of await layoutProblems(page)) found.push(`${width}px: ${p.what}`)
    }
    expect(found).toEqual([])
    // a line written now arrives: the graceful stop announces itself
    await page.locator(node().button).click()
    await log.filter({ hasText: "SIGTERM received" }).waitFor({ timeout: 60_000 })
    await page.locator(`${node().card} archy-container-logs [part=status]`).filter({ hasText: "The container stopped" })
      .waitFor({ timeout: 60_000 })
    await page.locator(node().label).filter({ hasText: /^Start$/ }).waitFor({ timeout: 120_000 })
    // started again: the open log follows the new run
    await page.locator(node().button).click()
    await page.locator(`${node().card} archy-container-logs [part=status]`).filter({ hasText: "Following the log." })
      .waitFor({ timeout: 120_000 })
    await page.locator(node().label).filter({ hasText: /^Stop$/ }).waitFor({ timeout: 120_000 })
    for (let i = 0; i < 100 && followers() === ""; i++) await new Promise((r) => setTimeout(r, 100))
    expect(followers()).not.toBe("")
    await page.locator(`${node().card} [part=logs] summary`).click()
    for (let i = 0; i < 100 && followers() !== ""; i++) await new Promise((r) => setTimeout(r, 100))
    expect(followers()).toBe("")
    expect(problems).toEqual([])
  })
})

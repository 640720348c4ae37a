/**
 * The dashboard's node-wide parts against the real `archipelago serve` on podman, in Chromium:
 * the server's own page follows the light and dark colour scheme; the data disk's warning shows
 * when its threshold is crossed (the test sets a warning at 100 % free, which any real disk
 * crosses); an app's card says what its folder takes; and Remove with "also delete its data"
 * removes the app and its data.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Page } from "playwright-core"
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { buildBrowser, defaultOutfile } from "../scripts/build-browser.js"
import { hasChromium, launch } from "./support/Browser.js"
import type { Browser } from "./support/Browser.js"
import { sel } from "./support/Page.js"
import { hasPodman, startRealServer } from "./support/RealServer.js"
import type { RealServer } from "./support/RealServer.js"

const long = { timeout: 240_000 }

describe.skipIf(!hasChromium || !hasPodman)("node-wide dashboard parts against archipelago serve on podman", () => {
  let server: RealServer
  let browser: Browser
  let page: Page
  const problems: Array<string> = []

  beforeAll(async () => {
    if (!existsSync(defaultOutfile)) await buildBrowser()
    server = await startRealServer({ env: { ARCHIPELAGO_DISK_WARN_PERCENT: "100", ARCHIPELAGO_DISK_REFRESH_SECONDS: "1" } })
    browser = await launch()
    page = await browser.newPage()
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console error: ${m.text()}`)
    })
    await page.goto(server.loginUrl)
    await page.locator(sel(server.id("demo-node")).button).waitFor({ timeout: 60_000 })
  }, 240_000)

  afterAll(async () => {
    await browser?.close()
    await server?.cleanup()
  }, 120_000)

  const body = () =>
    page.evaluate(() => {
      const s = getComputedStyle(document.body)
      return { background: s.backgroundColor, color: s.color }
    })

  it("the server's page body follows the colour scheme, light and dark", async () => {
    await page.emulateMedia({ colorScheme: "light" })
    expect(await body()).toEqual({ background: "rgb(246, 247, 249)", color: "rgb(17, 17, 17)" })
    await page.emulateMedia({ colorScheme: "dark" })
    expect(await body()).toEqual({ background: "rgb(15, 17, 21)", color: "rgb(232, 234, 238)" })
    // the dashboard inside draws on the same background
    const inner = await page.locator("archy-dashboard").evaluate((e) => getComputedStyle(e).backgroundColor)
    expect(inner).toBe("rgb(15, 17, 21)")
    await page.emulateMedia({ colorScheme: "light" })
  })

  it("the data disk's banner shows once its threshold is crossed, in both themes", async () => {
    for (const colorScheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme })
      const banner = page.locator("archy-dashboard [part=disk-banner]")
      await banner.waitFor({ timeout: 30_000 })
      expect(await banner.textContent()).toMatch(/Data disk: [\d.]+ % free \([\d.]+ \w?i?B of [\d.]+ \w?i?B\) — Bitcoin Core stops when the disk fills\./)
      expect(["warn", "critical"]).toContain(await banner.getAttribute("data-level"))
    }
    await page.emulateMedia({ colorScheme: "light" })
  })

  const node = () => sel(server.id("demo-node"))

  it("an installed app's Logs panel follows once per opening; its card says what its folder takes; Remove with \"also delete its data\" removes it and its data", long, async () => {
    await page.locator(node().button).click()
    await page.locator(node().label).filter({ hasText: /^Stop$/ }).waitFor({ timeout: 200_000 })
    const folder = join(server.dataDir, "apps", server.id("demo-node"))
    mkdirSync(folder, { recursive: true })
    writeFileSync(join(folder, "blocks.dat"), Buffer.alloc(3 * 1024 * 1024, 1))
    // five Logs panels opened and closed one after another: one logs.subscribe each, never a limit
    const frames: Array<string> = []
    page.on("websocket", (ws) => ws.on("framesent", (f) => frames.push(String(f.payload))))
    await page.reload()
    await page.locator(node().label).filter({ hasText: /^Stop$/ }).waitFor({ timeout: 60_000 })
    const count = (method: string) => frames.filter((f) => (JSON.parse(f) as { method?: string }).method === method).length
    for (let i = 0; i < 5; i++) {
      await page.locator(`${node().card} [part=logs] summary`).click()
      await page.locator(`${node().card} archy-container-logs [part=status]`).filter({ hasText: "Following the log." }).waitFor()
      await expect.poll(() => count("logs.subscribe")).toBe(i + 1)
      await page.locator(`${node().card} [part=logs] summary`).click()
      await expect.poll(() => count("logs.unsubscribe")).toBe(i + 1)
    }
    await page.locator(`${node().card} [part=logs] summary`).click()
    await page.locator(`${node().card} archy-container-logs [part=log]`).filter({ hasText: "serving on :" }).waitFor({ timeout: 30_000 })
    expect(await page.locator(`${node().card} archy-container-logs [part=status]`).textContent()).not.toContain("limit reached")
    await page.locator(`${node().card} [part=logs] summary`).click()
    expect(count("logs.subscribe")).toBe(6)
    const data = page.locator(`${node().card} [part=data]`)
    await data.filter({ hasText: /^[3-9](\.\d)? MiB$/ }).waitFor({ timeout: 90_000 })
    await page.locator(`${node().card} [part=remove]`).click()
    const confirm = page.locator(`${node().card} [part=remove-confirm]`)
    await confirm.locator("[part=purge]").check()
    await confirm.locator("[part=remove-confirm-button]").click()
    await page.locator(node().label).filter({ hasText: /^Install$/ }).waitFor({ timeout: 120_000 })
    // a purge deletes the app's data folder (docs/rpc.md); the engine's named volumes are not in it
    await expect.poll(() => existsSync(folder), { timeout: 30_000 }).toBe(false)
    expect(problems).toEqual([])
  })
})

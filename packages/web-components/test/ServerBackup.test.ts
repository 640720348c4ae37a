/**
 * Back up and Restore on an app's card, against `archipelago serve` on podman in real Chromium:
 * the buttons request the operations, the card shows their progress, then the last backup's
 * age and size; the archive lands in the server's backup target.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Page } from "playwright-core"
import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { buildBrowser, defaultOutfile } from "../scripts/build-browser.js"
import { hasChromium, launch } from "./support/Browser.js"
import type { Browser } from "./support/Browser.js"
import { sel } from "./support/Page.js"
import { hasPodman, startRealServer } from "./support/RealServer.js"
import type { RealServer } from "./support/RealServer.js"

const long = { timeout: 300_000 }

describe.skipIf(!hasChromium || !hasPodman)("backup panel against archipelago serve on podman", () => {
  let server: RealServer
  let browser: Browser
  let page: Page
  const problems: Array<string> = []
  let backupLists = 0

  beforeAll(async () => {
    if (!existsSync(defaultOutfile)) await buildBrowser()
    // demo-node stands in for LND: a watched file under its data folder, copied on each change
    server = await startRealServer({
      stopDelaySec: 1,
      manifests: { "demo-node": (text) => `${text}backup:\n  watch:\n    - path: ./data/channel.backup\n      keep: 3\n` }
    })
    browser = await launch()
    page = await browser.newPage()
    page.on("request", (r) => {
      if (r.method() === "POST" && r.url().endsWith("/rpc") && (r.postData() ?? "").includes("\"backup-list\"")) backupLists += 1
    })
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

  it("Back up shows progress, then the last backup's age and size; Restore brings the app back running", long, async () => {
    const node = sel(server.id("demo-node"))
    const panel = `${node.card} archy-backup-panel`
    // not installed: no backups
    expect(await page.locator(`${node.card} [part=backups]`).count()).toBe(0)
    await page.locator(node.button).click()
    await page.locator(node.label).filter({ hasText: /^Stop$/ }).waitFor({ timeout: 240_000 })
    await page.locator(`${node.card} [part=backups] summary`).click()
    await page.locator(`${panel} [part=summary]`).filter({ hasText: "No backup yet · channel.backup: no copy yet" }).waitFor({ timeout: 30_000 })
    expect(await page.locator(`${panel} [part=restore]`).isDisabled()).toBe(true)

    await page.locator(`${panel} [part=backup]`).click()
    // the transition shows at once on the card (the badge and the panel)
    await page.locator(`${panel} [part=summary]`).filter({ hasText: "Backing up…" }).waitFor({ timeout: 10_000 })
    await page.locator(`${panel} [part=summary]`).filter({ hasText: /^Last backup (just now|\d+ s ago) \(\d+(\.\d)? (B|KiB|MiB)\) · channel\.backup: no copy yet$/ })
      .waitFor({ timeout: 120_000 })
    await page.locator(node.label).filter({ hasText: /^Stop$/ }).waitFor({ timeout: 120_000 })
    const target = join(server.dataDir, "backups", server.id("demo-node"))
    expect(readdirSync(target).filter((n) => n.endsWith(".tar"))).toHaveLength(1)

    expect(await page.locator(`${panel} [part=restore]`).isDisabled()).toBe(false)
    await page.locator(`${panel} [part=restore]`).click()
    await page.locator(`${panel} [part=summary]`).filter({ hasText: "Restoring…" }).waitFor({ timeout: 10_000 })
    await page.locator(`${panel} [part=summary]`).filter({ hasText: /^Last backup / }).waitFor({ timeout: 180_000 })
    await page.locator(node.label).filter({ hasText: /^Stop$/ }).waitFor({ timeout: 180_000 })
    expect(await page.locator(node.error).count()).toBe(0)
    expect(problems).toEqual([])
  })

  it("a new copy of a watched file (LND's channel.backup) shows at once, pushed by the server, with no poll", long, async () => {
    const node = sel(server.id("demo-node"))
    const panel = `${node.card} archy-backup-panel`
    await page.locator(`${panel} [part=summary]`).filter({ hasText: /^Last backup / }).waitFor({ timeout: 30_000 })
    const before = backupLists
    const file = join(server.dataDir, "apps", server.id("demo-node"), "data", "channel.backup")
    mkdirSync(join(file, ".."), { recursive: true })
    writeFileSync(`${file}.tmp`, "scb-1")
    renameSync(`${file}.tmp`, file)
    await page.locator(`${panel} [part=summary]`).filter({ hasText: /channel\.backup copied (just now|\d+ s ago)/ }).waitFor({ timeout: 60_000 })
    // the panel read backup-list once, when the server pushed backups.changed
    expect(backupLists).toBe(before + 1)
    expect(problems).toEqual([])
  })
})

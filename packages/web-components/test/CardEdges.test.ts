/**
 * The rough edges of the card and the dashboard, in real Chromium against a scripted server, in
 * the light and the dark theme: one log follow per open Logs panel, errors that stay inside
 * their card with podman's words folded away, "Could not start" for a container that never ran,
 * the manifest's ports before an install, Remove with its confirmation, and the data disk's use
 * and warning.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Page } from "playwright-core"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Wire } from "@archipelago/orchestrator/domain"
import { buildBrowser } from "../scripts/build-browser.js"
import { hasChromium, launch } from "./support/Browser.js"
import type { Browser } from "./support/Browser.js"
import { FakeServer, view } from "./support/FakeServer.js"
import { layoutProblems } from "./support/Layout.js"
import { axeViolations, dashboardPage, sel, serveAssets } from "./support/Page.js"

let browser: Browser
let bundleDir: string
let bundle: string
let server: FakeServer | undefined
let page: Page | undefined

const schemes = ["light", "dark"] as const
const GiB = 1024 ** 3

const open = async (
  apps: ReadonlyArray<ReturnType<typeof view>>,
  options: {
    readonly colorScheme?: "light" | "dark"
    readonly disk?: Wire.DiskReport
    readonly width?: number
    readonly before?: (server: FakeServer) => void
  } = {}
): Promise<{ server: FakeServer; page: Page; frames: Array<string> }> => {
  server = new FakeServer(apps)
  options.before?.(server)
  if (options.disk !== undefined) server.disk = options.disk
  serveAssets(server, bundle)
  server.page = dashboardPage()
  await server.listen()
  page = await browser.newPage({ colorScheme: options.colorScheme ?? "light" })
  if (options.width !== undefined) await page.setViewportSize({ width: options.width, height: 900 })
  const frames: Array<string> = []
  page.on("websocket", (ws) => ws.on("framesent", (f) => frames.push(String(f.payload))))
  await page.goto(server.url)
  await page.locator(sel(apps[0]!.id).button).waitFor()
  return { server, page, frames }
}

const sent = (frames: ReadonlyArray<string>, method: string): number =>
  frames.filter((f) => (JSON.parse(f) as { method?: string }).method === method).length

const settle = (p: Page) => p.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))))

describe.skipIf(!hasChromium)("card edges in Chromium", () => {
  beforeAll(async () => {
    bundleDir = mkdtempSync(join(tmpdir(), "archy-bundle-"))
    bundle = join(bundleDir, "archipelago.js")
    await buildBrowser(bundle)
    browser = await launch()
  })

  afterEach(async () => {
    await page?.close()
    page = undefined
    await server?.close()
    server = undefined
  })

  afterAll(async () => {
    await browser?.close()
    rmSync(bundleDir, { recursive: true, force: true })
  })

  const five = () => ["a", "b", "c", "d", "e"].map((id) => view(id, id.toUpperCase(), "running"))
  const logs = (id: string) => `${sel(id).card} [part=logs] summary`
  const log = (id: string) => `${sel(id).card} archy-container-logs [part=log]`

  it("each Logs panel sends exactly one logs.subscribe; closing it unsubscribes (five one after another, three at once)", async () => {
    const { server, page, frames } = await open(five())
    for (const id of ["a", "b", "c", "d", "e"]) {
      await page.locator(logs(id)).click()
      await page.locator(log(id)).filter({ hasText: `hello from ${id}` }).waitFor()
      await page.locator(logs(id)).click()
      await page.locator(log(id)).waitFor({ state: "detached" })
    }
    await expect.poll(() => sent(frames, "logs.unsubscribe")).toBe(5)
    expect(sent(frames, "logs.subscribe")).toBe(5)
    await expect.poll(() => server.openFollows()).toBe(0)
    for (const id of ["a", "b", "c"]) await page.locator(logs(id)).click()
    for (const id of ["a", "b", "c"]) await page.locator(log(id)).filter({ hasText: `hello from ${id}` }).waitFor()
    expect(sent(frames, "logs.subscribe")).toBe(8)
    expect(server.openFollows()).toBe(3)
    expect(await page.locator(`archy-container-logs [part=status]`).filter({ hasText: "limit reached" }).count()).toBe(0)
    for (const id of ["a", "b", "c"]) await page.locator(logs(id)).click()
    await expect.poll(() => server.openFollows()).toBe(0)
    expect(sent(frames, "logs.unsubscribe")).toBe(8)
  })

  for (const colorScheme of schemes) {
    it(`an unbreakable digest or image ref in an error wraps inside its card at 320 px (${colorScheme})`, async () => {
      const digest = "0123456789abcdef".repeat(4)
      const ref = `registry.example.org:5000/some/very/long/repository/path/bitcoin-core-with-a-long-name@sha256:${digest}`
      const apps = [
        view("a", "A", "stopped", {
          lastError: { op: "start", message: `Could not start A: its image ${ref} is missing.\n\nError: ${ref}: image not known ${digest}${digest}`, at: 1 }
        }),
        view("b", "B", "stopped", { lastError: { op: "update", message: `sha256:${digest}${digest}`, at: 1 } }),
        view("c", "C", "running", { crashLoop: { restarts: 3, nextAttemptAt: Date.now() + 60_000 }, lastError: { op: "reconcile", message: ref, at: 1 } })
      ]
      const { page } = await open(apps, {
        colorScheme,
        width: 320,
        // the failed update's install log says the same digest
        before: (s) => s.log("b", `pulling ${ref}: manifest unknown sha256:${digest}${digest}`, "error")
      })
      await page.locator(`${sel("b").card} archy-install-log [part=lines] li`).first().waitFor()
      await page.locator(`${sel("a").card} [part=error-details] summary`).click()
      await settle(page)
      for (const id of ["a", "b", "c"]) {
        const error = page.locator(`${sel(id).card} [part=error]`)
        expect(await error.evaluate((e) => e.scrollWidth <= e.clientWidth)).toBe(true)
      }
      const pre = page.locator(`${sel("a").card} [part=error-details] pre`)
      expect(await pre.evaluate((e) => e.scrollWidth <= e.clientWidth)).toBe(true)
      expect(await layoutProblems(page)).toEqual([])
    })
  }

  it("an error's first paragraph shows; podman's words wait in a closed \"podman said\" block (light and dark)", async () => {
    const stderr = "time=\"2026-12-07T20:00:00Z\" level=warning msg=\"The cgroupv2 manager is set to systemd but there is no systemd user session\"\n" +
      "Error: rootlessport listen tcp 0.0.0.0:8332: bind: address already in use"
    const message = `Port 8332 is taken by another program: stop it or change the app's port.\n\n${stderr}`
    for (const colorScheme of schemes) {
      const opened = await open([view("a", "A", "stopped", { lastError: { op: "start", message, at: 1 } })], { colorScheme })
      const p = opened.page
      const card = sel("a").card
      expect(await p.locator(`${card} [part=error] .error-head`).textContent()).toBe(
        "Last start failed: Port 8332 is taken by another program: stop it or change the app's port."
      )
      const details = p.locator(`${card} [part=error-details]`)
      expect(await details.evaluate((d) => (d as HTMLDetailsElement).open)).toBe(false)
      expect(await details.locator("summary").textContent()).toBe("podman said")
      expect(await details.locator("pre").isVisible()).toBe(false)
      await details.locator("summary").click()
      expect(await details.locator("pre").isVisible()).toBe(true)
      expect(await details.locator("pre").textContent()).toBe(stderr)
      // the first paragraph is drawn larger than podman's words, in the danger colour of the theme
      const [head, body] = await Promise.all([
        p.locator(`${card} [part=error] .error-head`).evaluate((e) => getComputedStyle(e).fontWeight),
        details.locator("pre").evaluate((e) => getComputedStyle(e).fontWeight)
      ])
      expect(Number(head)).toBeGreaterThan(Number(body))
      await p.close()
      await opened.server.close()
      page = undefined
      server = undefined
    }
  })

  it("a message without a blank line shows whole, with no \"podman said\" block", async () => {
    const { page } = await open([view("a", "A", "stopped", { lastError: { op: "stop", message: "podman stop: engine unavailable", at: 1 } })])
    expect(await page.locator(`${sel("a").card} [part=error] span`).textContent()).toBe("Last stop failed: podman stop: engine unavailable")
    expect(await page.locator(`${sel("a").card} [part=error-details]`).count()).toBe(0)
  })

  it("a container that never ran says \"Could not start N times\", one that crashed says \"Crashed N times\"", async () => {
    const next = Date.now() + 120_000
    const { page } = await open([
      view("a", "A", "stopped", { crashLoop: { restarts: 5, nextAttemptAt: next, neverRan: true } }),
      view("b", "B", "stopped", { crashLoop: { restarts: 3, nextAttemptAt: next, neverRan: false } }),
      view("c", "C", "stopped", { crashLoop: { restarts: 2, nextAttemptAt: next } })
    ])
    const notice = (id: string) => page.locator(`${sel(id).card} [part=notice]`).textContent()
    expect(await notice("a")).toMatch(/^Could not start 5 times; next attempt at \d\d:\d\d:\d\d\.$/)
    expect(await notice("b")).toMatch(/^Crashed 3 times; next attempt at /)
    expect(await notice("c")).toMatch(/^Crashed 2 times; next attempt at /)
  })

  it("a card not installed yet shows the ports its manifest publishes, not \"none\"", async () => {
    const { page } = await open([
      view("a", "A", "not-installed", {
        manifestPorts: [{ host: 8332, container: 8332, protocol: "tcp" }, { host: 8333, container: 8333, protocol: "tcp" }]
      }),
      view("b", "B", "not-installed")
    ])
    const details = page.locator(`${sel("a").card} [part=details]`)
    expect((await details.textContent())?.replace(/\s+/g, " ").trim()).toBe("Ports 8332→8332/tcp, 8333→8333/tcp")
    expect(await page.locator(`${sel("b").card} [part=details]`).count()).toBe(0)
  })

  it("Remove asks first; \"also delete its data\" is unticked, labelled destructive, and sends purge only when ticked", async () => {
    const { server, page } = await open([view("a", "A", "stopped"), view("b", "B", "running"), view("c", "C", "not-installed")])
    expect(await page.locator(`${sel("c").card} [part=remove]`).count()).toBe(0)
    await page.locator(`${sel("a").card} [part=remove]`).click()
    const confirm = page.locator(`${sel("a").card} [part=remove-confirm]`)
    await confirm.waitFor()
    expect(await confirm.getAttribute("aria-label")).toBe("Remove A")
    expect(await confirm.locator("[part=purge]").isChecked()).toBe(false)
    expect(await confirm.locator("label").textContent()).toContain("Also delete its data folder (destructive: cannot be undone)")
    // Cancel sends nothing
    await confirm.locator("[part=remove-cancel]").click()
    await confirm.waitFor({ state: "detached" })
    expect(server.calls.filter((c) => c.method === "container-remove")).toEqual([])
    // without the box: a plain remove
    await page.locator(`${sel("a").card} [part=remove]`).click()
    await confirm.locator("[part=remove-confirm-button]").click()
    await page.locator(sel("a").label).filter({ hasText: /^Install$/ }).waitFor()
    expect(server.calls.filter((c) => c.method === "container-remove").map((c) => c.params)).toEqual([{ appId: "a" }])
    // with the box: the button says what it does, and the request purges
    await page.locator(`${sel("b").card} [part=remove]`).click()
    const confirmB = page.locator(`${sel("b").card} [part=remove-confirm]`)
    await confirmB.locator("[part=purge]").check()
    expect(await confirmB.locator("[part=remove-confirm-button]").textContent()).toBe("Remove and delete data")
    await confirmB.locator("[part=remove-confirm-button]").click()
    await page.locator(sel("b").label).filter({ hasText: /^Install$/ }).waitFor()
    expect(server.calls.filter((c) => c.method === "container-remove").map((c) => c.params)).toEqual([
      { appId: "a" },
      { appId: "b", purge: true }
    ])
  })

  const report = (freeBytes: number, totalBytes: number, level: Wire.DiskReport["level"]): Wire.DiskReport => ({
    at: Date.now(),
    freeBytes,
    totalBytes,
    level,
    apps: [{ appId: "a", bytes: 1.2 * GiB, partial: false }, { appId: "b", bytes: 512 * 1024 * 1024, partial: true }]
  })

  for (const colorScheme of schemes) {
    it(`the dashboard warns while the data disk runs out, and each card says what its data takes (${colorScheme})`, async () => {
      const apps = [view("a", "A", "running"), view("b", "B", "stopped"), view("c", "C", "not-installed")]
      const { page } = await open(apps, { colorScheme, disk: report(20 * GiB, 250 * GiB, "warn") })
      const banner = page.locator("archy-dashboard [part=disk-banner]")
      await banner.waitFor()
      expect((await banner.textContent())?.replace(/\s+/g, " ").trim()).toBe(
        "⚠ Data disk: 8.0 % free (20 GiB of 250 GiB) — Bitcoin Core stops when the disk fills."
      )
      expect(await banner.getAttribute("data-level")).toBe("warn")
      expect(await page.locator(`${sel("a").card} [part=data]`).textContent()).toBe("1.2 GiB")
      expect(await page.locator(`${sel("b").card} [part=data]`).textContent()).toBe("over 512 MiB")
      expect(await page.locator(`${sel("c").card} [part=data]`).count()).toBe(0)
      // the banner's text contrasts with its background in this theme
      const colours = await banner.evaluate((e) => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor])
      expect(colours[0]).not.toBe(colours[1])
      expect(await layoutProblems(page)).toEqual([])
      // with the Remove confirmation open too: no serious accessibility violation in this theme
      await page.locator(`${sel("b").card} [part=remove]`).click()
      await page.locator(`${sel("b").card} [part=remove-confirm]`).waitFor()
      expect(await axeViolations(page)).toEqual([])
    })
  }

  it("a critical disk is drawn as danger; a disk with room shows no banner", async () => {
    let opened = await open([view("a", "A", "running")], { disk: report(2 * GiB, 250 * GiB, "critical") })
    const banner = opened.page.locator("archy-dashboard [part=disk-banner]")
    await banner.waitFor()
    expect(await banner.getAttribute("data-level")).toBe("critical")
    await opened.page.close()
    await opened.server.close()
    opened = await open([view("a", "A", "running")], { disk: report(200 * GiB, 250 * GiB, "ok") })
    page = opened.page
    server = opened.server
    await opened.page.locator(`${sel("a").card} [part=data]`).waitFor()
    expect(await opened.page.locator("archy-dashboard [part=disk-banner]").count()).toBe(0)
  })
})

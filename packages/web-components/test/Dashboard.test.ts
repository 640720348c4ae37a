/**
 * The dashboard in real Chromium against a scripted server speaking the agreed protocol.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Page } from "playwright-core"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { buildBrowser } from "../scripts/build-browser.js"
import { hasChromium, launch } from "./support/Browser.js"
import type { Browser } from "./support/Browser.js"
import { FakeServer, view } from "./support/FakeServer.js"
import { axeViolations, dashboardPage, pageHtml, recorded, recordLabels, sel, serveAssets } from "./support/Page.js"

let browser: Browser
let bundleDir: string
let bundle: string
let server: FakeServer | undefined
let page: Page | undefined

const demoApps = () => [
  view("bitcoin-core", "Bitcoin Core", "running", { ports: [{ host: 8332, container: 8332, protocol: "tcp" }] }),
  view("lnd", "LND", "running", { dependsOn: ["bitcoin-core"], ports: [{ host: 9735, container: 9735, protocol: "tcp" }] }),
  view("electrumx", "ElectrumX", "stopped", { dependsOn: ["bitcoin-core"] }),
  view("bitcoin-ui", "Bitcoin UI", "not-installed", { containerName: "archy-bitcoin-ui", dependsOn: ["bitcoin-core"], uiPort: 8080 })
]

const open = async (
  apps = demoApps(),
  options: { readonly theme?: string; readonly colorScheme?: "light" | "dark"; readonly head?: string } = {}
): Promise<{ server: FakeServer; page: Page }> => {
  server = new FakeServer(apps)
  serveAssets(server, bundle)
  server.page = dashboardPage(options)
  await server.listen()
  page = await browser.newPage(options.colorScheme === undefined ? {} : { colorScheme: options.colorScheme })
  await page.goto(server.url)
  await page.locator(sel(apps[0]!.id).button).waitFor()
  return { server, page }
}

/** A page of the host's own, no element in it yet, with the bundle at /assets/archipelago.js. */
const openBlank = async (): Promise<Page> => {
  server = new FakeServer(demoApps())
  serveAssets(server, bundle)
  server.page = pageHtml(`window.ready = true`, "")
  await server.listen()
  page = await browser.newPage()
  await page.goto(server.url)
  return page
}

describe.skipIf(!hasChromium)("dashboard in Chromium", () => {
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

  it("renders the button table of every visual state", async () => {
    server = new FakeServer([])
    serveAssets(server, bundle)
    const states = [
      "not-installed", "running", "stopped", "starting", "stopping", "restarting", "installing", "updating",
      "removing", "backing-up", "restoring"
    ]
    server.page = pageHtml(`import "/assets/archipelago.js"
for (const s of ${JSON.stringify(states)}) {
  const b = document.createElement("archy-lifecycle-button")
  b.appId = "app"; b.appName = "App"; b.state = s
  document.querySelector("main").append(b)
}`)
    await server.listen()
    page = await browser.newPage()
    await page.goto(server.url)
    await page.locator("archy-lifecycle-button [part=button]").nth(states.length - 1).waitFor()
    const rows = await page.evaluate(() =>
      [...document.querySelectorAll("archy-lifecycle-button")].map((el) => {
        const b = el.shadowRoot!.querySelector("[part=button]")!
        return [
          el.getAttribute("state"),
          b.querySelector("[part=label]")!.textContent,
          b.querySelector("[part=spinner]") !== null,
          b.getAttribute("aria-disabled") === "true",
          b.getAttribute("aria-busy") === "true",
          el.shadowRoot!.querySelector("[part=restart]") !== null,
          b.tagName
        ]
      })
    )
    // docs/background.md's table, plus the two backup states of the domain
    expect(rows).toEqual([
      ["not-installed", "Install", false, false, false, false, "BUTTON"],
      ["running", "Stop", false, false, false, true, "BUTTON"],
      ["stopped", "Start", false, false, false, false, "BUTTON"],
      ["starting", "Starting…", true, true, true, false, "BUTTON"],
      ["stopping", "Stopping…", true, true, true, false, "BUTTON"],
      ["restarting", "Restarting…", true, true, true, false, "BUTTON"],
      ["installing", "Installing…", true, true, true, false, "BUTTON"],
      ["updating", "Updating…", true, true, true, false, "BUTTON"],
      ["removing", "Removing…", true, true, true, false, "BUTTON"],
      ["backing-up", "Backing up…", true, true, true, false, "BUTTON"],
      ["restoring", "Restoring…", true, true, true, false, "BUTTON"]
    ])
    const names = await page.evaluate(() =>
      [...document.querySelectorAll("archy-lifecycle-button")].slice(0, 2).flatMap((el) =>
        [...el.shadowRoot!.querySelectorAll("button")].map((b) => b.getAttribute("aria-label"))
      )
    )
    expect(names).toEqual(["Install App", "Stop App", "Restart App"])
  })

  it("click Stop: Stopping… with aria-busy at once, held through scans, then Start, never Stop or Running between", async () => {
    const { server, page } = await open()
    server.scripts.set("lnd:stop", { staleScanFirst: true, hold: true, scans: 10, scanEveryMs: 100 })
    await recordLabels(page, "lnd")
    const s = sel("lnd")
    await page.locator(s.button).click()
    // the server holds its answer: what shows now comes from the click alone
    expect(await page.locator(s.label).textContent()).toBe("Stopping…")
    expect(await page.locator(s.button).getAttribute("aria-busy")).toBe("true")
    expect(await page.locator(s.restart).count()).toBe(0)
    await expect.poll(() => server.isHeld("lnd")).toBe(true)
    // the stale scan the server pushed before answering arrived, and changed nothing
    expect(await page.locator(s.label).textContent()).toBe("Stopping…")
    server.release("lnd")
    await page.locator(s.label).filter({ hasText: /^Start$/ }).waitFor()
    const rec = await recorded(page)
    expect(rec.labels).toEqual(["Stop", "Stopping…", "Start"])
    expect(rec.badges).toEqual(["Running", "Stopping…", "Stopped"])
    expect(rec.busy).toEqual(["false", "true", "false"])
    expect(server.calls.filter((c) => c.method === "container-stop").map((c) => c.params)).toEqual([{ appId: "lnd" }])
    expect(await page.locator(s.live).textContent()).toBe("LND: Stopped")
  })

  it("Start, Restart and Install through the UI end in the right state", async () => {
    const { server, page } = await open()
    await page.locator(sel("electrumx").button).click()
    await page.locator(sel("electrumx").label).filter({ hasText: /^Stop$/ }).waitFor()
    await page.locator(sel("bitcoin-core").restart).click()
    expect(await page.locator(sel("bitcoin-core").label).textContent()).toBe("Restarting…")
    await page.locator(sel("bitcoin-core").label).filter({ hasText: /^Stop$/ }).waitFor()
    server.log("bitcoin-ui", "Pulling localhost/archipelago/bitcoin-ui:1.0.0 42%")
    server.scripts.set("bitcoin-ui:install", { manual: true })
    await page.locator(sel("bitcoin-ui").button).click()
    await page.locator(`${sel("bitcoin-ui").card} archy-install-log li`).first().waitFor()
    expect(await page.locator(`${sel("bitcoin-ui").card} archy-install-log [part=progress]`).evaluate((p) => (p as HTMLProgressElement).value)).toBe(42)
    server.set("bitcoin-ui", "running", { transition: null, uiPort: 8080 })
    await page.locator(sel("bitcoin-ui").label).filter({ hasText: /^Stop$/ }).waitFor()
    expect(await page.locator(`${sel("bitcoin-ui").card} a[part=link]`).getAttribute("href")).toMatch(/^http:\/\/127\.0\.0\.1:8080\/$/)
    expect(server.calls.filter((c) => c.method.startsWith("container-")).map((c) => [c.method, c.params["appId"]])).toEqual([
      ["container-start", "electrumx"],
      ["container-restart", "bitcoin-core"],
      ["container-install", "bitcoin-ui"]
    ])
    expect(await page.locator(`${sel("lnd").card} [part=notice]`).count()).toBe(0)
  })

  it("offers \"Update to <version>\" beside the primary button, shows Updating… while it runs, then the outcome", async () => {
    const apps = demoApps().map((a) =>
      a.id === "lnd" ? { ...a, version: "1.2.0", runningVersion: "1.0.0", updateAvailable: { from: "1.0.0", to: "1.2.0", direction: "upgrade" as const } } : a
    )
    const { server, page } = await open(apps)
    const update = `${sel("lnd").card} [part="update"]`
    await page.locator(update).waitFor()
    expect(await page.locator(update).textContent()).toBe("Update to 1.2.0")
    expect(await page.locator(`${sel("bitcoin-core").card} [part="update"]`).count()).toBe(0)
    server.scripts.set("lnd:update", { manual: true })
    await page.locator(update).click()
    await page.locator(sel("lnd").label).filter({ hasText: /^Updating…$/ }).waitFor()
    expect(await page.locator(update).count()).toBe(0)
    expect(server.calls.filter((c) => c.method === "container-update").map((c) => c.params["appId"])).toEqual(["lnd"])
    // the server rolls it back: the offer stays, the reason shows
    server.set("lnd", "running", {
      transition: null,
      lastError: { op: "update", message: "update to 1.2.0 rolled back: health check failed 3 times: http :8080/", at: 1 }
    })
    await page.locator(sel("lnd").error).waitFor()
    expect(await page.locator(`${sel("lnd").error} span`).textContent()).toBe(
      "Last update failed: update to 1.2.0 rolled back: health check failed 3 times: http :8080/"
    )
    expect(await page.locator(update).textContent()).toBe("Update to 1.2.0")
    // a later update succeeds: the offer is gone
    server.set("lnd", "running", { transition: null, lastError: null, runningVersion: "1.2.0", updateAvailable: null })
    await page.locator(update).waitFor({ state: "detached" })
    expect(await page.locator(sel("lnd").label).textContent()).toBe("Stop")
  })

  it("a broken manifest shows its located error on its card with no button; a downgrade says so; a long unbreakable error stays inside its card", async () => {
    const hash = "sha256:" + "0123456789abcdef".repeat(8)
    const apps = [
      ...demoApps().map((a) =>
        a.id === "lnd"
          ? { ...a, version: "0.17.0", runningVersion: "0.18.0", updateAvailable: { from: "0.18.0", to: "0.17.0", direction: "downgrade" as const } }
          : a.id === "electrumx"
          ? { ...a, lastError: { op: "start" as const, message: `image ${hash} could not start`, at: 1 } }
          : a
      ),
      view("broken", "broken", "not-installed", { catalogError: "apps/broken/manifest.yml:5:9 memory: expected a size such as \"128Mi\", got \"lots\"" })
    ]
    const { page } = await open(apps)
    expect(await page.locator(`${sel("lnd").card} [part="update"]`).textContent()).toBe("Downgrade to 0.17.0")
    const broken = page.locator(sel("broken").card)
    await broken.locator("[part=error]").waitFor()
    expect(await broken.locator("[part=error] span").textContent()).toBe(
      "Manifest error, the app is left as it is until it is fixed:\napps/broken/manifest.yml:5:9 memory: expected a size such as \"128Mi\", got \"lots\""
    )
    expect(await page.locator(sel("broken").button).count()).toBe(0)
    const fits = await page.locator(`${sel("electrumx").card} [part=error]`).evaluate((e) => e.scrollWidth <= e.clientWidth)
    expect(fits).toBe(true)
  })

  it("an empty catalog says so instead of loading forever", async () => {
    server = new FakeServer([])
    serveAssets(server, bundle)
    server.page = dashboardPage({})
    await server.listen()
    page = await browser.newPage()
    await page.goto(server.url)
    const empty = page.locator("archy-dashboard [part=empty]")
    await empty.filter({ hasText: /^No apps in the catalog/ }).waitFor()
    expect(await empty.textContent()).toBe("No apps in the catalog: add an app's folder with its manifest.yml to the apps folder.")
  })

  it("a refused operation shows its error and restores the button", async () => {
    const { server, page } = await open()
    server.scripts.set("electrumx:start", { hold: true })
    server.refusals.set("electrumx:start", { code: -32002, message: "cannot start electrumx: update is already in progress" })
    await recordLabels(page, "electrumx")
    const s = sel("electrumx")
    await page.locator(s.button).click()
    expect(await page.locator(s.label).textContent()).toBe("Starting…")
    await expect.poll(() => server.isHeld("electrumx")).toBe(true)
    server.release("electrumx")
    await page.locator(s.error).waitFor()
    expect(await page.locator(s.error).getAttribute("role")).toBe("alert")
    expect(await page.locator(`${s.error} span`).textContent()).toBe(
      "Could not start ElectrumX: cannot start electrumx: update is already in progress"
    )
    expect((await recorded(page)).labels).toEqual(["Start", "Starting…", "Start"])
    await page.locator(`${s.error} button`).click()
    expect(await page.locator(s.error).count()).toBe(0)
  })

  it("a start refused for a missing dependency explains which app to install", async () => {
    const apps = demoApps().map((a) => (a.id === "bitcoin-core" ? { ...a, state: "not-installed" as const, visualState: "not-installed" as const } : a))
    const { server, page } = await open(apps)
    const message = "cannot start electrumx: it depends on bitcoin-core, which is not installed; install it first"
    server.refusals.set("electrumx:start", { code: -32003, message })
    const s = sel("electrumx")
    await page.locator(s.button).click()
    await page.locator(s.error).waitFor()
    expect(await page.locator(s.error).getAttribute("role")).toBe("alert")
    expect(await page.locator(`${s.error} span`).textContent()).toBe(`Could not start ElectrumX: ${message}`)
    expect(await page.locator(s.label).textContent()).toBe("Start")
  })

  it("a failed operation reported by the server shows the last error", async () => {
    const { server, page } = await open()
    server.scripts.set("bitcoin-core:stop", { failWith: "podman stop: engine unavailable" })
    await page.locator(sel("bitcoin-core").button).click()
    await page.locator(sel("bitcoin-core").error).waitFor()
    expect(await page.locator(`${sel("bitcoin-core").error} span`).textContent()).toBe("Last stop failed: podman stop: engine unavailable")
    expect(await page.locator(sel("bitcoin-core").label).textContent()).toBe("Stop")
    server.set("bitcoin-core", "stopped")
    await page.locator(`${sel("lnd").card} [part=notice]`).filter({ hasText: "Needs Bitcoin Core (stopped)." }).waitFor()
  })

  it("killing the socket shows the banner, polling keeps the truth, and the UI recovers", async () => {
    const { server, page } = await open()
    const banner = page.locator("archy-dashboard [part=banner]")
    expect(await banner.count()).toBe(0)
    server.refuseSockets = true
    server.killSockets()
    await banner.waitFor()
    expect(await banner.textContent()).toContain("Connection to the server lost")
    server.set("lnd", "stopped")
    await page.locator(sel("lnd").label).filter({ hasText: /^Start$/ }).waitFor()
    server.refuseSockets = false
    await banner.waitFor({ state: "detached" })
    server.set("electrumx", "starting")
    await page.locator(sel("electrumx").label).filter({ hasText: "Starting…" }).waitFor()
    await page.locator(sel("lnd").button).click()
    await page.locator(sel("lnd").label).filter({ hasText: /^Stop$/ }).waitFor()
  })

  it("the Backups panel shows a new backup when the server pushes backups.changed, and never polls backup-list", async () => {
    server = new FakeServer(demoApps())
    serveAssets(server, bundle)
    server.page = dashboardPage()
    await server.listen()
    page = await browser.newPage()
    // the page's clock can be moved on: a poll, had the panel one, would show up as calls
    await page.clock.install()
    await page.goto(server.url)
    const lnd = sel("lnd")
    const panel = `${lnd.card} archy-backup-panel`
    await page.locator(lnd.button).waitFor()
    await page.locator(`${lnd.card} [part=backups] summary`).click()
    await page.locator(`${panel} [part=summary]`).filter({ hasText: "No backup yet" }).waitFor()
    const asked = () => server!.calls.filter((c) => c.method === "backup-list" && c.params["appId"] === "lnd").length
    const before = asked()
    expect(before).toBeGreaterThanOrEqual(1)

    server.addBackup("lnd", { file: "lnd-20261129T080000000Z.tar", createdAt: Date.now(), bytes: 2048 })
    await page.locator(`${panel} [part=summary]`).filter({ hasText: "Last backup just now (2.0 KiB)" }).waitFor()
    expect(asked()).toBe(before + 1)

    // two minutes later the age reads so, and nothing asked the server again
    await page.clock.fastForward("02:00")
    await page.locator(`${panel} [part=summary]`).filter({ hasText: "Last backup 2 min ago (2.0 KiB)" }).waitFor()
    expect(asked()).toBe(before + 1)
    // a notice for another app is not this panel's business
    server.notify("backups.changed", { appId: "bitcoin-core" })
    server.addBackup("lnd", { file: "lnd-20261129T080500000Z.tar", createdAt: Date.now() + 120_000, bytes: 4096 })
    await page.locator(`${panel} [part=summary]`).filter({ hasText: "Last backup just now (4.0 KiB)" }).waitFor()
    expect(asked()).toBe(before + 2)
  })

  it("the Backups panel warns when LND's channel backup shrank, and a restore that closes channels is sent only once confirmed", async () => {
    const { page, server } = await open()
    const lnd = sel("lnd")
    const panel = `${lnd.card} archy-backup-panel`
    await page.locator(`${lnd.card} [part=backups] summary`).click()
    server.addBackup("lnd", { file: "lnd-20261129T080000000Z.tar", createdAt: Date.now(), bytes: 2048 })
    server.setBackupSummary("lnd", {
      watched: [{ path: "./data/chain/bitcoin/mainnet/channel.backup", copies: 11, lastCopyAt: Date.now(), shrank: { from: 4096, to: 64 } }],
      recovery: "This node's channel state is not in the backup (restoring it could lose every channel's funds). The channels will be closed; funds return to your on-chain wallet once the channels' timelocks expire.",
      schedule: { everyHours: 24, lastAt: Date.now(), nextAt: Date.now() + 24 * 3_600_000 }
    })
    await page.locator(`${panel} [part=warning]`).filter({ hasText: "LND's channel backup shrank from 4096 to 64 bytes; the earlier copies are kept" }).waitFor()
    await page.locator(`${panel} [part=summary]`).filter({ hasText: "automatic every 24 h, next in 23 h" }).waitFor()
    const restores = () => server.calls.filter((c) => c.method === "container-restore")
    await page.locator(`${panel} [part=restore]`).click()
    const confirm = page.locator(`${panel} [part=confirm]`)
    await confirm.filter({ hasText: "channels will be closed; funds return to your on-chain wallet" }).waitFor()
    expect(restores()).toEqual([])
    await page.locator(`${panel} [part=cancel]`).click()
    await confirm.waitFor({ state: "detached" })
    expect(restores()).toEqual([])
    await page.locator(`${panel} [part=restore]`).click()
    await page.locator(`${panel} [part=confirm-restore]`).click()
    await expect.poll(() => restores().map((c) => c.params)).toEqual([{ appId: "lnd", closeChannels: true }])
  })

  it("is keyboard operable and dispatches requests only on user action", async () => {
    const { page } = await open()
    await page.evaluate(() => {
      ;(window as unknown as { events: Array<unknown> }).events = []
      document.addEventListener("archy-lifecycle-request", (e) => (window as unknown as { events: Array<unknown> }).events.push(e.detail))
      const card = document.querySelector("archy-dashboard")!.shadowRoot!.querySelector("archy-app-card")!
      card.shadowRoot!.querySelector("archy-lifecycle-button")!.state = "stopped"
    })
    await page.waitForTimeout(50)
    expect(await page.evaluate(() => (window as unknown as { events: Array<unknown> }).events)).toEqual([])
    const deepActive = () =>
      page.evaluate(() => {
        let el: Element | null = document.activeElement
        const path: Array<string> = []
        while (el !== null) {
          path.push(el.getAttribute("part") ?? el.tagName.toLowerCase())
          el = el.shadowRoot?.activeElement ?? null
        }
        return path.join(" > ")
      })
    let path = ""
    for (let i = 0; i < 10 && !path.endsWith("> button"); i++) {
      await page.keyboard.press("Tab")
      path = await deepActive()
    }
    expect(path).toBe("archy-dashboard > archy-app-card > archy-lifecycle-button > button")
    await page.keyboard.press("Enter")
    await page.locator(sel("bitcoin-core").label).filter({ hasText: /^Stop$/ }).waitFor()
    expect(await page.evaluate(() => (window as unknown as { events: Array<unknown> }).events)).toEqual([{ appId: "bitcoin-core", op: "start" }])
  })

  for (const theme of ["light", "dark"] as const) {
    it(`has no serious or critical axe violations (${theme})`, async () => {
      const apps = [
        ...demoApps(),
        view("lnd-ui", "LND UI", "stopped", { lastError: { op: "start", message: "exit code 1", at: 1 } }),
        view("electrs-ui", "Electrs UI", "installing", {})
      ]
      const { page } = await open(apps, { colorScheme: theme })
      const violations = await axeViolations(page)
      expect(violations).toEqual([])
    })
  }

  it("themes through the theme attribute, the system preference, custom properties and parts", async () => {
    const bg = (p: Page) => p.locator("archy-dashboard").evaluate((el) => getComputedStyle(el).backgroundColor)
    const light = await open(demoApps(), { theme: "light", colorScheme: "dark" })
    expect(await bg(light.page)).toBe("rgb(246, 247, 249)")
    await light.page.locator("archy-dashboard").evaluate((el) => el.setAttribute("theme", "dark"))
    expect(await bg(light.page)).toBe("rgb(15, 17, 21)")
    await page!.close()
    await server!.close()
    const auto = await open(demoApps(), {
      colorScheme: "dark",
      head: `<style>archy-dashboard { --archy-accent: rgb(1, 2, 3); } archy-dashboard::part(title) { color: rgb(9, 8, 7); }</style>`
    })
    expect(await bg(auto.page)).toBe("rgb(15, 17, 21)")
    const install = sel("bitcoin-ui").button
    expect(await auto.page.locator(install).evaluate((b) => getComputedStyle(b).backgroundColor)).toBe("rgb(1, 2, 3)")
    expect(await auto.page.locator("archy-dashboard [part=title]").evaluate((h) => getComputedStyle(h).color)).toBe("rgb(9, 8, 7)")
  })

  it("leaks no CSS into the page", async () => {
    const blank = await openBlank()
    const probe = () =>
      blank.evaluate(() => {
        const b = document.createElement("button")
        b.textContent = "probe"
        document.body.append(b)
        const s = getComputedStyle(b)
        const h = getComputedStyle(document.querySelector("h1")!)
        const out = [
          s.backgroundColor, s.color, s.fontFamily, s.borderRadius, s.padding, s.minWidth,
          h.color, h.fontFamily, getComputedStyle(document.body).backgroundColor,
          document.styleSheets.length, document.adoptedStyleSheets.length, document.querySelectorAll("style, link[rel=stylesheet]").length
        ]
        b.remove()
        return out
      })
    const before = await probe()
    await blank.addScriptTag({
      type: "module",
      content: `import { ArchyClient } from "/assets/archipelago.js"
const d = document.createElement("archy-dashboard")
d.client = new ArchyClient()
document.querySelector("main").append(d)`
    })
    await blank.locator(sel("lnd").button).waitFor()
    expect(await probe()).toEqual(before)
  })

  it("both log views scroll in one panel look: monospace, bordered, bounded by --archy-log-max-height, each with its own lines", async () => {
    const blank = await openBlank()
    await blank.addScriptTag({
      type: "module",
      content: `import "/assets/archipelago.js"
const logs = document.createElement("archy-container-logs")
const lines = [{ at: 0, level: "info", message: "pulled" }]
const install = Object.assign(document.createElement("archy-install-log"), { lines })
const small = Object.assign(document.createElement("archy-install-log"), { lines })
small.style.setProperty("--archy-log-max-height", "5rem")
document.querySelector("main").append(logs, install, small)`
    })
    const look = async (selector: string) => {
      await blank.locator(selector).waitFor()
      return blank.locator(selector).evaluate((el) => {
        const s = getComputedStyle(el)
        return {
          maxHeight: s.maxHeight, overflow: s.overflowY, font: s.fontFamily.split(",")[0], border: `${s.borderTopWidth} ${s.borderTopStyle}`,
          padding: `${s.paddingTop} ${s.paddingLeft}`, margin: s.marginTop, radius: s.borderTopLeftRadius === "0px" ? "none" : "rounded",
          lineHeight: s.lineHeight, whiteSpace: s.whiteSpace, listStyle: s.listStyleType
        }
      })
    }
    const panel = { overflow: "auto", font: "ui-monospace", border: "1px solid", padding: "8px 10.4px", margin: "0px", radius: "rounded" }
    expect(await look("archy-container-logs [part=log]")).toEqual({ ...panel, maxHeight: "192px", lineHeight: "17.4px", whiteSpace: "pre-wrap", listStyle: "disc" })
    expect(await look("archy-install-log >> nth=0 >> [part=lines]")).toEqual({ ...panel, maxHeight: "160px", lineHeight: "19.5px", whiteSpace: "normal", listStyle: "none" })
    expect(await look("archy-install-log >> nth=1 >> [part=lines]")).toMatchObject({ ...panel, maxHeight: "80px" })
  })

  it("the embedding example renders a featured card and the dashboard on one shared client", async () => {
    server = new FakeServer(demoApps())
    serveAssets(server, bundle)
    server.page = readFileSync(new URL("../../../examples/embed-dashboard/index.html", import.meta.url), "utf8")
    await server.listen()
    page = await browser.newPage()
    await page.goto(server.url)
    const featured = page.locator("section archy-app-card[app-id=lnd] [part=label]")
    await featured.waitFor()
    expect(await featured.textContent()).toBe("Stop")
    await page.locator(sel("electrumx").button).waitFor()
    await page.locator("section archy-app-card [part=button]").click()
    await page.locator(`archy-dashboard ${sel("lnd").label}`).filter({ hasText: /^Start$/ }).waitFor()
    expect(await featured.textContent()).toBe("Start")
    expect(server.socketCount).toBe(1)
    await page.selectOption("#theme", "dark")
    expect(await page.locator("archy-dashboard").getAttribute("theme")).toBe("dark")
    expect(await axeViolations(page)).toEqual([])
  })

  it("a dashboard given a token uses it as a bearer on RPCs and the socket", async () => {
    server = new FakeServer([view("lnd", "LND", "stopped")], { token: "s3cret" })
    serveAssets(server, bundle)
    server.page = pageHtml(`import "/assets/archipelago.js"
const d = document.createElement("archy-dashboard")
d.setAttribute("token", "s3cret")
document.querySelector("main").append(d)`)
    await server.listen()
    page = await browser.newPage()
    await page.goto(server.url)
    await page.locator(sel("lnd").button).click()
    await page.locator(sel("lnd").label).filter({ hasText: /^Stop$/ }).waitFor()
    expect(server.socketCount).toBe(1)
    expect(server.calls.map((c) => [c.method, c.auth])).toEqual([["container-start", "bearer"]])
    const anonymous = await page.evaluate(async () => (await fetch("/rpc", { method: "POST", body: "{}" })).status)
    expect(anonymous).toBe(401)
  })

  it("shows a reconcile failure as an automatic repair", async () => {
    await open([view("lnd", "LND", "stopped", { lastError: { op: "reconcile", message: "image missing", at: 1 } })])
    expect(await page!.locator(`${sel("lnd").error} span`).textContent()).toBe("Automatic repair failed: image missing")
  })
})

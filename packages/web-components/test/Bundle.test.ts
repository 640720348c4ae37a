/**
 * The distributed bundle `dist/browser/archipelago.js` (what `archipelago serve` serves and a
 * plain page loads): self-contained, and its decorated properties re-render in Chromium.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { buildBrowser, defaultOutfile } from "../scripts/build-browser.js"
import { hasChromium, launch } from "./support/Browser.js"
import type { Browser } from "./support/Browser.js"
import { FakeServer } from "./support/FakeServer.js"
import { pageHtml, serveAssets } from "./support/Page.js"

let bundle = defaultOutfile
let tmp: string | undefined

beforeAll(async () => {
  if (!existsSync(defaultOutfile)) {
    console.warn(`${defaultOutfile} is not built (run npm run build); testing a fresh build of the same config instead`)
    tmp = mkdtempSync(join(tmpdir(), "archy-bundle-"))
    bundle = join(tmp, "archipelago.js")
    await buildBrowser(bundle)
  }
})

afterAll(() => {
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true })
})

describe("the browser bundle", () => {
  it("is one self-contained ES module: no imports, no Node built-ins, lit inlined", () => {
    const code = readFileSync(bundle, "utf8")
    expect(code.match(/(?:^|[;\s])import\s*[\w{*"']/g) ?? []).toEqual([])
    expect(code).not.toMatch(/\bimport\(/)
    expect(code).not.toMatch(/["']node:/)
    expect(code).not.toMatch(/\brequire\(/)
    expect(code).toMatch(/customElements\.define\("archy-dashboard"/)
    expect(code).toContain("lit-html")
  })
})

describe.skipIf(!hasChromium)("the browser bundle in Chromium", () => {
  let browser: Browser
  let server: FakeServer

  beforeAll(async () => {
    browser = await launch()
    server = new FakeServer([])
    serveAssets(server, bundle)
    server.page = pageHtml(`import * as archy from "/assets/archipelago.js"
window.archyExports = Object.keys(archy).sort()
const badge = document.createElement("archy-status-badge")
badge.id = "badge"
document.querySelector("main").append(badge)`)
    await server.listen()
  })

  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  it("re-renders on a property change and on an attribute change", async () => {
    const page = await browser.newPage()
    await page.goto(server.url)
    const text = () => page.locator("#badge [part=badge]").textContent()
    await page.locator("#badge [part=badge]").waitFor()
    expect(await text()).toBe("Not installed")
    const own = await page.evaluate(async () => {
      const el = document.getElementById("badge") as HTMLElement & { state: string; updateComplete: Promise<boolean> }
      el.state = "running"
      await el.updateComplete
      // a class field would shadow Lit's accessor and silently stop updates
      return Object.hasOwn(el, "state")
    })
    expect(own).toBe(false)
    expect(await text()).toBe("Running")
    expect(await page.locator("#badge").getAttribute("state")).toBe("running")
    await page.evaluate(() => document.getElementById("badge")!.setAttribute("state", "stopping"))
    await page.locator("#badge [part=badge]").filter({ hasText: "Stopping…" }).waitFor()
    expect(await page.locator("#badge").getAttribute("busy")).toBe("")
    const exports = await page.evaluate(() => (window as unknown as { archyExports: Array<string> }).archyExports)
    expect(exports).toEqual(expect.arrayContaining([
      "AppStore", "ArchyAppCard", "ArchyClient", "ArchyController", "ArchyDashboard", "ArchyInstallLog",
      "ArchyLifecycleButton", "ArchyStatusBadge", "Protocol", "RpcError", "TransportError"
    ]))
    await page.close()
  })
})

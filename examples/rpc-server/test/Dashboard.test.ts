/**
 * The example server end to end: the orchestrator on the simulator behind the RPC server, and
 * the dashboard in real Chromium logging in with the printed URL, listing the demo apps, and
 * holding "Stopping…" through demo-node's whole graceful stop.
 */
import { existsSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Server } from "@archipelago/rpc-adapter"
import { ManagedRuntime } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { hasChromium, launch } from "../../../packages/web-components/test/support/Browser.js"
import type { Browser } from "../../../packages/web-components/test/support/Browser.js"
import { layer } from "../server.js"

const root = fileURLToPath(new URL("../../..", import.meta.url))
const bundleBuilt = existsSync(join(root, "packages/web-components/dist/browser/archipelago.js"))
if (!bundleBuilt) console.warn("rpc-server example: the dashboard bundle is not built (npm run build); the browser test is skipped")

const label = (appId: string) => `archy-app-card[app-id="${appId}"] archy-lifecycle-button [part="label"]`

describe.skipIf(!hasChromium || !bundleBuilt)("the rpc-server example in Chromium", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "t-rpc-example-"))
  const runtime = ManagedRuntime.make(layer({ appsDir: join(root, "apps"), dataDir, port: 0, simulated: true }))
  let browser: Browser
  let server: Server.Service

  beforeAll(async () => {
    server = await runtime.runPromise(Server.RpcServer)
    browser = await launch()
  })

  afterAll(async () => {
    await browser?.close()
    await runtime.dispose()
  })

  it("logs in with the printed URL, shows every demo app, and holds Stopping… through a graceful stop", async () => {
    const page = await browser.context.newPage()
    const errors: Array<string> = []
    page.on("pageerror", (e) => errors.push(e.message))
    await page.goto(server.loginUrl)
    expect(new URL(page.url()).pathname).toBe("/")
    await page.locator(label("demo-node")).waitFor()
    const ids = await page.locator("archy-app-card").evaluateAll((cards) => cards.map((c) => c.getAttribute("app-id")))
    expect(ids).toEqual(expect.arrayContaining(["demo-node", "demo-ui", "demo-indexer", "demo-lightning", "lnd", "bitcoin-core"]))
    await expect(page.locator(".banner").textContent()).resolves.toContain("Simulated engine")
    // The token never stays in the address bar: the login redirected to /.
    expect(page.url()).not.toContain("token=")

    await page.locator(label("demo-node")).filter({ hasText: "Install" }).click()
    await page.locator(label("demo-node")).filter({ hasText: /^Stop$/ }).waitFor({ timeout: 60_000 })

    // Record every label the button shows, frame by frame, through the shadow roots.
    await page.evaluate(() => {
      const w = window as unknown as { labels: Array<string> }
      w.labels = []
      const deep = (root: ParentNode, pred: (e: Element) => boolean): Element | undefined => {
        for (const e of root.querySelectorAll("*")) {
          if (pred(e)) return e
          const inner = e.shadowRoot === null ? undefined : deep(e.shadowRoot, pred)
          if (inner !== undefined) return inner
        }
        return undefined
      }
      const tick = () => {
        const card = deep(document, (e) => e.tagName === "ARCHY-APP-CARD" && e.getAttribute("app-id") === "demo-node")
        const text = card === undefined ? undefined : deep(card.shadowRoot ?? card, (e) => e.getAttribute("part") === "label")
          ?.textContent?.trim()
        if (text !== undefined && w.labels[w.labels.length - 1] !== text) w.labels.push(text)
        requestAnimationFrame(tick)
      }
      tick()
    })
    await page.locator(label("demo-node")).filter({ hasText: /^Stop$/ }).click()
    await page.locator(label("demo-node")).filter({ hasText: "Start" }).waitFor({ timeout: 60_000 })
    const labels = await page.evaluate(() => (window as unknown as { labels: Array<string> }).labels)
    expect(labels.slice(labels.indexOf("Stopping…"))).toStrictEqual(["Stopping…", "Start"])
    expect(errors).toStrictEqual([])
  })
})

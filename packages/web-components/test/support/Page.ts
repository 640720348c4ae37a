/**
 * Pages the browser tests load from a `FakeServer`: the bundle at `/assets/archipelago.js`,
 * axe-core at `/axe.js`, and a dashboard wired to a fast-reconnecting client.
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import type { Page } from "playwright-core"
import type { FakeServer } from "./FakeServer.js"

const require = createRequire(import.meta.url)
export const axePath: string = require.resolve("axe-core/axe.min.js")

export const serveAssets = (server: FakeServer, bundle: string): void => {
  server.files.set("/assets/archipelago.js", { path: bundle, type: "text/javascript" })
  server.files.set("/axe.js", { path: axePath, type: "text/javascript" })
}

/** A page with a `<main>` and a heading; `script` runs as a module after it. */
export const pageHtml = (script: string, head = ""): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Archipelago</title>
<style>body { margin: 0; } h1 { font: 600 1rem system-ui; margin: 1rem 1.5rem 0; }</style>
${head}
</head>
<body>
<main><h1>My node</h1></main>
<script type="module">
${script}
</script>
</body>
</html>`

/** A dashboard following the page's server, reconnecting and polling fast. */
export const dashboardPage = (options: { readonly theme?: string; readonly head?: string } = {}): string =>
  pageHtml(
    `import { ArchyClient } from "/assets/archipelago.js"
const client = new ArchyClient({ pollIntervalMs: 150, backoff: { initialMs: 100, maxMs: 400, factor: 2 } })
const dashboard = document.createElement("archy-dashboard")
dashboard.client = client
dashboard.theme = ${JSON.stringify(options.theme ?? "auto")}
document.querySelector("main").append(dashboard)
window.archy = client`,
    options.head ?? ""
  )

/** CSS selectors (Playwright's pierce shadow roots) for one app's parts. */
export const sel = (appId: string) => {
  const card = `archy-app-card[app-id="${appId}"]`
  return {
    card,
    button: `${card} archy-lifecycle-button [part="button"]`,
    label: `${card} archy-lifecycle-button [part="label"]`,
    restart: `${card} archy-lifecycle-button [part="restart"]`,
    badge: `${card} archy-status-badge [part="badge"]`,
    error: `${card} [part="error"]`,
    live: `${card} [role="status"]`
  }
}

/**
 * Starts recording, in the page, every label the app's primary button and badge show (each
 * change once) and every `aria-busy` value, with a MutationObserver on their shadow roots.
 */
export const recordLabels = (page: Page, appId: string): Promise<void> =>
  page.evaluate((id) => {
    const card = document.querySelector("archy-dashboard")!.shadowRoot!.querySelector(`archy-app-card[app-id="${id}"]`)!
    const button = card.shadowRoot!.querySelector("archy-lifecycle-button")!
    const badge = card.shadowRoot!.querySelector("archy-status-badge")!
    const rec = { labels: [] as Array<string>, badges: [] as Array<string>, busy: [] as Array<string> }
    const push = (list: Array<string>, v: string | null | undefined) => {
      if (v != null && list.at(-1) !== v) list.push(v)
    }
    const record = () => {
      push(rec.labels, button.shadowRoot!.querySelector("[part=label]")?.textContent?.trim())
      push(rec.busy, button.shadowRoot!.querySelector("[part=button]")?.getAttribute("aria-busy"))
      push(rec.badges, badge.shadowRoot!.querySelector("[part=badge]")?.textContent?.trim())
    }
    const options = { subtree: true, childList: true, characterData: true, attributes: true }
    new MutationObserver(record).observe(button.shadowRoot!, options)
    new MutationObserver(record).observe(badge.shadowRoot!, options)
    record()
    ;(window as unknown as { rec: typeof rec }).rec = rec
  }, appId)

export const recorded = (page: Page): Promise<{ labels: Array<string>; badges: Array<string>; busy: Array<string> }> =>
  page.evaluate(() => (window as unknown as { rec: { labels: Array<string>; badges: Array<string>; busy: Array<string> } }).rec)

/** Runs axe-core in the page; returns the serious and critical violations. */
export const axeViolations = async (page: Page): Promise<Array<{ id: string; impact: string; nodes: Array<string>; help: string }>> => {
  await page.addScriptTag({ content: readFileSync(axePath, "utf8") })
  return page.evaluate(async () => {
    const axe = (window as unknown as {
      axe: { run: (ctx: Document) => Promise<{ violations: Array<{ id: string; impact: string; help: string; nodes: Array<{ target: unknown; failureSummary?: string }> }> }> }
    }).axe
    const r = await axe.run(document)
    return r.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => `${JSON.stringify(n.target)}: ${n.failureSummary ?? ""}`) }))
  })
}

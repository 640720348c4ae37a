/**
 * Screenshots of the dashboard, light and dark, into docs/images/.
 *
 * Against a running server:  tsx scripts/screenshots.ts --url http://127.0.0.1:7420 --token <token>
 *   (`--logs <app id>` opens that app's Logs disclosure first)
 * Against the scripted test server with demo states:  tsx scripts/screenshots.ts
 * The server must serve the bundle at /assets/archipelago.js (archipelago serve does).
 */
import { mkdirSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { launch } from "../test/support/Browser.js"
import { FakeServer, view } from "../test/support/FakeServer.js"
import { dashboardPage, serveAssets } from "../test/support/Page.js"
import { defaultOutfile } from "./build-browser.js"

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    token: { type: "string" },
    out: { type: "string", default: fileURLToPath(new URL("../../../docs/images/", import.meta.url)) },
    prefix: { type: "string", default: "dashboard" },
    width: { type: "string", default: "1200" },
    logs: { type: "string" }
  }
})

const demo = () => {
  const now = Date.now()
  const server = new FakeServer([
    view("bitcoin-core", "Bitcoin Core", "running", { version: "27.1", ports: [{ host: 8333, container: 8333, protocol: "tcp" }] }),
    view("lnd", "LND", "stopping", {
      version: "0.18.3",
      dependsOn: ["bitcoin-core"],
      ports: [{ host: 9735, container: 9735, protocol: "tcp" }],
      transition: { op: "stop", since: now, deadline: now + 360_000, previous: "running" }
    }),
    view("electrumx", "ElectrumX", "stopped", { version: "1.16.0", dependsOn: ["bitcoin-core"] }),
    view("bitcoin-ui", "Bitcoin UI", "running", {
      version: "0.3.0",
      containerName: "archy-bitcoin-ui",
      dependsOn: ["bitcoin-core"],
      ports: [{ host: 8080, container: 80, protocol: "tcp" }],
      uiPort: 8080
    }),
    view("lnd-ui", "LND UI", "stopped", {
      version: "0.2.1",
      containerName: "archy-lnd-ui",
      dependsOn: ["lnd"],
      lastError: { op: "start", message: "container exited with code 1 after 2 s", at: now - 60_000 }
    }),
    view("electrs-ui", "Electrs UI", "installing", { version: "0.1.4", containerName: "archy-electrs-ui", dependsOn: ["electrumx"] })
  ])
  server.log("electrs-ui", "Building localhost/archipelago/electrs-ui:0.1.4 from apps/electrs-ui")
  server.log("electrs-ui", "STEP 2/4: COPY www /var/www 64%")
  serveAssets(server, defaultOutfile)
  server.page = dashboardPage()
  return server
}

const server = values.url === undefined ? demo() : undefined
if (server !== undefined) await server.listen()
const base = values.url ?? server!.url
const browser = await launch()
try {
  mkdirSync(values.out!, { recursive: true })
  for (const scheme of ["light", "dark"] as const) {
    const page = await browser.newPage({ colorScheme: scheme })
    await page.setViewportSize({ width: Number(values.width), height: 700 })
    const target = values.token === undefined ? base : `${base.replace(/\/+$/, "")}/login?token=${encodeURIComponent(values.token)}`
    await page.goto(target)
    await page.locator("archy-dashboard archy-app-card archy-lifecycle-button [part=button]").first().waitFor()
    if (values.logs !== undefined) {
      const card = `archy-dashboard archy-app-card[app-id="${values.logs}"]`
      await page.locator(`${card} [part=logs] summary`).click()
      await page.locator(`${card} archy-container-logs [part=log]`).filter({ hasText: /\S/ }).waitFor()
    }
    await page.waitForTimeout(2500)
    const file = `${values.out}${values.prefix}-${scheme}.png`
    await page.locator("archy-dashboard").screenshot({ path: file, animations: "disabled" })
    console.log(`wrote ${file}`)
    await page.close()
  }
} finally {
  await browser.close()
  await server?.close()
}

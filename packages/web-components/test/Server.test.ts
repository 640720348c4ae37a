/**
 * The dashboard as `archipelago serve` serves it, on podman with the demo apps (renamed
 * `t-web-*`, on free ports) and 1 s scans, in real Chromium: Install, Stop, Start and Restart
 * through the UI, a refused operation, and the server crashing and coming back.
 *
 * The whole scenario runs twice against a fresh server: on the machine as it is, then with CPU
 * contention (busy processes for the suite's duration: `ARCHY_CONTENTION` of them, one per CPU
 * when unset), where the races between clicks, answers, scans and pushes widen. Every wait is
 * on a condition the product shows, never a sleep.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Page } from "playwright-core"
import { spawn, spawnSync } from "node:child_process"
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { availableParallelism, tmpdir } from "node:os"
import { join } from "node:path"
import { contentionWorkersFromEnv, startContention } from "../../../test-support/contention.js"
import { waitListening } from "../../../test-support/net.js"
import type { Contention } from "../../../test-support/contention.js"
import { buildBrowser, defaultOutfile } from "../scripts/build-browser.js"
import { hasChromium, launch } from "./support/Browser.js"
import type { Browser } from "./support/Browser.js"
import { axeViolations, recorded, recordLabels, sel } from "./support/Page.js"
import { freePort, hasPodman, root, startRealServer } from "./support/RealServer.js"
import type { RealServer } from "./support/RealServer.js"

const long = { timeout: 240_000 }
const hasNginx = spawnSync("nginx", ["-v"]).status === 0
if (!hasNginx) console.warn("the embedding example's nginx test is skipped: nginx is missing")

const closeArgs = (code: number | undefined, reason: string | undefined): { code?: number; reason?: string } => ({
  ...(code === undefined ? {} : { code }),
  ...(reason === undefined ? {} : { reason })
})

const loads = [
  { name: "", workers: 0 },
  { name: " under CPU contention", workers: contentionWorkersFromEnv() || availableParallelism() }
] as const

for (const load of loads) describe.skipIf(!hasChromium || !hasPodman)(`dashboard against archipelago serve on podman${load.name}`, () => {
  let contention: Contention | undefined
  let server: RealServer
  let browser: Browser
  let page: Page
  let nginxPort: number
  // server→page socket messages are held while the gate is closed
  const gate = { closed: false, flush: (): void => {} }

  const node = () => sel(server.id("demo-node"))
  const label = (s: ReturnType<typeof sel>, text: string) =>
    page.locator(s.label).filter({ hasText: new RegExp(`^${text}$`) })
  const rpc = async (method: string, params: object) => {
    const r = await fetch(`${server.url}/rpc`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params })
    })
    return (await r.json()) as { result?: unknown; error?: { code: number; message: string } }
  }
  // demo-node's view once a scan has seen it running: an operation settles on podman's answer
  // to `start`, which carries no start time, and the next scan brings it
  const scannedRunning = async (): Promise<{ state: string; startedAt: number }> => {
    for (const end = Date.now() + 30_000;;) {
      const list = (await rpc("container-list", {})).result as Array<{ id: string; state: string; startedAt: number | null }>
      const view = list.find((a) => a.id === server.id("demo-node"))!
      if (view.state === "running" && view.startedAt !== null) return { state: view.state, startedAt: view.startedAt }
      if (Date.now() > end) throw new Error(`demo-node never shown running with a start time: ${JSON.stringify(view)}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  beforeAll(async () => {
    if (load.workers > 0) contention = startContention({ workers: load.workers })
    if (!existsSync(defaultOutfile)) await buildBrowser()
    nginxPort = await freePort()
    server = await startRealServer({ stopDelaySec: 4, allowOrigins: [`http://127.0.0.1:${nginxPort}`] })
    browser = await launch()
    page = await browser.newPage()
    await page.routeWebSocket(/\/ws$/, (ws) => {
      const upstream = ws.connectToServer()
      const queue: Array<string | Buffer> = []
      gate.flush = () => {
        for (const m of queue.splice(0)) ws.send(m)
      }
      upstream.onMessage((m) => (gate.closed ? queue.push(m) : ws.send(m)))
      upstream.onClose((code, reason) => ws.close(closeArgs(code, reason)))
      ws.onMessage((m) => upstream.send(m))
      ws.onClose((code, reason) => upstream.close(closeArgs(code, reason)))
    })
    await page.goto(server.loginUrl)
    await page.locator(node().button).waitFor({ timeout: 60_000 })
  }, 240_000)

  afterAll(async () => {
    await contention?.stop()
    await browser?.close()
    await server?.cleanup()
  }, 120_000)

  it("serves the dashboard with every demo app not installed", async () => {
    expect(new URL(page.url()).pathname).toBe("/")
    for (const id of ["demo-node", "demo-lightning", "demo-indexer"] as const) {
      expect(await page.locator(sel(server.id(id)).label).textContent()).toBe("Install")
    }
  })

  it("Install through the UI: Installing… at once, then running", long, async () => {
    await recordLabels(page, server.id("demo-node"))
    await page.locator(node().button).click()
    expect(await page.locator(node().label).textContent()).toBe("Installing…")
    expect(await page.locator(node().button).getAttribute("aria-busy")).toBe("true")
    await label(node(), "Stop").waitFor({ timeout: 200_000 })
    expect((await recorded(page)).labels).toEqual(["Install", "Installing…", "Stop"])
    expect(await page.locator(`${node().card} a[part=link]`).count()).toBe(1)
  })

  it("click Stop on the slow-stopping app: Stopping… held through 1 s scans, then Start, never Stop or Running between", long, async () => {
    await recordLabels(page, server.id("demo-node"))
    await page.locator(node().button).click()
    expect(await page.locator(node().label).textContent()).toBe("Stopping…")
    expect(await page.locator(node().button).getAttribute("aria-busy")).toBe("true")
    await label(node(), "Start").waitFor({ timeout: 120_000 })
    const rec = await recorded(page)
    expect(rec.labels).toEqual(["Stop", "Stopping…", "Start"])
    expect(rec.badges).toEqual(["Running", "Stopping…", "Stopped"])
    expect(rec.busy).toEqual(["false", "true", "false"])
    expect(server.output()).not.toMatch(/ERROR/)
  })

  it("Start and Restart through the UI end running", long, async () => {
    await recordLabels(page, server.id("demo-node"))
    await page.locator(node().button).click()
    expect(await page.locator(node().label).textContent()).toBe("Starting…")
    await label(node(), "Stop").waitFor({ timeout: 120_000 })
    const { startedAt } = await scannedRunning()
    await page.locator(node().restart).click()
    expect(await page.locator(node().label).textContent()).toBe("Restarting…")
    await label(node(), "Stop").waitFor({ timeout: 120_000 })
    expect((await recorded(page)).labels).toEqual(["Start", "Starting…", "Stop", "Restarting…", "Stop"])
    const view = await scannedRunning()
    expect(view.state).toBe("running")
    expect(view.startedAt).toBeGreaterThan(startedAt)
  })

  it("a refused operation shows the server's error and restores the button", long, async () => {
    // another client stops the app; this page does not hear of it yet and asks for a restart
    gate.closed = true
    const stop = await rpc("container-stop", { appId: server.id("demo-node") })
    expect(stop.result).toMatchObject({ appId: server.id("demo-node"), op: "stop", status: "stopping" })
    await recordLabels(page, server.id("demo-node"))
    await page.locator(node().restart).click()
    await page.locator(node().error).waitFor()
    expect(await page.locator(`${node().error} span`).textContent()).toBe(
      `Could not restart Demo Node: cannot restart ${server.id("demo-node")}: stop is already in progress; wait for it to finish`
    )
    expect((await recorded(page)).labels).toEqual(["Stop", "Restarting…", "Stop"])
    gate.closed = false
    gate.flush()
    await label(node(), "Stopping…").waitFor()
    await label(node(), "Start").waitFor({ timeout: 120_000 })
  })

  it("has no serious or critical axe violations", async () => {
    expect(await axeViolations(page)).toEqual([])
  })

  it("the server crashing shows the banner; when it comes back the UI recovers and works", long, async () => {
    const banner = page.locator("archy-dashboard [part=banner]")
    expect(await banner.count()).toBe(0)
    await server.kill()
    await banner.waitFor({ timeout: 30_000 })
    await server.restart()
    await banner.waitFor({ state: "detached", timeout: 60_000 })
    expect(await page.locator(node().label).textContent()).toBe("Start")
    await page.locator(node().button).click()
    expect(await page.locator(node().label).textContent()).toBe("Starting…")
    await label(node(), "Stop").waitFor({ timeout: 120_000 })
  })

  it.skipIf(!hasNginx)("the embedding example works behind its nginx proxy on another origin", long, async () => {
    const dir = mkdtempSync(join(tmpdir(), "archy-web-nginx-"))
    chmodSync(dir, 0o755)
    const example = join(root, "examples/embed-dashboard")
    cpSync(join(example, "index.html"), join(dir, "index.html"))
    const conf = readFileSync(join(example, "nginx.conf"), "utf8")
      .replace("listen 127.0.0.1:8088;", `listen 127.0.0.1:${nginxPort};`)
      .replaceAll("http://127.0.0.1:7420", server.url)
    writeFileSync(join(dir, "nginx.conf"), conf)
    // in the foreground, as our child: a daemonised nginx would keep our pipes open
    const nginx = spawn("nginx", ["-p", dir, "-c", "nginx.conf", "-g", "daemon off;"], { stdio: ["ignore", "ignore", "pipe"] })
    let nginxLog = ""
    nginx.stderr!.on("data", (d: Buffer) => (nginxLog += d.toString()))
    let nginxExited = false
    const exited = new Promise((r) => nginx.once("exit", (code) => {
      nginxExited = true
      r(code)
    }))
    const embed = await browser.newPage()
    try {
      await waitListening(nginxPort, "nginx", { gone: () => nginxExited })
      const origin = `http://127.0.0.1:${nginxPort}`
      await embed.goto(`${origin}/login?token=${encodeURIComponent(server.token)}`)
      await embed.goto(`${origin}/?featured=${server.id("demo-node")}`)
      const featured = embed.locator(`section archy-app-card [part=label]`)
      await featured.filter({ hasText: /^Stop$/ }).waitFor({ timeout: 30_000 })
      await embed.locator(`archy-dashboard ${node().label}`).filter({ hasText: /^Stop$/ }).waitFor()
      await embed.locator(`section archy-app-card [part=button]`).click()
      expect(await featured.textContent()).toBe("Stopping…")
      await embed.locator(`archy-dashboard ${node().label}`).filter({ hasText: "Stopping…" }).waitFor()
      await featured.filter({ hasText: /^Start$/ }).waitFor({ timeout: 120_000 })
      await embed.locator(`archy-dashboard ${node().label}`).filter({ hasText: /^Start$/ }).waitFor()
      // the page the server itself serves hears of it too
      await label(node(), "Start").waitFor()
    } catch (e) {
      throw new Error(`${e instanceof Error ? e.message : String(e)}\nnginx: ${nginxLog}`)
    } finally {
      await embed.close()
      nginx.kill("SIGTERM")
      await exited
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

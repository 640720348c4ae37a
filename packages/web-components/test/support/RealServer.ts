/**
 * The real `archipelago serve` on podman (or its simulated engine) with copies of the demo apps, renamed with a
 * `t-web-<tag>-` prefix and moved to free ports so parallel test files never collide; scans and
 * reconciles every second. `cleanup` removes every container, volume and image it made.
 */
import { spawn, spawnSync } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { randomBytes } from "node:crypto"
import { freePort } from "../../../../test-support/net.js"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

export const root = fileURLToPath(new URL("../../../../", import.meta.url))
/** `t-web-` and a random tag: two runs of this file at once (CI, a colleague) never share a name. */
export const prefix = `t-web-${randomBytes(3).toString("hex")}-`

const podmanWorks = (): boolean => {
  const r = spawnSync("podman", ["info", "--format", "{{.Host.OCIRuntime.Name}}"], { encoding: "utf8", timeout: 30_000 })
  return r.status === 0
}
export const hasPodman = podmanWorks()
if (!hasPodman) console.warn("real-server browser tests skipped: podman is missing or not working")

export { freePort }

/** The demo apps a test uses, by original id; each becomes `t-web-<id>`. */
export const demoIds = ["demo-node", "demo-lightning", "demo-indexer"] as const

export interface RealServer {
  readonly url: string
  readonly token: string
  readonly loginUrl: string
  readonly dataDir: string
  readonly output: () => string
  /** `t-web-demo-node` for `demo-node`. */
  readonly id: (demoId: (typeof demoIds)[number]) => string
  /** Kills the server process at once (a crash), leaving the containers as they are. */
  readonly kill: () => Promise<void>
  /** Starts the server again on the same port and data dir. */
  readonly restart: () => Promise<void>
  readonly cleanup: () => Promise<void>
}

export interface Options {
  /** Seconds demo-node takes to stop gracefully. */
  readonly stopDelaySec?: number
  /** Extra browser origins the server accepts (`--allow-origin`). */
  readonly allowOrigins?: ReadonlyArray<string>
  /** Rewrites a demo app's manifest text after the renaming (e.g. a long version string). */
  readonly manifests?: Partial<Record<(typeof demoIds)[number], (text: string) => string>>
  /** Extra environment of the server process (e.g. `ARCHIPELAGO_DISK_WARN_PERCENT`). */
  readonly env?: Readonly<Record<string, string>>
  /** The engine (`--engine`): podman (the default), or the in-memory simulator, which needs no podman. */
  readonly engine?: "podman" | "sim"
}

export const startRealServer = async (options: Options = {}): Promise<RealServer> => {
  const dir = mkdtempSync(join(tmpdir(), "archy-web-real-"))
  const appsDir = join(dir, "apps")
  const dataDir = join(dir, "data")
  const ports = new Map<string, string>()
  for (const original of ["18081", "18082", "18083", "18084"]) ports.set(original, String(await freePort()))
  for (const id of demoIds) {
    const target = join(appsDir, `${prefix}${id}`)
    cpSync(join(root, "apps", id), target, { recursive: true })
    const file = join(target, "manifest.yml")
    let text = readFileSync(file, "utf8").replace(/\bdemo-(node|lightning|indexer|ui)\b/g, `${prefix}demo-$1`)
    for (const [from, to] of ports) text = text.replaceAll(from, to)
    if (id === "demo-node" && options.stopDelaySec !== undefined) {
      text = text.replace(/STOP_DELAY: "\d+"/, `STOP_DELAY: "${options.stopDelaySec}"`)
    }
    writeFileSync(file, options.manifests?.[id]?.(text) ?? text)
  }
  const port = await freePort()
  const args = [
    "--import", "tsx", join(root, "packages/daemon/src/main.ts"), "serve",
    "--apps", appsDir, "--data", dataDir, "--port", String(port), "--engine", options.engine ?? "podman",
    "--scan-interval", "1s", "--reconcile-interval", "1s",
    ...(options.allowOrigins ?? []).flatMap((o) => ["--allow-origin", o])
  ]
  let child: ChildProcess | undefined
  let log = ""
  const stopping = new WeakSet<ChildProcess>()
  const url = `http://127.0.0.1:${port}`

  const launch = async (): Promise<void> => {
    const c = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1", ...options.env } })
    child = c
    c.stdout!.on("data", (d: Buffer) => (log += d.toString()))
    c.stderr!.on("data", (d: Buffer) => (log += d.toString()))
    // a server that ends without being asked says so with everything it printed: a test that
    // then fails on a refused connection names the cause instead of only the symptom
    c.once("exit", (code, signal) => {
      if (!stopping.has(c)) console.error(`archipelago serve (pid ${c.pid}) exited unasked: code ${code}, signal ${signal}\n${log}`)
    })
    const from = log.length
    const end = Date.now() + 120_000
    while (!/Dashboard: /.test(log.slice(from))) {
      if (c.exitCode !== null) throw new Error(`archipelago serve exited ${c.exitCode}:\n${log}`)
      if (Date.now() > end) throw new Error(`archipelago serve did not start:\n${log}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  const kill = async (): Promise<void> => {
    const c = child
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return
    const exited = new Promise((r) => c.once("exit", r))
    stopping.add(c)
    c.kill("SIGKILL")
    await exited
  }

  await launch()
  const tokenFile = join(dataDir, "rpc-token")
  const token = readFileSync(tokenFile, "utf8").trim()
  const id = (demoId: (typeof demoIds)[number]) => `${prefix}${demoId}`

  const cleanup = async (): Promise<void> => {
    await kill()
    const names = demoIds.map(id)
    spawnSync("podman", ["rm", "-f", "-t", "0", "--ignore", ...names], { encoding: "utf8" })
    const volumes = spawnSync("podman", ["volume", "ls", "-q", "--filter", `name=${prefix}`], { encoding: "utf8" }).stdout
      .split("\n").filter((v) => v.startsWith(prefix))
    if (volumes.length > 0) spawnSync("podman", ["volume", "rm", "-f", ...volumes])
    const images = spawnSync("podman", ["images", "--format", "{{.Repository}}:{{.Tag}}"], { encoding: "utf8" }).stdout
      .split("\n").filter((i) => i.includes(`/${prefix}`))
    if (images.length > 0) spawnSync("podman", ["rmi", "-f", ...images])
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true })
  }

  return {
    url,
    token,
    loginUrl: `${url}/login?token=${encodeURIComponent(token)}`,
    dataDir,
    output: () => log,
    id,
    kill,
    restart: launch,
    cleanup
  }
}

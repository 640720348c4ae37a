/**
 * A real node for benchmarks: a generated catalog of tiny apps on the offline base image, the
 * real `archipelago serve` process on podman, and small RPC / WebSocket clients, the way a user
 * reaches it. Everything is named `t-bench-<tag>-*` and removed by `cleanup`.
 */
import { spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import { nodeFlags } from "../../packages/daemon/src/Unit.js"
import { startServe } from "../../test-support/chaos/Serve.js"
import { freePort } from "../../test-support/net.js"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { WebSocket } from "ws"
import { until } from "./Bench.js"

export const root = fileURLToPath(new URL("../..", import.meta.url))
export const cli = path.join(root, "packages/daemon/dist/cli.js")
const offlineBase = "localhost/archipelago/base:latest"
/** The image every bench app runs: the offline base image under a pinned tag (manifests refuse `latest`). */
export const baseImage = "localhost/archipelago/bench-base:1.0.0"

/** A prefix unique to this bench process. */
export const tag = `t-bench-${randomBytes(2).toString("hex")}`

/** The shell an app runs: sleeps forever, and on SIGTERM takes `STOP_DELAY` seconds to exit. */
export const appScript =
  "trap 'sleep ${STOP_DELAY:-0}; exit 0' TERM INT; while true; do sleep 1 & wait $!; done"

export interface BenchApp {
  readonly id: string
  readonly stopDelaySec?: number
  readonly restart?: "always" | "no"
  /** Built from its folder (a one-line Containerfile on the offline base) instead of `image:`: the simulated engine has no registry images. */
  readonly build?: boolean
}

/** Writes a catalog folder with one manifest per app (image from local storage, or built from its folder with `build`). */
export const writeCatalog = (apps: ReadonlyArray<BenchApp>): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-apps-"))
  for (const app of apps) {
    fs.mkdirSync(path.join(dir, app.id))
    if (app.build === true) fs.writeFileSync(path.join(dir, app.id, "Containerfile"), `FROM ${offlineBase}\n`)
    fs.writeFileSync(
      path.join(dir, app.id, "manifest.yml"),
      [
        `id: ${app.id}`,
        `name: ${app.id}`,
        `version: "1.0.0"`,
        ...(app.build === true ? ["build:", "  context: ."] : [`image: ${baseImage}`]),
        `container:`,
        `  command: ["/bin/sh", "-c", ${JSON.stringify(appScript)}]`,
        `env:`,
        `  STOP_DELAY: "${app.stopDelaySec ?? 0}"`,
        `memory: 32Mi`,
        `stopTimeout: 30`,
        `restart: ${app.restart ?? "always"}`,
        ``
      ].join("\n")
    )
  }
  return dir
}

export const podman = (...args: ReadonlyArray<string>) => {
  const r = spawnSync("podman", args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })
  return { status: r.status, stdout: (r.stdout ?? "").trim(), stderr: (r.stderr ?? "").trim() }
}

export const hasPodman = (): boolean => podman("info", "--format", "{{.Version.Version}}").status === 0

/** podman's version string. */
export const podmanVersion = (): string => podman("version", "--format", "{{.Client.Version}}").stdout || "unknown"

/** Makes sure the offline base image exists (scripts/build-base-image.sh) under the bench tag. */
export const ensureBaseImage = (): void => {
  if (podman("image", "exists", baseImage).status === 0) return
  if (podman("image", "exists", offlineBase).status !== 0) {
    const r = spawnSync("bash", [path.join(root, "scripts/build-base-image.sh")], { stdio: "inherit" })
    if (r.status !== 0) throw new Error("cannot build the base image")
  }
  const t = podman("tag", offlineBase, baseImage)
  if (t.status !== 0) throw new Error(`cannot tag ${baseImage}: ${t.stderr}`)
}

/** Removes every container, volume and pod whose name starts with this process's tag. */
export const cleanup = (prefix = tag): void => {
  const names = podman("ps", "-a", "--format", "{{.Names}}").stdout.split("\n").filter((n) => n.startsWith(prefix))
  if (names.length > 0) podman("rm", "--force", "--time", "0", ...names)
  const vols = podman("volume", "ls", "--format", "{{.Name}}").stdout.split("\n").filter((n) => n.startsWith(prefix))
  if (vols.length > 0) podman("volume", "rm", "--force", ...vols)
}

export { freePort }

export interface Served {
  readonly url: string
  readonly token: string
  readonly pid: number
  readonly dataDir: string
  readonly call: (method: string, params?: unknown) => Promise<any>
  readonly stop: () => Promise<void>
}

export interface ServeOptions {
  readonly apps: string
  readonly dataDir?: string
  readonly scanInterval?: string
  readonly reconcileInterval?: string
  readonly extraArgs?: ReadonlyArray<string>
  /**
   * Node's own flags for the server process besides the service's (`Unit.nodeFlags`, always
   * given, so the bench runs the server as its unit does), e.g. `--cpu-prof`.
   */
  readonly nodeArgs?: ReadonlyArray<string>
  /**
   * Whether to pass the service's V8 flags (`Unit.nodeFlags`); `false` runs a plain
   * `node cli.js serve`, to see what those flags buy. Default `true`.
   */
  readonly unitFlags?: boolean
}

/**
 * Starts `archipelago serve` on podman (test-support/chaos/Serve.ts's `startServe`, not
 * observing: no WebSocket recorder, no latency poller, so the server carries only the
 * benchmark's load) and waits until it is up.
 */
export const serve = async (options: ServeOptions): Promise<Served> => {
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "bench-data-"))
  const server = await startServe({
    root,
    appsDir: options.apps,
    dataDir,
    scanInterval: options.scanInterval ?? "30s",
    reconcileInterval: options.reconcileInterval ?? "30s",
    args: ["--host", "127.0.0.1", ...(options.extraArgs ?? [])],
    nodeArgs: [...(options.unitFlags === false ? [] : nodeFlags), ...(options.nodeArgs ?? [])],
    observe: false
  })
  const call = (method: string, params?: unknown) => server.rpc<any>(method, params as Record<string, unknown> | undefined)
  return { url: server.url, token: server.token(), pid: server.pid(), dataDir, call, stop: server.close }
}

/** A view as `container-list` returns it (the fields benchmarks read). */
export interface View {
  readonly id: string
  readonly state: string
  readonly transition: unknown
  readonly startedAt?: string | null
  readonly containerId?: string | null
}

/** Views of every app, by id (`container-list` may answer an array or a page). */
export const list = async (node: Served): Promise<Map<string, View>> => {
  const r = await node.call("container-list")
  const items: ReadonlyArray<View> = Array.isArray(r) ? r : (r.items ?? r.apps ?? [])
  return new Map(items.map((v) => [v.id, v]))
}

/** Waits until every app reads `running` with no transition. */
export const allRunning = (node: Served, ids: ReadonlyArray<string>, timeoutMs = 300_000) =>
  until(async () => {
    const views = await list(node)
    return ids.every((id) => views.get(id)?.state === "running" && !views.get(id)?.transition) ? true : undefined
  }, `${ids.length} apps running`, timeoutMs, 100)

/** A WebSocket client recording every `state.changed` app view with its arrival time. */
export interface Watcher {
  readonly changes: Array<{ readonly at: number; readonly view: View }>
  /** Resolves with the arrival time (performance.now) of the first change matching `pred` at or after index `from`. */
  readonly next: (pred: (v: View) => boolean, from?: number, timeoutMs?: number) => Promise<number>
  readonly close: () => void
}

export const watch = (node: Served): Promise<Watcher> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(`${node.url.replace(/^http/, "ws")}/ws`, { headers: { authorization: `Bearer ${node.token}` } })
    const changes: Array<{ at: number; view: View }> = []
    const waiters = new Set<() => void>()
    ws.on("message", (data) => {
      const at = performance.now()
      const m = JSON.parse(data.toString())
      if (m.method === "state.changed" && m.params?.app) {
        changes.push({ at, view: m.params.app })
        for (const w of [...waiters]) w()
      }
      if (m.method === "state.snapshot") resolve(watcher)
    })
    ws.once("error", reject)
    const next = (pred: (v: View) => boolean, from = 0, timeoutMs = 60_000) =>
      new Promise<number>((res, rej) => {
        const check = () => {
          for (let i = from; i < changes.length; i++) {
            if (pred(changes[i]!.view)) {
              waiters.delete(check)
              clearTimeout(timer)
              res(changes[i]!.at)
              return
            }
          }
        }
        const timer = setTimeout(() => { waiters.delete(check); rej(new Error("timed out waiting for a change")) }, timeoutMs)
        waiters.add(check)
        check()
      })
    const watcher: Watcher = { changes, next, close: () => ws.terminate() }
  })

/** CPU time (user + system) a process has used so far, in ms (Linux /proc, 10 ms ticks). */
export const cpuMs = (pid: number): number => {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
  return (Number(fields[11]) + Number(fields[12])) * (1000 / 100)
}

/** Resident set size of a process, in MiB (Linux /proc). */
export const rssMiB = (pid: number): number => {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8")
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN)
  return Math.round((kb / 1024) * 10) / 10
}

/**
 * Where a process's resident memory lies (Linux /proc/<pid>/smaps_rollup), in MiB: `anonymous`
 * (the heap, V8's and malloc's) against `file` (mapped code: node's binary, libraries).
 */
export const smaps = (pid: number): { readonly rss: number; readonly anonymous: number; readonly file: number } => {
  const text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8")
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? Number.NaN)
  const mib = (k: number) => Math.round((k / 1024) * 10) / 10
  return { rss: mib(kb("Rss")), anonymous: mib(kb("Anonymous")), file: mib(kb("Rss") - kb("Anonymous")) }
}

/**
 * The chaos matrix: 4 demo apps × 8 scenarios on real podman, each case driven through a real
 * `archipelago serve` (its JSON-RPC API and WebSocket push only) with faults injected from the
 * host. One lane per app: its own catalog copy (the app and its dependencies, prefixed with the
 * run tag), its own data dir and server, so lanes never touch each other's containers; the
 * scenarios of a lane run one after the other on the same app.
 */
import { execFile, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type Catalog, type CatalogApp, type DemoApp, dependencies, makeCatalog, stopDelaySec } from "./Catalog.js"
import * as Checks from "./Checks.js"
import { type Recorded, RpcFailure, type Serve, startServe, type View } from "./Serve.js"

export const scenarios = [
  "install-fresh",
  "graceful-stop",
  "sigkill",
  "rm-container",
  "oom-kill",
  "rm-image",
  "restart-service",
  "network-partition"
] as const
export type Scenario = (typeof scenarios)[number]

/** Apps whose lane runs them from a registry image (the others are local builds). */
export const registryApps: ReadonlyArray<DemoApp> = ["demo-indexer", "demo-ui"]

/** How long each scenario may take to converge, in ms (the reported bound). */
export const boundMs: Readonly<Record<Scenario, number>> = {
  "install-fresh": 180_000,
  "graceful-stop": 60_000,
  sigkill: 60_000,
  "rm-container": 90_000,
  "oom-kill": 60_000,
  "rm-image": 180_000,
  "restart-service": 90_000,
  "network-partition": 60_000
}

/** The most a `container-list` may take, in ms. */
export const responsiveMs = 200

/**
 * Each `container-list` is timed together with a trivial request to a control server in its own
 * process; the server is charged only for the difference, so a busy shared machine does not fail
 * the case while a server that stalls does. One answer in ten (at least one per case) may still
 * exceed `responsiveMs` beyond the control's (a node process doing real work is scheduled later
 * than an idle one on a saturated CPU); none may exceed `stalledMs` beyond it.
 */
export const stalledMs = 2_000

export const allowedOutliers = (n: number): number => Math.max(1, Math.floor(n / 10))

/** How long the network partition lasts, in ms. */
export const partitionMs = 5_000

export interface CaseResult {
  readonly app: DemoApp
  readonly scenario: Scenario
  readonly ok: boolean
  readonly convergeMs: number | null
  readonly boundMs: number
  readonly latency: Checks.LatencySummary
  /** The control server's answer times at the same moments: the machine's own noise. */
  readonly control: Checks.LatencySummary
  /**
   * How long after `container-list` first showed the final state the WebSocket push delivered it
   * (ms; 0 when the push came first; null when the push never showed the app leave that state,
   * or never delivered it).
   */
  readonly pushLagMs: number | null
  readonly errors: ReadonlyArray<string>
}

// ---------------------------------------------------------------------------------------------
// podman, from the host (the faults and the checkpoints)

interface Inspected {
  readonly id: string
  readonly state: string
  readonly pid: number
  readonly startedAt: string
  readonly image: string
  /** The id of the image the container runs. */
  readonly imageId: string
  readonly dataDir?: string
}

// Asynchronous, so the test process keeps measuring container-list while podman runs.
const podman = (args: ReadonlyArray<string>, timeout = 120_000) =>
  new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
    execFile("podman", args, { encoding: "utf8", timeout, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const status = error === null ? 0 : typeof error.code === "number" ? error.code : 1
      resolve({ status, stdout, stderr })
    })
  })

const must = async (args: ReadonlyArray<string>): Promise<string> => {
  const r = await podman(args)
  if (r.status !== 0) throw new Error(`podman ${args.join(" ")} failed (${r.status}): ${r.stderr}`)
  return r.stdout
}

export const inspect = async (name: string): Promise<Inspected | undefined> => {
  const r = await podman(["container", "inspect", name, "--format", "json"])
  if (r.status !== 0) return undefined
  const [c] = JSON.parse(r.stdout) as Array<{
    Id: string
    State: { Status: string; Pid: number; StartedAt: string }
    ImageName: string
    Image: string
    Mounts: Array<{ Destination: string; Source: string }>
  }>
  if (c === undefined) return undefined
  const data = c.Mounts.find((m) => m.Destination === "/data")?.Source
  return { id: c.Id, state: c.State.Status, pid: c.State.Pid, startedAt: c.State.StartedAt, image: c.ImageName, imageId: c.Image, ...(data === undefined ? {} : { dataDir: data }) }
}

const imageExists = async (ref: string): Promise<boolean> => (await podman(["image", "exists", ref])).status === 0

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const answers = async (port: number, path: string): Promise<boolean> => {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2_000) })
    return res.status === 200
  } catch {
    return false
  }
}

// ---------------------------------------------------------------------------------------------
// a lane: one app, its dependencies, one server

export interface Lane {
  readonly demo: DemoApp
  readonly prefix: string
  readonly serve: Serve
  readonly catalog: Catalog
  readonly dataDir: string
  readonly app: CatalogApp
  readonly deps: ReadonlyArray<CatalogApp>
  readonly cleanup: () => Promise<void>
}

export interface LaneOptions {
  readonly root: string
  /** Unique to the run and the lane; every podman name of the lane starts with it. */
  readonly prefix: string
  readonly demo: DemoApp
  /** The server's environment (the slow podman and the registry's registries.conf go here). */
  readonly env: NodeJS.ProcessEnv
  readonly push?: (localRef: string, name: string) => string
}

const containerName = (a: CatalogApp) => (a.demo === "demo-ui" ? `archy-${a.id}` : a.id)
const healthPath = (a: CatalogApp) => (a.demo === "demo-ui" ? "/" : "/status")

/** Removes every container, volume and image whose name carries `prefix`. */
export const removeLaneLeftovers = (prefix: string): void => {
  const podman = (args: ReadonlyArray<string>) => spawnSync("podman", args, { encoding: "utf8", timeout: 120_000 })
  const names = podman(["ps", "-a", "--format", "{{.Names}}"]).stdout.split("\n")
    .filter((n) => n.startsWith(prefix) || n.startsWith(`archy-${prefix}`))
  if (names.length > 0) podman(["rm", "-f", "-t", "0", ...names])
  const volumes = podman(["volume", "ls", "--format", "{{.Name}}"]).stdout.split("\n").filter((v) => v.includes(prefix))
  if (volumes.length > 0) podman(["volume", "rm", "-f", ...volumes])
  const images = podman(["images", "--format", "{{.Repository}}:{{.Tag}}"]).stdout.split("\n").filter((i) => i.includes(`/${prefix}`))
  if (images.length > 0) podman(["rmi", "-f", ...images])
}

const viewOf = (views: ReadonlyArray<View>, id: string): View => {
  const v = views.find((x) => x.id === id)
  if (v === undefined) throw new Error(`${id} is missing from container-list`)
  return v
}

/** Waits until the app is shown in `target`, podman agrees and (when running) its port answers. */
const converge = async (lane: Lane, a: CatalogApp, target: "running" | "stopped", bound: number): Promise<{ ms: number } | { error: string }> => {
  const t0 = Date.now()
  let last = ""
  while (Date.now() - t0 < bound) {
    try {
      const view = viewOf(await lane.serve.list(), a.id)
      const p = await inspect(containerName(a))
      const wrong = Checks.disagreement(view, p === undefined ? {} : { state: p.state, id: p.id })
      const okState = view.state === target && view.transition === null && wrong === undefined && p !== undefined
      const okPort = target === "stopped" || (await answers(a.port, healthPath(a)))
      if (okState && okPort) return { ms: Date.now() - t0 }
      last = `shown ${view.state}${view.transition === null ? "" : ` (${view.transition.op})`}, podman ${p?.state ?? "none"}` +
        `${wrong === undefined ? "" : `; ${wrong}`}${okPort ? "" : "; port not answering"}`
    } catch (e) {
      last = String(e)
    }
    await sleep(200)
  }
  return { error: `did not reach ${target} within ${bound} ms (last: ${last})` }
}

const request = (lane: Lane, op: string, a: CatalogApp) => lane.serve.rpc(`container-${op}`, { appId: a.id })

/**
 * A request as the dashboard makes it: while another operation holds the app (a Conflict, e.g.
 * the reconciler bringing back a removed container) the button is disabled, so wait and retry.
 */
const requestWhenFree = async (lane: Lane, op: string, a: CatalogApp, bound = 120_000): Promise<void> => {
  const end = Date.now() + bound
  for (;;) {
    try {
      await request(lane, op, a)
      return
    } catch (e) {
      if (!(e instanceof RpcFailure) || !/already in progress/.test(e.message) || Date.now() > end) throw e
      await sleep(200)
    }
  }
}

const ensure = async (lane: Lane, a: CatalogApp, target: "running" | "stopped"): Promise<void> => {
  const view = viewOf(await lane.serve.list(), a.id)
  if (view.state === target && view.transition === null) return
  if (view.transition === null) {
    const op = view.state === "not-installed" && !view.intent.installed ? "install" : target === "running" ? "start" : "stop"
    await requestWhenFree(lane, op, a)
  }
  const r = await converge(lane, a, target, 180_000)
  if ("error" in r) throw new Error(`${a.id}: ${r.error}\n${lane.serve.output().slice(-4000)}`)
}

export const startLane = async (options: LaneOptions): Promise<Lane> => {
  const dir = mkdtempSync(join(tmpdir(), "archy-chaos-"))
  const apps = [options.demo, ...dependencies[options.demo]]
  const catalog = await makeCatalog({
    root: options.root,
    dir: join(dir, "apps"),
    prefix: options.prefix,
    apps,
    fromRegistry: registryApps.filter((d) => d === options.demo),
    ...(options.push === undefined ? {} : { push: options.push })
  })
  const dataDir = join(dir, "data")
  const serve = await startServe({ root: options.root, appsDir: catalog.dir, dataDir, env: options.env })
  const lane: Lane = {
    demo: options.demo,
    prefix: options.prefix,
    serve,
    catalog,
    dataDir,
    app: catalog.apps.get(options.demo)!,
    deps: dependencies[options.demo].map((d) => catalog.apps.get(d)!),
    cleanup: async () => {
      await serve.close()
      const logs = process.env.ARCHY_CHAOS_LOGS
      if (logs !== undefined) {
        mkdirSync(logs, { recursive: true })
        writeFileSync(join(logs, `${options.prefix.replace(/-$/, "")}.log`), serve.output())
      }
      removeLaneLeftovers(options.prefix)
      rmSync(dir, { recursive: true, force: true })
    }
  }
  for (const d of lane.deps) await ensure(lane, d, "running")
  return lane
}

// ---------------------------------------------------------------------------------------------
// one case

interface Fault {
  /** What the user asked for: where the case must end. */
  readonly target: "running" | "stopped"
  /** The app's container may (must) be replaced. */
  readonly recreates: boolean
  /** States the app may never show in the case's window. */
  readonly forbidden: ReadonlyArray<string>
  /** The exact sequence of states the window must show, when the scenario fixes it. */
  readonly exactly?: ReadonlyArray<string>
  /** Forbidden states the window may still show as podman's own, with no transition of the server. */
  readonly observed?: ReadonlyArray<string>
}

const faults: Readonly<Record<Scenario, Fault>> = {
  "install-fresh": { target: "running", recreates: true, forbidden: ["stopping", "stopped", "removing", "failed"] },
  "graceful-stop": { target: "stopped", recreates: false, forbidden: [], exactly: ["running", "stopping", "stopped"] },
  sigkill: { target: "running", recreates: false, forbidden: ["stopping", "stopped", "not-installed", "failed"] },
  // podman rm -f stops the container first: a scan in that moment truly sees it stopping
  "rm-container": { target: "running", recreates: true, forbidden: ["stopping", "stopped", "failed"], observed: ["stopping"] },
  "oom-kill": { target: "running", recreates: false, forbidden: ["stopping", "stopped", "not-installed", "failed"] },
  "rm-image": { target: "running", recreates: true, forbidden: ["failed"] },
  "restart-service": { target: "stopped", recreates: false, forbidden: ["not-installed", "failed"] },
  "network-partition": { target: "running", recreates: false, forbidden: [], exactly: ["running"] }
}

// state.json keeps each app's intent under apps.<id>.intent (version 1); intents.<id> is accepted too.
const stateJsonIntent = (dataDir: string, id: string): unknown => {
  const file = join(dataDir, "state.json")
  const json = JSON.parse(readFileSync(file, "utf8")) as { apps?: Record<string, { intent?: unknown }>; intents?: Record<string, unknown> }
  return json.apps?.[id]?.intent ?? json.intents?.[id]
}

/** Files the server rendered or created that must survive every fault unchanged. */
const configFiles = (lane: Lane): Array<string> =>
  [join(lane.dataDir, "rpc-token"), join(lane.dataDir, lane.app.id, "www", "index.html")].filter((f) => existsSync(f))

export interface CaseOptions {
  /** Fail the case on slow `container-list` answers (default true); otherwise only measure them. */
  readonly assertResponsive?: boolean
}

export const runCase = async (lane: Lane, scenario: Scenario, options: CaseOptions = {}): Promise<CaseResult> => {
  const a = lane.app
  const name = containerName(a)
  const fault = faults[scenario]
  const errors: Array<string> = []
  const bound = boundMs[scenario]

  // Precondition: the app running (absent for install-fresh), its dependencies running.
  for (const d of lane.deps) await ensure(lane, d, "running")
  if (scenario !== "install-fresh") await ensure(lane, a, "running")
  else if ((await inspect(name)) !== undefined) throw new Error(`${name} exists before install-fresh`)
  const before = await inspect(name)
  const depsBefore: Array<string | undefined> = []
  for (const d of lane.deps) depsBefore.push((await inspect(containerName(d)))?.id)
  const marker = randomBytes(8).toString("hex")
  if (before !== undefined) await must(["exec", name, "sh", "-c", `echo ${marker} > /data/chaos-marker`])
  const configBefore = new Map(configFiles(lane).map((f) => [f, readFileSync(f, "utf8")]))

  // Checkpoint before the fault: the server tells the truth.
  if (before !== undefined) {
    const view = viewOf(await lane.serve.list(), a.id)
    const wrong = Checks.disagreement(view, { state: before.state, id: before.id })
    if (wrong !== undefined) errors.push(`before the fault: ${wrong}`)
  }

  const from = lane.serve.recorded().length
  lane.serve.takeLatencies()
  const t0 = Date.now()

  switch (scenario) {
    case "install-fresh":
      await request(lane, "install", a)
      break
    case "graceful-stop":
      await request(lane, "stop", a)
      break
    case "sigkill":
      process.kill(before!.pid, "SIGKILL")
      break
    case "rm-container":
      await must(["rm", "-f", "-t", "0", name])
      break
    case "oom-kill":
      await must(["kill", "--signal", "USR1", name])
      break
    case "rm-image": {
      await request(lane, "stop", a)
      const stopped = await converge(lane, a, "stopped", 60_000)
      if ("error" in stopped) errors.push(`stop before removing the image: ${stopped.error}`)
      await must(["rmi", "-f", before!.image])
      if (await imageExists(before!.image)) errors.push(`image ${before!.image} still exists after podman rmi -f`)
      if (await imageExists(before!.imageId)) errors.push(`image ${before!.imageId.slice(0, 12)} of ${before!.image} was only untagged by podman rmi -f`)
      await requestWhenFree(lane, "start", a)
      break
    }
    case "restart-service":
      await request(lane, "stop", a)
      await sleep(Math.min(400, stopDelaySec[lane.demo] * 500))
      await lane.serve.kill()
      await sleep(300)
      await lane.serve.restart()
      break
    case "network-partition": {
      await must(["network", "disconnect", "podman", name])
      const end = Date.now() + partitionMs
      while (Date.now() < end) {
        const view = viewOf(await lane.serve.list(), a.id)
        if (view.state !== "running") errors.push(`during the partition: shown ${view.state}`)
        await sleep(500)
      }
      await must(["network", "connect", "podman", name])
      break
    }
  }

  // A crash takes effect asynchronously (the OOM kill needs the allocation to grow): wait for it.
  if (before !== undefined && (scenario === "sigkill" || scenario === "oom-kill")) {
    const end = Date.now() + 30_000
    for (;;) {
      const p = await inspect(name)
      if (p === undefined || p.state !== "running" || p.startedAt !== before.startedAt) break
      if (Date.now() > end) {
        errors.push(`${scenario}: ${name} was still running its first process 30 s after the fault`)
        break
      }
      await sleep(50)
    }
  }

  const done = await converge(lane, a, fault.target, bound)
  const convergeMs = "ms" in done ? Date.now() - t0 : null
  const listedAt = Date.now()
  if ("error" in done) errors.push(done.error)

  // The push may trail container-list a little under load: give the stream up to 5 s to deliver
  // the final state (a stream that never does is a failure below), then take the case's window.
  const pushEnd = Date.now() + 5_000
  while (Date.now() < pushEnd) {
    const lastPushed = Checks.statesOf(lane.serve.recorded().slice(from), a.id).at(-1)?.view
    if (lastPushed !== undefined && lastPushed.state === fault.target && lastPushed.transition === null) break
    await sleep(100)
  }
  await sleep(300)
  const window: ReadonlyArray<Recorded> = lane.serve.recorded().slice(from)
  // The push's delivery of the final state, the first of the trailing run of final views, after
  // the harness saw the convergence through container-list.
  const pushed = Checks.statesOf(window, a.id)
  let firstFinal = pushed.length
  while (firstFinal > 0 && pushed[firstFinal - 1]!.view.state === fault.target && pushed[firstFinal - 1]!.view.transition === null) firstFinal--
  // Only where the push showed the app leave that state first (a partition may push nothing but
  // later updates of a running app's fields).
  const pushLagMs = firstFinal === 0 || firstFinal === pushed.length ? null : Math.max(0, pushed[firstFinal]!.at - listedAt)
  const latencies = lane.serve.takeLatencies()
  const after = await inspect(name)

  // No needless recreation: the dependencies never, the app only when the fault removed it.
  for (const [i, d] of lane.deps.entries()) {
    const now = (await inspect(containerName(d)))?.id
    if (now !== depsBefore[i]) errors.push(`dependency ${d.id} was recreated (${depsBefore[i]?.slice(0, 12)} -> ${now?.slice(0, 12)})`)
  }
  if (before !== undefined && after !== undefined) {
    if (!fault.recreates && after.id !== before.id) errors.push(`${name} was recreated (${before.id.slice(0, 12)} -> ${after.id.slice(0, 12)})`)
    if (scenario === "rm-container" && after.id === before.id) errors.push(`${name} kept its id after podman rm -f`)
    // podman rmi -f removes the containers of the image with it: the app must have been created again
    if (scenario === "rm-image" && after.id === before.id) errors.push(`${name} kept its id after podman rmi -f of its image`)
    if ((scenario === "sigkill" || scenario === "oom-kill") && after.startedAt === before.startedAt) {
      errors.push(`${name} was not restarted by the fault (StartedAt unchanged)`)
    }
  }
  if (scenario === "rm-image" && after !== undefined && !(await imageExists(after.image))) errors.push(`image ${after.image} is missing`)
  // conmon marks an OOM kill with an empty `oom` file in its working directory, which it inherits
  // from the podman that started the container: serve's own engine folder, never its caller's
  if (scenario === "oom-kill" && before !== undefined) {
    const marker = join(lane.serve.dataDir, "engine", "oom")
    if (!existsSync(marker)) errors.push(`no oom marker at ${marker}: podman did not run in serve's engine folder`)
  }

  // The stream told the truth.
  errors.push(...Checks.transitionViolations(window, a.id).map((e) => `stream: ${e}`))
  errors.push(...Checks.generationViolations(lane.serve.recorded(), a.id).map((e) => `stream: ${e}`))
  errors.push(...Checks.forbiddenStates(window, a.id, fault.forbidden, fault.observed).map((e) => `stream: ${e}`))
  const seen = Checks.statesOf(window, a.id).map((r) => r.view.state)
  if (fault.exactly !== undefined) {
    // A window may start with a repeat of the state the app was already in.
    const trimmed = seen[0] === fault.exactly[0] ? seen : [fault.exactly[0]!, ...seen]
    if (trimmed.join(" ") !== fault.exactly.join(" ")) errors.push(`stream showed ${seen.join(" -> ")}, expected ${fault.exactly.join(" -> ")}`)
  }
  if (scenario === "restart-service") {
    const firstStop = seen.indexOf("stopping")
    if (firstStop !== -1 && seen.slice(firstStop).includes("running")) errors.push(`stream showed running after stopping: ${seen.join(" -> ")}`)
  }
  const last = Checks.statesOf(window, a.id).at(-1)?.view ?? viewOf(await lane.serve.list(), a.id)
  const finalWrong = Checks.disagreement(last, after === undefined ? {} : { state: after.state, id: after.id })
  if (finalWrong !== undefined) errors.push(`last pushed view: ${finalWrong}`)

  // Nothing lost.
  const intent = stateJsonIntent(lane.dataDir, a.id) as { installed?: boolean; wantRunning?: boolean; userStopped?: boolean } | undefined
  const wantStopped = fault.target === "stopped"
  if (intent === undefined || intent.installed !== true || intent.userStopped !== wantStopped) {
    errors.push(`state.json intent of ${a.id} is ${JSON.stringify(intent)}, expected installed${wantStopped ? " and user-stopped" : ", not user-stopped"}`)
  }
  for (const d of lane.deps) {
    const di = stateJsonIntent(lane.dataDir, d.id) as { installed?: boolean; userStopped?: boolean } | undefined
    if (di?.installed !== true || di.userStopped !== false) errors.push(`state.json intent of dependency ${d.id} is ${JSON.stringify(di)}`)
  }
  for (const [f, text] of configBefore) {
    if (!existsSync(f)) errors.push(`${f} was lost`)
    else if (readFileSync(f, "utf8") !== text) errors.push(`${f} changed`)
  }
  if (before !== undefined) {
    const data = after?.dataDir
    const read = data === undefined ? undefined : (() => {
      try {
        return readFileSync(join(data, "chaos-marker"), "utf8").trim()
      } catch {
        return undefined
      }
    })()
    if (read !== marker) errors.push(`the marker in ${name}'s /data volume was lost (read ${JSON.stringify(read)})`)
  }

  // The server stayed responsive.
  const latency = Checks.summarize(latencies.map((l) => l.server))
  const control = Checks.summarize(latencies.map((l) => l.control))
  if (latency.n === 0) errors.push("container-list was never measured")
  // What the server itself adds: its answer time beyond the control's at the same moment.
  const excess = latencies.map((l) => l.server - l.control)
  const slow = excess.filter((x) => x > responsiveMs).length
  if (options.assertResponsive !== false && (Math.max(0, ...excess) > stalledMs || slow > allowedOutliers(latency.n))) {
    errors.push(`container-list took up to ${latency.max} ms (${slow} of ${latency.n} answers over ${responsiveMs} ms beyond the control's; control max ${control.max} ms)`)
  }

  // Leave the app running for the next case (not timed).
  if (fault.target === "stopped" && errors.length === 0) {
    await request(lane, "start", a)
    const back = await converge(lane, a, "running", 60_000)
    if ("error" in back) errors.push(`start after the case: ${back.error}`)
    else if ((await inspect(name))?.id !== after?.id) errors.push(`${name} was recreated by a plain start`)
  }

  return { app: lane.demo, scenario, ok: errors.length === 0, convergeMs, boundMs: bound, latency, control, pushLagMs, errors }
}

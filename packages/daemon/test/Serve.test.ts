/**
 * The whole stack behind the server: `Serve.layer` = Archipelago.layer + hooks + a runtime,
 * driven over real HTTP and WebSocket, on the simulator and on podman.
 */
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Duration, Effect, Result, ManagedRuntime, Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { BaseImage } from "@archipelago/orchestrator"
import { Wire } from "@archipelago/orchestrator/domain"
import { hasRegistry, startRegistry } from "../../../test-support/registry.js"
import * as Cli from "../src/Cli.js"
import * as ServerInfo from "../../rpc-adapter/src/ServerInfo.js"
import * as Serve from "../src/Serve.js"
import * as Server from "../../rpc-adapter/src/Server.js"
import { tempDir } from "../../rpc-adapter/test/fixtures.js"
import { connect } from "../../rpc-adapter/test/harness.js"
import type { WsClient } from "../../rpc-adapter/test/harness.js"

const root = fileURLToPath(new URL("../../..", import.meta.url))
const appId = `t-rpc-${randomBytes(3).toString("hex")}-node`

const hasPodman = (() => {
  try {
    execFileSync("podman", ["info", "--format", "json"], { stdio: "ignore", timeout: 30_000 })
    return true
  } catch {
    return false
  }
})()
if (!hasPodman) console.warn("Serve.test: podman is missing or not working; the podman-backed tests are skipped")

/** A catalog with one demo node that takes 2 s to stop gracefully, built on the base image. */
const catalog = (): string => {
  const apps = tempDir("rpc-apps-")
  const dir = join(apps, appId)
  mkdirSync(dir)
  copyFileSync(join(root, "apps/demo-node/serve.sh"), join(dir, "serve.sh"))
  writeFileSync(
    join(dir, "Containerfile"),
    "FROM localhost/archipelago/base:latest\nCOPY serve.sh /app/serve.sh\nCMD [\"/bin/sh\", \"/app/serve.sh\"]\n"
  )
  writeFileSync(
    join(dir, "manifest.yml"),
    [
      `id: ${appId}`,
      "name: RPC test node",
      "version: \"1.0.0\"",
      "build:",
      "  context: .",
      "  containerfile: Containerfile",
      "env:",
      `  APP_NAME: ${appId}`,
      "  STOP_DELAY: \"2\"",
      "memory: 64Mi",
      "stopTimeout: 20",
      ""
    ].join("\n")
  )
  return apps
}

interface Stack {
  readonly server: Server.Service
  readonly rpc: (method: string, params?: unknown) => Promise<any>
  readonly close: () => Promise<void>
  readonly run: <A, E>(effect: Effect.Effect<A, E, any>) => Promise<A>
}

const startStack = async (engine: "sim" | "podman", data: string = tempDir("rpc-data-")): Promise<Stack> => {
  const choice = await Effect.runPromise(Serve.chooseEngine(engine))
  const runtime = ManagedRuntime.make(Serve.layer({
    apps: catalog(),
    data,
    host: "127.0.0.1",
    port: 0,
    engine,
    scanInterval: Duration.seconds(30),
    reconcileInterval: Duration.seconds(30),
    allowOrigins: [],
    install: []
  }, choice))
  const server = await runtime.runPromise(Server.RpcServer)
  return { server, rpc: rpcTo(server), close: () => runtime.dispose(), run: (effect) => runtime.runPromise(effect) }
}

/** JSON-RPC calls to a running server with its bearer token; each answer is the whole response object. */
const rpcTo = (server: { readonly url: string; readonly token: string }) => {
  let id = 0
  return async (method: string, params?: unknown): Promise<any> => {
    const res = await fetch(`${server.url}/rpc`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, ...(params === undefined ? {} : { params }) })
    })
    return res.json()
  }
}

const stateOf = (m: any): string | undefined =>
  m.method === "state.changed"
    ? (m.params.app.id === appId ? m.params.app.state : undefined)
    : m.method === "state.snapshot"
    ? m.params.apps.find((a: any) => a.id === appId)?.state
    : undefined

/** Install, then stop: the stop is answered while the app is still stopping, and the pushed
 * states arrive in order with consecutive numbers. */
const lifecycleOverTheWire = async (stack: Stack) => {
  const ws: WsClient = await connect(stack.server.url, { headers: { authorization: `Bearer ${stack.server.token}` } })
  try {
    const snapshot = await ws.next((m) => m.method === "state.snapshot")
    expect(stateOf(snapshot)).toBe("not-installed")

    expect((await stack.rpc("container-install", { appId })).result).toStrictEqual({ appId, op: "install", status: "installing", generation: 1 })
    await ws.next((m) => stateOf(m) === "running")

    ws.send({ jsonrpc: "2.0", id: "stop", method: "container-stop", params: { appId } })
    const reply = await ws.next((m) => m.id === "stop")
    expect(reply.result).toStrictEqual({ appId, op: "stop", status: "stopping", generation: reply.result.generation })
    expect(reply.result.generation).toBeGreaterThan(1)
    const replyAt = ws.messages.indexOf(reply)
    // After the reply, the list still says stopping: the graceful stop (2 s) is running.
    const listed = (await stack.rpc("container-list")).result.find((a: any) => a.id === appId)
    expect([listed.state, listed.visualState, listed.generation]).toStrictEqual(["stopping", "stopping", reply.result.generation])
    const stopped = await ws.next((m) => stateOf(m) === "stopped")
    expect(ws.messages.indexOf(stopped)).toBeGreaterThan(replyAt)

    const states = ws.messages.map(stateOf).filter((s) => s !== undefined)
    const firstStopping = states.indexOf("stopping")
    expect(states.slice(firstStopping).filter((s, i, a) => s !== a[i - 1])).toStrictEqual(["stopping", "stopped"])
    let seq = snapshot.params.seq
    for (const m of ws.messages) {
      if (m.method === "state.changed") {
        expect(m.params.seq).toBe(seq + 1)
        seq = m.params.seq
      }
    }
    expect((await stack.rpc("install-log", { appId })).result.length).toBeGreaterThan(0)
    expect((await stack.rpc("container-start", { appId: "--privileged" })).error.data).toStrictEqual({ field: "appId" })
    expect((await stack.rpc("container-start", { appId: "t-rpc-missing" })).error.code).toBe(-32001)
  } finally {
    await ws.close()
  }
}

describe("Serve.chooseEngine", () => {
  it("auto falls back to the simulator with a banner when podman is missing; podman then fails", async () => {
    const path = process.env["PATH"]
    process.env["PATH"] = tempDir("rpc-empty-path-")
    try {
      const auto = await Effect.runPromise(Serve.chooseEngine("auto"))
      expect([auto.engine, auto.banner?.startsWith("SIMULATED ENGINE: podman is not usable (")]).toStrictEqual(["simulated", true])
      const podman = await Effect.runPromise(Effect.result(Serve.chooseEngine("podman")))
      expect(podman._tag === "Failure" && podman.failure._tag).toBe("EngineUnavailable")
    } finally {
      process.env["PATH"] = path
    }
  })

  it("sim is the simulator whatever the host has", async () => {
    const sim = await Effect.runPromise(Serve.chooseEngine("sim"))
    expect([sim.engine, sim.banner]).toStrictEqual([
      "simulated",
      "SIMULATED ENGINE: started with --engine sim. Containers are simulated in memory; nothing runs for real."
    ])
  })

  it.skipIf(!hasPodman)("auto picks podman when podman info works", async () => {
    const auto = await Effect.runPromise(Serve.chooseEngine("auto"))
    expect([auto.engine, auto.banner]).toStrictEqual(["podman", undefined])
  })
})

describe("Serve on the simulator", () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack("sim")
  })
  afterAll(() => stack.close())

  it("says it is simulated, in server.version and on the page", async () => {
    expect((await stack.rpc("server.version")).result).toMatchObject({ version: ServerInfo.version, engine: "simulated" })
    const login = await fetch(stack.server.loginUrl, { redirect: "manual" })
    const cookie = login.headers.get("set-cookie")!.split(";")[0]!
    const page = await (await fetch(`${stack.server.url}/`, { headers: { cookie } })).text()
    expect(page).toContain("SIMULATED ENGINE")
  })

  it("install, then a stop answered before the container has stopped, pushed in order", () => lifecycleOverTheWire(stack))

  it("every message the server sends decodes with the protocol's schemas (Wire): answers, results and notifications", async () => {
    const problems: Array<string> = []
    const decodes = (what: string, schema: Schema.Decoder<unknown>, u: unknown) => {
      const r = Schema.decodeUnknownResult(schema)(u)
      if (Result.isFailure(r)) problems.push(`${what}: ${r.failure.message}`)
    }
    const answered = (method: string, body: any) => {
      decodes(`${method} (response)`, Wire.Response, body)
      if (body?.result !== undefined && Object.hasOwn(Wire.results, method)) {
        decodes(`${method} (result)`, Wire.results[method as keyof typeof Wire.results], body.result)
      }
    }
    const http = async (method: string, params?: unknown) => {
      const body = await stack.rpc(method, params)
      answered(method, body)
      return body
    }
    const ws: WsClient = await connect(stack.server.url, { headers: { authorization: `Bearer ${stack.server.token}` } })
    const sent = new Map<string, string>()
    const socketCall = async (method: string, params: unknown) => {
      const id = `w${sent.size}`
      sent.set(id, method)
      ws.send({ jsonrpc: "2.0", id, method, params })
      return ws.next((m) => m.id === id)
    }
    const stateNow = async () => (await http("container-list")).result.find((a: any) => a.id === appId).state
    try {
      await ws.next((m) => m.method === "state.snapshot")
      for (const method of [Wire.Method.ContainerList, Wire.Method.ServerVersion, Wire.Method.ContainerStats, Wire.Method.BackupList, Wire.Method.CatalogReload]) {
        await http(method)
      }
      // the data disk, measured by the server (not per request): a real disk has a size
      const disk = await http(Wire.Method.NodeDisk)
      expect(disk.result?.totalBytes).toBeGreaterThan(0)
      expect(((await socketCall(Wire.Method.NodeDisk, {})) as any).result?.totalBytes).toBeGreaterThan(0)
      await http(Wire.Method.InstallLog, { appId })
      await http(Wire.Method.InstallLog, { appId: "t-rpc-missing" })
      await http(Wire.Method.ContainerStart, { appId: "--privileged" })
      await http(await stateNow() === "not-installed" ? Wire.Method.ContainerInstall : Wire.Method.ContainerStart, { appId })
      await ws.next((m) => m.method === "state.changed" && m.params.app.id === appId && m.params.app.state === "running")
      await http(Wire.Method.ContainerLogs, { appId, tail: 5 })
      await socketCall(Wire.SocketMethod.LogsSubscribe, { appId, tail: 5 })
      const second = await socketCall(Wire.SocketMethod.LogsSubscribe, { appId, tail: 1 })
      await socketCall(Wire.SocketMethod.StatsSubscribe, {})
      await ws.next((m) => m.method === "stats.changed")
      await ws.next((m) => m.method === "logs.lines")
      await socketCall(Wire.SocketMethod.LogsUnsubscribe, { subscription: second.result?.subscription ?? "logs-0" })
      await socketCall(Wire.SocketMethod.StatsUnsubscribe, { subscription: "stats" })
      const beforeBackup = ws.messages.length
      await http(Wire.Method.ContainerBackup, { appId })
      await ws.next((m) => m.method === "backups.changed", beforeBackup)
      const backingUp = await ws.next((m) => m.method === "state.changed" && m.params.app.id === appId && m.params.app.state === "backing-up", beforeBackup)
      await ws.next((m) => m.method === "state.changed" && m.params.app.id === appId && m.params.app.state === "running", ws.messages.indexOf(backingUp))
      await http(Wire.Method.BackupList, { appId })
      await http(Wire.Method.ContainerStop, { appId })
      await ws.next((m) => m.method === "state.changed" && m.params.app.id === appId && m.params.app.state === "stopped")
      await ws.next((m) => m.method === "logs.ended")
    } finally {
      await ws.close()
    }
    const seen = new Set<string>()
    for (const m of ws.messages) {
      if (typeof m.method === "string") {
        decodes(`${m.method} (notification)`, Wire.NotificationMessage, m)
        seen.add(m.method)
        if (!Wire.isNotification(m.method)) problems.push(`${m.method}: not a notification of the protocol`)
        else decodes(`${m.method} (params)`, Wire.notifications[m.method as Wire.Notification], m.params)
      } else {
        answered(sent.get(m.id) ?? "?", m)
      }
    }
    expect(problems).toStrictEqual([])
    expect([...seen].sort()).toStrictEqual(Object.values(Wire.Notification).sort())
    // the backup was pushed (backups.changed) for the app it archived
    expect(ws.messages.filter((m) => m.method === "backups.changed").map((m) => m.params)).toContainEqual({ appId })
  }, 60_000)
})

describe("--install on first start (simulator)", () => {
  it("installs only apps nobody decided about: not twice, and not after the owner removed one", async () => {
    const stack = await startStack("sim")
    try {
      expect(await stack.run(Serve.installFirstStart([appId, "t-rpc-absent"]))).toStrictEqual([appId])
      const view = async () => (await stack.rpc("container-list")).result.find((a: any) => a.id === appId)
      expect((await view()).intent.installed).toBe(true)
      expect(await stack.run(Serve.installFirstStart([appId]))).toStrictEqual([])
      for (let i = 0; i < 100 && (await view()).state !== "running"; i++) await new Promise((r) => setTimeout(r, 50))
      expect((await stack.rpc("container-remove", { appId })).result.status).toBe("removing")
      for (let i = 0; i < 100 && (await view()).state !== "not-installed"; i++) await new Promise((r) => setTimeout(r, 50))
      expect((await view()).state).toBe("not-installed")
      expect(await stack.run(Serve.installFirstStart([appId]))).toStrictEqual([])
    } finally {
      await stack.close()
    }
  })
})

describe("--install after an unclean state read (simulator)", () => {
  for (const [what, content] of [
    ["truncated", "{\"version\":1,\"apps\":{"],
    ["empty", ""],
    ["null", "null"],
    ["an unknown state", JSON.stringify({ version: 1, apps: { [appId]: { intent: { installed: false, wantRunning: false, userStopped: false, updatedAt: 0 }, state: "hibernating" } } })]
  ] as const) {
    it(`skips first-start installs when state.json is ${what}`, async () => {
      const data = tempDir("rpc-data-")
      writeFileSync(join(data, "state.json"), content)
      const stack = await startStack("sim", data)
      try {
        expect(await stack.run(Serve.installFirstStart([appId]))).toStrictEqual([])
        const view = (await stack.rpc("container-list")).result.find((a: any) => a.id === appId)
        expect(view.intent.installed).toBe(false)
      } finally {
        await stack.close()
      }
    })
  }
})

describe.skipIf(!hasPodman)("Serve on podman", () => {
  let stack: Stack
  beforeAll(async () => {
    await Effect.runPromise(BaseImage.ensure())
    stack = await startStack("podman")
  })
  afterAll(async () => {
    await stack?.close()
    execFileSync("sh", ["-c", `podman rm -f -t 0 ${appId} >/dev/null 2>&1; podman images --format '{{.Repository}}:{{.Tag}}' | grep '${appId}' | xargs -r podman rmi -f >/dev/null 2>&1; true`])
  })

  it("reports podman in server.version", async () => {
    expect((await stack.rpc("server.version")).result).toMatchObject({ version: ServerInfo.version, engine: "podman" })
  })

  it("install, then a stop answered before the container has stopped, pushed in order", () => lifecycleOverTheWire(stack), 180_000)

  it("container-logs returns the container's own log", async () => {
    const r = await stack.rpc("container-logs", { appId, tail: 50 })
    expect(r.result.appId).toBe(appId)
    expect(r.result.text).toContain(`${appId}: SIGTERM received`)
  })
})

describe("registries and offline reach the orchestrator (simulator, issue 27)", () => {
  it("offline: an image on docker.io is refused at install, naming the app, its manifest and the image; no pull is tried", async () => {
    const apps = tempDir("rpc-apps-")
    const id = `${appId}-hub`
    mkdirSync(join(apps, id))
    writeFileSync(join(apps, id, "manifest.yml"), [`id: ${id}`, "name: Hub image", "version: \"1\"", "image: busybox:1", ""].join("\n"))
    const choice = await Effect.runPromise(Serve.chooseEngine("sim"))
    const runtime = ManagedRuntime.make(Serve.layer({
      apps,
      data: tempDir("rpc-data-"),
      host: "127.0.0.1",
      port: 0,
      engine: "sim",
      scanInterval: Duration.seconds(30),
      reconcileInterval: Duration.seconds(30),
      allowOrigins: [],
      install: [],
      registries: [{ location: "127.0.0.1:5000", insecure: true }],
      offline: true
    }, choice))
    try {
      const server = await runtime.runPromise(Server.RpcServer)
      const rpc = rpcTo(server)
      await rpc("container-install", { appId: id })
      let view: any
      for (let i = 0; i < 100; i++) {
        view = (await rpc("container-list")).result.find((a: any) => a.id === id)
        if (view.lastError !== undefined && view.lastError !== null && view.transition == null) break
        await new Promise((r) => setTimeout(r, 50))
      }
      expect(view.state).toBe("not-installed")
      expect(view.lastError.message).toContain(
        `cannot fetch the image of ${id}: ${join(apps, id, "manifest.yml")} image: offline: not pulling busybox:1 (docker.io/library/busybox:1): ` +
          "docker.io is not a listed registry and no mirror is set (listed: 127.0.0.1:5000)"
      )
      const log = (await rpc("install-log", { appId: id })).result
      expect(JSON.stringify(log)).not.toMatch(/"message":"(pulling|fetching) /)
    } finally {
      await runtime.dispose()
    }
  })
})

describe.skipIf(!hasPodman || !hasRegistry)("registries from the config file, on podman (issue 27)", () => {
  it("config.yml lists a plain-HTTP registry as insecure, with offline on: serve installs an app from it", async () => {
    await Effect.runPromise(BaseImage.ensure())
    const registry = await startRegistry()
    const id = `${appId}-reg`
    const apps = tempDir("rpc-apps-")
    const image = registry.push("localhost/archipelago/base:latest", `${id}:1`)
    execFileSync("podman", ["rmi", "-f", image], { stdio: "ignore" })
    mkdirSync(join(apps, id))
    writeFileSync(join(apps, id, "manifest.yml"), [
      `id: ${id}`, "name: From my registry", "version: \"1\"", `image: ${image}`, "container:", "  command: [\"sleep\", \"3600\"]", "stopTimeout: 2", ""
    ].join("\n"))
    const config = join(tempDir("rpc-config-"), "config.yml")
    writeFileSync(config, [
      `apps: ${apps}`, `data: ${tempDir("rpc-data-")}`, "port: 0", "engine: podman",
      "registries:", `  - { location: "${registry.host}", insecure: true }`, "offline: true", ""
    ].join("\n"))
    const options = await Effect.runPromise(Cli.loadOptions({}, config, {}))
    expect([options.registries, options.offline]).toStrictEqual([[{ location: registry.host, insecure: true }], true])
    const choice = await Effect.runPromise(Serve.chooseEngine("podman"))
    const runtime = ManagedRuntime.make(Serve.layer(options, choice))
    try {
      const server = await runtime.runPromise(Server.RpcServer)
      const rpc = rpcTo(server)
      await rpc("container-install", { appId: id })
      let view: any
      for (let i = 0; i < 600; i++) {
        view = (await rpc("container-list")).result.find((a: any) => a.id === id)
        if (view.state === "running" || (view.lastError != null && view.transition == null)) break
        await new Promise((r) => setTimeout(r, 100))
      }
      const log = (await rpc("install-log", { appId: id })).result.map((l: any) => l.message)
      expect(view.state, log.join("\n")).toBe("running")
      expect(log).toContain(`pulling ${image}`)
    } finally {
      await runtime.dispose()
      execFileSync("sh", ["-c", `podman rm -f -t 0 ${id} >/dev/null 2>&1; podman rmi -f ${image} >/dev/null 2>&1; true`])
      await registry.stop()
    }
  }, 240_000)
})

import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as NodePath from "node:path"
import { Server } from "@archipelago/rpc-adapter"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schedule, References } from "effect"
import { layer } from "../server.js"

let dataDir = ""
beforeAll(async () => {
  dataDir = await Fs.mkdtemp(NodePath.join(Os.tmpdir(), "archy-example-custom-hook-server-"))
})
afterAll(async () => {
  await Fs.rm(dataDir, { recursive: true, force: true })
})

const rpc = (server: Server.Service, method: string, params: object) =>
  Effect.promise(async () => {
    const response = await fetch(`${server.url}/rpc`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params })
    })
    return (await response.json()) as { result?: unknown; error?: { message: string } }
  })

const pollEvery = Schedule.max([Schedule.spaced("50 millis"), Schedule.recurs(200)])

describe("examples/custom-hook server", () => {
  it.live("installing hello over JSON-RPC runs the custom hook; a tampered file is rewritten and the app restarted (simulator)", () =>
    Effect.gen(function*() {
      const server = yield* Server.RpcServer
      expect(yield* rpc(server, "container-install", { appId: "hello" })).toEqual({
        jsonrpc: "2.0",
        id: 1,
        result: { appId: "hello", op: "install", status: "installing", generation: 1 }
      })
      const state = yield* rpc(server, "container-list", {}).pipe(
        Effect.map((r) => (r.result as ReadonlyArray<{ id: string; state: string }>).find((a) => a.id === "hello")?.state),
        Effect.filterOrFail((s) => s === "running"),
        Effect.retry(pollEvery)
      )
      expect(state).toBe("running")
      expect(yield* Effect.promise(() => Fs.readFile(NodePath.join(dataDir, "apps", "hello", "www", "index.html"), "utf8"))).toBe(
        "<!doctype html>\n<h1>Hello from Hello</h1>\n"
      )
      expect((yield* Effect.promise(() => Fs.stat(NodePath.join(dataDir, "apps", "hello", "api.env")))).mode & 0o777).toBe(0o600)

      // Drift repair: a reconcile pass renders again, rewrites the tampered page and restarts the app.
      const hello = (r: { result?: unknown }) =>
        (r.result as ReadonlyArray<{ id: string; state: string; startedAt: number | null }>).find((a) => a.id === "hello")!
      // the start time a restart changes, once a scan has seen it: an operation settles on
      // podman's answer to `start`, which carries no start time; the next scan brings it
      const before = yield* rpc(server, "container-list", {}).pipe(
        Effect.map(hello),
        Effect.filterOrFail((a) => a.state === "running" && a.startedAt !== null),
        Effect.retry(pollEvery)
      )
      // A converged app is left alone: several passes later it has not been restarted.
      yield* Effect.sleep("600 millis")
      expect(hello(yield* rpc(server, "container-list", {})).startedAt).toBe(before.startedAt)
      const page = NodePath.join(dataDir, "apps", "hello", "www", "index.html")
      yield* Effect.promise(() => Fs.writeFile(page, "<h1>defaced</h1>\n"))
      const after = yield* rpc(server, "container-list", {}).pipe(
        Effect.map(hello),
        Effect.filterOrFail((a) => a.state === "running" && a.startedAt !== null && a.startedAt !== before.startedAt),
        Effect.retry(pollEvery)
      )
      expect(after.startedAt).toBeGreaterThan(before.startedAt!)
      expect(yield* Effect.promise(() => Fs.readFile(page, "utf8"))).toBe("<!doctype html>\n<h1>Hello from Hello</h1>\n")
    }).pipe(
      Effect.provide(Layer.suspend(() => layer({ dataDir, port: 0, simulated: true, reconcileInterval: "100 millis" }))),
      Effect.provideService(References.MinimumLogLevel, "Warn")
    ))
})

import { describe, expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { AppViews } from "@archipelago/orchestrator"
import * as ServerInfo from "../src/ServerInfo.js"
import * as Dispatch from "../src/Dispatch.js"
import { makeFake, view } from "./fixtures.js"

const apps = () => [view("lnd", "running"), view("bitcoin-knots", "stopped"), view("electrumx", "not-installed")]

const call = (fake: ReturnType<typeof makeFake>, method: string, params?: unknown) =>
  Dispatch.body(JSON.stringify({ jsonrpc: "2.0", id: 1, method, ...(params === undefined ? {} : { params }) })).pipe(
    Effect.provide(fake.layer)
  )

describe("Dispatch.body", () => {
  it.effect("container-list returns every view with its kebab-case state", () =>
    Effect.gen(function*() {
      const fake = makeFake(apps())
      const r: any = yield* call(fake, "container-list")
      expect(r.result.map((v: any) => [v.id, v.state, v.visualState])).toStrictEqual([
        ["lnd", "running", "running"],
        ["bitcoin-knots", "stopped", "stopped"],
        ["electrumx", "not-installed", "not-installed"]
      ])
      const alias: any = yield* call(fake, "package.list", {})
      expect(alias.result).toStrictEqual(r.result)
    }))

  it.effect("lifecycle methods answer at once with the transitional state", () =>
    Effect.gen(function*() {
      const cases: Array<[string, string, string, string]> = [
        ["container-stop", "lnd", "stop", "stopping"],
        ["container-start", "bitcoin-knots", "start", "starting"],
        ["container-install", "electrumx", "install", "installing"]
      ]
      for (const [method, appId, op, status] of cases) {
        const fake = makeFake(apps())
        expect(yield* call(fake, method, { appId })).toStrictEqual({ jsonrpc: "2.0", id: 1, result: { appId, op, status, generation: 1 } })
        expect(fake.current().find((v) => v.id === appId)!.state).toBe(status)
      }
      for (const [method, op, status] of [["container-restart", "restart", "restarting"], ["container-update", "update", "updating"]] as const) {
        const fake = makeFake(apps())
        expect(yield* call(fake, method, { appId: "lnd" })).toStrictEqual({ jsonrpc: "2.0", id: 1, result: { appId: "lnd", op, status, generation: 1 } })
      }
    }))

  it.effect("container-remove passes purge through", () =>
    Effect.gen(function*() {
      const fake = makeFake(apps())
      expect(yield* call(fake, "container-remove", { appId: "lnd", purge: true })).toStrictEqual({
        jsonrpc: "2.0",
        id: 1,
        result: { appId: "lnd", op: "remove", status: "removing", generation: 1 }
      })
      expect(fake.requests).toStrictEqual([{ op: "remove", appId: "lnd", purge: true }])
      yield* call(fake, "container-remove", { appId: "lnd", cascade: true })
      expect(fake.requests[1]).toStrictEqual({ op: "remove", appId: "lnd", cascade: true })
    }))

  it.effect("aliases take the same asynchronous path", () =>
    Effect.gen(function*() {
      const aliases: Array<[string, string, string]> = [
        ["package.install", "electrumx", "install"],
        ["package.start", "bitcoin-knots", "start"],
        ["package.stop", "lnd", "stop"],
        ["package.restart", "lnd", "restart"],
        ["package.update", "lnd", "update"],
        ["package.remove", "lnd", "remove"],
        ["bundled-app-start", "bitcoin-knots", "start"],
        ["bundled-app-stop", "lnd", "stop"]
      ]
      for (const [method, appId, op] of aliases) {
        const fake = makeFake(apps())
        const r: any = yield* call(fake, method, { appId })
        expect([r.result.op, fake.requests]).toStrictEqual([op, [{ op, appId }]])
      }
    }))

  it.effect("install-log, container-logs and server.version", () =>
    Effect.gen(function*() {
      const fake = makeFake(apps())
      expect(yield* call(fake, "install-log", { appId: "lnd" })).toStrictEqual({
        jsonrpc: "2.0",
        id: 1,
        result: [{ seq: 1, at: 1, level: "info", message: "installed lnd" }]
      })
      expect(yield* call(fake, "container-logs", { appId: "lnd" })).toStrictEqual({
        jsonrpc: "2.0",
        id: 1,
        result: { appId: "lnd", text: "lnd log, last 200 lines\n", truncated: false }
      })
      expect(yield* call(fake, "container-logs", { appId: "lnd", tail: 5 })).toStrictEqual({
        jsonrpc: "2.0",
        id: 1,
        result: { appId: "lnd", text: "lnd log, last 5 lines\n", truncated: false }
      })
      expect(yield* call(fake, "server.version")).toStrictEqual({
        jsonrpc: "2.0",
        id: 1,
        result: { version: ServerInfo.version, engine: "simulated", engineVersion: "sim-1" }
      })
    }))

  it.effect("an unknown method answers -32601 naming it", () =>
    Effect.gen(function*() {
      expect(yield* call(makeFake(apps()), "container-explode", {})).toStrictEqual({
        jsonrpc: "2.0",
        id: 1,
        error: { code: -32601, message: "method not found: container-explode", data: { method: "container-explode" } }
      })
    }))

  it.effect("bad app ids answer -32602 naming appId and change nothing", () =>
    Effect.gen(function*() {
      for (const appId of ["../x", "--privileged", "", "LND", "a/b", "x".repeat(64), 5, null]) {
        const fake = makeFake(apps())
        const r: any = yield* call(fake, "container-stop", { appId })
        expect([r.error.code, r.error.data, r.error.message.startsWith("invalid params: appId: ")]).toStrictEqual([
          -32602,
          { field: "appId" },
          true
        ])
        expect(fake.requests).toStrictEqual([])
        expect(fake.current()).toStrictEqual(apps())
      }
    }))

  it.effect("missing, unexpected and ill-typed fields are named", () =>
    Effect.gen(function*() {
      const fake = makeFake(apps())
      const messages = []
      for (
        const [method, params] of [
          ["container-start", {}],
          ["container-start", { appId: "lnd", force: true }],
          ["container-remove", { appId: "lnd", purge: "yes" }],
          ["container-logs", { appId: "lnd", tail: 0 }],
          ["container-list", { all: true }]
        ] as const
      ) {
        const r: any = yield* call(fake, method, params)
        messages.push([r.error.code, r.error.data.field])
      }
      expect(messages).toStrictEqual([
        [-32602, "appId"],
        [-32602, "force"],
        [-32602, "purge"],
        [-32602, "tail"],
        [-32602, "all"]
      ])
      expect(fake.requests).toStrictEqual([])
    }))

  it.effect("application errors: unknown app, conflict, not allowed, engine", () =>
    Effect.gen(function*() {
      const fake = makeFake(apps())
      expect(yield* call(fake, "container-start", { appId: "nope" })).toStrictEqual({
        jsonrpc: "2.0",
        id: 1,
        error: { code: -32001, message: "unknown app: nope", data: { appId: "nope" } }
      })
      yield* call(fake, "container-stop", { appId: "lnd" })
      expect(yield* call(fake, "container-start", { appId: "lnd" })).toStrictEqual({
        jsonrpc: "2.0",
        id: 1,
        error: {
          code: -32002,
          message: "cannot start lnd: stop is already in progress; wait for it to finish",
          data: { appId: "lnd", running: "stop", refused: "start" }
        }
      })
      expect(yield* call(fake, "container-start", { appId: "electrumx" })).toStrictEqual({
        jsonrpc: "2.0",
        id: 1,
        error: {
          code: -32003,
          message: "cannot start electrumx: it is not installed",
          data: { appId: "electrumx", op: "start", state: "not-installed" }
        }
      })
      expect(yield* call(fake, "container-logs", { appId: "electrumx" })).toStrictEqual({
        jsonrpc: "2.0",
        id: 1,
        error: { code: -32004, message: "no such container: electrumx", data: { container: "electrumx" } }
      })
    }))

  it.effect("a defect answers -32603 without detail", () =>
    Effect.gen(function*() {
      const fake = makeFake(apps())
      const r = yield* Dispatch.request({ method: "container-list", params: {}, id: 3 }).pipe(
        Effect.provideService(AppViews.AppViews, {
          list: Effect.die(new Error("secret stack")),
          changes: Stream.die("unused"),
          installLog: () => Effect.die("unused"),
          containerLogs: () => Effect.die("unused"),
          followLogs: () => Stream.die("unused"),
          resources: Effect.die("unused")
        }),
        Effect.provide(fake.layer)
      )
      expect(r).toStrictEqual({ jsonrpc: "2.0", id: 3, error: { code: -32603, message: "internal error" } })
    }))

  it.effect("a defect or a throw in one batch element answers -32603 for it alone; the next still runs", () =>
    Effect.gen(function*() {
      const fake = makeFake(apps())
      const body = JSON.stringify([
        { jsonrpc: "2.0", id: 1, method: "install-log", params: { appId: "lnd" } },
        { jsonrpc: "2.0", id: 2, method: "container-logs", params: { appId: "lnd" } },
        { jsonrpc: "2.0", id: 3, method: "container-stop", params: { appId: "lnd" } }
      ])
      const r = yield* Dispatch.body(body).pipe(
        Effect.provideService(AppViews.AppViews, {
          list: Effect.die("unused"),
          changes: Stream.die("unused"),
          installLog: () => Effect.die(new RangeError("Maximum call stack size exceeded")),
          containerLogs: () => {
            throw new Error("thrown outside an effect")
          },
          followLogs: () => Stream.die("unused"),
          resources: Effect.die("unused")
        }),
        Effect.provide(fake.layer)
      )
      expect(r).toStrictEqual([
        { jsonrpc: "2.0", id: 1, error: { code: -32603, message: "internal error" } },
        { jsonrpc: "2.0", id: 2, error: { code: -32603, message: "internal error" } },
        { jsonrpc: "2.0", id: 3, result: { appId: "lnd", op: "stop", status: "stopping", generation: 1 } }
      ])
    }))

  it.effect("amplification: a 4 KB batch of 50 install-log calls answers pages within the response budget", () =>
    Effect.gen(function*() {
      const fake = makeFake(apps())
      const full = Array.from({ length: 500 }, (_, i) => ({ seq: i + 1, at: 1, level: "info" as const, message: `pulling layer ${i} ${"x".repeat(100)}` }))
      const batch = JSON.stringify(Array.from({ length: 50 }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "install-log", params: { appId: "lnd" } })))
      expect(batch.length).toBeLessThan(4_096)
      const withLog = <A, E, R>(e: Effect.Effect<A, E, R>) =>
        e.pipe(
          Effect.provideService(AppViews.AppViews, {
            list: Effect.die("unused"),
            changes: Stream.die("unused"),
            installLog: () => Effect.succeed(full),
            containerLogs: () => Effect.succeed(`${"y".repeat(200)}\n`.repeat(10_000)),
            followLogs: () => Stream.die("unused"),
            resources: Effect.die("unused")
          }),
          Effect.provide(fake.layer)
        )
      const r = (yield* withLog(Dispatch.body(batch))) as ReadonlyArray<any>
      const size = Buffer.byteLength(JSON.stringify(r))
      expect(size).toBeLessThanOrEqual(Dispatch.defaultMaxResponseBytes + 50 * 1024)
      expect(r.map((x) => x.id)).toStrictEqual(Array.from({ length: 50 }, (_, i) => i))
      expect(r[0].result.length).toBe(100)
      expect(r[0].result[99].seq).toBe(500)
      const refused = r.filter((x) => "error" in x)
      expect(refused.length).toBeGreaterThan(0)
      expect(refused[0].error).toMatchObject({ code: -32005, data: { limit: Dispatch.defaultMaxResponseBytes } })
      // One container-logs answer is capped too.
      const logs: any = yield* withLog(Dispatch.body(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "container-logs", params: { appId: "lnd", tail: 10000 } })))
      expect(logs.result.truncated).toBe(true)
      expect(Buffer.byteLength(logs.result.text)).toBeLessThanOrEqual(128 * 1024)
    }))

  it.effect("a batch runs in order; notifications get no answer", () =>
    Effect.gen(function*() {
      const fake = makeFake(apps())
      const body = JSON.stringify([
        { jsonrpc: "2.0", id: "a", method: "container-stop", params: { appId: "lnd" } },
        { jsonrpc: "2.0", method: "container-start", params: { appId: "bitcoin-knots" } },
        { jsonrpc: "2.0", id: "b", method: "container-start", params: { appId: "lnd" } },
        42
      ])
      const r = yield* Dispatch.body(body).pipe(Effect.provide(fake.layer))
      expect(r).toStrictEqual([
        { jsonrpc: "2.0", id: "a", result: { appId: "lnd", op: "stop", status: "stopping", generation: 1 } },
        {
          jsonrpc: "2.0",
          id: "b",
          error: {
            code: -32002,
            message: "cannot start lnd: stop is already in progress; wait for it to finish",
            data: { appId: "lnd", running: "stop", refused: "start" }
          }
        },
        { jsonrpc: "2.0", id: null, error: { code: -32600, message: "invalid request: expected an object" } }
      ])
      expect(fake.requests.map((q) => q.op)).toStrictEqual(["stop", "start", "start"])
      const onlyNotifications = JSON.stringify([{ jsonrpc: "2.0", method: "container-list" }])
      expect(yield* Dispatch.body(onlyNotifications).pipe(Effect.provide(fake.layer))).toBe(undefined)
    }))
})

describe("Dispatch.bodyText", () => {
  it.effect("is body's reply serialized: the same answers, byte for byte, for single, batch, rejected and notification-only bodies", () =>
    Effect.gen(function*() {
      const bodies = [
        JSON.stringify({ jsonrpc: "2.0", id: 7, method: "container-list" }),
        JSON.stringify({ jsonrpc: "2.0", id: "x", method: "no-such-method" }),
        JSON.stringify([
          { jsonrpc: "2.0", id: 1, method: "container-list" },
          { jsonrpc: "2.0", method: "container-list" },
          { jsonrpc: "2.0", id: 2, method: "container-stop", params: { appId: "nope" } },
          17
        ]),
        JSON.stringify([{ jsonrpc: "2.0", method: "container-list" }]),
        "{not json",
        "[]"
      ]
      for (const text of bodies) {
        const fake = makeFake(apps())
        const reply = yield* Dispatch.body(text).pipe(Effect.provide(fake.layer))
        const again = makeFake(apps())
        const serialized = yield* Dispatch.bodyText(text).pipe(Effect.provide(again.layer))
        expect(serialized).toBe(reply === undefined ? undefined : JSON.stringify(reply))
      }
    }))

  it.effect("spends the response budget on the bytes it sends: past it an answer becomes the -32005 error", () =>
    Effect.gen(function*() {
      const fake = makeFake(apps())
      const batch = JSON.stringify(Array.from({ length: 5 }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "container-list" })))
      const one = yield* Dispatch.bodyText(JSON.stringify({ jsonrpc: "2.0", id: 0, method: "container-list" })).pipe(Effect.provide(fake.layer))
      const size = Buffer.byteLength(one!)
      // room for two answers and a half: the third is replaced (it is larger than a small answer),
      // the ones after it are not run
      const text = yield* Dispatch.bodyText(batch, { maxResponseBytes: Math.floor(size * 2.5) }).pipe(Effect.provide(fake.layer))
      const answers = JSON.parse(text!) as ReadonlyArray<{ id: number; error?: { code: number } }>
      expect(answers.map((a) => a.id)).toStrictEqual([0, 1, 2, 3, 4])
      expect(answers.map((a) => a.error?.code)).toStrictEqual([undefined, undefined, -32005, -32005, -32005])
    }))
})

import { existsSync, lstatSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs"
import * as Http from "node:http"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Effect, Exit, Layer, Logger, Schedule, Scope } from "effect"
import fc from "fast-check"
import { WebSocket } from "ws"
import * as Auth from "../src/Auth.js"
import * as ServerInfo from "../src/ServerInfo.js"
import * as Dashboard from "../src/Dashboard.js"
import * as JsonRpc from "../src/JsonRpc.js"
import * as Push from "../src/Push.js"
import * as Resources from "../src/Resources.js"
import * as Server from "../src/Server.js"
import { makeFake, tempDir, view } from "./fixtures.js"
import type { Fake } from "./fixtures.js"
import { connect, start } from "./harness.js"
import type { Running } from "./harness.js"

const apps = () => [view("lnd", "running"), view("bitcoin-knots", "stopped"), view("electrumx", "not-installed")]

const bearer = (s: Running) => ({ authorization: `Bearer ${s.server.token}` })

describe("Server over HTTP", () => {
  let fake: Fake
  let s: Running
  beforeAll(async () => {
    fake = makeFake(apps())
    s = await start(fake.layer, { maxBodyBytes: 64 * 1024, password: "correct horse" })
  })
  afterAll(() => s.close())

  it("answers every method on POST /rpc", async () => {
    const list = await s.call("container-list")
    expect(list.result.map((v: any) => v.state)).toStrictEqual(["running", "stopped", "not-installed"])
    expect((await s.call("server.version")).result).toStrictEqual({ version: ServerInfo.version, engine: "simulated", engineVersion: "sim-1" })
    expect((await s.call("install-log", { appId: "lnd" })).result).toStrictEqual([{ seq: 1, at: 1, level: "info", message: "installed lnd" }])
    expect((await s.call("container-logs", { appId: "lnd", tail: 3 })).result).toStrictEqual({ appId: "lnd", text: "lnd log, last 3 lines\n", truncated: false })
    expect((await s.call("container-nope")).error).toStrictEqual({ code: -32601, message: "method not found: container-nope", data: { method: "container-nope" } })
    expect((await s.call("container-start", { appId: "--privileged" })).error.data).toStrictEqual({ field: "appId" })
    const res = await s.rpc([{ jsonrpc: "2.0", method: "container-list" }])
    expect(res.status).toBe(204)
  })

  it("answers POST /rpc with its headers and the exact bytes of the answer (served ahead of the router)", async () => {
    const res = await s.rpc({ jsonrpc: "2.0", id: 9, method: "server.version" })
    const text = await res.text()
    expect(res.status).toBe(200)
    expect(res.headers.get("content-type")).toBe("application/json")
    expect(res.headers.get("cache-control")).toBe("no-store")
    expect(Number(res.headers.get("content-length"))).toBe(Buffer.byteLength(text))
    expect(JSON.parse(text)).toMatchObject({ jsonrpc: "2.0", id: 9, result: { version: ServerInfo.version } })
    const unreadable = await fetch(`${s.server.url}/rpc`, {
      method: "POST",
      headers: { authorization: `Bearer ${s.server.token}`, "content-type": "application/json" },
      body: "{not json"
    })
    expect(unreadable.status).toBe(200)
    expect((await unreadable.json()).error.code).toBe(-32700)
  })

  it("runs lifecycle methods, answering with the transitional state", async () => {
    const local = makeFake(apps())
    const t = await start(local.layer)
    try {
      for (const [method, appId, status] of [
        ["container-stop", "lnd", "stopping"],
        ["container-start", "bitcoin-knots", "starting"],
        ["container-install", "electrumx", "installing"]
      ]) {
        expect((await t.call(method!, { appId })).result).toStrictEqual({ appId, op: method!.slice(10), status, generation: 1 })
      }
      expect((await t.call("container-start", { appId: "lnd" })).error.code).toBe(-32002)
      await local.complete("lnd")
      await local.complete("electrumx")
      await local.complete("bitcoin-knots")
      expect((await t.call("container-restart", { appId: "bitcoin-knots" })).result.status).toBe("restarting")
      await local.complete("bitcoin-knots")
      expect((await t.call("container-update", { appId: "bitcoin-knots" })).result.status).toBe("updating")
      await local.complete("bitcoin-knots")
      expect((await t.call("container-remove", { appId: "bitcoin-knots", purge: false })).result.status).toBe("removing")
      expect(local.requests.map((r) => r.op)).toStrictEqual(["stop", "start", "install", "start", "restart", "update", "remove"])
    } finally {
      await t.close()
    }
  })

  it("refuses requests without a valid token with 401 and changes nothing", async () => {
    const before = fake.current()
    const requests = fake.requests.length
    for (const headers of [{}, { authorization: "Bearer wrong" }, { cookie: `archy_session=${s.server.token}` }]) {
      const res = await s.rpc({ jsonrpc: "2.0", id: 1, method: "container-stop", params: { appId: "lnd" } }, headers)
      expect(res.status).toBe(401)
      expect(res.headers.get("www-authenticate")).toBe("Bearer realm=\"archipelago\"")
    }
    expect(fake.current()).toStrictEqual(before)
    expect(fake.requests.length).toBe(requests)
  })

  it("refuses browser requests from another origin with 403", async () => {
    const res = await s.rpc({ jsonrpc: "2.0", id: 1, method: "container-list" }, { ...bearer(s), origin: "http://evil.example" })
    expect(res.status).toBe(403)
    const same = await s.rpc({ jsonrpc: "2.0", id: 1, method: "container-list" }, { ...bearer(s), origin: s.server.url })
    expect(same.status).toBe(200)
  })

  it("answers 413 to a body over the cap, declared or streamed", async () => {
    const big = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "container-list", params: { pad: "x".repeat(70 * 1024) } })
    const declared = await s.rpc(big)
    expect(declared.status).toBe(413)
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = Http.request(`${s.server.url}/rpc`, { method: "POST", headers: { ...bearer(s), "transfer-encoding": "chunked" } }, (res) => {
        res.resume()
        resolve(res.statusCode!)
      })
      req.on("error", reject)
      for (let i = 0; i < 10; i++) req.write("x".repeat(8 * 1024))
      req.end()
    })
    expect(streamed).toBe(413)
    expect((await s.call("container-list")).result.length).toBe(3)
  })

  it("logs a browser in with /login?token= (HttpOnly SameSite=Strict cookie) and the cookie works", async () => {
    const res = await fetch(`${s.server.loginUrl}`, { redirect: "manual" })
    expect(res.status).toBe(302)
    expect(res.headers.get("location")).toBe("/")
    const cookie = res.headers.get("set-cookie")!
    expect(cookie).toMatch(/^archy_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=43200$/)
    const pair = cookie.split(";")[0]!
    const rpc = await s.rpc({ jsonrpc: "2.0", id: 1, method: "server.version" }, { cookie: pair })
    expect(rpc.status).toBe(200)
    const page = await fetch(`${s.server.url}/`, { headers: { cookie: pair } })
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).toContain("Archipelago")
    const wrong = await fetch(`${s.server.url}/login?token=nope`, { redirect: "manual" })
    expect([wrong.status, wrong.headers.get("set-cookie")]).toStrictEqual([401, null])
    const anonymous = await fetch(`${s.server.url}/`)
    expect(anonymous.status).toBe(401)
  })

  it("logs in with the password (form and JSON), refuses a wrong one", async () => {
    const form = await fetch(`${s.server.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "password=correct+horse",
      redirect: "manual"
    })
    expect([form.status, form.headers.get("location")]).toStrictEqual([303, "/"])
    expect(form.headers.get("set-cookie")).toMatch(/HttpOnly; SameSite=Strict; Path=\//)
    const json = await fetch(`${s.server.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ password: "correct horse" })
    })
    expect(json.status).toBe(204)
    const wrong = await fetch(`${s.server.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ password: "wrong" })
    })
    expect([wrong.status, wrong.headers.get("set-cookie")]).toStrictEqual([401, null])
  })

  it("password login is refused when no password is configured", async () => {
    const t = await start(makeFake(apps()).layer)
    try {
      const res = await fetch(`${t.server.url}/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ password: "" })
      })
      expect([res.status, res.headers.get("set-cookie")]).toStrictEqual([401, null])
    } finally {
      await t.close()
    }
  })

  it("unknown paths answer 404", async () => {
    expect((await fetch(`${s.server.url}/nope`)).status).toBe(404)
  })

  it("another spelling of /rpc (slashes, case, ;, %-escapes) is not found, never /rpc without credentials", async () => {
    const requests = fake.requests.length
    // raw request targets: fetch would normalize them before sending
    const raw = (target: string) =>
      new Promise<number>((resolve, reject) => {
        const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "container-stop", params: { appId: "lnd" } })
        const req = Http.request(s.server.url, { method: "POST", path: target, headers: { "content-type": "application/json" } }, (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        })
        req.on("error", reject)
        req.end(body)
      })
    const answers: Array<[string, number]> = []
    for (const target of ["//rpc", "/RPC", "/rpc/", "/rpc;x", "/%72pc", "/rpc#x", "/rpc?x", "/Login", "/login/"]) answers.push([target, await raw(target)])
    expect(answers).toStrictEqual([
      ["//rpc", 404],
      ["/RPC", 404],
      ["/rpc/", 404],
      ["/rpc;x", 404],
      ["/%72pc", 404],
      ["/rpc#x", 401],
      ["/rpc?x", 401],
      ["/Login", 404],
      ["/login/", 404]
    ])
    expect(fake.requests.length).toBe(requests)
  })
})

describe("Server binding", () => {
  const warnings = async (host: string) => {
    const logged: Array<string> = []
    const logger = Logger.make(({ logLevel, message }) => {
      if (logLevel === "Warn") logged.push(String(Array.isArray(message) ? message.join(" ") : message))
    })
    const fake = makeFake(apps())
    await Effect.runPromise(
      Effect.scoped(Effect.asVoid(Server.make({ host, port: 0, dataDir: tempDir() }))).pipe(
        Effect.provide(Push.layer),
        Effect.provide(Resources.layer()),
        Effect.provide(fake.layer),
        Effect.provide(Logger.layer([logger]))
      )
    )
    return logged
  }

  it("binds 127.0.0.1 by default, quietly", async () => {
    expect(Server.defaults.host).toBe("127.0.0.1")
    expect(await warnings("127.0.0.1")).toStrictEqual([])
  })

  it("warns loudly when bound beyond loopback", async () => {
    const logged = await warnings("0.0.0.0")
    expect(logged.length).toBe(1)
    expect(logged[0]).toMatch(/^WARNING: the RPC server listens on 0\.0\.0\.0:\d+, reachable from the network\./)
  })
})

describe("Server.listen before its services (a node still starting)", () => {
  it("answers the dashboard at once and holds RPC and WebSocket clients until attach, then answers them with the observed states", async () => {
    const fake = makeFake(apps())
    const scope = Effect.runSync(Scope.make())
    const listening = await Effect.runPromise(Scope.provide(Server.listen({ port: 0, dataDir: tempDir() }), scope))
    try {
      const { url, token } = listening.service
      const auth = { authorization: `Bearer ${token}` }
      // the page answers while nothing has been observed yet
      expect((await fetch(`${url}/`)).status).toBe(401)
      expect((await fetch(`${url}/`, { headers: auth })).status).toBe(200)
      // credentials are still checked at once
      const refused = await fetch(`${url}/rpc`, { method: "POST", body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "container-list" }) })
      expect(refused.status).toBe(401)
      // an RPC and a WebSocket client wait: no answer, no snapshot, before attach
      let answered = false
      const held = fetch(`${url}/rpc`, {
        method: "POST",
        headers: { "content-type": "application/json", ...auth },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "container-list" })
      }).then(async (r) => {
        answered = true
        return r.json()
      })
      let opened = false
      const socket = connect(url, { headers: auth }).then((c) => {
        opened = true
        return c
      })
      await new Promise((r) => setTimeout(r, 300))
      expect([answered, opened]).toStrictEqual([false, false])
      // the services arrive: both proceed, with what the services say
      const context = await Effect.runPromise(
        Layer.build(Layer.merge(Push.layer, Resources.layer()).pipe(Layer.provideMerge(fake.layer))).pipe(Scope.provide(scope))
      )
      await Effect.runPromise(listening.attach(context))
      expect((await held).result.map((v: any) => v.state)).toStrictEqual(["running", "stopped", "not-installed"])
      const c = await socket
      const snapshot = await c.next((m) => m.method === "state.snapshot")
      expect(snapshot.params.apps.map((v: any) => v.id)).toStrictEqual(["lnd", "bitcoin-knots", "electrumx"])
      // later clients are answered at once
      const after = await fetch(`${url}/rpc`, {
        method: "POST",
        headers: { "content-type": "application/json", ...auth },
        body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "server.version" })
      })
      expect((await after.json()).result.engine).toBe("simulated")
      await c.close()
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  })
})

describe("Server dashboard", () => {
  const login = async (s: Running) => {
    const res = await fetch(s.server.loginUrl, { redirect: "manual" })
    return res.headers.get("set-cookie")!.split(";")[0]!
  }

  it("serves <archy-dashboard> with the bundle at /assets/archipelago.js", async () => {
    const bundle = join(tempDir(), "archipelago.js")
    writeFileSync(bundle, "export const bundled = 1\n")
    const s = await start(makeFake(apps()).layer, { bundleFile: bundle, banner: "SIMULATED ENGINE <b>" })
    try {
      const page = await fetch(`${s.server.url}/`, { headers: { cookie: await login(s) } })
      expect([page.status, page.headers.get("content-type"), page.headers.get("x-frame-options")]).toStrictEqual([
        200,
        "text/html; charset=utf-8",
        "DENY"
      ])
      const html = await page.text()
      expect(html).toContain("<archy-dashboard></archy-dashboard>")
      expect(html).toContain("<script type=\"module\" src=\"/assets/archipelago.js\"></script>")
      expect(html).toContain("<div role=\"alert\" class=\"banner\">SIMULATED ENGINE &lt;b&gt;</div>")
      const js = await fetch(`${s.server.url}/assets/archipelago.js`)
      expect([js.status, js.headers.get("content-type"), await js.text()]).toStrictEqual([
        200,
        "text/javascript; charset=utf-8",
        "export const bundled = 1\n"
      ])
    } finally {
      await s.close()
    }
  })

  it("serves the page's icon without a login, linked from every page", async () => {
    const s = await start(makeFake(apps()).layer, { bundleFile: false })
    try {
      for (const path of [Dashboard.faviconPath, "/favicon.ico"]) {
        const res = await fetch(`${s.server.url}${path}`)
        expect([res.status, res.headers.get("content-type"), await res.text()]).toStrictEqual([200, "image/svg+xml", Dashboard.favicon])
      }
      for (const path of ["/", "/login"]) {
        expect(await (await fetch(`${s.server.url}${path}`)).text()).toContain(`<link rel="icon" type="image/svg+xml" href="/favicon.svg">`)
      }
    } finally {
      await s.close()
    }
  })

  it("says the bundle is not built when it is missing", async () => {
    const s = await start(makeFake(apps()).layer, { bundleFile: false })
    try {
      const html = await (await fetch(`${s.server.url}/`, { headers: { cookie: await login(s) } })).text()
      expect(html).toContain("The dashboard bundle is not built.")
      expect(html).not.toContain("<archy-dashboard>")
      expect((await fetch(`${s.server.url}/assets/archipelago.js`)).status).toBe(404)
    } finally {
      await s.close()
    }
  })

  it("resolves the web components' bundle when it is built", () => {
    const expected = fileURLToPath(new URL("../../web-components/dist/browser/archipelago.js", import.meta.url))
    expect(Dashboard.resolveBundle()).toBe(existsSync(expected) ? expected : undefined)
  })
})

describe("Server over WebSocket", () => {
  it("pushes a snapshot, answers a stop before the container has stopped, then pushes changes in order", async () => {
    const fake = makeFake(apps())
    const s = await start(fake.layer)
    const c = await connect(s.server.url, { headers: bearer(s) })
    try {
      const snapshot = await c.next((m) => m.method === "state.snapshot")
      expect(snapshot.params.apps.map((v: any) => v.id)).toStrictEqual(["lnd", "bitcoin-knots", "electrumx"])
      c.send({ jsonrpc: "2.0", id: 1, method: "container-stop", params: { appId: "lnd" } })
      const reply = await c.next((m) => m.id === 1)
      expect(reply.result).toStrictEqual({ appId: "lnd", op: "stop", status: "stopping", generation: 1 })
      // The answer came while the app is still stopping: the work has not finished.
      expect(fake.current()[0]!.state).toBe("stopping")
      const stopping = await c.next((m) => m.method === "state.changed")
      expect([stopping.params.app.state, stopping.params.seq]).toStrictEqual(["stopping", snapshot.params.seq + 1])
      await fake.complete("lnd")
      const idx = c.messages.indexOf(stopping) + 1
      const stopped = await c.next((m) => m.method === "state.changed", idx)
      expect([stopped.params.app.state, stopped.params.seq]).toStrictEqual(["stopped", snapshot.params.seq + 2])
      const changes = c.messages.filter((m) => m.method === "state.changed").map((m) => m.params.seq)
      expect(changes).toStrictEqual([snapshot.params.seq + 1, snapshot.params.seq + 2])
    } finally {
      await c.close()
      await s.close()
    }
  })

  it("two clients see the same changes with the same numbers", async () => {
    const fake = makeFake(apps())
    const s = await start(fake.layer)
    const a = await connect(s.server.url, { headers: bearer(s) })
    const b = await connect(s.server.url, { protocols: [`archipelago.bearer.${s.server.token}`, "archipelago.v1"] })
    try {
      await a.next((m) => m.method === "state.snapshot")
      await b.next((m) => m.method === "state.snapshot")
      for (const st of ["stopping", "stopped", "starting", "running"] as const) await fake.emit(view("lnd", st))
      const seqs = async (c: typeof a) => {
        await c.next((m) => m.method === "state.changed" && m.params.app.state === "running")
        return c.messages.filter((m) => m.method === "state.changed").map((m) => [m.params.seq, m.params.app.state])
      }
      const fromA = await seqs(a)
      expect(fromA.map((x) => x[1])).toStrictEqual(["stopping", "stopped", "starting", "running"])
      expect(await seqs(b)).toStrictEqual(fromA)
      expect(b.ws.protocol).toBe("archipelago.v1")
    } finally {
      await a.close()
      await b.close()
      await s.close()
    }
  })

  it("refuses a wrong Origin (403) and a missing token (401) before the handshake", async () => {
    const fake = makeFake(apps())
    const s = await start(fake.layer)
    try {
      await expect(connect(s.server.url, { headers: { ...bearer(s), origin: "http://evil.example" } })).rejects.toMatchObject({ status: 403 })
      await expect(connect(s.server.url)).rejects.toMatchObject({ status: 401 })
      await expect(connect(s.server.url, { protocols: ["archipelago.bearer.wrong"] })).rejects.toMatchObject({ status: 401 })
      const ok = await connect(s.server.url, { headers: { ...bearer(s), origin: s.server.url } })
      await ok.close()
    } finally {
      await s.close()
    }
  })

  it("a slow client is resynchronised with a fresh snapshot instead of buffering without bound", async () => {
    const fake = makeFake(apps())
    const s = await start(fake.layer, { clientQueue: 4 })
    const c = await connect(s.server.url, { headers: bearer(s) })
    try {
      await c.next((m) => m.method === "state.snapshot")
      c.ws.pause()
      const pad = "p".repeat(64 * 1024)
      const n = 400
      for (let i = 0; i < n; i++) await fake.emit({ ...view("lnd", i % 2 === 0 ? "stopping" : "running"), name: `${pad}${i}` })
      await fake.emit(view("lnd", "stopped"))
      c.ws.resume()
      await c.next((m) => m.params?.seq === n + 1)
      const snapshots = c.messages.filter((m) => m.method === "state.snapshot")
      expect(snapshots.length).toBeGreaterThanOrEqual(2)
      const changed = c.messages.filter((m) => m.method === "state.changed")
      expect(changed.length).toBeLessThan(n)
      // Numbers only go up, and after each snapshot the next change is the one after it.
      let last = -1
      for (const m of c.messages) {
        if (m.method === "state.snapshot") last = m.params.seq
        else if (m.method === "state.changed") {
          expect(m.params.seq).toBe(last + 1)
          last = m.params.seq
        }
      }
      expect(last).toBe(n + 1)
      const final = c.messages[c.messages.length - 1]
      const lnd = final.method === "state.snapshot" ? final.params.apps[0] : final.params.app
      expect([lnd.id, lnd.state]).toStrictEqual(["lnd", "stopped"])
    } finally {
      await c.close()
      await s.close()
    }
  })

  it("closes a socket that sends a message over the cap with 1009", async () => {
    const s = await start(makeFake(apps()).layer, { maxBodyBytes: 1024 })
    const c = await connect(s.server.url, { headers: bearer(s) })
    try {
      const code = new Promise<number>((resolve) => c.ws.once("close", (code) => resolve(code)))
      c.ws.send("x".repeat(2048))
      expect(await code).toBe(1009)
    } finally {
      await s.close()
    }
  })

  it("on shutdown, clients are told the server is going away (1001)", async () => {
    const s = await start(makeFake(apps()).layer)
    const c = await connect(s.server.url, { headers: bearer(s) })
    await c.next((m) => m.method === "state.snapshot")
    const code = new Promise<number>((resolve) => c.ws.once("close", (code) => resolve(code)))
    await s.close()
    expect(await code).toBe(1001)
  })

  it("accepts the session cookie from /login on the socket", async () => {
    const s = await start(makeFake(apps()).layer)
    try {
      const login = await fetch(s.server.loginUrl, { redirect: "manual" })
      const cookie = login.headers.get("set-cookie")!.split(";")[0]!
      const c = await connect(s.server.url, { headers: { cookie, origin: s.server.url } })
      expect((await c.next((m) => m.method === "state.snapshot")).params.apps.length).toBe(3)
      await c.close()
    } finally {
      await s.close()
    }
  })

  it("drops a client that stops answering pings", async () => {
    const s = await start(makeFake(apps()).layer, { heartbeat: Schedule.spaced("20 millis") })
    try {
      const ws = new WebSocket(`${s.server.url.replace(/^http/, "ws")}/ws`, {
        headers: bearer(s),
        autoPong: false
      })
      const code = await new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)))
      expect(code).toBe(1006)
      const alive = await connect(s.server.url, { headers: bearer(s) })
      await alive.next((m) => m.method === "state.snapshot")
      await alive.close()
    } finally {
      await s.close()
    }
  })

  it("answers JSON-RPC errors over the socket too", async () => {
    const fake = makeFake(apps())
    const s = await start(fake.layer)
    const c = await connect(s.server.url, { headers: bearer(s) })
    try {
      c.ws.send("{not json")
      const parse = await c.next((m) => "error" in m && m.error.code === -32700)
      expect(parse).toStrictEqual({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "parse error: the body is not valid JSON" } })
      c.send({ jsonrpc: "2.0", id: 9, method: "container-stop", params: { appId: "../x" } })
      const bad = await c.next((m) => m.id === 9)
      expect([bad.error.code, bad.error.data]).toStrictEqual([-32602, { field: "appId" }])
      expect(fake.requests).toStrictEqual([])
    } finally {
      await c.close()
      await s.close()
    }
  })
})

const requestArb = fc.record(
  {
    jsonrpc: fc.oneof(fc.constant("2.0"), fc.string()),
    id: fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.object()),
    method: fc.oneof(
      fc.constantFrom("container-list", "container-stop", "container-start", "install-log", "container-logs", "server.version", "package.stop"),
      fc.string()
    ),
    params: fc.oneof(
      fc.record({ appId: fc.oneof(fc.constantFrom("lnd", "../x", "--privileged", "nope"), fc.string()) }, { requiredKeys: [] }),
      fc.jsonValue()
    )
  },
  { requiredKeys: [] }
)

const bodyArb = fc.oneof(
  fc.string(),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  requestArb.map((r) => JSON.stringify(r)),
  fc.array(requestArb, { maxLength: 60 }).map((rs) => JSON.stringify(rs))
)

const isValidReply = (status: number, text: string): boolean => {
  if (status === 204) return text === ""
  if (status !== 200) return false
  const body = JSON.parse(text)
  return Array.isArray(body) ? body.length > 0 && body.every(JsonRpc.isResponse) : JsonRpc.isResponse(body)
}

describe("Server fuzz", () => {
  let fake: Fake
  let s: Running
  beforeAll(async () => {
    fake = makeFake([view("lnd", "running")])
    s = await start(fake.layer)
  })
  afterAll(() => s.close())

  it("without auth, any body answers 401 and changes nothing", async () => {
    await fc.assert(
      fc.asyncProperty(bodyArb, async (body) => {
        const res = await s.rpc(body, {})
        await res.text()
        return res.status === 401
      }),
      { numRuns: 150 }
    )
    expect(fake.requests).toStrictEqual([])
    expect(fake.current()).toStrictEqual([view("lnd", "running")])
  })

  it("with auth, any body or batch gets a valid JSON-RPC answer and the server stays up", async () => {
    await fc.assert(
      fc.asyncProperty(bodyArb, async (body) => {
        const res = await s.rpc(body)
        return isValidReply(res.status, await res.text())
      }),
      { numRuns: 300 }
    )
    expect((await s.call("server.version")).result.engine).toBe("simulated")
  })
})

// Issue 11, item 3: deep nesting crashed dispatch outside its error handling. The bodies are
// built as text: the test's own JSON.stringify would overflow on them.
const deep = (levels: number, open = "{\"a\":", close = "}"): string => `${open.repeat(levels)}"x"${close.repeat(levels)}`
const stopDeep = (id: unknown, levels = 10_000) =>
  `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"method":"container-stop","params":{"appId":${deep(levels)}}}`

describe("Server robustness", () => {
  it("deeply nested params answer -32602 for that element, logged, on HTTP single and batch", async () => {
    const fake = makeFake(apps())
    const s = await start(fake.layer)
    try {
      expect(stopDeep(7).length).toBeGreaterThan(15_000)
      const single = await s.rpc(stopDeep(7))
      expect(single.status).toBe(200)
      const one = await single.json()
      expect([one.id, one.error.code, one.error.data]).toStrictEqual([7, -32602, { field: "params" }])
      const batch = await s.rpc(`[{"jsonrpc":"2.0","id":1,"method":"container-stop","params":{"appId":"lnd"}},${stopDeep(7)}]`)
      expect(batch.status).toBe(200)
      const answers = await batch.json()
      expect(answers.map((a: any) => [a.id, a.result?.status ?? a.error.code])).toStrictEqual([[1, "stopping"], [7, -32602]])
      expect(s.logs.some((l) => /container-stop.*-32602/.test(l))).toBe(true)
      expect((await s.call("server.version")).result.engine).toBe("simulated")
    } finally {
      await s.close()
    }
  })

  it("a deep element on /ws is answered and the socket keeps serving requests", async () => {
    const fake = makeFake(apps())
    const s = await start(fake.layer)
    const c = await connect(s.server.url, { headers: bearer(s) })
    try {
      await c.next((m) => m.method === "state.snapshot")
      c.ws.send(`{"jsonrpc":"2.0","id":"deep","method":"container-stop","params":{"appId":${deep(10_000, "[", "]")}}}`)
      c.ws.send(`[${stopDeep("deep2")}]`)
      c.ws.send(deep(50_000, "[", "]"))
      expect((await c.next((m) => m.id === "deep")).error.code).toBe(-32602)
      expect((await c.next((m) => Array.isArray(m)))[0].error.code).toBe(-32602)
      for (let i = 0; i < 40; i++) c.send({ jsonrpc: "2.0", id: i, method: "server.version" })
      for (let i = 0; i < 40; i++) expect((await c.next((m) => m.id === i)).result.engine).toBe("simulated")
    } finally {
      await c.close()
      await s.close()
    }
  })

  it("notifications get no reply even with bad params or an unknown method", async () => {
    const fake = makeFake(apps())
    const s = await start(fake.layer)
    try {
      for (const body of [
        { jsonrpc: "2.0", method: "container-stop", params: ["lnd"] },
        { jsonrpc: "2.0", method: "container-stop", params: { appId: "../x" } },
        `{"jsonrpc":"2.0","method":"container-stop","params":{"appId":${deep(10_000)}}}`,
        { jsonrpc: "2.0", method: "nope" },
        [{ jsonrpc: "2.0", method: "container-stop", params: 5 }, { jsonrpc: "2.0", method: "x", params: [] }]
      ]) {
        const res = await s.rpc(body)
        expect([res.status, await res.text()]).toStrictEqual([204, ""])
      }
      expect(fake.requests).toStrictEqual([])
    } finally {
      await s.close()
    }
  })

  it("an unknown 500 KB method name is echoed truncated", async () => {
    const s = await start(makeFake(apps()).layer, { maxBodyBytes: 2 * 1024 * 1024 })
    try {
      const name = "m".repeat(500 * 1024)
      const res = await s.rpc({ jsonrpc: "2.0", id: 1, method: name })
      const text = await res.text()
      expect(text.length).toBeLessThan(1_000)
      const body = JSON.parse(text)
      expect(body.error.code).toBe(-32601)
      expect(body.error.message).toMatch(/^method not found: m{64}… \(512000 characters\)$/)
    } finally {
      await s.close()
    }
  })
})

// Issue 11, item 9: sessions, login rate limit, Host allow-list, no token in the handshake.
const raw = (url: string, options: { method?: string; headers?: Record<string, string>; body?: string; localAddress?: string } = {}) =>
  new Promise<{ status: number; headers: Http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const local = options.localAddress === undefined ? {} : { localAddress: options.localAddress }
    const req = Http.request(url, { method: options.method ?? "GET", headers: options.headers ?? {}, ...local }, (res) => {
      let body = ""
      res.setEncoding("utf8")
      res.on("data", (c) => (body += c))
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }))
    })
    req.on("error", reject)
    req.end(options.body)
  })

const cookieOf = (res: Response) => res.headers.get("set-cookie")!.split(";")[0]!

describe("Server sessions and logins", () => {
  it("each login gets its own random session; /logout revokes it server-side and closes its sockets", async () => {
    const s = await start(makeFake(apps()).layer)
    try {
      const a = cookieOf(await fetch(s.server.loginUrl, { redirect: "manual" }))
      const b = cookieOf(await fetch(s.server.loginUrl, { redirect: "manual" }))
      expect(a).not.toBe(b)
      expect(a).not.toContain(s.server.token)
      const version = { jsonrpc: "2.0", id: 1, method: "server.version" }
      expect((await s.rpc(version, { cookie: a })).status).toBe(200)
      const socket = await connect(s.server.url, { headers: { cookie: a } })
      await socket.next((m) => m.method === "state.snapshot")
      const closed = new Promise<number>((resolve) => socket.ws.once("close", (code) => resolve(code)))
      const out = await fetch(`${s.server.url}/logout`, { method: "POST", headers: { cookie: a }, redirect: "manual" })
      expect([out.status, out.headers.get("set-cookie")]).toStrictEqual([303, "archy_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"])
      expect(await closed).toBe(1008)
      // The old cookie, replayed, no longer works; the other session does.
      expect((await s.rpc(version, { cookie: a })).status).toBe(401)
      await expect(connect(s.server.url, { headers: { cookie: a } })).rejects.toMatchObject({ status: 401 })
      expect((await s.rpc(version, { cookie: b })).status).toBe(200)
    } finally {
      await s.close()
    }
  })

  it("sessions survive a restart (saved 0600, ids not stored); a logout does too", async () => {
    const dataDir = tempDir()
    const version = { jsonrpc: "2.0", id: 1, method: "server.version" }
    const first = await start(makeFake(apps()).layer, { dataDir })
    const kept = cookieOf(await fetch(first.server.loginUrl, { redirect: "manual" }))
    const dropped = cookieOf(await fetch(first.server.loginUrl, { redirect: "manual" }))
    await fetch(`${first.server.url}/logout`, { method: "POST", headers: { cookie: dropped }, redirect: "manual" })
    await first.close()
    const file = join(dataDir, "sessions.json")
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(readFileSync(file, "utf8")).not.toContain(kept.split("=")[1])
    const second = await start(makeFake(apps()).layer, { dataDir })
    try {
      expect((await second.rpc(version, { cookie: kept })).status).toBe(200)
      expect((await second.rpc(version, { cookie: dropped })).status).toBe(401)
    } finally {
      await second.close()
    }
  })

  it("a symlink planted at sessions.json is neither read nor written through", async () => {
    const dataDir = tempDir()
    const target = join(tempDir(), "victim")
    writeFileSync(target, "untouched\n")
    symlinkSync(target, join(dataDir, "sessions.json"))
    const s = await start(makeFake(apps()).layer, { dataDir })
    try {
      const login = await fetch(s.server.loginUrl, { redirect: "manual" })
      expect(login.status).toBe(302)
      expect(readFileSync(target, "utf8")).toBe("untouched\n")
      expect(lstatSync(join(dataDir, "sessions.json")).isFile()).toBe(true)
    } finally {
      await s.close()
    }
  })

  it("a session past its lifetime is refused", async () => {
    const s = await start(makeFake(apps()).layer, { sessionTtl: 0 })
    try {
      const res = await fetch(s.server.loginUrl, { redirect: "manual" })
      expect(res.headers.get("set-cookie")).toMatch(/Max-Age=0$/)
      expect((await s.rpc({ jsonrpc: "2.0", id: 1, method: "server.version" }, { cookie: cookieOf(res) })).status).toBe(401)
    } finally {
      await s.close()
    }
  })

  it("cookies are Secure behind a declared https origin or over TLS, not on plain loopback", async () => {
    const s = await start(makeFake(apps()).layer, { allowOrigins: ["https://node.example"] })
    try {
      const login = `/login?token=${encodeURIComponent(s.server.token)}`
      const plain = await raw(`${s.server.url}${login}`)
      expect(String(plain.headers["set-cookie"])).not.toContain("Secure")
      const proxied = await raw(`${s.server.url}${login}`, { headers: { host: "node.example" } })
      expect([proxied.status, String(proxied.headers["set-cookie"])]).toStrictEqual([302, expect.stringMatching(/; Secure$/)])
      const forwarded = await raw(`${s.server.url}${login}`, { headers: { "x-forwarded-proto": "https" } })
      expect(String(forwarded.headers["set-cookie"])).toMatch(/; Secure$/)
    } finally {
      await s.close()
    }
  })

  it("limits failed logins (429 with Retry-After, even for the right password) and logs each failure without the guess", async () => {
    const s = await start(makeFake(apps()).layer, { password: "correct horse" })
    try {
      const login = (password: string) =>
        fetch(`${s.server.url}/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ password }) })
      const statuses: Array<number> = []
      for (let i = 0; i < 8; i++) statuses.push((await login(`guess-${i}`)).status)
      expect(statuses).toStrictEqual([401, 401, 401, 401, 401, 429, 429, 429])
      const limited = await login("correct horse")
      expect([limited.status, limited.headers.get("set-cookie"), Number(limited.headers.get("retry-after")) > 0]).toStrictEqual([429, null, true])
      // the token is never limited: a wrong one is refused, the right one logs in
      const tokenGuess = await fetch(`${s.server.url}/login?token=nope`, { redirect: "manual" })
      expect(tokenGuess.status).toBe(401)
      expect((await fetch(s.server.loginUrl, { redirect: "manual" })).status).toBe(302)
      const failures = s.logs.filter((l) => l.includes("login failed"))
      expect(failures.length).toBe(6)
      expect(failures[0]).toMatch(/^WARN login failed from [0-9a-f.:]+: wrong password$/)
      expect(s.logs.join("\n")).not.toMatch(/guess-|correct horse/)
      // The bearer token still works while logins are limited.
      expect((await s.call("server.version")).result.engine).toBe("simulated")
    } finally {
      await s.close()
    }
  })
})

describe("Server logins under attack (issue 26)", () => {
  it("40 strangers' wrong passwords from 40 loopback addresses never refuse the owner's token, nor the password from a browser that logged in before", async () => {
    const s = await start(makeFake(apps()).layer, { password: "correct horse" })
    try {
      const post = (password: string, options: { localAddress?: string; cookie?: string } = {}) =>
        raw(`${s.server.url}/login`, {
          method: "POST",
          headers: { "content-type": "application/json", ...(options.cookie === undefined ? {} : { cookie: options.cookie }) },
          body: JSON.stringify({ password }),
          ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress })
        })
      const first = await post("correct horse")
      expect(first.status).toBe(204)
      const device = (first.headers["set-cookie"] ?? []).find((c) => c.startsWith(`${Auth.deviceCookieName}=`))!
      expect(device).toMatch(/HttpOnly/)
      expect(device).toMatch(/SameSite=Strict/)
      expect(device).toContain("Path=/login")
      const deviceCookie = device.split(";")[0]!
      for (let i = 0; i < 40; i++) expect((await post(`guess-${i}`, { localAddress: `127.0.1.${i + 2}` })).status).toBeOneOf([401, 429])
      // the strangers did fill their shared bucket: a new address, even with the right password, waits
      expect((await post("correct horse", { localAddress: "127.0.1.99" })).status).toBe(429)
      // ...but not the owner's browser, nor the owner's token, from any address
      expect((await post("correct horse", { cookie: deviceCookie })).status).toBe(204)
      expect((await post("correct horse", { cookie: deviceCookie, localAddress: "127.0.1.2" })).status).toBe(204)
      const token = await raw(`${s.server.url}/login?token=${encodeURIComponent(s.server.token)}`, { localAddress: "127.0.1.2" })
      expect(token.status).toBe(302)
      // one more wrong guess every 10 s changes nothing for the owner
      expect((await post("guess-x", { localAddress: "127.0.1.3" })).status).toBe(429)
      expect((await post("correct horse", { cookie: deviceCookie })).status).toBe(204)
      // a forged or foreign device cookie counts as a stranger
      expect((await post("correct horse", { cookie: `${Auth.deviceCookieName}=abc.def` })).status).toBe(429)
      expect(s.logs.join("\n")).not.toMatch(/guess-|correct horse/)
    } finally {
      await s.close()
    }
  })
})

describe("Server Host allow-list", () => {
  it("answers 421 to a Host that does not name the server, on every path and on /ws", async () => {
    const s = await start(makeFake(apps()).layer, { allowHosts: ["node.local"] })
    try {
      const port = s.server.port
      const auth = bearer(s)
      const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "server.version" })
      for (const host of [`evil.example:${port}`, "evil.example", `127.0.0.2:${port}`]) {
        for (const [method, path] of [["POST", "/rpc"], ["GET", "/"], ["GET", "/login?token=x"], ["GET", "/assets/archipelago.js"]]) {
          const res = await raw(`${s.server.url}${path}`, { method: method!, headers: { ...auth, host, "content-type": "application/json" }, body: method === "POST" ? body : "" })
          expect([host, path, res.status]).toStrictEqual([host, path, 421])
        }
      }
      await expect(connect(s.server.url, { headers: { ...auth, host: `evil.example:${port}` } })).rejects.toMatchObject({ status: 421 })
      for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `node.local:${port}`]) {
        const res = await raw(`${s.server.url}/rpc`, { method: "POST", headers: { ...auth, host, "content-type": "application/json" }, body })
        expect([host, res.status]).toStrictEqual([host, 200])
      }
    } finally {
      await s.close()
    }
  })

  it("never echoes the token in Sec-WebSocket-Protocol", async () => {
    const s = await start(makeFake(apps()).layer)
    try {
      const c = await connect(s.server.url, { protocols: [`archipelago.bearer.${s.server.token}`, "archipelago.v1"] })
      expect(c.ws.protocol).toBe("archipelago.v1")
      await c.close()
      // A client offering only the token protocol is not answered with it.
      await expect(connect(s.server.url, { protocols: [`archipelago.bearer.${s.server.token}`] })).rejects.toThrow(/no subprotocol/)
    } finally {
      await s.close()
    }
  })
})

/**
 * The HTTP and WebSocket server: JSON-RPC on `POST /rpc` and `/ws`, state push on `/ws`, the
 * login endpoints and the dashboard page. Routes are an `@effect/platform` `HttpRouter` run by
 * `@effect/platform-node`'s handler on a Node `http.Server`; the WebSocket side is `ws` on the
 * same server, so every frame is sent with back-pressure and a slow client is bounded by its
 * push queue.
 *
 * @since 0.1.0
 */
import { readFile } from "node:fs/promises"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import type { Duplex } from "node:stream"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer, NodeHttpServerRequest } from "@effect/platform-node"
import { Context, Data, Deferred, Effect, FiberSet, Layer, Queue, Schedule, Stream } from "effect"
import type { Scope } from "effect"
import { WebSocket, WebSocketServer } from "ws"
import * as Auth from "./Auth.js"
import * as Dashboard from "./Dashboard.js"
import * as Dispatch from "./Dispatch.js"
import * as JsonRpc from "./JsonRpc.js"
import type * as Methods from "./Methods.js"
import * as Push from "./Push.js"
import * as Resources from "./Resources.js"
import * as Subscriptions from "./Subscriptions.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Config {
  /** Default `127.0.0.1`. Any other address logs a warning: the API then faces the network. */
  readonly host?: string
  /** Default 7420; 0 picks a free port. */
  readonly port?: number
  /** Where `rpc-token` lives (created on first start). */
  readonly dataDir: string
  /** Enables `POST /login` with this password. */
  readonly password?: string
  /** Extra origins (e.g. `https://node.example`) allowed to call the API from a browser. */
  readonly allowOrigins?: ReadonlyArray<string>
  /** Request bodies and WebSocket messages above this many bytes are refused (413). Default 1 MiB. */
  readonly maxBodyBytes?: number
  /** Default 50. */
  readonly maxBatch?: number
  /** Length of each WebSocket client's push queue. Default 256. */
  readonly clientQueue?: number
  /** A warning shown on the dashboard page, e.g. that the engine is simulated. */
  readonly banner?: string
  /**
   * The browser bundle's file; default: resolved from `@archipelago/web-components/browser`.
   * `false` serves the page that says the bundle is not built.
   */
  readonly bundleFile?: string | false
  /** Interval of WebSocket pings; a client that misses one is dropped. Default 30 s. */
  readonly heartbeat?: Schedule.Schedule<unknown>
  /** How often resources are sampled while a client subscribes to them (`stats.subscribe`). Default 2 s. */
  readonly statsSchedule?: Schedule.Schedule<unknown>
}

/**
 * The running server.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly host: string
  readonly port: number
  /** `http://host:port` */
  readonly url: string
  readonly token: string
  /** The URL that logs a browser in: `http://host:port/login?token=...`. */
  readonly loginUrl: string
}

/**
 * @since 0.1.0
 * @category tags
 */
export class RpcServer extends Context.Tag("@archipelago/rpc-adapter/RpcServer")<RpcServer, Service>() {}

/**
 * The server could not listen.
 *
 * @since 0.1.0
 * @category errors
 */
export class ListenError extends Data.TaggedError("ListenError")<{ readonly address: string; readonly reason: string }> {
  override get message(): string {
    return `cannot listen on ${this.address}: ${this.reason}`
  }
}

/**
 * @since 0.1.0
 * @category constants
 */
export const defaults = {
  host: "127.0.0.1",
  port: 7420,
  maxBodyBytes: 1024 * 1024,
  heartbeat: Schedule.spaced("30 seconds")
} as const

const securityHeaders = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store"
}

const htmlResponse = (body: string, status = 200, headers: Record<string, string> = {}) =>
  HttpServerResponse.text(body, {
    status,
    contentType: "text/html; charset=utf-8",
    headers: { ...securityHeaders, ...headers }
  })

const jsonResponse = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  HttpServerResponse.text(JSON.stringify(body), {
    status,
    contentType: "application/json",
    headers: { "cache-control": "no-store", ...headers }
  })

const faviconResponse = HttpServerResponse.text(Dashboard.favicon, {
  contentType: "image/svg+xml",
  headers: { "x-content-type-options": "nosniff", "cache-control": "public, max-age=86400" }
})

const unauthorized = jsonResponse({ error: "unauthorized: send Authorization: Bearer <token> or log in" }, 401, {
  "www-authenticate": "Bearer realm=\"archipelago\""
})

const forbiddenOrigin = jsonResponse({ error: "forbidden: origin not allowed" }, 403)

const tooLarge = (max: number) =>
  jsonResponse({ error: `payload too large: the limit is ${max} bytes` }, 413, { connection: "close" })

class BodyTooLarge extends Data.TaggedError("BodyTooLarge")<{}> {}

class BodyUnreadable extends Data.TaggedError("BodyUnreadable")<{}> {}

const header = (request: HttpServerRequest.HttpServerRequest, name: string): string | undefined => {
  const v = request.headers[name]
  return typeof v === "string" ? v : undefined
}

const credentials = (request: HttpServerRequest.HttpServerRequest): Auth.CredentialHeaders => ({
  authorization: header(request, "authorization"),
  cookie: header(request, "cookie")
})

// Reads the raw body counting bytes; past the cap it stops reading (without destroying the
// socket, so the 413 still reaches the client) and fails.
const readBody = (request: HttpServerRequest.HttpServerRequest, max: number) => {
  const declared = Number(header(request, "content-length") ?? "0")
  if (Number.isFinite(declared) && declared > max) return Effect.fail(new BodyTooLarge())
  const source = NodeHttpServerRequest.toIncomingMessage(request)
  return Effect.async<string, BodyTooLarge | BodyUnreadable>((resume) => {
    const chunks: Array<Buffer> = []
    let size = 0
    const cleanup = () => {
      source.off("data", onData)
      source.off("end", onEnd)
      source.off("error", onError)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > max) {
        cleanup()
        source.pause()
        resume(Effect.fail(new BodyTooLarge()))
      } else chunks.push(chunk)
    }
    const onEnd = () => {
      cleanup()
      resume(Effect.succeed(Buffer.concat(chunks).toString("utf8")))
    }
    const onError = () => {
      cleanup()
      resume(Effect.fail(new BodyUnreadable()))
    }
    source.on("data", onData)
    source.on("end", onEnd)
    source.on("error", onError)
    return Effect.sync(cleanup)
  })
}

const replyJson = (reply: Dispatch.Reply) =>
  reply === undefined ? HttpServerResponse.empty({ status: 204 }) : jsonResponse(reply)

interface Runtime {
  readonly token: string
  readonly password: string | undefined
  readonly origins: () => ReadonlySet<string>
  readonly maxBody: number
  readonly maxBatch: number
  readonly banner: string | undefined
  readonly bundleFile: string | undefined
}

const loginFailed = (rt: Runtime) => htmlResponse(Dashboard.loginPage({ password: rt.password !== undefined, failed: true }), 401)

const router = (rt: Runtime) =>
  HttpRouter.empty.pipe(
    HttpRouter.get(
      "/",
      Effect.map(HttpServerRequest.HttpServerRequest, (request) =>
        Auth.isAuthenticated(rt.token, credentials(request))
          ? htmlResponse(Dashboard.page(
            rt.banner === undefined
              ? { bundle: rt.bundleFile !== undefined }
              : { bundle: rt.bundleFile !== undefined, banner: rt.banner }
          ))
          : htmlResponse(Dashboard.loginPage({ password: rt.password !== undefined, failed: false }), 401))
    ),
    HttpRouter.get(
      "/login",
      Effect.map(HttpServerRequest.ParsedSearchParams, (params) => {
        const token = params["token"]
        return typeof token === "string" && Auth.safeEqual(token, rt.token)
          ? HttpServerResponse.empty({
            status: 302,
            headers: { ...securityHeaders, location: "/", "set-cookie": Auth.sessionCookie(rt.token) }
          })
          : loginFailed(rt)
      })
    ),
    HttpRouter.post(
      "/login",
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        if (!Auth.originAllowed(header(request, "origin"), rt.origins())) return forbiddenOrigin
        const text = yield* readBody(request, rt.maxBody)
        const isJson = (header(request, "content-type") ?? "").includes("application/json")
        const password = isJson
          ? (() => {
            try {
              const v = (JSON.parse(text) as { password?: unknown }).password
              return typeof v === "string" ? v : undefined
            } catch {
              return undefined
            }
          })()
          : new URLSearchParams(text).get("password") ?? undefined
        const ok = rt.password !== undefined && password !== undefined && Auth.safeEqual(password, rt.password)
        if (!ok) return isJson ? unauthorized : loginFailed(rt)
        const cookie = { "set-cookie": Auth.sessionCookie(rt.token) }
        return isJson
          ? HttpServerResponse.empty({ status: 204, headers: cookie })
          : HttpServerResponse.empty({ status: 303, headers: { ...securityHeaders, ...cookie, location: "/" } })
      })
    ),
    HttpRouter.post(
      "/logout",
      Effect.succeed(HttpServerResponse.empty({
        status: 303,
        headers: { location: "/", "set-cookie": `${Auth.cookieName}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0` }
      }))
    ),
    HttpRouter.post(
      "/rpc",
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        if (!Auth.originAllowed(header(request, "origin"), rt.origins())) return forbiddenOrigin
        if (!Auth.isAuthenticated(rt.token, credentials(request))) return unauthorized
        const text = yield* readBody(request, rt.maxBody)
        return replyJson(yield* Dispatch.body(text, { maxBatch: rt.maxBatch }))
      })
    ),
    HttpRouter.get(Dashboard.faviconPath, Effect.succeed(faviconResponse)),
    HttpRouter.get("/favicon.ico", Effect.succeed(faviconResponse)),
    HttpRouter.get(
      Dashboard.bundlePath,
      rt.bundleFile === undefined
        ? Effect.succeed(jsonResponse({ error: "the dashboard bundle is not built" }, 404))
        : Effect.map(
          Effect.promise(() => readFile(rt.bundleFile!)),
          (bytes) =>
            HttpServerResponse.uint8Array(bytes, {
              contentType: "text/javascript; charset=utf-8",
              headers: { "x-content-type-options": "nosniff", "cache-control": "no-cache" }
            })
        )
    ),
    Effect.catchTags({
      BodyTooLarge: () => Effect.succeed(tooLarge(rt.maxBody)),
      RouteNotFound: () => Effect.succeed(jsonResponse({ error: "not found" }, 404)),
      BodyUnreadable: () => Effect.succeed(jsonResponse({ error: "bad request: the body could not be read" }, 400))
    })
  )

const rejectUpgrade = (socket: Duplex, status: number, text: string) => {
  const body = JSON.stringify({ error: text })
  socket.end(
    `HTTP/1.1 ${status} ${Http.STATUS_CODES[status] ?? ""}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  )
}

const send = (ws: WebSocket, data: string) =>
  Effect.async<void, Error>((resume) => {
    if (ws.readyState !== WebSocket.OPEN) return resume(Effect.fail(new Error("closed")))
    ws.send(data, (err) => resume(err ? Effect.fail(err) : Effect.void))
  })

const maxPendingMessages = 32

const closeHandshakePoll = Schedule.spaced("10 millis")

// How long shutdown waits for WebSocket clients to answer the close frame before cutting them.
const closeHandshakeGrace = "1 second"

const connection = (
  ws: WebSocket,
  rt: Runtime,
  capacity: number | undefined,
  heartbeat: Schedule.Schedule<unknown>
): Effect.Effect<void, never, Methods.Requirements | Push.Push | Resources.Resources> =>
  Effect.scoped(Effect.gen(function*() {
    const closed = yield* Deferred.make<void>()
    const inbox = yield* Queue.unbounded<string>()
    let alive = true
    let pending = 0
    ws.on("close", () => Deferred.unsafeDone(closed, Effect.void))
    ws.on("error", () => Deferred.unsafeDone(closed, Effect.void))
    ws.on("pong", () => {
      alive = true
    })
    ws.on("message", (data) => {
      const bytes = Array.isArray(data)
        ? Buffer.concat(data)
        : Buffer.isBuffer(data)
        ? data
        : Buffer.from(new Uint8Array(data))
      const text = bytes.toString("utf8")
      Queue.unsafeOffer(inbox, text)
      pending += 1
      // Stop reading the socket while requests pile up: the client feels TCP back-pressure.
      if (pending >= maxPendingMessages) ws.pause()
    })
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(1001, "server closing")
      })
    )

    // this connection's subscriptions (logs, stats) end with its scope
    const local = yield* Subscriptions.make((n) => send(ws, JSON.stringify(n)))
    const requests = Effect.forever(Effect.gen(function*() {
      const text = yield* Queue.take(inbox)
      pending -= 1
      if (ws.isPaused && pending < maxPendingMessages / 2) ws.resume()
      const reply = yield* Dispatch.body(text, { maxBatch: rt.maxBatch, local })
      if (reply !== undefined) yield* send(ws, JSON.stringify(reply))
    }))
    const notifications = Push.notifications(capacity).pipe(
      Stream.runForEach((n) => send(ws, JSON.stringify(n)))
    )
    const pings = Effect.repeat(
      Effect.suspend(() => {
        if (!alive) return Effect.fail(new Error("missed heartbeat"))
        alive = false
        ws.ping()
        return Effect.void
      }),
      heartbeat
    ).pipe(Effect.tapError(() => Effect.sync(() => ws.terminate())))

    yield* Effect.raceAll([
      Deferred.await(closed),
      Effect.ignore(requests),
      Effect.ignore(notifications),
      Effect.ignore(pings)
    ])
  }))

/**
 * Starts the server for the scope's lifetime: ensures the token, listens, and on close drops
 * every WebSocket client (1001) and every connection.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  config: Config
): Effect.Effect<
  Service,
  Auth.TokenError | ListenError,
  Scope.Scope | Methods.Requirements | Push.Push | Resources.Resources
> =>
  Effect.gen(function*() {
    const host = config.host ?? defaults.host
    const token = yield* Auth.ensureToken(config.dataDir)
    const maxBody = config.maxBodyBytes ?? defaults.maxBodyBytes
    const server = Http.createServer()
    let origins: ReadonlySet<string> | undefined
    const rt: Runtime = {
      token,
      password: config.password,
      origins: () => {
        if (origins === undefined) {
          origins = Auth.allowedOrigins(host, (server.address() as AddressInfo).port, config.allowOrigins ?? [])
        }
        return origins
      },
      maxBody,
      maxBatch: config.maxBatch ?? JsonRpc.defaultMaxBatch,
      banner: config.banner,
      bundleFile: config.bundleFile === false ? undefined : config.bundleFile ?? Dashboard.resolveBundle()
    }

    const handler = yield* NodeHttpServer.makeHandler(router(rt))
    server.on("request", handler)

    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: maxBody,
      handleProtocols: (protocols) => {
        for (const p of protocols) if (p.startsWith(Auth.bearerProtocolPrefix)) return p
        return protocols.values().next().value ?? false
      }
    })
    const runFork = yield* FiberSet.makeRuntime<Methods.Requirements | Push.Push | Resources.Resources>()
    const heartbeat = config.heartbeat ?? defaults.heartbeat
    server.on("upgrade", (req: Http.IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on("error", () => socket.destroy())
      const path = (req.url ?? "/").split("?")[0]
      if (path !== "/ws") return rejectUpgrade(socket, 404, "not found")
      if (!Auth.originAllowed(req.headers.origin, rt.origins())) return rejectUpgrade(socket, 403, "origin not allowed")
      if (!Auth.isAuthenticated(token, req.headers)) return rejectUpgrade(socket, 401, "unauthorized")
      wss.handleUpgrade(req, socket, head, (ws) => {
        runFork(connection(ws, rt, config.clientQueue, heartbeat))
      })
    })

    const address = `${host}:${config.port ?? defaults.port}`
    yield* Effect.acquireRelease(
      Effect.async<void, ListenError>((resume) => {
        const onError = (e: Error) => resume(Effect.fail(new ListenError({ address, reason: e.message })))
        server.once("error", onError)
        server.listen({ host, port: config.port ?? defaults.port }, () => {
          server.off("error", onError)
          resume(Effect.void)
        })
      }),
      () =>
        Effect.gen(function*() {
          for (const client of wss.clients) client.close(1001, "server shutting down")
          yield* Effect.sync(() => wss.clients.size).pipe(
            Effect.repeat({ until: (n) => n === 0, schedule: closeHandshakePoll }),
            Effect.timeout(closeHandshakeGrace),
            Effect.ignore
          )
          yield* Effect.async<void>((resume) => {
            for (const client of wss.clients) client.terminate()
            wss.close()
            server.close(() => resume(Effect.void))
            server.closeAllConnections()
          })
        })
    )
    const port = (server.address() as AddressInfo).port
    if (!Auth.isLoopbackHost(host)) {
      yield* Effect.logWarning(
        `WARNING: the RPC server listens on ${host}:${port}, reachable from the network. ` +
          "Anyone who can reach it and holds the token controls your containers; prefer 127.0.0.1 behind a TLS proxy."
      )
    }
    const urlHost = host.includes(":") ? `[${host}]` : host === "0.0.0.0" ? "127.0.0.1" : host
    const url = `http://${urlHost}:${port}`
    return { host, port, url, token, loginUrl: `${url}/login?token=${encodeURIComponent(token)}` }
  })

/**
 * The server as a layer, with its push hub.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  config: Config
): Layer.Layer<RpcServer, Auth.TokenError | ListenError, Methods.Requirements> =>
  Layer.scoped(RpcServer, make(config)).pipe(
    Layer.provide(Layer.merge(Push.layer, Resources.layer(config.statsSchedule)))
  )

/**
 * The HTTP and WebSocket server: JSON-RPC on `POST /rpc` and `/ws`, state push on `/ws`, the
 * login endpoints and the dashboard page. Routes are an `effect/http` `HttpRouter` run by
 * `@effect/platform-node`'s handler on a Node `http.Server`, behind one guard (Host, Origin,
 * credentials) shared with the WebSocket handshake; `POST /rpc` is served ahead of the router
 * by a plain Node handler with the same guard, body cap and `Dispatch`; the WebSocket side is `ws` on the same
 * server, so every frame is sent with back-pressure and a slow client is bounded by its push
 * queue. The pieces live in `internal/`: routes, guard, socket, HTTP helpers.
 *
 * @since 0.1.0
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import type { Duplex } from "node:stream"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Context, Data, Deferred, Duration, Effect, Exit, FiberSet, Layer, Schedule, Scope } from "effect"
import type { Fiber } from "effect"
import { WebSocketServer } from "ws"
import * as Auth from "./Auth.js"
import * as Dashboard from "./Dashboard.js"
import * as Dispatch from "./Dispatch.js"
import { closeHandshakeGrace, closeHandshakePoll, connection, rejectUpgrade } from "./internal/socket.js"
import * as Guard from "./internal/guard.js"
import { answers, readRaw, textAnswer, writeJson } from "./internal/http.js"
import { router } from "./internal/routes.js"
import * as SessionFile from "./internal/sessionFile.js"
import * as RuntimeCell from "./internal/runtime.js"
import * as JsonRpc from "./JsonRpc.js"
import type * as Methods from "./Methods.js"
import * as Push from "./Push.js"
import * as RateLimit from "./RateLimit.js"
import * as Resources from "./Resources.js"
import * as Sessions from "./Sessions.js"

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
  /**
   * Extra origins (e.g. `https://node.example`) allowed to call the API from a browser. Their
   * hosts are allowed in the `Host` header too, and an `https` one gets `Secure` cookies.
   */
  readonly allowOrigins?: ReadonlyArray<string>
  /**
   * Extra `Host` header values (`name` or `name:port`) besides the loopback names, the bound
   * address and the hosts of `allowOrigins`. Any other Host is answered `421`.
   */
  readonly allowHosts?: ReadonlyArray<string>
  /** Lifetime of a browser session from its login. Default 12 hours. */
  readonly sessionTtl?: Duration.Input
  /** The login rate limit. Default `RateLimit.defaultPolicies`. */
  readonly loginRateLimit?: RateLimit.Policies
  /** Total size of the answers to one body (a batch); past it, answers become errors. Default 512 KiB. */
  readonly maxResponseBytes?: number
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
  /**
   * Open WebSockets at most; past it a handshake answers `503` (the dashboard's polling
   * backstop keeps answering over `POST /rpc`). Default 64.
   */
  readonly maxSockets?: number
  /**
   * A connection silent for this long, or that has not sent its whole request head within it,
   * is closed (idle or slow clients). Default 10 s; a whole request (body included) gets three
   * times that.
   */
  readonly headersTimeout?: Duration.Input
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
export class RpcServer extends Context.Service<RpcServer, Service>()("@archipelago/rpc-adapter/RpcServer") {}

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
  maxResponseBytes: Dispatch.defaultMaxResponseBytes,
  maxSockets: 64,
  headersTimeout: Duration.seconds(10),
  heartbeat: Schedule.spaced("30 seconds")
} as const

/**
 * What the RPC side of the server answers with: the orchestrator's services, the push hub and
 * the resource sampler.
 *
 * @since 0.1.0
 * @category models
 */
export type Services = Methods.Requirements | Push.Push | Resources.Resources

/**
 * A server that listens and serves its pages (dashboard, login, bundle) but holds `POST /rpc`
 * and WebSocket clients until `attach` hands it the services: so a node can answer its
 * dashboard while its first look at the engine (the boot pass) is still running, and no client
 * sees an app state nobody has observed yet.
 *
 * @since 0.1.0
 * @category models
 */
export interface Listening {
  readonly service: Service
  /** Gives the server its services; the held requests and sockets proceed. Idempotent. */
  readonly attach: (services: Context.Context<Services>) => Effect.Effect<void>
}

/**
 * Starts the server for the scope's lifetime: ensures the token, listens, and on close drops
 * every WebSocket client (1001) and every connection. RPC requests and WebSocket upgrades that
 * pass the guard wait for `attach`; the pages answer at once.
 *
 * @since 0.1.0
 * @category constructors
 */
export const listen = (
  config: Config
): Effect.Effect<Listening, Auth.TokenError | ListenError, Scope.Scope> =>
  Effect.gen(function*() {
    const host = config.host ?? defaults.host
    const token = yield* Auth.ensureToken(config.dataDir)
    const maxBody = config.maxBodyBytes ?? defaults.maxBodyBytes
    // Idle and slow connections are dropped soon (checked every second), so a flood of them
    // holds nothing for long; the owner's requests are served beside them.
    const headersTimeout = Duration.toMillis(config.headersTimeout ?? defaults.headersTimeout)
    const server = Http.createServer({
      headersTimeout,
      requestTimeout: headersTimeout * 3,
      connectionsCheckingInterval: Math.min(1_000, headersTimeout)
    })
    // a connection silent this long is closed (Node's header timeout only counts a started
    // request); an upgraded WebSocket clears it (`ws` keeps its own heartbeat)
    server.timeout = headersTimeout
    const maxSockets = config.maxSockets ?? defaults.maxSockets
    const boundPort = () => (server.address() as AddressInfo).port
    let origins: ReadonlySet<string> | undefined
    let hosts: ReadonlySet<string> | undefined
    const sessionPolicy: Sessions.Policy = {
      ...Sessions.defaultPolicy,
      ...(config.sessionTtl === undefined ? {} : { ttlMs: Duration.toMillis(config.sessionTtl) })
    }
    const saved = yield* SessionFile.load(config.dataDir, Date.now(), sessionPolicy)
    const rt = yield* RuntimeCell.make({
      token,
      password: config.password,
      origins: () => (origins ??= Auth.allowedOrigins(host, boundPort(), config.allowOrigins ?? [])),
      hosts: () => (hosts ??= Auth.allowedHosts(host, boundPort(), config.allowOrigins ?? [], config.allowHosts ?? [])),
      httpsHosts: Auth.httpsHosts(config.allowOrigins ?? []),
      maxBody,
      maxBatch: config.maxBatch ?? JsonRpc.defaultMaxBatch,
      maxResponseBytes: config.maxResponseBytes ?? defaults.maxResponseBytes,
      banner: config.banner,
      bundleFile: config.bundleFile === false ? undefined : config.bundleFile ?? Dashboard.resolveBundle(),
      sessions: sessionPolicy,
      rateLimit: config.loginRateLimit ?? RateLimit.defaultPolicies,
      now: () => Date.now(),
      save: (store) => SessionFile.save(config.dataDir, store)
    }, saved)

    const ready = yield* Deferred.make<Context.Context<Services>>()
    const services = Deferred.await(ready)
    let attached: Context.Context<Services> | undefined
    const app = yield* router(rt, services)
    // Interruptible as a whole, as the handler of Effect 3 ran it: a client that goes away
    // (or the server closing) stops a request still waiting, e.g. for `attach`.
    const handler = yield* NodeHttpServer.makeHandler(Effect.interruptible(Guard.middleware(rt)(app)), {
      scope: yield* Effect.scope
    })
    // `POST /rpc` once attached, the hot path, is served here ahead of the router: the same
    // guard, body cap and `Dispatch`, without the platform's request objects, router and
    // middleware (most of the CPU of a small answer). Everything else goes to the router.
    let runRpc: ((effect: Effect.Effect<string | undefined, never, Services>) => Fiber.Fiber<string | undefined>) | undefined
    const listenScope = yield* Effect.scope
    const dispatchOptions = { maxBatch: rt.maxBatch, maxResponseBytes: rt.maxResponseBytes }
    const serveRpc = (run: NonNullable<typeof runRpc>, req: Http.IncomingMessage, res: Http.ServerResponse): void => {
      const verdict = Guard.decide(rt, Guard.factsOfHeaders("POST", req.url, req.headers))
      if (verdict !== "ok") return writeJson(res, Guard.refusals[verdict])
      readRaw(req, maxBody, (text) => {
        if (typeof text !== "string") return writeJson(res, text._tag === "BodyTooLarge" ? answers.tooLarge(maxBody) : answers.unreadable)
        const fiber = run(Dispatch.bodyText(text, dispatchOptions))
        // a client that goes away stops its request (as the router's handler does)
        const gone = () => { if (!res.writableFinished) fiber.interruptUnsafe() }
        res.once("close", gone)
        fiber.addObserver((exit) => {
          res.off("close", gone)
          if (res.destroyed) return
          if (Exit.isFailure(exit)) return void res.destroy()
          if (exit.value === undefined) {
            res.writeHead(204)
            res.end()
          } else writeJson(res, textAnswer(exit.value))
        })
      })
    }
    server.on("request", (req: Http.IncomingMessage, res: Http.ServerResponse) => {
      if (runRpc !== undefined && req.method === "POST" && Guard.pathOf(req.url) === "/rpc") serveRpc(runRpc, req, res)
      else handler(req, res)
    })

    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: maxBody,
      // Never select (so never echo) the token-carrying protocol.
      handleProtocols: (protocols) => Auth.selectProtocol(protocols)
    })
    const runFork = yield* FiberSet.makeRuntime<never>()
    const heartbeat = config.heartbeat ?? defaults.heartbeat
    const refusals = { misdirected: [421, "misdirected: the Host header does not name this server"], "not-found": [404, "not found"], "forbidden-origin": [403, "origin not allowed"], unauthorized: [401, "unauthorized"] } as const
    server.on("upgrade", (req: Http.IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on("error", () => socket.destroy())
      const facts = Guard.factsOfHeaders(req.method ?? "GET", req.url, req.headers)
      if (facts.path !== "/ws") return rejectUpgrade(socket, 404, "not found")
      const verdict = Guard.decide(rt, facts)
      if (verdict !== "ok") return rejectUpgrade(socket, refusals[verdict][0], refusals[verdict][1])
      if (wss.clients.size >= maxSockets) {
        runFork(Effect.logWarning(`websocket refused: ${maxSockets} already open (maxSockets)`))
        return rejectUpgrade(socket, 503, `too many WebSocket connections (${maxSockets}); POST /rpc still answers`)
      }
      const session = Auth.sessionIdOf(facts.credentials.cookie)
      // The upgrade completes once the services are there: the socket's first message then
      // already has a reader (a message to a socket without one would be lost).
      const upgrade = (context: Context.Context<Services>) =>
        wss.handleUpgrade(req, socket, head, (ws) => {
          // A socket opened with a session cookie closes when that session is logged out.
          const untrack = session !== undefined && session !== "" && rt.sessionValid(session)
            ? rt.track(session, () => ws.close(1008, "logged out"))
            : () => {}
          ws.once("close", untrack)
          runFork(Effect.provide(connection(ws, rt, config.clientQueue, heartbeat), context))
        })
      if (attached !== undefined) upgrade(attached)
      else {
        // held while the node starts: the credentials are checked again when it is ready
        runFork(Effect.map(services, (context) => {
          const again = Guard.decide(rt, facts)
          if (again === "ok") upgrade(context)
          else rejectUpgrade(socket, refusals[again][0], refusals[again][1])
        }))
      }
    })

    const address = `${host}:${config.port ?? defaults.port}`
    yield* Effect.acquireRelease(
      Effect.callback<void, ListenError>((resume) => {
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
          yield* Effect.callback<void>((resume) => {
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
    return {
      service: { host, port, url, token, loginUrl: `${url}/login?token=${encodeURIComponent(token)}` },
      attach: (context) =>
        Effect.suspend(() => {
          if (attached !== undefined) return Effect.void
          attached = context
          return FiberSet.makeRuntime<Services, string | undefined, never>().pipe(
            Effect.provideContext(Context.add(context, Scope.Scope, listenScope)),
            Effect.flatMap((run) => {
              runRpc = run
              return Effect.asVoid(Deferred.succeed(ready, context))
            })
          )
        })
    } satisfies Listening
  })

/**
 * Starts the server for the scope's lifetime with the services of its context (`listen`, then
 * `attach` at once).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  config: Config
): Effect.Effect<Service, Auth.TokenError | ListenError, Scope.Scope | Services> =>
  Effect.gen(function*() {
    const listening = yield* listen(config)
    yield* listening.attach(yield* Effect.context<Services>())
    return listening.service
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
  Layer.effect(RpcServer, make(config)).pipe(
    Layer.provide(Layer.merge(Push.layer, Resources.layer(config.statsSchedule)))
  )

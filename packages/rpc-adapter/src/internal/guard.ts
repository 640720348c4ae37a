/**
 * The one gate every request passes, HTTP or WebSocket handshake: the Host must name this
 * server, the path must be one the server routes exactly as written, a state-changing request
 * (anything but GET/HEAD) and the socket must come from an allowed Origin, and the API (`/rpc`,
 * `/ws`) needs credentials.
 *
 * The path is judged as written because the router is lenient (it ignores case, a trailing or
 * doubled slash, `;…` and %-escapes): a gate that read `/rpc` literally while the router answered
 * `//rpc` as `/rpc` let any client on the port call the API without credentials.
 */
import { HttpServerRequest } from "effect/http"
import type { HttpServerResponse } from "effect/http"
import { Effect } from "effect"
import * as Auth from "../Auth.js"
import * as Dashboard from "../Dashboard.js"
import { answers, header, toResponse } from "./http.js"
import type { JsonAnswer } from "./http.js"
import { authenticated } from "./runtime.js"
import type { Runtime } from "./runtime.js"

export type Verdict = "ok" | "misdirected" | "not-found" | "forbidden-origin" | "unauthorized"

export interface Facts {
  readonly method: string
  readonly path: string
  readonly host: string | undefined
  readonly origin: string | undefined
  readonly credentials: Auth.CredentialHeaders
}

const api = new Set(["/rpc", "/ws"])

/** Every path the server answers, exactly as a request must write it (routes.ts routes these). */
export const paths: ReadonlySet<string> = new Set(["/", "/login", "/logout", "/rpc", "/ws", "/favicon.ico", Dashboard.faviconPath, Dashboard.bundlePath])

export const decide = (rt: Runtime, facts: Facts): Verdict => {
  if (!Auth.hostAllowed(facts.host, rt.hosts())) return "misdirected"
  if (!paths.has(facts.path)) return "not-found"
  const changes = facts.method !== "GET" && facts.method !== "HEAD"
  if ((changes || facts.path === "/ws") && !Auth.originAllowed(facts.origin, rt.origins())) return "forbidden-origin"
  if (api.has(facts.path) && !authenticated(rt, facts.credentials)) return "unauthorized"
  return "ok"
}

/** The path of a request target: up to its query or fragment, as written (never decoded). */
export const pathOf = (url: string | undefined): string => (url ?? "/").split(/[?#]/)[0] ?? "/"

const str = (v: string | ReadonlyArray<string> | undefined): string | undefined => (typeof v === "string" ? v : undefined)

/** The facts of a Node request (the WebSocket handshake). */
export const factsOfHeaders = (
  method: string,
  url: string | undefined,
  headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
): Facts => ({
  method,
  path: pathOf(url),
  host: str(headers["host"]),
  origin: str(headers["origin"]),
  credentials: {
    authorization: str(headers["authorization"]),
    cookie: str(headers["cookie"]),
    "sec-websocket-protocol": str(headers["sec-websocket-protocol"])
  }
})

/** The answer to each refusal, the same on the router's path and the `POST /rpc` fast path. */
export const refusals: Record<Exclude<Verdict, "ok">, JsonAnswer> = {
  misdirected: answers.misdirected,
  "not-found": answers.notFound,
  "forbidden-origin": answers.forbiddenOrigin,
  unauthorized: answers.unauthorized
}

const refusal = {
  misdirected: toResponse(refusals.misdirected),
  "not-found": toResponse(refusals["not-found"]),
  "forbidden-origin": toResponse(refusals["forbidden-origin"]),
  unauthorized: toResponse(refusals.unauthorized)
} satisfies Record<Exclude<Verdict, "ok">, HttpServerResponse.HttpServerResponse>

/** The HTTP middleware: answers the refusal, or runs the app. */
export const middleware = (rt: Runtime) =>
<E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest> =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const verdict = decide(rt, {
      method: request.method,
      path: pathOf(request.url),
      host: header(request, "host"),
      origin: header(request, "origin"),
      credentials: { authorization: header(request, "authorization"), cookie: header(request, "cookie") }
    })
    return verdict === "ok" ? app : Effect.succeed(refusal[verdict])
  })

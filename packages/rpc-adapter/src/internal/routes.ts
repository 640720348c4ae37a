/**
 * The HTTP routes: the dashboard page, login and logout, `POST /rpc` and the bundle. The guard
 * (Host, Origin, credentials) runs before them.
 */
import { readFile } from "node:fs/promises"
import { FindMyWay, HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import type { HttpServerError } from "effect/http"
import { Effect, Layer } from "effect"
import type { Context, Scope } from "effect"
import * as Auth from "../Auth.js"
import * as Dashboard from "../Dashboard.js"
import * as Dispatch from "../Dispatch.js"
import type * as Methods from "../Methods.js"
import {
  answers,
  clientAddress,
  faviconResponse,
  header,
  htmlResponse,
  jsonResponse,
  overTls,
  readBody,
  securityHeaders,
  textAnswer,
  toResponse,
  tooLarge,
  tooManyAttempts,
  unauthorized
} from "./http.js"
import { authenticated } from "./runtime.js"
import type { Runtime } from "./runtime.js"

/**
 * The routes as one HTTP app: every failure of ours is answered; what is left is the
 * platform's own (`HttpServerError` other than a missing route), answered by the handler.
 */
export type RouterApp = Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  HttpServerError.HttpServerError,
  HttpServerRequest.HttpServerRequest | Scope.Scope
>

const replyJson = (text: string | undefined) =>
  text === undefined
    ? HttpServerResponse.empty({ status: 204 })
    : toResponse(textAnswer(text))

const loginFailedPage = (rt: Runtime) =>
  htmlResponse(Dashboard.loginPage({ password: rt.password !== undefined, failed: true }), 401)

const secure = (rt: Runtime, request: HttpServerRequest.HttpServerRequest): boolean =>
  overTls(request) || rt.httpsHosts.has((header(request, "host") ?? "").toLowerCase())

const newSession = (rt: Runtime, request: HttpServerRequest.HttpServerRequest) =>
  Effect.map(rt.login, (id) => Auth.sessionCookie(id, { maxAge: rt.sessionTtlMs / 1000, secure: secure(rt, request) }))

// A token login is never limited (256 random bits cannot be guessed; the owner's token must
// always let them in). A password attempt is checked against the rate limit first, on its
// browser's own bucket when it carries a valid device cookie, so strangers' failures never
// refuse it. A failure is logged with the client's address and the kind of credential, never
// with what was sent. A successful password login gives the browser a device cookie if it has none.
const attempt = (
  rt: Runtime,
  request: HttpServerRequest.HttpServerRequest,
  kind: "password" | "token",
  check: () => boolean,
  onOk: () => Effect.Effect<HttpServerResponse.HttpServerResponse>,
  onFail: () => HttpServerResponse.HttpServerResponse
) =>
  Effect.suspend(() => {
    const client = clientAddress(request)
    const device = Auth.deviceOf(rt.token, header(request, "cookie"))
    const who = { client, device }
    if (kind === "password") {
      const wait = rt.loginRetryAfter(who)
      if (wait > 0) return Effect.succeed(tooManyAttempts(wait))
    }
    if (check()) {
      return Effect.andThen(
        Effect.logInfo(`login (${kind}) from ${client}${device === undefined ? "" : " (known browser)"}`),
        Effect.map(onOk(), (response) =>
          kind === "password" && device === undefined
            ? HttpServerResponse.setCookieUnsafe(response, Auth.deviceCookieName, Auth.newDevice(rt.token), Auth.deviceCookieOptions(secure(rt, request)))
            : response)
      )
    }
    if (kind === "password") rt.loginFailed(who)
    return Effect.as(Effect.logWarning(`login failed from ${client}: wrong ${kind}`), onFail())
  })

const parsePassword = (text: string, isJson: boolean): string | undefined => {
  if (!isJson) return new URLSearchParams(text).get("password") ?? undefined
  try {
    const v = (JSON.parse(text) as { password?: unknown }).password
    return typeof v === "string" ? v : undefined
  } catch {
    return undefined
  }
}

/**
 * The routes; `services` gives `POST /rpc` what its methods need (it waits while the node is
 * still starting; every other route answers without it). Built once in the scope: the route
 * layers are registered on a fresh router.
 *
 * A path matches a route only as written (the router's strict config: case, slashes, `;` and
 * percent-escapes are not normalized), so the guard, which reads the path as written, always
 * sees the path of the route that answers: `//rpc`, `/RPC` or `/rpc/` are not found rather than
 * `/rpc` without credentials.
 */
export const router = (
  rt: Runtime,
  services: Effect.Effect<Context.Context<Methods.Requirements>>
): Effect.Effect<RouterApp, never, Scope.Scope> =>
  Effect.map(
    HttpRouter.toHttpEffect(routes(rt, services)).pipe(
      Effect.provideService(HttpRouter.RouterConfig, FindMyWay.strictConfig)
    ),
    (app) =>
      app.pipe(
        Effect.catchTags({
          BodyTooLarge: () => Effect.succeed(tooLarge(rt.maxBody)),
          BodyUnreadable: () => Effect.succeed(toResponse(answers.unreadable)),
          HttpServerError: (e) =>
            e.reason._tag === "RouteNotFound" ? Effect.succeed(toResponse(answers.notFound)) : Effect.fail(e)
        })
      )
  )

const routes = (rt: Runtime, services: Effect.Effect<Context.Context<Methods.Requirements>>) =>
  Layer.mergeAll(
    HttpRouter.add(
      "GET",
      "/",
      Effect.map(HttpServerRequest.HttpServerRequest, (request) =>
        authenticated(rt, { authorization: header(request, "authorization"), cookie: header(request, "cookie") })
          ? htmlResponse(Dashboard.page(
            rt.banner === undefined
              ? { bundle: rt.bundleFile !== undefined }
              : { bundle: rt.bundleFile !== undefined, banner: rt.banner }
          ))
          : htmlResponse(Dashboard.loginPage({ password: rt.password !== undefined, failed: false }), 401))
    ),
    HttpRouter.add(
      "GET",
      "/login",
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const token = (yield* HttpServerRequest.ParsedSearchParams)["token"]
        return yield* attempt(
          rt,
          request,
          "token",
          () => typeof token === "string" && Auth.safeEqual(token, rt.token),
          () =>
            Effect.map(newSession(rt, request), (cookie) =>
              HttpServerResponse.empty({
                status: 302,
                headers: { ...securityHeaders, location: "/", "set-cookie": cookie }
              })),
          () => loginFailedPage(rt)
        )
      })
    ),
    HttpRouter.add(
      "POST",
      "/login",
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const text = yield* readBody(request, rt.maxBody)
        const isJson = (header(request, "content-type") ?? "").includes("application/json")
        const password = parsePassword(text, isJson)
        return yield* attempt(
          rt,
          request,
          "password",
          () => rt.password !== undefined && password !== undefined && Auth.safeEqual(password, rt.password),
          () =>
            Effect.map(newSession(rt, request), (value) => {
              const cookie = { "set-cookie": value }
              return isJson
                ? HttpServerResponse.empty({ status: 204, headers: cookie })
                : HttpServerResponse.empty({ status: 303, headers: { ...securityHeaders, ...cookie, location: "/" } })
            }),
          () => (isJson ? unauthorized : loginFailedPage(rt))
        )
      })
    ),
    HttpRouter.add(
      "POST",
      "/logout",
      Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
        const id = Auth.sessionIdOf(header(request, "cookie"))
        return Effect.as(
          id !== undefined && id !== "" ? rt.logout(id) : Effect.void,
          HttpServerResponse.empty({
            status: 303,
            headers: { ...securityHeaders, location: "/", "set-cookie": Auth.clearedCookie(secure(rt, request)) }
          })
        )
      })
    ),
    HttpRouter.add(
      "POST",
      "/rpc",
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const text = yield* readBody(request, rt.maxBody)
        const context = yield* services
        return replyJson(
          yield* Effect.provide(Dispatch.bodyText(text, { maxBatch: rt.maxBatch, maxResponseBytes: rt.maxResponseBytes }), context)
        )
      })
    ),
    HttpRouter.add("GET", Dashboard.faviconPath, faviconResponse(Dashboard.favicon)),
    HttpRouter.add("GET", "/favicon.ico", faviconResponse(Dashboard.favicon)),
    HttpRouter.add(
      "GET",
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
    )
  )

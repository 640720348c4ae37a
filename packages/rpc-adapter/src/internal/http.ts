/**
 * HTTP helpers of the server: responses with the security headers, header access, and a body
 * reader that stops at the cap.
 */
import type { HttpServerRequest } from "effect/http"
import { HttpServerResponse } from "effect/http"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { Data, Effect, Option } from "effect"

export const securityHeaders = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store"
}

export const htmlResponse = (body: string, status = 200, headers: Record<string, string> = {}) =>
  HttpServerResponse.text(body, {
    status,
    contentType: "text/html; charset=utf-8",
    headers: { ...securityHeaders, ...headers }
  })

export const jsonResponse = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  HttpServerResponse.text(JSON.stringify(body), {
    status,
    contentType: "application/json",
    headers: { "cache-control": "no-store", ...headers }
  })

export const faviconResponse = (svg: string) =>
  HttpServerResponse.text(svg, {
    contentType: "image/svg+xml",
    headers: { "x-content-type-options": "nosniff", "cache-control": "public, max-age=86400" }
  })

export const unauthorized = jsonResponse({ error: "unauthorized: send Authorization: Bearer <token> or log in" }, 401, {
  "www-authenticate": "Bearer realm=\"archipelago\""
})

export const forbiddenOrigin = jsonResponse({ error: "forbidden: origin not allowed" }, 403)

export const misdirected = jsonResponse({ error: "misdirected: the Host header does not name this server" }, 421)

export const tooLarge = (max: number) =>
  jsonResponse({ error: `payload too large: the limit is ${max} bytes` }, 413, { connection: "close" })

export const tooManyAttempts = (retryAfterMs: number) =>
  jsonResponse({ error: "too many failed logins: try again later" }, 429, {
    "retry-after": String(Math.max(1, Math.ceil(retryAfterMs / 1000)))
  })

export class BodyTooLarge extends Data.TaggedError("BodyTooLarge")<{}> {}

export class BodyUnreadable extends Data.TaggedError("BodyUnreadable")<{}> {}

export const header = (request: HttpServerRequest.HttpServerRequest, name: string): string | undefined => {
  const v = request.headers[name]
  return typeof v === "string" ? v : undefined
}

/** The TCP peer's address, the key of the login rate limit. */
export const clientAddress = (request: HttpServerRequest.HttpServerRequest): string =>
  Option.getOrElse(request.remoteAddress, () => "unknown")

/** True when the request came over TLS (to this server or, declared by a proxy, to it). */
export const overTls = (request: HttpServerRequest.HttpServerRequest): boolean => {
  const socket = NodeHttpServerRequest.toIncomingMessage(request).socket as { encrypted?: boolean }
  return socket.encrypted === true || header(request, "x-forwarded-proto")?.toLowerCase() === "https"
}

// Reads the raw body counting bytes; past the cap it stops reading (without destroying the
// socket, so the 413 still reaches the client) and fails.
export const readBody = (request: HttpServerRequest.HttpServerRequest, max: number) => {
  const declared = Number(header(request, "content-length") ?? "0")
  if (Number.isFinite(declared) && declared > max) return Effect.fail(new BodyTooLarge())
  const source = NodeHttpServerRequest.toIncomingMessage(request)
  return Effect.callback<string, BodyTooLarge | BodyUnreadable>((resume) => {
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

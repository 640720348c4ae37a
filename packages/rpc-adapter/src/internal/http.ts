/**
 * HTTP helpers of the server: responses with the security headers, header access, and a body
 * reader that stops at the cap.
 */
import type * as Http from "node:http"
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

/** A JSON answer as data: the router's response and the `POST /rpc` fast path write the same. */
export interface JsonAnswer {
  readonly status: number
  readonly text: string
  readonly headers: Readonly<Record<string, string>>
}

export const jsonAnswer = (body: unknown, status = 200, headers: Record<string, string> = {}): JsonAnswer =>
  textAnswer(JSON.stringify(body), status, headers)

/** JSON already serialized (a `Dispatch.bodyText` reply) as an answer. */
export const textAnswer = (text: string, status = 200, headers: Record<string, string> = {}): JsonAnswer => ({
  status,
  text,
  headers: { "cache-control": "no-store", ...headers }
})

export const toResponse = (answer: JsonAnswer) =>
  HttpServerResponse.text(answer.text, { status: answer.status, contentType: "application/json", headers: answer.headers })

export const jsonResponse = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  toResponse(jsonAnswer(body, status, headers))

/** Writes a JSON answer on a Node response in one write (head and body together). */
export const writeJson = (res: Http.ServerResponse, answer: JsonAnswer): void => {
  res.writeHead(answer.status, {
    ...answer.headers,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(answer.text)
  })
  res.end(answer.text)
}

export const faviconResponse = (svg: string) =>
  HttpServerResponse.text(svg, {
    contentType: "image/svg+xml",
    headers: { "x-content-type-options": "nosniff", "cache-control": "public, max-age=86400" }
  })

export const answers = {
  unauthorized: jsonAnswer({ error: "unauthorized: send Authorization: Bearer <token> or log in" }, 401, {
    "www-authenticate": "Bearer realm=\"archipelago\""
  }),
  forbiddenOrigin: jsonAnswer({ error: "forbidden: origin not allowed" }, 403),
  misdirected: jsonAnswer({ error: "misdirected: the Host header does not name this server" }, 421),
  notFound: jsonAnswer({ error: "not found" }, 404),
  unreadable: jsonAnswer({ error: "bad request: the body could not be read" }, 400),
  tooLarge: (max: number) => jsonAnswer({ error: `payload too large: the limit is ${max} bytes` }, 413, { connection: "close" })
} as const

export const unauthorized = toResponse(answers.unauthorized)

export const forbiddenOrigin = toResponse(answers.forbiddenOrigin)

export const misdirected = toResponse(answers.misdirected)

export const tooLarge = (max: number) => toResponse(answers.tooLarge(max))

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

/**
 * Reads a Node request's body as text counting bytes, and calls `done` once: with the text, or
 * with why not. A declared length past the cap is refused before reading; past the cap while
 * reading it stops (without destroying the socket, so the 413 still reaches the client).
 * Answers the function that stops listening.
 */
export const readRaw = (
  source: Http.IncomingMessage,
  max: number,
  done: (result: string | BodyTooLarge | BodyUnreadable) => void
): () => void => {
  const declared = Number(source.headers["content-length"] ?? "0")
  if (Number.isFinite(declared) && declared > max) {
    done(new BodyTooLarge())
    return () => {}
  }
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
      done(new BodyTooLarge())
    } else chunks.push(chunk)
  }
  const onEnd = () => {
    cleanup()
    done(chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8"))
  }
  const onError = () => {
    cleanup()
    done(new BodyUnreadable())
  }
  source.on("data", onData)
  source.on("end", onEnd)
  source.on("error", onError)
  return cleanup
}

// The router's body reader: `readRaw` as an effect.
export const readBody = (request: HttpServerRequest.HttpServerRequest, max: number) =>
  Effect.callback<string, BodyTooLarge | BodyUnreadable>((resume) =>
    Effect.sync(readRaw(NodeHttpServerRequest.toIncomingMessage(request) as Http.IncomingMessage, max, (result) =>
      resume(typeof result === "string" ? Effect.succeed(result) : Effect.fail(result)))))

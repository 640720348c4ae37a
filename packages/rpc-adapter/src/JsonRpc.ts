/**
 * The JSON-RPC 2.0 wire format as pure functions: parse a body into single or batch requests,
 * and build responses. No I/O; the transport (HTTP or WebSocket) and the method table live
 * elsewhere.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import { Errors, Methods, Params } from "@archipelago/orchestrator/protocol"

/**
 * The error codes the server answers with (the protocol's, `Errors.ErrorCode`).
 *
 * @since 0.1.0
 * @category constants
 */
export const ErrorCode = Errors.ErrorCode

/**
 * @since 0.1.0
 * @category models
 */
export type ErrorCode = Errors.ErrorCode

/**
 * A request id: a string, a number or null. A request without an id is a notification.
 *
 * @since 0.1.0
 * @category models
 */
export type Id = string | number | null

/**
 * A well-formed request. `id` is absent for notifications; `params` is always a named object
 * (an omitted `params` reads as `{}`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Request {
  readonly method: string
  readonly params: unknown
  readonly id?: Id
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ErrorObject {
  readonly code: number
  readonly message: string
  readonly data?: unknown
}

/**
 * @since 0.1.0
 * @category models
 */
export type Response =
  | { readonly jsonrpc: "2.0"; readonly id: Id; readonly result: unknown }
  | { readonly jsonrpc: "2.0"; readonly id: Id; readonly error: ErrorObject }

/**
 * A notification the server pushes (no id): one of the protocol's (`Methods.Notification`), with
 * the params its schema describes.
 *
 * @since 0.1.0
 * @category models
 */
export type Notification = {
  readonly [K in Methods.Notification]: {
    readonly jsonrpc: "2.0"
    readonly method: K
    readonly params: Params.NotificationParams[K]
  }
}[Methods.Notification]

/**
 * An element refused before dispatch: its error `response`, and whether it is answered at all
 * (`answer` is false for a notification, which JSON-RPC 2.0 never answers, even when invalid).
 *
 * @since 0.1.0
 * @category models
 */
export interface Refused {
  readonly response: Response
  readonly answer: boolean
  /** The element's method when it had one (clipped), for logs. */
  readonly method?: string
}

/**
 * One element of a parsed body: a request to dispatch, or an element refused before dispatch.
 *
 * @since 0.1.0
 * @category models
 */
export type Entry = Result.Result<Request, Refused>

/**
 * A parsed body: a single element, a batch, or a body answered as a whole (parse error, empty or
 * oversized batch).
 *
 * @since 0.1.0
 * @category models
 */
export type Parsed =
  | { readonly _tag: "Single"; readonly entry: Entry }
  | { readonly _tag: "Batch"; readonly entries: ReadonlyArray<Entry> }
  | { readonly _tag: "Rejected"; readonly response: Response }

/**
 * The default cap on the number of requests in one batch.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultMaxBatch = 50

/**
 * The default cap on the nesting of `params` (objects and arrays inside each other). No method
 * takes more than two levels; anything deeper is refused before any decoding, so a hostile body
 * cannot exhaust the decoder's stack.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultMaxDepth = 32

/**
 * How many characters of a client's text (a method name, a reason quoting a value) an answer or
 * a log line echoes.
 *
 * @since 0.1.0
 * @category constants
 */
export const echoLimit = 64

/**
 * Clips a client's text to `max` characters, saying how long it was: `mmm… (512000 characters)`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const clip = (text: string, max: number = echoLimit): string =>
  text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`

/**
 * True when a decoded JSON value nests objects or arrays deeper than `max` levels (a scalar is
 * depth 0, `{}` depth 1). Iterative, so it is safe on any value `JSON.parse` returns.
 *
 * @since 0.1.0
 * @category guards
 */
export const deeperThan = (value: unknown, max: number): boolean => {
  const stack: Array<[unknown, number]> = [[value, 0]]
  while (stack.length > 0) {
    const [v, d] = stack.pop()!
    if (typeof v !== "object" || v === null) continue
    if (d + 1 > max) return true
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === "object" && child !== null) stack.push([child, d + 1])
    }
  }
  return false
}

/**
 * A success response.
 *
 * @since 0.1.0
 * @category constructors
 */
export const success = (id: Id, result: unknown): Response => ({ jsonrpc: "2.0", id, result })

/**
 * An error response; `data` is omitted when undefined.
 *
 * @since 0.1.0
 * @category constructors
 */
export const failure = (id: Id, code: number, message: string, data?: unknown): Response => ({
  jsonrpc: "2.0",
  id,
  error: data === undefined ? { code, message } : { code, message, data }
})

/**
 * A server notification, typed by the protocol's notification map: `params` must be what the
 * schema of `method` describes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const notification = <K extends Methods.Notification>(
  method: K,
  params: Params.NotificationParams[K]
): Notification => ({ jsonrpc: "2.0", method, params }) as Notification

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const isId = (u: unknown): u is Id => typeof u === "string" || u === null || (typeof u === "number" && Number.isFinite(u))

const invalid = (why: string, id: Id = null): Response => failure(id, ErrorCode.InvalidRequest, `invalid request: ${why}`)

const refused = (response: Response): Entry => Result.fail({ response, answer: true })

/**
 * Validates one decoded JSON value as a request. Answers -32600 for anything that is not a
 * request object, and -32602 for positional (array) or non-object params and for params nested
 * deeper than `maxDepth`. A notification (no `id`) with bad params is refused without an answer.
 *
 * @since 0.1.0
 * @category parsing
 */
export const validate = (u: unknown, maxDepth: number = defaultMaxDepth): Entry => {
  if (!isRecord(u)) return refused(invalid("expected an object"))
  const hasId = Object.prototype.hasOwnProperty.call(u, "id")
  if (hasId && !isId(u.id)) return refused(invalid("id must be a string, a number or null"))
  const id: Id = hasId ? (u.id as Id) : null
  if (u.jsonrpc !== "2.0") return refused(invalid("jsonrpc must be \"2.0\"", id))
  if (typeof u.method !== "string" || u.method.length === 0) {
    return refused(invalid("method must be a non-empty string", id))
  }
  const method = clip(u.method)
  const params = u.params === undefined ? {} : u.params
  const badParams = !isRecord(params)
    ? "expected a named object"
    : deeperThan(params, maxDepth)
    ? `nested deeper than ${maxDepth} levels`
    : undefined
  if (badParams !== undefined) {
    const response = failure(id, ErrorCode.InvalidParams, `invalid params: params: ${badParams}`, { field: "params" })
    return Result.fail({ response, answer: hasId, method })
  }
  return Result.succeed(hasId ? { method: u.method, params, id } : { method: u.method, params })
}

/**
 * Parses a request body. Bodies that are not JSON answer -32700; an empty batch or one longer
 * than `maxBatch` answers -32600 as a whole.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (text: string, maxBatch: number = defaultMaxBatch, maxDepth: number = defaultMaxDepth): Parsed => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { _tag: "Rejected", response: failure(null, ErrorCode.ParseError, "parse error: the body is not valid JSON") }
  }
  if (Array.isArray(json)) {
    if (json.length === 0) return { _tag: "Rejected", response: invalid("empty batch") }
    if (json.length > maxBatch) {
      return { _tag: "Rejected", response: invalid(`batch of ${json.length} requests exceeds the limit of ${maxBatch}`) }
    }
    return { _tag: "Batch", entries: json.map((u) => validate(u, maxDepth)) }
  }
  return { _tag: "Single", entry: validate(json, maxDepth) }
}

/**
 * True for a request that expects no response.
 *
 * @since 0.1.0
 * @category guards
 */
export const isNotification = (request: Request): boolean => request.id === undefined

/**
 * True when a value has the shape of a JSON-RPC 2.0 response (used by tests and clients).
 *
 * @since 0.1.0
 * @category guards
 */
export const isResponse = (u: unknown): u is Response => {
  if (!isRecord(u) || u.jsonrpc !== "2.0" || !("id" in u) || !isId(u.id)) return false
  const hasResult = "result" in u
  const hasError = "error" in u
  if (hasResult === hasError) return false
  if (hasError) {
    const e = u.error
    return isRecord(e) && Number.isInteger(e.code) && typeof e.message === "string"
  }
  return true
}

/**
 * Answers a JSON-RPC body: parse, look up each method, run it, and build the responses. The
 * same function serves `POST /rpc` and WebSocket messages.
 *
 * @since 0.1.0
 */
import { Cause, Effect, Result } from "effect"
import * as JsonRpc from "./JsonRpc.js"
import * as Methods from "./Methods.js"
import { toErrorObject } from "./RpcError.js"

/**
 * What a body answers: one response, a batch of them, or nothing (only notifications).
 *
 * @since 0.1.0
 * @category models
 */
export type Reply = JsonRpc.Response | ReadonlyArray<JsonRpc.Response> | undefined

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly maxBatch?: number
  /** Methods of one connection (the WebSocket's subscriptions), looked up before the shared ones. */
  readonly local?: Local
  /** Nesting allowed in `params`; default `JsonRpc.defaultMaxDepth`. */
  readonly maxDepth?: number
  /** Total size of the answers to one body; default `defaultMaxResponseBytes`. */
  readonly maxResponseBytes?: number
}

/**
 * A connection's own methods, by name.
 *
 * @since 0.1.0
 * @category models
 */
export type Local = (method: string) => Methods.Method | undefined

/**
 * The default budget for the answers to one body (512 KiB). Once spent, the elements still to
 * run are not run and answer `-32005`; an answer that would overspend it is replaced by that
 * error too, unless it is small (lifecycle answers always get through: their work has begun).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultMaxResponseBytes = 512 * 1024

const smallAnswer = 1024

const tooLarge = (id: JsonRpc.Id, limit: number, ran: boolean): JsonRpc.Response =>
  JsonRpc.failure(
    id,
    JsonRpc.ErrorCode.Limit,
    `response too large: the answers to this body exceed ${limit} bytes; ` +
      (ran ? "ask for a smaller page" : "this request was not run; send it again on its own"),
    { limit }
  )

// An answer with its JSON text, serialized once: the budget counts its bytes and the transport
// sends the same text.
interface Answer {
  readonly response: JsonRpc.Response
  readonly text: string
  readonly size: number
}

const serialize = (response: JsonRpc.Response): Answer => {
  const text = JSON.stringify(response)
  return { response, text, size: Buffer.byteLength(text) }
}

/**
 * Runs one well-formed request. Every failure becomes this request's error answer: typed
 * errors their own code, anything unexpected (a defect, even a throw while decoding) `-32603`
 * without detail. Each error answer is logged with the method and the code, never the params.
 *
 * @since 0.1.0
 * @category dispatch
 */
// Untraced: a span per request would cost more than many answers (no tracer is installed; a
// caller that wants one wraps `body` in its own span).
export const request = Effect.fnUntraced(function*(req: JsonRpc.Request, local?: Local) {
  const id = req.id ?? null
  const run = local?.(req.method) ?? Methods.lookup(req.method)
  if (run === undefined && Methods.socketOnly.includes(req.method)) {
    const message = `method not found: ${req.method} is only available on the WebSocket /ws`
    return yield* logged(req.method, JsonRpc.failure(id, JsonRpc.ErrorCode.MethodNotFound, message, { method: req.method }))
  }
  if (run === undefined) {
    const name = JsonRpc.clip(req.method)
    return yield* logged(name, JsonRpc.failure(id, JsonRpc.ErrorCode.MethodNotFound, `method not found: ${name}`, { method: name }))
  }
  return yield* Effect.suspend(() => run(req.params)).pipe(
    Effect.map((result): JsonRpc.Response => JsonRpc.success(id, result)),
    Effect.catch((error) => {
      const e = toErrorObject(error)
      return logged(req.method, JsonRpc.failure(id, e.code, e.message, e.data))
    }),
    Effect.catchCause((cause) =>
      Cause.hasInterruptsOnly(cause)
        ? Effect.failCause(cause)
        : Effect.as(
          Effect.logError(`rpc ${req.method} answered -32603: internal error`, cause),
          JsonRpc.failure(id, JsonRpc.ErrorCode.Internal, "internal error")
        )
    )
  )
})

const logged = (method: string | undefined, response: JsonRpc.Response): Effect.Effect<JsonRpc.Response> => {
  if (!("error" in response)) return Effect.succeed(response)
  const who = method === undefined ? "rpc request" : `rpc ${method}`
  const id = response.id === null ? "" : ` (id ${JsonRpc.clip(String(response.id))})`
  return Effect.as(
    Effect.logInfo(`${who}${id} answered ${response.error.code}: ${response.error.message}`),
    response
  )
}

const internal = (cause: Cause.Cause<unknown>) =>
  Effect.as(
    Effect.logError("rpc body failed unexpectedly; answered -32603", cause),
    JsonRpc.failure(null, JsonRpc.ErrorCode.Internal, "internal error")
  )

// Keeps an answer within the budget, or replaces a large one that would overspend it.
const budget = (limit: number, used: number, r: JsonRpc.Response): Answer => {
  const answer = serialize(r)
  return used + answer.size <= limit || answer.size <= smallAnswer ? answer : serialize(tooLarge(r.id, limit, true))
}

const entry = (e: JsonRpc.Entry, local?: Local): Effect.Effect<JsonRpc.Response | undefined, never, Methods.Requirements> =>
  e._tag === "Failure"
    ? Effect.map(logged(e.failure.method, e.failure.response), (r) => (e.failure.answer ? r : undefined))
    : Effect.map(request(e.success, local), (r) => (JsonRpc.isNotification(e.success) ? undefined : r))

/**
 * Answers a request body. Batch elements run in order, so a batch reads like the same requests
 * sent one after another. Nothing a client sends can make this fail: a failure of one element
 * is that element's error answer, and the elements after it still run.
 *
 * @since 0.1.0
 * @category dispatch
 */
export const body = (text: string, options: Options = {}): Effect.Effect<Reply, never, Methods.Requirements> =>
  Effect.map(answers(text, options), (a) =>
    a === undefined ? undefined : Array.isArray(a) ? a.map((x) => x.response) : (a as Answer).response)

/**
 * `body`'s reply as the JSON text a transport sends (each answer serialized once, the same text
 * the response budget counted), or `undefined` when there is nothing to answer.
 *
 * @since 0.1.0
 * @category dispatch
 */
export const bodyText = (text: string, options: Options = {}): Effect.Effect<string | undefined, never, Methods.Requirements> =>
  Effect.map(answers(text, options), (a) =>
    a === undefined ? undefined : Array.isArray(a) ? `[${a.map((x) => x.text).join(",")}]` : (a as Answer).text)

const answers = (text: string, options: Options): Effect.Effect<Answer | ReadonlyArray<Answer> | undefined, never, Methods.Requirements> =>
  Effect.suspend((): Effect.Effect<Answer | ReadonlyArray<Answer> | undefined, never, Methods.Requirements> => {
    const limit = options.maxResponseBytes ?? defaultMaxResponseBytes
    const parsed = JsonRpc.parse(text, options.maxBatch ?? JsonRpc.defaultMaxBatch, options.maxDepth ?? JsonRpc.defaultMaxDepth)
    switch (parsed._tag) {
      case "Rejected":
        return Effect.map(logged(undefined, parsed.response), serialize)
      case "Single":
        return Effect.map(entry(parsed.entry, options.local), (r) => (r === undefined ? r : budget(limit, 0, r)))
      case "Batch":
        return Effect.gen(function*() {
          const answered: Array<Answer> = []
          let used = 0
          for (const e of parsed.entries) {
            if (used >= limit && Result.isSuccess(e) && !JsonRpc.isNotification(e.success)) {
              answered.push(serialize(yield* logged(e.success.method, tooLarge(e.success.id ?? null, limit, false))))
              continue
            }
            const r = yield* Effect.catchCause(entry(e, options.local), internal)
            if (r === undefined) continue
            const kept = budget(limit, used, r)
            used += kept.size
            answered.push(kept)
          }
          return answered.length === 0 ? undefined : answered
        })
    }
  }).pipe(Effect.catchCause((cause) => Cause.hasInterruptsOnly(cause) ? Effect.failCause(cause) : Effect.map(internal(cause), serialize)))

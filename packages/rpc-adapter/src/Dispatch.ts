/**
 * Answers a JSON-RPC body: parse, look up each method, run it, and build the responses. The
 * same function serves `POST /rpc` and WebSocket messages.
 *
 * @since 0.1.0
 */
import { Cause, Effect } from "effect"
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
}

/**
 * A connection's own methods, by name.
 *
 * @since 0.1.0
 * @category models
 */
export type Local = (method: string) => Methods.Method | undefined

/**
 * Runs one well-formed request. Every failure becomes this request's error answer: typed
 * errors their own code, anything unexpected (a defect, even a throw while decoding) `-32603`
 * without detail. Each error answer is logged with the method and the code, never the params.
 *
 * @since 0.1.0
 * @category dispatch
 */
export const request = Effect.fn("Dispatch.request")(function*(req: JsonRpc.Request, local?: Local) {
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
    Effect.catchAll((error) => {
      const e = toErrorObject(error)
      return logged(req.method, JsonRpc.failure(id, e.code, e.message, e.data))
    }),
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause)
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

const entry = (e: JsonRpc.Entry, local?: Local): Effect.Effect<JsonRpc.Response | undefined, never, Methods.Requirements> =>
  e._tag === "Left"
    ? Effect.map(logged(e.left.method, e.left.response), (r) => (e.left.answer ? r : undefined))
    : Effect.map(request(e.right, local), (r) => (JsonRpc.isNotification(e.right) ? undefined : r))

/**
 * Answers a request body. Batch elements run in order, so a batch reads like the same requests
 * sent one after another. Nothing a client sends can make this fail: a failure of one element
 * is that element's error answer, and the elements after it still run.
 *
 * @since 0.1.0
 * @category dispatch
 */
export const body = (text: string, options: Options = {}): Effect.Effect<Reply, never, Methods.Requirements> =>
  Effect.suspend((): Effect.Effect<Reply, never, Methods.Requirements> => {
    const parsed = JsonRpc.parse(text, options.maxBatch ?? JsonRpc.defaultMaxBatch, options.maxDepth ?? JsonRpc.defaultMaxDepth)
    switch (parsed._tag) {
      case "Rejected":
        return logged(undefined, parsed.response)
      case "Single":
        return entry(parsed.entry, options.local)
      case "Batch":
        return Effect.map(
          Effect.forEach(parsed.entries, (e) => Effect.catchAllCause(entry(e, options.local), internal)),
          (rs) => {
            const answered = rs.filter((r): r is JsonRpc.Response => r !== undefined)
            return answered.length === 0 ? undefined : answered
          }
        )
    }
  }).pipe(Effect.catchAllCause((cause) => Cause.isInterruptedOnly(cause) ? Effect.failCause(cause) : internal(cause)))

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
}

/**
 * Runs one well-formed request. Defects are logged and answered -32603 without detail.
 *
 * @since 0.1.0
 * @category dispatch
 */
export const request = Effect.fn("Dispatch.request")(function*(req: JsonRpc.Request) {
  const id = req.id ?? null
  const run = Methods.lookup(req.method)
  if (run === undefined) {
    return JsonRpc.failure(id, JsonRpc.ErrorCode.MethodNotFound, `method not found: ${req.method}`, {
      method: req.method
    })
  }
  return yield* run(req.params).pipe(
    Effect.map((result) => JsonRpc.success(id, result)),
    Effect.catchAll((error) => {
      const e = toErrorObject(error)
      return Effect.succeed(JsonRpc.failure(id, e.code, e.message, e.data))
    }),
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.failCause(cause)
        : Effect.as(
          Effect.logError(`rpc method ${req.method} failed`, cause),
          JsonRpc.failure(id, JsonRpc.ErrorCode.Internal, "internal error")
        )
    )
  )
})

const entry = (e: JsonRpc.Entry) =>
  e._tag === "Left"
    ? Effect.succeed<JsonRpc.Response | undefined>(e.left)
    : Effect.map(request(e.right), (r) => (JsonRpc.isNotification(e.right) ? undefined : r))

/**
 * Answers a request body. Batch elements run in order, so a batch reads like the same requests
 * sent one after another.
 *
 * @since 0.1.0
 * @category dispatch
 */
export const body = (text: string, options: Options = {}): Effect.Effect<Reply, never, Methods.Requirements> => {
  const parsed = JsonRpc.parse(text, options.maxBatch ?? JsonRpc.defaultMaxBatch)
  switch (parsed._tag) {
    case "Rejected":
      return Effect.succeed(parsed.response)
    case "Single":
      return entry(parsed.entry)
    case "Batch":
      return Effect.map(Effect.forEach(parsed.entries, entry), (rs) => {
        const answered = rs.filter((r): r is JsonRpc.Response => r !== undefined)
        return answered.length === 0 ? undefined : answered
      })
  }
}

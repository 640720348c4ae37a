/**
 * The mapping from the orchestrator's typed errors to JSON-RPC error objects. Messages are the
 * errors' human messages; no stack trace ever reaches a client.
 *
 * @since 0.1.0
 */
import { Data } from "effect"
import type { Transition } from "@archipelago/orchestrator/domain"
import type { RuntimeError, ServiceError } from "@archipelago/orchestrator"
import { ErrorCode } from "./JsonRpc.js"
import type { ErrorObject } from "./JsonRpc.js"

/**
 * Params that do not decode: `field` is the dotted path of the first bad field.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidParams extends Data.TaggedError("InvalidParams")<{
  readonly field: string
  readonly reason: string
}> {
  override get message(): string {
    return `invalid params: ${this.field}: ${this.reason}`
  }
}

/**
 * A per-client limit refused the request (e.g. too many log follows on one socket).
 *
 * @since 0.1.0
 * @category errors
 */
export class LimitReached extends Data.TaggedError("LimitReached")<{
  readonly what: string
  readonly limit: number
}> {
  override get message(): string {
    return `limit reached: at most ${this.limit} ${this.what} per connection; end one first`
  }
}

/**
 * Every error a method can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type MethodError =
  | InvalidParams
  | LimitReached
  | ServiceError.UnknownApp
  | Transition.Conflict
  | Transition.NotAllowed
  | RuntimeError.RuntimeError

/**
 * The JSON-RPC error object for a method error.
 *
 * @since 0.1.0
 * @category conversions
 */
export const toErrorObject = (error: MethodError): ErrorObject => {
  switch (error._tag) {
    case "InvalidParams":
      return { code: ErrorCode.InvalidParams, message: error.message, data: { field: error.field } }
    case "LimitReached":
      return { code: ErrorCode.Limit, message: error.message, data: { limit: error.limit } }
    case "UnknownApp":
      return { code: ErrorCode.UnknownApp, message: error.message, data: { appId: error.appId } }
    case "Conflict":
      return {
        code: ErrorCode.Conflict,
        message: error.message,
        data: { appId: error.appId, running: error.running, refused: error.refused }
      }
    case "NotAllowed":
      return {
        code: ErrorCode.NotAllowed,
        message: error.message,
        data: {
          appId: error.appId,
          op: error.op,
          state: error.state,
          ...("missing" in error ? { missing: error.missing } : {}),
          ...("dependents" in error ? { dependents: error.dependents } : {})
        }
      }
    case "ContainerNotFound":
      return { code: ErrorCode.Engine, message: error.message, data: { container: error.name } }
    case "EngineUnavailable":
    case "ImageNotFound":
    case "CommandFailed":
      return { code: ErrorCode.Engine, message: error.message }
  }
}

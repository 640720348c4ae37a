/**
 * A JSON-RPC error answered by the server, or a transport failure reaching it.
 *
 * @since 0.1.0
 */
import * as Errors from "@archipelago/orchestrator/protocol/Errors"
import * as Guards from "@archipelago/orchestrator/protocol/Guards"

/**
 * The error codes of the Archipelago RPC protocol (the orchestrator's `Errors.codes`).
 *
 * @since 0.1.0
 * @category constants
 */
export const codes = Errors.codes

/**
 * The server answered a JSON-RPC error.
 *
 * @since 0.1.0
 * @category errors
 */
export class RpcError extends Error {
  override readonly name: string = "RpcError"
  constructor(
    readonly method: string,
    readonly code: number,
    readonly reason: string,
    readonly data?: unknown
  ) {
    super(reason)
  }
}

/**
 * The server could not be reached, or answered something that is not JSON-RPC (e.g. HTTP 401).
 *
 * @since 0.1.0
 * @category errors
 */
export class TransportError extends Error {
  override readonly name: string = "TransportError"
  constructor(
    readonly method: string,
    readonly reason: string,
    readonly status?: number
  ) {
    super(`${method}: ${reason}`)
  }
}

/**
 * The server sent a message this client does not understand: `method` names it (the method
 * whose answer it is, or the notification), `field` the first field that is not what the
 * protocol says (`result.generation`, `params.app.state`), and `expected` what it should be. A
 * transport error, so whatever shows those shows this too.
 *
 * @since 0.1.0
 * @category errors
 */
export class ProtocolError extends TransportError {
  override readonly name: string = "ProtocolError"
  readonly field: string
  readonly expected: string
  constructor(method: string, issue: Guards.Issue) {
    super(method, `the server sent a message this dashboard does not understand: ${Guards.describe(issue)}`)
    this.field = issue.field
    this.expected = issue.expected
  }
}

/**
 * A JSON-RPC error answered by the server, or a transport failure reaching it.
 *
 * @since 0.1.0
 */

/**
 * The error codes of the Archipelago RPC protocol.
 *
 * @since 0.1.0
 * @category constants
 */
export const codes = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internal: -32603,
  unknownApp: -32001,
  conflict: -32002,
  notAllowed: -32003,
  engine: -32004
} as const

/**
 * The server answered a JSON-RPC error.
 *
 * @since 0.1.0
 * @category errors
 */
export class RpcError extends Error {
  override readonly name = "RpcError"
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
  override readonly name = "TransportError"
  constructor(
    readonly method: string,
    readonly reason: string,
    readonly status?: number
  ) {
    super(`${method}: ${reason}`)
  }
}

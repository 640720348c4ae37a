/**
 * The errors of the wire protocol: the JSON-RPC error codes the server answers with, under both
 * spellings. Plain constants: a browser reads them without Schema (the error object's schema is
 * `Messages.ErrorObject`, with the envelope that carries it).
 *
 * @since 0.1.0
 */

/**
 * The error codes the server answers with.
 *
 * @since 0.1.0
 * @category constants
 */
export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  Internal: -32603,
  UnknownApp: -32001,
  Conflict: -32002,
  NotAllowed: -32003,
  Engine: -32004,
  Limit: -32005
} as const

/**
 * @since 0.1.0
 * @category models
 */
export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode]

/**
 * The same codes under camelCase names (the web components' `codes`); derived, so a code added
 * to `ErrorCode` without a name here fails to compile.
 *
 * @since 0.1.0
 * @category constants
 */
export const codes: { readonly [K in keyof typeof ErrorCode as Uncapitalize<K>]: typeof ErrorCode[K] } = {
  parseError: ErrorCode.ParseError,
  invalidRequest: ErrorCode.InvalidRequest,
  methodNotFound: ErrorCode.MethodNotFound,
  invalidParams: ErrorCode.InvalidParams,
  internal: ErrorCode.Internal,
  unknownApp: ErrorCode.UnknownApp,
  conflict: ErrorCode.Conflict,
  notAllowed: ErrorCode.NotAllowed,
  engine: ErrorCode.Engine,
  limit: ErrorCode.Limit
}

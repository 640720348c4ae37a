/**
 * The wire protocol between `archipelago serve` and its clients, said once for both sides:
 * JSON-RPC 2.0 on `POST /rpc` and on the WebSocket `/ws`. The server types what it sends by the
 * schemas here; a browser decodes with the guards and carries no Schema code.
 *
 * `Methods`, `Errors` and `Guards` hold no Schema value; `Views`, `Params` and `Messages` are the
 * schemas. A browser bundle imports the modules themselves, `import * as Guards from
 * "@archipelago/orchestrator/protocol/Guards"` (through this index a bundler keeps a namespace
 * whole), and the schema modules with `import type` only.
 *
 * @since 0.1.0
 */

/**
 * The error codes, under both spellings.
 *
 * @since 0.1.0
 */
export * as Errors from "./Errors.js"
/**
 * The guards a browser decodes with, proven equal to the schemas.
 *
 * @since 0.1.0
 */
export * as Guards from "./Guards.js"
/**
 * The JSON-RPC envelopes, each method's result schema and every message schema by name.
 *
 * @since 0.1.0
 */
export * as Messages from "./Messages.js"
/**
 * Method and notification names and the WebSocket subprotocols.
 *
 * @since 0.1.0
 */
export * as Methods from "./Methods.js"
/**
 * The params of each notification.
 *
 * @since 0.1.0
 */
export * as Params from "./Params.js"
/**
 * What the server answers a request with.
 *
 * @since 0.1.0
 */
export * as Views from "./Views.js"

/**
 * ElectrumX's connection to bitcoind: the `DAEMON_URL` environment variable
 * (`http://<user>:<password>@<host>:<port>/`), written as a shell file that the container's
 * command sources at every start (`. /etc/archipelago/daemon.env && exec init`), so a repaired
 * file reaches the next start without recreating the container. Pure and deterministic.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import { RenderError } from "./RenderError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Params {
  readonly rpcUser: string
  readonly rpcPassword: string
  readonly rpcHost: string
  readonly rpcPort: number
}

const hostPattern = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/

/**
 * Percent-encodes a URL userinfo part; `'` too, so the value can sit in single quotes.
 *
 * @since 0.1.0
 * @category utils
 */
export const encodeUserinfo = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

/**
 * The `DAEMON_URL` value.
 *
 * @since 0.1.0
 * @category constructors
 */
export const daemonUrl = (p: Params): string =>
  `http://${encodeUserinfo(p.rpcUser)}:${encodeUserinfo(p.rpcPassword)}@${p.rpcHost}:${p.rpcPort}/`

/**
 * Renders the file, refusing any value that could break out of its line or quotes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const render = (p: Params): Result.Result<string, RenderError> => {
  if (!Number.isInteger(p.rpcPort) || p.rpcPort < 1 || p.rpcPort > 65535) {
    return Result.fail(new RenderError({ field: "rpcPort", reason: "not a TCP port" }))
  }
  if (!hostPattern.test(p.rpcHost)) return Result.fail(new RenderError({ field: "rpcHost", reason: "not a host name or IPv4 address" }))
  if (p.rpcUser.length === 0) return Result.fail(new RenderError({ field: "rpcUser", reason: "empty" }))
  if (p.rpcPassword.length === 0) return Result.fail(new RenderError({ field: "rpcPassword", reason: "empty" }))
  return Result.succeed(
    [
      "# Written by @archipelago/hooks (electrumx-daemon) before every start and reconcile.",
      "# Edits are overwritten. It carries the bitcoind RPC credentials: keep it 0600.",
      `export DAEMON_URL='${daemonUrl(p)}'`,
      ""
    ].join("\n")
  )
}

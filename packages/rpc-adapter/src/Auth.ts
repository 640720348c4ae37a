/**
 * Authentication of RPC clients: the bearer token kept in `<dataDir>/rpc-token` (0600, crypto
 * random, created on first start), the `archy_session` cookie derived from it (or granted by a
 * password login), and the Origin check that keeps other sites' pages off the API.
 *
 * @since 0.1.0
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto"
import { readFile } from "node:fs/promises"
import { networkInterfaces } from "node:os"
import { join } from "node:path"
import { SafeFile } from "@archipelago/orchestrator"
import { Data, Effect, Option } from "effect"

/**
 * The token file could not be read or created.
 *
 * @since 0.1.0
 * @category errors
 */
export class TokenError extends Data.TaggedError("TokenError")<{ readonly path: string; readonly reason: string }> {
  override get message(): string {
    return `cannot prepare the RPC token ${this.path}: ${this.reason}`
  }
}

/**
 * The session cookie's name.
 *
 * @since 0.1.0
 * @category constants
 */
export const cookieName = "archy_session"

/**
 * The WebSocket subprotocol prefix that carries the token for clients that cannot set headers.
 *
 * @since 0.1.0
 * @category constants
 */
export const bearerProtocolPrefix = "archipelago.bearer."

/**
 * The path of the token file in a data directory.
 *
 * @since 0.1.0
 * @category getters
 */
export const tokenPath = (dataDir: string): string => join(dataDir, "rpc-token")

const reason = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/**
 * Reads the token, creating it on first start (32 random bytes, base64url, mode 0600). A token
 * file readable by others is tightened to 0600. A symlink (or anything but a regular file) at
 * `rpc-token` is never followed nor chmod'ed: it is replaced by a fresh token, with a warning.
 *
 * @since 0.1.0
 * @category constructors
 */
export const ensureToken = Effect.fn("Auth.ensureToken")(function*(dataDir: string) {
  const path = tokenPath(dataDir)
  const io = <A>(effect: Effect.Effect<A, SafeFile.SafeFileError | SafeFile.UnsafePath>) =>
    Effect.mapError(effect, (e) => new TokenError({ path, reason: e._tag === "UnsafePath" ? e.message : e.reason }))
  const read = io(SafeFile.readString(path, { root: dataDir, narrow: true }))
  let stored = yield* read
  if (Option.isNone(stored)) {
    const fresh = `${randomBytes(32).toString("base64url")}\n`
    yield* io(SafeFile.create(path, fresh, { root: dataDir, mode: 0o600, dirMode: 0o700 }))
    stored = yield* read
  }
  if (Option.isNone(stored)) return yield* new TokenError({ path, reason: "it is not a regular file" })
  const token = stored.value.trim()
  if (token.length < 16) return yield* new TokenError({ path, reason: "the token is shorter than 16 characters" })
  return token
})

/**
 * Reads a password file (the first line, trimmed).
 *
 * @since 0.1.0
 * @category constructors
 */
export const readPassword = Effect.fn("Auth.readPassword")(function*(path: string) {
  const text = yield* Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (e) => new TokenError({ path, reason: reason(e) })
  })
  const password = text.split("\n")[0]?.trim() ?? ""
  if (password.length === 0) return yield* Effect.fail(new TokenError({ path, reason: "the password file is empty" }))
  return password
})

/**
 * Compares two secrets in constant time.
 *
 * @since 0.1.0
 * @category guards
 */
export const safeEqual = (a: string, b: string): boolean =>
  timingSafeEqual(createHash("sha256").update(a).digest(), createHash("sha256").update(b).digest())

/**
 * The session cookie's value: derived from the token, so it survives restarts and a new token
 * revokes every session.
 *
 * @since 0.1.0
 * @category getters
 */
export const sessionValue = (token: string): string =>
  createHmac("sha256", token).update("archipelago session v1").digest("base64url")

/**
 * The `Set-Cookie` header that logs a browser in.
 *
 * @since 0.1.0
 * @category getters
 */
export const sessionCookie = (token: string): string =>
  `${cookieName}=${sessionValue(token)}; HttpOnly; SameSite=Strict; Path=/`

/**
 * Parses a `Cookie` header.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseCookies = (header: string | undefined): ReadonlyMap<string, string> => {
  const out = new Map<string, string>()
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=")
    if (eq <= 0) continue
    out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim())
  }
  return out
}

/**
 * The request headers that can carry credentials.
 *
 * @since 0.1.0
 * @category models
 */
export interface CredentialHeaders {
  readonly authorization?: string | undefined
  readonly cookie?: string | undefined
  readonly "sec-websocket-protocol"?: string | undefined
}

/**
 * True when the headers carry the token (bearer header or WebSocket subprotocol) or a valid
 * session cookie.
 *
 * @since 0.1.0
 * @category guards
 */
export const isAuthenticated = (token: string, headers: CredentialHeaders): boolean => {
  const auth = headers.authorization
  if (auth !== undefined && /^bearer /i.test(auth) && safeEqual(auth.slice(7).trim(), token)) return true
  const session = parseCookies(headers.cookie).get(cookieName)
  if (session !== undefined && safeEqual(session, sessionValue(token))) return true
  for (const p of (headers["sec-websocket-protocol"] ?? "").split(",")) {
    const proto = p.trim()
    if (proto.startsWith(bearerProtocolPrefix) && safeEqual(proto.slice(bearerProtocolPrefix.length), token)) {
      return true
    }
  }
  return false
}

const loopbackNames = ["127.0.0.1", "localhost", "[::1]"]

const isWildcard = (host: string): boolean => host === "0.0.0.0" || host === "::" || host === ""

const isLoopback = (host: string): boolean => host === "::1" || host === "localhost" || host.startsWith("127.")

const hostPart = (address: string): string => (address.includes(":") ? `[${address}]` : address)

/**
 * The origins a browser page may call the server from: the server's own address (and the
 * loopback names when bound to loopback, every local address when bound to all), plus `extra`.
 * Comparing with these instead of the `Host` header keeps DNS-rebinding pages out.
 *
 * @since 0.1.0
 * @category constructors
 */
export const allowedOrigins = (host: string, port: number, extra: ReadonlyArray<string> = []): ReadonlySet<string> => {
  const hosts = new Set<string>()
  if (isWildcard(host)) {
    for (const name of loopbackNames) hosts.add(name)
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) hosts.add(hostPart(a.address))
    }
  } else {
    hosts.add(hostPart(host))
    if (isLoopback(host)) for (const name of loopbackNames) hosts.add(name)
  }
  const out = new Set<string>()
  for (const h of hosts) out.add(`http://${h}:${port}`)
  for (const o of extra) out.add(o.replace(/\/+$/, "").toLowerCase())
  return out
}

/**
 * True when a request may proceed given its `Origin` header: absent (not a browser page) or in
 * the allowed set.
 *
 * @since 0.1.0
 * @category guards
 */
export const originAllowed = (origin: string | undefined, allowed: ReadonlySet<string>): boolean =>
  origin === undefined || allowed.has(origin.toLowerCase())

/**
 * True for an address that only this machine can reach.
 *
 * @since 0.1.0
 * @category guards
 */
export const isLoopbackHost = isLoopback

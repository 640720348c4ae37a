/**
 * Authentication of RPC clients: the bearer token kept in `<dataDir>/rpc-token` (0600, crypto
 * random, created on first start), the `archy_session` cookie carrying a server-side session
 * (see `Sessions`), and the Origin and Host checks that keep other sites' pages off the API.
 *
 * @since 0.1.0
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto"
import { readFile } from "node:fs/promises"
import { networkInterfaces } from "node:os"
import { join } from "node:path"
import { SafeFile } from "@archipelago/orchestrator"
import { Methods } from "@archipelago/orchestrator/protocol"
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
export const bearerProtocolPrefix = Methods.bearerPrefix

/**
 * The WebSocket subprotocol the server selects. A client that sends its token as
 * `archipelago.bearer.<token>` offers this one too, so the handshake's answer never carries the
 * token (browsers refuse a handshake that selects none of the offered protocols).
 *
 * @since 0.1.0
 * @category constants
 */
export const protocol = Methods.subprotocol

/**
 * The subprotocol to select among the offered ones: `archipelago.v1` if offered, else the first
 * that is not a bearer token, else none. Never a token.
 *
 * @since 0.1.0
 * @category getters
 */
export const selectProtocol = (offered: Iterable<string>): string | false => {
  let first: string | false = false
  for (const p of offered) {
    if (p === protocol) return p
    if (first === false && !p.startsWith(bearerProtocolPrefix)) first = p
  }
  return first
}

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

// The digest of the server's token, computed once per token (a server has one): a bearer check
// then hashes only what the client sent.
let knownToken: { readonly token: string; readonly digest: Buffer } | undefined

/**
 * True when `presented` is `token`: compared in constant time, as `safeEqual`, with one hash per
 * check (the token's own digest is kept).
 *
 * @since 0.1.0
 * @category guards
 */
export const isToken = (presented: string, token: string): boolean => {
  if (knownToken?.token !== token) knownToken = { token, digest: createHash("sha256").update(token).digest() }
  return timingSafeEqual(createHash("sha256").update(presented).digest(), knownToken.digest)
}

/**
 * The options of a session cookie.
 *
 * @since 0.1.0
 * @category models
 */
export interface CookieOptions {
  /** Lifetime in seconds (`Max-Age`). */
  readonly maxAge: number
  /** Adds `Secure`: the browser then sends the cookie over HTTPS only. */
  readonly secure: boolean
}

/**
 * The `Set-Cookie` header that logs a browser in with a session id (random, kept server-side,
 * never derived from the token).
 *
 * @since 0.1.0
 * @category getters
 */
export const sessionCookie = (sessionId: string, options: CookieOptions): string =>
  `${cookieName}=${sessionId}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.max(0, Math.floor(options.maxAge))}` +
  (options.secure ? "; Secure" : "")

/**
 * The `Set-Cookie` header that makes a browser forget its session cookie.
 *
 * @since 0.1.0
 * @category getters
 */
export const clearedCookie = (secure: boolean): string => sessionCookie("", { maxAge: 0, secure })

/**
 * The name of the device cookie: set by a successful login, it lets that browser's later
 * password logins draw on a rate-limit bucket of its own, which strangers cannot drain
 * (`RateLimit`).
 *
 * @since 0.1.0
 * @category constants
 */
export const deviceCookieName = "archy_device"

/**
 * How long a device cookie lasts, in seconds (a year).
 *
 * @since 0.1.0
 * @category constants
 */
export const deviceCookieMaxAge = 365 * 24 * 3600

const deviceMac = (token: string, id: string): string =>
  createHmac("sha256", token).update(`archy-device:${id}`).digest("base64url")

/**
 * A new device cookie's value, `<random id>.<HMAC of the id keyed by the token>`: nothing is
 * stored server-side, and a new token invalidates every device cookie.
 *
 * @since 0.1.0
 * @category constructors
 */
export const newDevice = (token: string): string => {
  const id = randomBytes(16).toString("base64url")
  return `${id}.${deviceMac(token, id)}`
}

/**
 * The device id of a `Cookie` header's device cookie when its HMAC verifies, else undefined.
 *
 * @since 0.1.0
 * @category getters
 */
export const deviceOf = (token: string, cookieHeader: string | undefined): string | undefined => {
  const value = parseCookies(cookieHeader).get(deviceCookieName)
  if (value === undefined) return undefined
  const dot = value.indexOf(".")
  if (dot <= 0) return undefined
  const id = value.slice(0, dot)
  return safeEqual(value.slice(dot + 1), deviceMac(token, id)) ? id : undefined
}

/**
 * The options of a device cookie: sent back to `/login` only, HttpOnly, SameSite=Strict, a year.
 *
 * @since 0.1.0
 * @category getters
 */
export const deviceCookieOptions = (secure: boolean) => ({
  httpOnly: true,
  sameSite: "strict",
  path: "/login",
  maxAge: `${deviceCookieMaxAge} seconds`,
  secure
}) as const

/**
 * The session id a `Cookie` header carries, if any.
 *
 * @since 0.1.0
 * @category getters
 */
export const sessionIdOf = (cookieHeader: string | undefined): string | undefined => parseCookies(cookieHeader).get(cookieName)

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
 * True when the headers carry the token (bearer header or WebSocket subprotocol) or a session
 * cookie that `validSession` accepts (by default none: only the token counts).
 *
 * @since 0.1.0
 * @category guards
 */
export const isAuthenticated = (
  token: string,
  headers: CredentialHeaders,
  validSession: (sessionId: string) => boolean = () => false
): boolean => {
  const auth = headers.authorization
  if (auth !== undefined && /^bearer /i.test(auth) && isToken(auth.slice(7).trim(), token)) return true
  const session = sessionIdOf(headers.cookie)
  if (session !== undefined && session !== "" && validSession(session)) return true
  for (const p of (headers["sec-websocket-protocol"] ?? "").split(",")) {
    const proto = p.trim()
    if (proto.startsWith(bearerProtocolPrefix) && isToken(proto.slice(bearerProtocolPrefix.length), token)) {
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
 * The `Host` header values that name this server: the loopback names (for a loopback or
 * wildcard bind) and the bound address with the bound port, every local address for a wildcard
 * bind, the host of each allowed origin, and `extra` (`name` or `name:port`; a bare name is
 * allowed with the bound port). A DNS-rebinding page reaches the server under its own name and
 * is refused.
 *
 * @since 0.1.0
 * @category constructors
 */
export const allowedHosts = (
  host: string,
  port: number,
  origins: ReadonlyArray<string> = [],
  extra: ReadonlyArray<string> = []
): ReadonlySet<string> => {
  const out = new Set<string>()
  const add = (name: string, p: number) => {
    out.add(`${name}:${p}`.toLowerCase())
    if (p === 80) out.add(name.toLowerCase())
  }
  for (const origin of allowedOrigins(host, port)) add(origin.slice("http://".length, origin.lastIndexOf(":")), port)
  for (const o of origins) {
    try {
      const url = new URL(o)
      out.add(url.host.toLowerCase())
      out.add(`${url.hostname}:${url.port === "" ? (url.protocol === "https:" ? 443 : 80) : url.port}`.toLowerCase())
    } catch {
      // Origins are validated where they are configured; an unparsable one allows nothing.
    }
  }
  for (const e of extra) {
    const name = e.trim().toLowerCase()
    if (name === "") continue
    if (/:\d+$/.test(name) && !/^\[[^\]]*\]$/.test(name)) out.add(name)
    else add(name.includes(":") && !name.startsWith("[") ? `[${name}]` : name, port)
  }
  return out
}

/**
 * True when a `Host` header names this server. A missing header is refused.
 *
 * @since 0.1.0
 * @category guards
 */
export const hostAllowed = (hostHeader: string | undefined, allowed: ReadonlySet<string>): boolean =>
  hostHeader !== undefined && allowed.has(hostHeader.trim().toLowerCase())

/**
 * The hosts behind which the server is reached over HTTPS: those of the `https` origins. A
 * request naming one of them gets `Secure` cookies.
 *
 * @since 0.1.0
 * @category constructors
 */
export const httpsHosts = (origins: ReadonlyArray<string>): ReadonlySet<string> => {
  const out = new Set<string>()
  for (const o of origins) {
    try {
      const url = new URL(o)
      if (url.protocol === "https:") {
        out.add(url.host.toLowerCase())
        out.add(`${url.hostname}:${url.port === "" ? 443 : url.port}`.toLowerCase())
      }
    } catch {
      // see allowedHosts
    }
  }
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

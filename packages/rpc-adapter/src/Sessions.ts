/**
 * Browser sessions kept on the server: a login creates a random session id (the cookie's
 * value), every request checks it here, `/logout` revokes it, and it expires after a fixed
 * lifetime. Nothing is derived from the token, so a stolen cookie dies with its session.
 * Pure data and functions; the server keeps one `Store` and saves it (hashes and expiry times
 * only) to `<dataDir>/sessions.json`, so a restart keeps the owner logged in.
 *
 * @since 0.1.0
 */
import { createHash, randomBytes } from "node:crypto"

/**
 * @since 0.1.0
 * @category models
 */
export interface Policy {
  /** Lifetime of a session in milliseconds, from its login. */
  readonly ttlMs: number
  /** Sessions kept at most; past it the oldest is forgotten (its browser logs in again). */
  readonly max: number
}

/**
 * @since 0.1.0
 * @category constants
 */
export const defaultPolicy: Policy = { ttlMs: 12 * 60 * 60 * 1000, max: 256 }

/**
 * The live sessions, by the SHA-256 of their id (the ids themselves are not kept), with their
 * expiry time; insertion order is login order.
 *
 * @since 0.1.0
 * @category models
 */
export type Store = ReadonlyMap<string, number>

/**
 * @since 0.1.0
 * @category constructors
 */
export const empty: Store = new Map()

const digest = (id: string): string => createHash("sha256").update(id).digest("base64url")

/**
 * A fresh random session id (32 bytes, base64url).
 *
 * @since 0.1.0
 * @category constructors
 */
export const newId = (): string => randomBytes(32).toString("base64url")

/**
 * Records a session created at `now`; expired sessions are dropped, and the oldest past `max`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const add = (store: Store, id: string, now: number, policy: Policy = defaultPolicy): Store => {
  const next = new Map<string, number>()
  for (const [k, expires] of store) if (expires > now) next.set(k, expires)
  next.set(digest(id), now + policy.ttlMs)
  while (next.size > policy.max) next.delete(next.keys().next().value!)
  return next
}

/**
 * True when `id` is a live session at `now`.
 *
 * @since 0.1.0
 * @category guards
 */
export const isValid = (store: Store, id: string, now: number): boolean => {
  const expires = store.get(digest(id))
  return expires !== undefined && now < expires
}

/**
 * Forgets a session (logout). Unknown ids change nothing.
 *
 * @since 0.1.0
 * @category combinators
 */
export const revoke = (store: Store, id: string): Store => {
  const key = digest(id)
  if (!store.has(key)) return store
  const next = new Map(store)
  next.delete(key)
  return next
}

/**
 * The store as the JSON the server saves.
 *
 * @since 0.1.0
 * @category conversions
 */
export const encode = (store: Store): string =>
  `${JSON.stringify({ version: 1, sessions: Object.fromEntries(store) })}\n`

/**
 * The store a saved JSON holds, without the sessions expired at `now`; undefined when the text
 * is not such a JSON.
 *
 * @since 0.1.0
 * @category conversions
 */
export const decode = (text: string, now: number, policy: Policy = defaultPolicy): Store | undefined => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof json !== "object" || json === null || (json as { version?: unknown }).version !== 1) return undefined
  const sessions = (json as { sessions?: unknown }).sessions
  if (typeof sessions !== "object" || sessions === null || Array.isArray(sessions)) return undefined
  const out = new Map<string, number>()
  for (const [k, v] of Object.entries(sessions)) {
    if (/^[A-Za-z0-9_-]{43}$/.test(k) && typeof v === "number" && Number.isFinite(v) && v > now) {
      out.set(k, Math.min(v, now + policy.ttlMs))
    }
  }
  while (out.size > policy.max) out.delete(out.keys().next().value!)
  return out
}

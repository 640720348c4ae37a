/**
 * The login rate limit as pure functions: token buckets drained by failed password logins and
 * refilled with time. While a bucket an attempt draws on is empty, the attempt is refused before
 * its guess is even checked.
 *
 * Strangers cannot lock the owner out: an attempt that carries a valid device cookie (set by an
 * earlier successful login in that browser, see `Auth.deviceCookie`) draws only on that device's
 * own bucket, which no one else can drain; every other attempt draws on its address's bucket and
 * on one bucket shared by all strangers, which bounds password guessing per hour whatever the
 * number of addresses (the loopback network alone has 16 million). The token is never limited:
 * 256 random bits cannot be guessed, and the owner's token must always let them in.
 *
 * @since 0.1.0
 */

/**
 * A bucket holds at most `burst` failures and gets one back every `refillMs`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Policy {
  readonly burst: number
  readonly refillMs: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Policies {
  /** Per client address, for attempts without a device cookie. */
  readonly perClient: Policy
  /** Shared by every attempt without a device cookie, so many addresses cannot multiply the rate. */
  readonly global: Policy
  /** Per device cookie (a browser that logged in before); drained only by that browser. */
  readonly perDevice: Policy
  /** Addresses (and devices) remembered at most; past it, full buckets are forgotten first, then the oldest. */
  readonly maxClients: number
}

/**
 * 5 failures per address then one a minute; 30 for all strangers together then one every 10
 * seconds: at most 30 + 360 guesses in any first hour and 360 in every hour after it (5,000
 * guesses take about 14 hours). A browser with a device cookie: 5, then one a minute, its own.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultPolicies: Policies = {
  perClient: { burst: 5, refillMs: 60_000 },
  global: { burst: 30, refillMs: 10_000 },
  perDevice: { burst: 5, refillMs: 60_000 },
  maxClients: 1024
}

/**
 * The most password guesses without a device cookie that the policies let through in any
 * window of `ms` milliseconds: the shared bucket's burst plus its refills.
 *
 * @since 0.1.0
 * @category getters
 */
export const maxStrangerGuesses = (ms: number, policies: Policies = defaultPolicies): number =>
  policies.global.burst + Math.floor(ms / policies.global.refillMs)

/**
 * Who tries: the TCP peer's address, and the device id of a valid device cookie if it carries one.
 *
 * @since 0.1.0
 * @category models
 */
export interface Attempt {
  readonly client: string
  readonly device?: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Bucket {
  readonly tokens: number
  readonly at: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface State {
  readonly global: Bucket | undefined
  readonly clients: ReadonlyMap<string, Bucket>
  readonly devices: ReadonlyMap<string, Bucket>
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const empty: State = { global: undefined, clients: new Map(), devices: new Map() }

/**
 * The bucket refilled up to `now`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const refill = (bucket: Bucket | undefined, policy: Policy, now: number): Bucket => {
  if (bucket === undefined) return { tokens: policy.burst, at: now }
  const gained = Math.floor(Math.max(0, now - bucket.at) / policy.refillMs)
  if (gained === 0) return bucket
  const tokens = Math.min(policy.burst, bucket.tokens + gained)
  return { tokens, at: tokens === policy.burst ? now : bucket.at + gained * policy.refillMs }
}

const waitFor = (bucket: Bucket, policy: Policy, now: number): number =>
  bucket.tokens >= 1 ? 0 : Math.max(0, bucket.at + policy.refillMs - now)

const attemptOf = (a: Attempt | string): Attempt => (typeof a === "string" ? { client: a } : a)

/**
 * Whether an attempt (a client address, or an `Attempt`) may try to log in at `now`: 0 when it
 * may, otherwise the milliseconds to wait. An attempt with a device draws only on the device's
 * bucket.
 *
 * @since 0.1.0
 * @category getters
 */
export const retryAfter = (state: State, attempt: Attempt | string, now: number, policies: Policies = defaultPolicies): number => {
  const a = attemptOf(attempt)
  if (a.device !== undefined) return waitFor(refill(state.devices.get(a.device), policies.perDevice, now), policies.perDevice, now)
  return Math.max(
    waitFor(refill(state.global, policies.global, now), policies.global, now),
    waitFor(refill(state.clients.get(a.client), policies.perClient, now), policies.perClient, now)
  )
}

const drain = (map: ReadonlyMap<string, Bucket>, key: string, policy: Policy, max: number, now: number): ReadonlyMap<string, Bucket> => {
  const out = new Map(map)
  const b = refill(map.get(key), policy, now)
  out.delete(key)
  out.set(key, { tokens: Math.max(0, b.tokens - 1), at: b.at })
  if (out.size > max) {
    for (const [k, v] of out) {
      if (out.size <= max) break
      if (refill(v, policy, now).tokens >= policy.burst) out.delete(k)
    }
    while (out.size > max) out.delete(out.keys().next().value!)
  }
  return out
}

/**
 * Records a failed login at `now`: a device's own bucket when the attempt has one, else the
 * address's and the shared one.
 *
 * @since 0.1.0
 * @category combinators
 */
export const fail = (state: State, attempt: Attempt | string, now: number, policies: Policies = defaultPolicies): State => {
  const a = attemptOf(attempt)
  if (a.device !== undefined) {
    return { ...state, devices: drain(state.devices, a.device, policies.perDevice, policies.maxClients, now) }
  }
  const g = refill(state.global, policies.global, now)
  return {
    ...state,
    global: { tokens: Math.max(0, g.tokens - 1), at: g.at },
    clients: drain(state.clients, a.client, policies.perClient, policies.maxClients, now)
  }
}

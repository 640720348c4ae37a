/**
 * The login rate limit as pure functions: token buckets, one per client address and one shared
 * by all, drained by failed logins and refilled with time. While a bucket is empty, a login is
 * refused before its guess is even checked.
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
  /** Per client address. */
  readonly perClient: Policy
  /** Shared by every client, so many addresses cannot multiply the rate. */
  readonly global: Policy
  /** Addresses remembered at most; past it, full buckets are forgotten first, then the oldest. */
  readonly maxClients: number
}

/**
 * 5 failures per address then one a minute; 30 overall then one every 10 seconds. 5,000 guesses
 * take about 14 hours.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultPolicies: Policies = {
  perClient: { burst: 5, refillMs: 60_000 },
  global: { burst: 30, refillMs: 10_000 },
  maxClients: 1024
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
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const empty: State = { global: undefined, clients: new Map() }

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

/**
 * Whether `client` may try to log in at `now`: 0 when it may, otherwise the milliseconds to
 * wait.
 *
 * @since 0.1.0
 * @category getters
 */
export const retryAfter = (state: State, client: string, now: number, policies: Policies = defaultPolicies): number =>
  Math.max(
    waitFor(refill(state.global, policies.global, now), policies.global, now),
    waitFor(refill(state.clients.get(client), policies.perClient, now), policies.perClient, now)
  )

/**
 * Records a failed login of `client` at `now`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const fail = (state: State, client: string, now: number, policies: Policies = defaultPolicies): State => {
  const take = (b: Bucket): Bucket => ({ tokens: Math.max(0, b.tokens - 1), at: b.at })
  const clients = new Map(state.clients)
  clients.delete(client)
  clients.set(client, take(refill(state.clients.get(client), policies.perClient, now)))
  if (clients.size > policies.maxClients) {
    for (const [k, b] of clients) {
      if (clients.size <= policies.maxClients) break
      if (refill(b, policies.perClient, now).tokens >= policies.perClient.burst) clients.delete(k)
    }
    while (clients.size > policies.maxClients) clients.delete(clients.keys().next().value!)
  }
  return { global: take(refill(state.global, policies.global, now)), clients }
}

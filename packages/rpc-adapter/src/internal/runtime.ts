/**
 * What the routes, the guard and the sockets share: the server's settings and its mutable
 * cells (sessions, login failures, sockets per session), each behind a small function.
 */
import { Effect, Semaphore } from "effect"
import * as Auth from "../Auth.js"
import * as RateLimit from "../RateLimit.js"
import * as Sessions from "../Sessions.js"

/** The settings the routes read as they are, beside the cells' functions. */
type Shared =
  | "token" | "password" | "origins" | "hosts" | "httpsHosts" | "maxBody" | "maxBatch"
  | "maxResponseBytes" | "banner" | "bundleFile"

export interface Runtime extends Pick<Settings, Shared> {
  readonly sessionTtlMs: number
  /** Creates a session (saved) and answers its id. */
  readonly login: Effect.Effect<string>
  readonly sessionValid: (id: string) => boolean
  /** Revokes a session (saved) and closes the sockets it opened. */
  readonly logout: (id: string) => Effect.Effect<void>
  /** Registers a socket opened by a session; the returned function unregisters it. */
  readonly track: (id: string, close: () => void) => () => void
  /** 0 when the attempt may try a password, else the milliseconds to wait. */
  readonly loginRetryAfter: (attempt: RateLimit.Attempt) => number
  readonly loginFailed: (attempt: RateLimit.Attempt) => void
}

export interface Settings {
  readonly token: string
  readonly password: string | undefined
  readonly origins: () => ReadonlySet<string>
  readonly hosts: () => ReadonlySet<string>
  readonly httpsHosts: ReadonlySet<string>
  readonly maxBody: number
  readonly maxBatch: number
  readonly maxResponseBytes: number
  readonly banner: string | undefined
  readonly bundleFile: string | undefined
  readonly sessions: Sessions.Policy
  readonly rateLimit: RateLimit.Policies
  readonly now: () => number
  /** Saves the sessions (one save at a time, in order). */
  readonly save: (store: Sessions.Store) => Effect.Effect<void>
}

export const make = (settings: Settings, initial: Sessions.Store): Effect.Effect<Runtime> =>
  Effect.map(Semaphore.make(1), (lock): Runtime => {
  let sessions = initial
  let failures = RateLimit.empty
  const sockets = new Map<string, Set<() => void>>()
  const saved = lock.withPermits(1)(Effect.suspend(() => settings.save(sessions)))
  return {
    ...settings,
    sessionTtlMs: settings.sessions.ttlMs,
    login: Effect.suspend(() => {
      const id = Sessions.newId()
      sessions = Sessions.add(sessions, id, settings.now(), settings.sessions)
      return Effect.as(saved, id)
    }),
    sessionValid: (id) => Sessions.isValid(sessions, id, settings.now()),
    logout: (id) =>
      Effect.suspend(() => {
        const before = sessions
        sessions = Sessions.revoke(sessions, id)
        for (const close of sockets.get(id) ?? []) close()
        sockets.delete(id)
        return before === sessions ? Effect.void : saved
      }),
    track: (id, close) => {
      const set = sockets.get(id) ?? new Set()
      set.add(close)
      sockets.set(id, set)
      return () => {
        set.delete(close)
        if (set.size === 0) sockets.delete(id)
      }
    },
    loginRetryAfter: (attempt) => RateLimit.retryAfter(failures, attempt, settings.now(), settings.rateLimit),
    loginFailed: (attempt) => {
      failures = RateLimit.fail(failures, attempt, settings.now(), settings.rateLimit)
    }
  }
  })

export const authenticated = (rt: Runtime, headers: Auth.CredentialHeaders): boolean =>
  Auth.isAuthenticated(rt.token, headers, rt.sessionValid)

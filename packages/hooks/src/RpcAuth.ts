/**
 * Bitcoin Core's `rpcauth` credential: `<user>:<salt-hex>$<HMAC-SHA256(key=salt, msg=password)-hex>`,
 * exactly what `share/rpcauth/rpcauth.py` prints, so bitcoind can check a password without
 * storing it. Deterministic given the salt; the salt comes from the caller.
 *
 * @since 0.1.0
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto"
import { Effect, Option } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export interface RpcAuth {
  readonly user: string
  readonly salt: string
  /** Hex HMAC-SHA256 of the password keyed with the salt's text. */
  readonly hash: string
}

const userPattern = /^[A-Za-z0-9_.-]{1,64}$/
const saltPattern = /^[0-9a-f]{2,128}$/
const hashPattern = /^[0-9a-f]{64}$/

/**
 * The HMAC bitcoind computes: key = the salt's characters (as rpcauth.py does), message = the password.
 *
 * @since 0.1.0
 * @category utils
 */
export const hmac = (salt: string, password: string): string =>
  createHmac("sha256", Buffer.from(salt, "utf8")).update(password, "utf8").digest("hex")

/**
 * A fresh salt: 16 random bytes, hex (rpcauth.py's `token_hex(16)`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const generateSalt: Effect.Effect<string> = Effect.sync(() => randomBytes(16).toString("hex"))

/**
 * The credential for a user, salt and password.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (user: string, salt: string, password: string): RpcAuth => ({ user, salt, hash: hmac(salt, password) })

/**
 * The value after `rpcauth=`.
 *
 * @since 0.1.0
 * @category utils
 */
export const format = (auth: RpcAuth): string => `${auth.user}:${auth.salt}$${auth.hash}`

/**
 * Parses the value after `rpcauth=`; `None` for anything not in Bitcoin Core's format.
 *
 * @since 0.1.0
 * @category constructors
 */
export const parse = (value: string): Option.Option<RpcAuth> => {
  const m = /^([^:]+):([^$]+)\$(.+)$/.exec(value.trim())
  if (m === null) return Option.none()
  const [, user, salt, hash] = m
  return userPattern.test(user!) && saltPattern.test(salt!) && hashPattern.test(hash!)
    ? Option.some({ user: user!, salt: salt!, hash: hash! })
    : Option.none()
}

/**
 * True when the password is the one this credential was made from (constant-time compare).
 *
 * @since 0.1.0
 * @category utils
 */
export const verify = (auth: RpcAuth, password: string): boolean => {
  if (!hashPattern.test(auth.hash)) return false
  return timingSafeEqual(Buffer.from(hmac(auth.salt, password), "hex"), Buffer.from(auth.hash, "hex"))
}

/**
 * True when a user name can appear in an rpcauth line.
 *
 * @since 0.1.0
 * @category guards
 */
export const isValidUser = (user: string): boolean => userPattern.test(user)

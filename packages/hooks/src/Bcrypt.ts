/**
 * bcrypt (the `$2b$` modular crypt format) for configs that keep a password hash instead of the
 * password, such as ThunderHub's account config. Hashing with a given salt is deterministic;
 * only `generateSalt` draws randomness. `verifier` memoizes verdicts, because a hook runs on every
 * reconcile and one bcrypt comparison costs tens to hundreds of milliseconds by design.
 *
 * @since 0.1.0
 */
import bcrypt from "bcryptjs"
import { createHash } from "node:crypto"
import { Effect } from "effect"

/**
 * The work factor of hashes this package makes (2^10 rounds, bcrypt's usual default).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultCost = 10

const hashPattern = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/

/**
 * True for a well-formed bcrypt hash (`$2a$`, `$2b$` or `$2y$`, cost 04-31, 53 characters of salt and digest).
 *
 * @since 0.1.0
 * @category guards
 */
export const isHash = (s: string): boolean => {
  const m = hashPattern.exec(s)
  return m !== null && Number(m[1]) >= 4 && Number(m[1]) <= 31
}

/**
 * A fresh salt of the given cost (`$2b$10$<22 characters>`), from the system CSPRNG.
 *
 * @since 0.1.0
 * @category constructors
 */
export const generateSalt = (cost: number = defaultCost): Effect.Effect<string> =>
  Effect.sync(() => bcrypt.genSaltSync(cost))

/**
 * The hash of `password` with `salt` (a salt or a whole hash, whose salt is used). Deterministic.
 * bcrypt reads at most 72 bytes of the password.
 *
 * @since 0.1.0
 * @category constructors
 */
export const hash = (password: string, salt: string): string => bcrypt.hashSync(password, salt)

/**
 * True when `stored` is a bcrypt hash of `password`.
 *
 * @since 0.1.0
 * @category utils
 */
export const verify = (password: string, stored: string): boolean => isHash(stored) && bcrypt.compareSync(password, stored)

/**
 * `verify` with its last verdicts remembered (keyed by the hash and a SHA-256 of the password, so
 * no password is kept in memory), at most `size` of them; `check` is the comparison (default `verify`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const verifier = (
  size = 16,
  check: (password: string, stored: string) => boolean = verify
): (password: string, stored: string) => boolean => {
  const seen = new Map<string, boolean>()
  return (password, stored) => {
    const key = `${stored}\n${createHash("sha256").update(password).digest("hex")}`
    const known = seen.get(key)
    if (known !== undefined) return known
    const verdict = check(password, stored)
    if (seen.size >= size) seen.delete(seen.keys().next().value!)
    seen.set(key, verdict)
    return verdict
  }
}

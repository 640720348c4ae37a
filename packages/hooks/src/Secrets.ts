/**
 * The node's canonical secrets, one file each under `<dataDir>/secrets/`. A secret is generated
 * on first use (32 random bytes, hex) and every derived config file is a pure function of it.
 * Values travel as `Redacted`, so a log line or an error can never print one by accident.
 *
 * @since 0.1.0
 */
import { randomBytes } from "node:crypto"
import * as NodePath from "node:path"
import { SafeFile } from "@archipelago/orchestrator"
import { Context, Data, Effect, Layer, Option, Redacted, Semaphore } from "effect"

/**
 * Reading or creating a secret failed. Names the secret, never its value.
 *
 * @since 0.1.0
 * @category errors
 */
export class SecretError extends Data.TaggedError("SecretError")<{
  readonly name: string
  readonly reason: string
}> {
  override get message(): string {
    return `secret ${JSON.stringify(this.name)}: ${this.reason}`
  }
}

/**
 * The names a secret may have: lowercase letters, digits, `-` and `_`, 1-64 characters, so a
 * name can never climb out of the secrets folder.
 *
 * @since 0.1.0
 * @category models
 */
export const namePattern = /^[a-z0-9][a-z0-9_-]{0,63}$/

/**
 * The canonical bitcoind RPC password: nginx's auth header, `rpcauth` and lnd.conf derive from it.
 *
 * @since 0.1.0
 * @category constants
 */
export const bitcoinRpcPassword = "bitcoin-rpc-password"

/**
 * The canonical password of the LND UI (ThunderHub's login): its config keeps only a bcrypt hash of it.
 *
 * @since 0.1.0
 * @category constants
 */
export const lndUiPassword = "lnd-ui-password"

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Reads the secret, generating and persisting a strong random one on first use. */
  readonly get: (name: string) => Effect.Effect<Redacted.Redacted<string>, SecretError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Secrets extends Context.Service<Secrets, Service>()("@archipelago/hooks/Secrets") {}

/**
 * The folder holding the secrets of a data dir.
 *
 * @since 0.1.0
 * @category utils
 */
export const secretsDir = (dataDir: string): string => NodePath.join(dataDir, "secrets")

/**
 * A fresh secret: 32 bytes from the system's CSPRNG, hex encoded (safe in every config syntax).
 *
 * @since 0.1.0
 * @category constructors
 */
export const generate: Effect.Effect<Redacted.Redacted<string>> = Effect.sync(() =>
  Redacted.make(randomBytes(32).toString("hex"))
)

const validValue = (value: string): boolean => value.length > 0 && !/[\r\n\0]/.test(value)

/**
 * The file-backed secrets of a data dir.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (dataDir: string): Effect.Effect<Service> =>
  Effect.gen(function*() {
    const dir = secretsDir(dataDir)
    // One creator at a time inside this process; `link` settles races with other processes.
    const lock = yield* Semaphore.make(1)
    const get = Effect.fn("Secrets.get")(function*(name: string) {
      if (!namePattern.test(name)) {
        return yield* new SecretError({
          name,
          reason: "invalid name: use 1-64 lowercase letters, digits, '-' or '_'"
        })
      }
      const file = NodePath.join(dir, name)
      const failed = (error: SafeFile.SafeFileError | SafeFile.UnsafePath) =>
        new SecretError({
          name,
          reason: error._tag === "UnsafePath" ? error.message : `cannot read or create it (${error.reason})`
        })
      // Never through a symlink: a linked secret reads as absent and is replaced (with a warning);
      // one readable by others is narrowed back to its owner on its descriptor.
      const read = SafeFile.readString(file, { root: dataDir, narrow: true }).pipe(
        Effect.map(Option.map((text) => text.replace(/\r?\n$/, ""))),
        Effect.mapError(failed)
      )
      const value = yield* lock.withPermits(1)(
        Effect.gen(function*() {
          const stored = yield* read
          if (Option.isSome(stored)) return stored.value
          const fresh = yield* generate
          // `create` links the file into place, so a racing creator in another process loses
          // cleanly and both read the winner's value.
          yield* Effect.mapError(
            SafeFile.create(file, `${Redacted.value(fresh)}\n`, {
              root: dataDir,
              mode: SafeFile.secretFileMode,
              dirMode: SafeFile.secretDirMode
            }),
            failed
          )
          const created = yield* read
          if (Option.isNone(created)) {
            return yield* new SecretError({ name, reason: "cannot read or create it (not a regular file)" })
          }
          return created.value
        })
      )
      if (!validValue(value)) {
        return yield* new SecretError({ name, reason: "the stored value is empty or spans several lines" })
      }
      return Redacted.make(value)
    })
    return { get }
  })

/**
 * Secrets stored under `<dataDir>/secrets/` (0700), one file per secret (0600).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: { readonly dataDir: string }): Layer.Layer<Secrets> =>
  Layer.effect(Secrets, make(options.dataDir))

/**
 * In-memory secrets for tests: known values are served, unknown ones are generated and kept.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (initial: Readonly<Record<string, string>> = {}): Layer.Layer<Secrets> =>
  Layer.sync(Secrets, () => {
    const values = new Map(Object.entries(initial))
    return {
      get: (name) =>
        namePattern.test(name)
          ? Effect.map(
            values.has(name) ? Effect.succeed(Redacted.make(values.get(name)!)) : generate,
            (secret) => {
              values.set(name, Redacted.value(secret))
              return secret
            }
          )
          : Effect.fail(new SecretError({ name, reason: "invalid name: use 1-64 lowercase letters, digits, '-' or '_'" }))
    }
  })

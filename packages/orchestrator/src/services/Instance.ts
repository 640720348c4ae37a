/**
 * One orchestrator per data dir: a persisted instance id (stamped on every container as
 * `io.archipelago.instance`, so an instance never touches another's containers) and a lock file
 * held for the life of the process, naming its holder's pid.
 *
 * @since 0.1.0
 */
import { randomBytes } from "node:crypto"
import { hostname } from "node:os"
import { FileSystem } from "@effect/platform"
import { Clock, Data, Effect, Schema } from "effect"
import type { Scope } from "effect"

/**
 * The file holding the data dir's instance id.
 *
 * @since 0.1.0
 * @category constants
 */
export const idFile = "instance-id"

/**
 * The lock file a running `serve` holds in its data dir.
 *
 * @since 0.1.0
 * @category constants
 */
export const lockFile = "serve.lock"

/**
 * What a lock file records about its holder.
 *
 * @since 0.1.0
 * @category models
 */
export const LockInfo = Schema.Struct({
  pid: Schema.Int,
  instance: Schema.String,
  startedAt: Schema.Number,
  host: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type LockInfo = typeof LockInfo.Type

/**
 * The data dir's instance id is unreadable or malformed, or the lock cannot be written.
 *
 * @since 0.1.0
 * @category errors
 */
export class InstanceError extends Data.TaggedError("InstanceError")<{ readonly path: string; readonly reason: string }> {
  override get message(): string {
    return `${this.path}: ${this.reason}`
  }
}

/**
 * Another live process holds the data dir's lock.
 *
 * @since 0.1.0
 * @category errors
 */
export class InstanceLocked extends Data.TaggedError("InstanceLocked")<{
  readonly path: string
  readonly holder: LockInfo
}> {
  override get message(): string {
    const h = this.holder
    return `another archipelago serve (pid ${h.pid}${h.host === undefined ? "" : ` on ${h.host}`}, instance ${h.instance}) ` +
      `holds ${this.path} since ${new Date(h.startedAt).toISOString()}: stop it first or use another --data`
  }
}

const idPattern = /^[a-z0-9][a-z0-9-]{3,63}$/

/**
 * True for a well-formed instance id (lower-case letters, digits, dashes; 4-64 characters).
 *
 * @since 0.1.0
 * @category guards
 */
export const isInstanceId = (text: string): boolean => idPattern.test(text)

/**
 * What to do about an existing lock file: `refuse` while its holder lives; `takeOver` when the
 * holder is gone or the file is unreadable (a crash between creating and writing it).
 *
 * @since 0.1.0
 * @category combinators
 */
export const decideLock = (held: LockInfo | undefined, holderAlive: boolean): "refuse" | "takeOver" =>
  held !== undefined && holderAlive ? "refuse" : "takeOver"

/**
 * True when a process with this pid exists (a process of another user counts as alive).
 *
 * @since 0.1.0
 * @category getters
 */
export const processAlive = (pid: number): boolean => {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

const join = (dir: string, file: string) => `${dir.replace(/\/+$/, "")}/${file}`

/**
 * The data dir's instance id, created (random, persisted) on first use.
 *
 * @since 0.1.0
 * @category constructors
 */
export const id = Effect.fn("Instance.id")(function*(dataDir: string) {
  const fs = yield* FileSystem.FileSystem
  const path = join(dataDir, idFile)
  const fail = (reason: string) => new InstanceError({ path, reason })
  if (yield* Effect.mapError(fs.exists(path), (e) => fail(e.message))) {
    const text = (yield* Effect.mapError(fs.readFileString(path), (e) => fail(e.message))).trim()
    if (!isInstanceId(text)) {
      return yield* Effect.fail(fail(`malformed instance id ${JSON.stringify(text.slice(0, 80))}: expected 4-64 of a-z, 0-9, -`))
    }
    return text
  }
  const created = randomBytes(8).toString("hex")
  const tmp = `${path}.tmp-${process.pid}`
  yield* Effect.mapError(
    Effect.zipRight(
      fs.makeDirectory(dataDir, { recursive: true }),
      Effect.zipRight(fs.writeFileString(tmp, `${created}\n`), fs.rename(tmp, path))
    ),
    (e) => fail(e.message)
  )
  yield* Effect.logInfo(`new instance id ${created} in ${path}`)
  return created
})

/**
 * Holds `<dataDir>/serve.lock` for the scope's life: fails with `InstanceLocked` while another
 * live process holds it; takes over (and logs) a lock whose holder is gone. The file is removed
 * when the scope closes, if it is still ours.
 *
 * @since 0.1.0
 * @category constructors
 */
export const lock = (
  dataDir: string,
  instance: string,
  options: { readonly alive?: (pid: number) => boolean; readonly pid?: number } = {}
): Effect.Effect<LockInfo, InstanceLocked | InstanceError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = join(dataDir, lockFile)
    const alive = options.alive ?? processAlive
    const fail = (reason: string) => new InstanceError({ path, reason })
    const mine: LockInfo = {
      pid: options.pid ?? process.pid,
      instance,
      startedAt: yield* Clock.currentTimeMillis,
      host: hostname()
    }
    const content = `${JSON.stringify(mine)}\n`
    const readHolder = Effect.map(
      Effect.either(fs.readFileString(path)),
      (r) => r._tag === "Left" ? undefined : Schema.decodeUnknownOption(Schema.parseJson(LockInfo))(r.right).pipe((o) => o._tag === "Some" ? o.value : undefined)
    )
    const create = fs.writeFileString(path, content, { flag: "wx", mode: 0o644 })
    yield* Effect.mapError(fs.makeDirectory(dataDir, { recursive: true }), (e) => fail(e.message))
    for (let attempt = 0;; attempt++) {
      const created = yield* Effect.either(create)
      if (created._tag === "Right") break
      if (created.left._tag !== "SystemError" || created.left.reason !== "AlreadyExists") {
        return yield* Effect.fail(fail(created.left.message))
      }
      const holder = yield* readHolder
      if (attempt > 0 || decideLock(holder, holder !== undefined && alive(holder.pid)) === "refuse") {
        if (holder !== undefined) return yield* Effect.fail(new InstanceLocked({ path, holder }))
        return yield* Effect.fail(fail("another process is taking the lock at the same time"))
      }
      yield* Effect.logWarning(
        holder === undefined
          ? `${path} was unreadable: taking it over`
          : `taking over the stale lock ${path} of pid ${holder.pid} (instance ${holder.instance}), which is gone`
      )
      yield* Effect.mapError(fs.remove(path), (e) => fail(e.message))
    }
    yield* Effect.addFinalizer(() =>
      Effect.flatMap(readHolder, (holder) =>
        holder !== undefined && holder.pid === mine.pid && holder.startedAt === mine.startedAt
          ? Effect.ignore(fs.remove(path))
          : Effect.void)
    )
    return mine
  })

/**
 * One orchestrator per data dir: a persisted instance id (stamped on every container as
 * `io.archipelago.instance`, so an instance never touches another's containers) and a lock file
 * held for the life of the process, naming its holder's pid.
 *
 * @since 0.1.0
 */
import { randomBytes } from "node:crypto"
import { hostname } from "node:os"
import { Clock, Data, Effect, Result, Option, Schema } from "effect"
import type { Scope } from "effect"
import * as Fs from "../fs/internal/Files.js"

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

const io = Fs.attempt
const hasCode = Fs.hasCode

const exists = (path: string) =>
  io(() => Fs.access(path, Fs.constants.F_OK).then(() => true, (e: NodeJS.ErrnoException) => hasCode(e, "ENOENT") ? false : Promise.reject(e)))

const readFileString = (path: string) => io(() => Fs.readFile(path, "utf8"))

const makeDataDir = (dataDir: string) => io(() => Fs.mkdir(dataDir, { recursive: true, mode: 0o700 }))

const leftoverPattern = /^(?:(?:serve\.lock|instance-id)\.(?:tmp|stale)|\..+\.tmp)-(\d+)-[0-9a-f]+$/

/**
 * Of a data dir's file names, the leftovers of processes that died mid-step (kill -9, power
 * loss): the temp files of `serve.lock` and `instance-id` (`<name>.tmp-<pid>-<hex>`), stale
 * locks moved aside (`serve.lock.stale-<pid>-<hex>`) and `SafeFile`'s temp files
 * (`.<name>.tmp-<pid>-<hex>`), each named after the pid that made it. Only names whose pid is
 * not alive and is not this process's are returned: a live starter's files in flight are kept.
 *
 * @since 0.1.0
 * @category combinators
 */
export const leftovers = (names: ReadonlyArray<string>, alive: (pid: number) => boolean): ReadonlyArray<string> =>
  names.filter((name) => {
    const m = leftoverPattern.exec(name)
    if (m === null) return false
    const pid = Number(m[1])
    return Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && !alive(pid)
  })

/**
 * The data dir's instance id, created (random, persisted) on first use.
 *
 * @since 0.1.0
 * @category constructors
 */
export const id = Effect.fn("Instance.id")(function*(dataDir: string) {
  const path = join(dataDir, idFile)
  const fail = (reason: string) => new InstanceError({ path, reason })
  const readId = Effect.gen(function*() {
    const text = (yield* Effect.mapError(readFileString(path), (e) => fail(e.message))).trim()
    if (!isInstanceId(text)) {
      return yield* Effect.fail(fail(`malformed instance id ${JSON.stringify(text.slice(0, 80))}: expected 4-64 of a-z, 0-9, -`))
    }
    return text
  })
  if (yield* Effect.mapError(exists(path), (e) => fail(e.message))) return yield* readId
  const created = randomBytes(8).toString("hex")
  yield* Effect.mapError(makeDataDir(dataDir), (e) => fail(e.message))
  // Two first starts at once agree on one id: the loser reads the winner's.
  const linked = yield* Effect.mapError(createWhole(path, `${created}\n`, 0o644), (e) => fail(e.message))
  if (!linked) return yield* readId
  yield* Effect.logInfo(`new instance id ${created} in ${path}`)
  return created
})

/**
 * Creates `path` holding `content` unless it exists (false then), never showing it half-written:
 * the content goes to a fresh temp file that is then hard-linked to `path` (`link` fails when the
 * name exists). A reader racing the creator sees no file or the whole file, never an empty one.
 */
const createWhole = (path: string, content: string, mode: number) =>
  Effect.gen(function*() {
    const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`
    yield* io(() => Fs.writeFile(tmp, content, { flag: "wx", mode }))
    const linked = yield* Effect.result(io(() => Fs.link(tmp, path))).pipe(Effect.ensuring(Effect.ignore(io(() => Fs.rm(tmp)))))
    if (linked._tag === "Success") return true
    if (hasCode(linked.failure, "EEXIST")) return false
    return yield* Effect.fail(linked.failure)
  })

/**
 * Holds `<dataDir>/serve.lock` for the scope's life: fails with `InstanceLocked` while another
 * live process holds it; takes over (and logs) a lock whose holder is gone. Once held, removes
 * (and logs) the `leftovers` of dead processes in the data dir. The file is removed when the
 * scope closes, if it is still ours.
 *
 * @since 0.1.0
 * @category constructors
 */
export const lock = (
  dataDir: string,
  instance: string,
  options: { readonly alive?: (pid: number) => boolean; readonly pid?: number } = {}
): Effect.Effect<LockInfo, InstanceLocked | InstanceError, Scope.Scope> =>
  Effect.gen(function*() {
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
    const decodeHolder = (text: string | undefined) =>
      text === undefined ? undefined : Option.getOrUndefined(Schema.decodeUnknownOption(Schema.fromJsonString(LockInfo))(text))
    const readText = (file: string) => Effect.map(Effect.result(readFileString(file)), Result.getOrUndefined)
    // Created whole (temp file + link): a starter racing this one never reads it empty and
    // takes it over as "unreadable".
    const create = Effect.mapError(createWhole(path, content, 0o644), (e) => fail(e.message))
    yield* Effect.mapError(makeDataDir(dataDir), (e) => fail(e.message))
    for (let attempt = 0;; attempt++) {
      if (yield* create) break
      const text = yield* readText(path)
      const holder = decodeHolder(text)
      if (attempt > 0 || decideLock(holder, holder !== undefined && alive(holder.pid)) === "refuse") {
        if (holder !== undefined) return yield* Effect.fail(new InstanceLocked({ path, holder }))
        return yield* Effect.fail(fail("another process is taking the lock at the same time"))
      }
      yield* Effect.logWarning(
        holder === undefined
          ? `${path} was unreadable: taking it over`
          : `taking over the stale lock ${path} of pid ${holder.pid} (instance ${holder.instance}), which is gone`
      )
      // The stale lock is moved aside (atomic), then checked to be the one judged stale: a
      // starter that judged it stale too may have taken it over meanwhile, and its fresh lock is
      // put back, not removed (removing it would let two serves share the data dir).
      const aside = `${path}.stale-${mine.pid}-${randomBytes(6).toString("hex")}`
      const moved = yield* Effect.result(io(() => Fs.rename(path, aside)))
      if (Result.isFailure(moved)) {
        if (hasCode(moved.failure, "ENOENT")) continue
        return yield* Effect.fail(fail(moved.failure.message))
      }
      const movedText = yield* readText(aside)
      if (movedText !== text) {
        const back = yield* Effect.result(io(() => Fs.link(aside, path)))
        yield* Effect.ignore(io(() => Fs.rm(aside)))
        const taker = decodeHolder(movedText)
        if (Result.isSuccess(back) && taker !== undefined) return yield* Effect.fail(new InstanceLocked({ path, holder: taker }))
        return yield* Effect.fail(fail("another process is taking the lock at the same time"))
      }
      yield* Effect.mapError(io(() => Fs.rm(aside)), (e) => fail(e.message))
    }
    // Held: leftovers of serves killed mid-start are removed (a live starter's are kept).
    const names = yield* Effect.orElseSucceed(io(() => Fs.readdir(dataDir)), () => [] as Array<string>)
    const removed: Array<string> = []
    for (const name of leftovers(names, alive)) {
      const gone = yield* Effect.result(io(() => Fs.rm(join(dataDir, name))))
      if (Result.isSuccess(gone)) removed.push(name)
      else if (!hasCode(gone.failure, "ENOENT")) {
        yield* Effect.logWarning(`cannot remove the leftover ${join(dataDir, name)}: ${gone.failure.message}`)
      }
    }
    if (removed.length > 0) yield* Effect.logInfo(`removed leftovers of dead processes in ${dataDir}: ${removed.join(", ")}`)
    yield* Effect.addFinalizer(() =>
      Effect.flatMap(readText(path), (text) => {
        const holder = decodeHolder(text)
        return holder !== undefined && holder.pid === mine.pid && holder.startedAt === mine.startedAt
          ? Effect.ignore(io(() => Fs.rm(path)))
          : Effect.void
      })
    )
    return mine
  })

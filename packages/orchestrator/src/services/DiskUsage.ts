/**
 * How much of the data disk each app uses and how much is left: the bytes under each app's
 * folder (`<data>/apps/<id>`, walked without following a link, with a bound on the entries
 * visited) and the data disk's free and total bytes (`statfs`). A walk of a large chain state is
 * not cheap, so the service measures on a schedule (`refreshSchedule`, first at once) and answers
 * requests from the last measurement.
 *
 * @since 0.1.0
 */
import * as NodePath from "node:path"
import { Clock, Context, Effect, Layer, Schedule, Semaphore } from "effect"
import * as DiskSpace from "../domain/DiskSpace.js"
import type { DiskReport } from "../protocol/Views.js"
import * as Fs from "../fs/internal/Files.js"
import { appsFolderName } from "../manifest/Spec.js"

/**
 * How often the folders and the disk are measured again.
 *
 * @since 0.1.0
 * @category constants
 */
export const refreshSchedule: Schedule.Schedule<unknown> = Schedule.spaced("5 minutes")

/**
 * The most entries (files, folders, links) one app's walk visits; past it the size is reported
 * as `partial` (a lower bound).
 *
 * @since 0.1.0
 * @category constants
 */
export const maxEntries = 500_000

/**
 * The bytes a folder takes: allocated blocks where the file system reports them (a sparse file
 * counts what it holds), else the file's length. Links are counted as links, never followed;
 * entries that vanish or cannot be read during the walk are skipped.
 *
 * @since 0.1.0
 * @category constructors
 */
export const folderSize = (path: string, limit: number = maxEntries): Effect.Effect<{ readonly bytes: number; readonly partial: boolean }> =>
  Effect.promise(async () => {
    let bytes = 0
    let seen = 0
    const stack = [path]
    while (stack.length > 0) {
      const p = stack.pop()!
      if (seen >= limit) return { bytes, partial: true }
      seen += 1
      const st = await Fs.lstat(p).catch(() => undefined)
      if (st === undefined) continue
      bytes += st.blocks > 0 || st.size === 0 ? st.blocks * 512 : st.size
      if (!st.isDirectory()) continue
      const names = await Fs.readdir(p).catch(() => [] as Array<string>)
      for (const name of names) stack.push(NodePath.join(p, name))
    }
    return { bytes, partial: false }
  })

/**
 * The data disk's free bytes (what an unprivileged writer may still use) and its size.
 *
 * @since 0.1.0
 * @category constructors
 */
export const diskSpace = (path: string): Effect.Effect<{ readonly freeBytes: number; readonly totalBytes: number }> =>
  Effect.promise(async () => {
    const s = await Fs.statfs(path).catch(() => undefined)
    return s === undefined ? { freeBytes: 0, totalBytes: 0 } : { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize }
  })

/**
 * Measures once: every folder under `<dataDir>/apps`, and the disk that holds it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const measure = (
  dataDir: string,
  thresholds: DiskSpace.Thresholds = DiskSpace.defaultThresholds,
  limit: number = maxEntries
): Effect.Effect<DiskReport> =>
  Effect.gen(function*() {
    const apps = NodePath.join(dataDir, appsFolderName)
    const entries = yield* Effect.promise(() => Fs.readdir(apps, { withFileTypes: true }).catch(() => []))
    const ids = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort()
    const sizes = yield* Effect.forEach(ids, (id) => Effect.map(folderSize(NodePath.join(apps, id), limit), (s) => ({ appId: id, ...s })))
    const { freeBytes, totalBytes } = yield* diskSpace(dataDir)
    const at = yield* Clock.currentTimeMillis
    return { at, freeBytes, totalBytes, level: DiskSpace.level(freeBytes, totalBytes, thresholds), apps: sizes }
  })

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The last measurement (the first one, when none finished yet). */
  readonly current: Effect.Effect<DiskReport>
  /** Measures now and keeps the answer. */
  readonly refresh: Effect.Effect<DiskReport>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class DiskUsage extends Context.Service<DiskUsage, Service>()("@archipelago/orchestrator/DiskUsage") {}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly dataDir: string
  readonly thresholds?: DiskSpace.Thresholds
  readonly schedule?: Schedule.Schedule<unknown>
  readonly maxEntries?: number
}

/**
 * The service, without its loop.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<Service> =>
  Effect.gen(function*() {
    const lock = yield* Semaphore.make(1)
    let last: DiskReport | undefined
    const measureAndKeep = Effect.tap(measure(options.dataDir, options.thresholds, options.maxEntries), (r) => Effect.sync(() => (last = r)))
    const refresh = lock.withPermits(1)(measureAndKeep)
    // one walk at a time: a request that finds none finished waits for the one under way
    const current = Effect.suspend(() =>
      last !== undefined
        ? Effect.succeed(last)
        : lock.withPermits(1)(Effect.suspend(() => last !== undefined ? Effect.succeed(last) : measureAndKeep))
    )
    return { current, refresh }
  })

/**
 * The service with its refresh loop, a fiber of the layer's scope: measures at once, then on
 * `options.schedule` (`refreshSchedule`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<DiskUsage> =>
  Layer.effect(
    DiskUsage,
    Effect.gen(function*() {
      const service = yield* make(options)
      yield* Effect.forkScoped(Effect.repeat(service.refresh, options.schedule ?? refreshSchedule))
      return service
    })
  )

/**
 * The service's options an environment sets: the thresholds (`DiskSpace.thresholdsFromEnv`) and
 * `ARCHIPELAGO_DISK_REFRESH_SECONDS`, the seconds between measurements (at least 1; default
 * `refreshSchedule`, 5 minutes).
 *
 * @since 0.1.0
 * @category constructors
 */
export const optionsFromEnv = (dataDir: string, env: Readonly<Record<string, string | undefined>>): Options => {
  const raw = env["ARCHIPELAGO_DISK_REFRESH_SECONDS"]
  const seconds = raw === undefined || raw.trim() === "" ? Number.NaN : Number(raw)
  return {
    dataDir,
    thresholds: DiskSpace.thresholdsFromEnv(env),
    ...(Number.isFinite(seconds) && seconds >= 1 ? { schedule: Schedule.spaced(`${seconds} seconds`) } : {})
  }
}

/**
 * The resource use of one app as the dashboard shows it: CPU % and memory against the app's
 * limit, from one engine sample of every running container. Plain JSON, browser-safe.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category models
 */
export interface AppResources {
  readonly appId: string
  /** CPU use in percent of one core (may exceed 100 on several cores). */
  readonly cpuPercent: number
  /** Memory in use, in bytes. */
  readonly memoryBytes: number
  /** The manifest's memory limit, else the engine's (the host's memory); null when neither is known. */
  readonly memoryLimitBytes: number | null
}

/**
 * One sample of every running app, taken at `at` (Unix milliseconds).
 *
 * @since 0.1.0
 * @category models
 */
export interface Sample {
  readonly at: number
  readonly apps: ReadonlyArray<AppResources>
}

/**
 * What `fromStats` needs to know of an app: the name its container has now and its manifest's
 * memory limit.
 *
 * @since 0.1.0
 * @category models
 */
export interface AppContainer {
  readonly appId: string
  readonly containerName: string
  readonly memoryLimitBytes?: number
}

/**
 * What `fromStats` reads of one container's sample (the runtime port's `ContainerStats`).
 *
 * @since 0.1.0
 * @category models
 */
export interface ContainerUse {
  readonly name: string
  readonly cpuPercent: number
  readonly memoryBytes: number
  readonly memoryLimitBytes?: number
}

const positive = (n: number | undefined): n is number => n !== undefined && Number.isFinite(n) && n > 0

/**
 * The apps' use from one sample of containers, in the apps' order. An app whose container is
 * not in the sample (not running) is left out; containers of no app are ignored.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromStats = (apps: ReadonlyArray<AppContainer>, stats: ReadonlyArray<ContainerUse>): ReadonlyArray<AppResources> => {
  const byName = new Map(stats.map((s) => [s.name, s]))
  return apps.flatMap((app) => {
    const s = byName.get(app.containerName)
    if (s === undefined) return []
    const limit = positive(app.memoryLimitBytes) ? app.memoryLimitBytes : positive(s.memoryLimitBytes) ? s.memoryLimitBytes : null
    return [{
      appId: app.appId,
      cpuPercent: Math.max(0, s.cpuPercent),
      memoryBytes: Math.max(0, s.memoryBytes),
      memoryLimitBytes: limit
    }]
  })
}

/**
 * CPU contention for tests: keeps N busy processes alive while a test runs, so races that hide on
 * an idle machine show up. Bounded: every worker ends by itself after `maxMs` or as soon as its
 * parent is gone, so a crashed test run never leaves load behind.
 *
 * Tests opt in through the environment: `ARCHY_CONTENTION=<workers>` (0 or unset: none), which
 * lets one test file run both idle and contended without code changes.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { availableParallelism } from "node:os"

export interface Contention {
  /** How many busy workers are running. */
  readonly workers: number
  /** Stops every worker and waits until they have exited. */
  readonly stop: () => Promise<void>
}

export interface ContentionOptions {
  /** Busy processes to keep alive; default: one per CPU. */
  readonly workers?: number
  /** Hard bound on each worker's life, in milliseconds; default 15 minutes. */
  readonly maxMs?: number
  /** Share of each 100 ms slice a worker spends spinning (0..1]; default 1 (always busy). */
  readonly duty?: number
}

// A worker spins for `duty` of every 100 ms slice, ends after maxMs, and ends when its parent
// is gone (its ppid changes to the reaper's).
const workerSource = (maxMs: number, duty: number): string => `
const parent = process.ppid, end = Date.now() + ${maxMs}, busy = ${Math.round(duty * 100)};
const tick = () => {
  if (Date.now() > end || process.ppid !== parent) process.exit(0);
  const until = Date.now() + busy;
  while (Date.now() < until) {}
  setTimeout(tick, 100 - busy);
};
tick();
`

/** Starts CPU contention; remember to `stop()` it (an `afterAll` is the natural place). */
export const startContention = (options: ContentionOptions = {}): Contention => {
  const workers = Math.max(0, Math.floor(options.workers ?? availableParallelism()))
  const maxMs = options.maxMs ?? 15 * 60_000
  const duty = Math.min(1, Math.max(0.01, options.duty ?? 1))
  const children: Array<ChildProcess> = []
  for (let i = 0; i < workers; i++) {
    children.push(spawn(process.execPath, ["-e", workerSource(maxMs, duty)], { stdio: "ignore" }))
  }
  const stop = async (): Promise<void> => {
    await Promise.all(children.map((child) => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      child.once("exit", () => resolve())
      child.kill("SIGKILL")
    })))
  }
  return { workers, stop }
}

/** Workers asked for by `ARCHY_CONTENTION` (0 when unset or not a number). */
export const contentionWorkersFromEnv = (env: NodeJS.ProcessEnv = process.env): number => {
  const n = Number.parseInt(env.ARCHY_CONTENTION ?? "0", 10)
  return Number.isFinite(n) && n > 0 ? n : 0
}

/** Starts the contention `ARCHY_CONTENTION` asks for (none when unset). */
export const contentionFromEnv = (options: Omit<ContentionOptions, "workers"> = {}): Contention =>
  startContention({ ...options, workers: contentionWorkersFromEnv() })

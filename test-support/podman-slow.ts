/**
 * A slow podman for tests: a directory holding a `podman` wrapper that sleeps 0-`maxDelayMs` at
 * random before running the real podman. A test puts the directory first on the PATH of the
 * process it starts (e.g. `archipelago serve`), so every podman call of that process is delayed
 * and races between operations, scans and events show up. Test-only: nothing in the product
 * knows about it.
 *
 * Selected by the test harness through `ARCHY_PODMAN_SLOW=<maxDelayMs>` (0 or unset: no wrapper).
 */
import { spawnSync } from "node:child_process"
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { delimiter, join } from "node:path"

export interface SlowPodman {
  /** The directory holding the wrapper, to put first on a PATH. */
  readonly dir: string
  /** The most each call is delayed by, in milliseconds. */
  readonly maxDelayMs: number
  /** `env` with the wrapper first on its PATH. */
  readonly env: (env?: NodeJS.ProcessEnv) => NodeJS.ProcessEnv
  /** Removes the wrapper directory. */
  readonly remove: () => void
}

/** The real podman's absolute path, found on the current PATH. */
export const realPodman = (): string => {
  const r = spawnSync("sh", ["-c", "command -v podman"], { encoding: "utf8" })
  const path = r.stdout.trim()
  if (r.status !== 0 || !path.startsWith("/")) throw new Error("podman is not on PATH")
  return path
}

/** The wrapper script: a random delay of 0..maxDelayMs, then the real podman with the same argv. */
export const wrapperScript = (podman: string, maxDelayMs: number): string =>
  `#!/bin/sh
# archipelago test wrapper: delays every podman call by 0-${maxDelayMs} ms at random
ms=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
ms=$((ms % ${maxDelayMs + 1}))
sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
exec ${JSON.stringify(podman)} "$@"
`

/** Writes the wrapper (default delay 0-500 ms). */
export const makeSlowPodman = (maxDelayMs = 500): SlowPodman => {
  const dir = mkdtempSync(join(tmpdir(), "archy-slow-podman-"))
  const file = join(dir, "podman")
  writeFileSync(file, wrapperScript(realPodman(), Math.max(0, Math.floor(maxDelayMs))))
  chmodSync(file, 0o755)
  return {
    dir,
    maxDelayMs,
    env: (env = process.env) => ({ ...env, PATH: `${dir}${delimiter}${env.PATH ?? ""}` }),
    remove: () => rmSync(dir, { recursive: true, force: true })
  }
}

/** The delay `ARCHY_PODMAN_SLOW` asks for (0 when unset or not a number). */
export const slowPodmanFromEnv = (env: NodeJS.ProcessEnv = process.env): number => {
  const n = Number.parseInt(env.ARCHY_PODMAN_SLOW ?? "0", 10)
  return Number.isFinite(n) && n > 0 ? n : 0
}

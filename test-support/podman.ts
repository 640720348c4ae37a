/**
 * The tests' podman runner: runs `podman <args>` synchronously on the machine's podman. `podman`
 * hands back the exit status and the raw output for a test to judge; `must` is for a step that
 * has to work: it fails naming the command, its exit status and podman's stderr, and returns the
 * trimmed stdout. Tests that need podman skip (and say so) through `hasPodman` in
 * packages/orchestrator/test/runtime/podman.ts; this module only runs it.
 */
import { spawnSync } from "node:child_process"

/** What one podman call gave: exit status (null when killed by the timeout) and raw output. */
export interface PodmanResult {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/** A bound on one call (a pull or a build of the base image included); a hung podman fails the test, not the suite. */
export const podmanTimeoutMs = 180_000

/** Runs `podman <args>` and returns its status and output, whatever they are. */
export const podman = (...args: ReadonlyArray<string>): PodmanResult => {
  const r = spawnSync("podman", args, { encoding: "utf8", timeout: podmanTimeoutMs, maxBuffer: 64 * 1024 * 1024 })
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? String(r.error ?? "") }
}

/** Runs `podman <args>`; fails with the command, its status and stderr unless it exits 0. Returns stdout, trimmed. */
export const must = (...args: ReadonlyArray<string>): string => {
  const r = podman(...args)
  if (r.status !== 0) throw new Error(`podman ${args.join(" ")} failed (${r.status}): ${r.stderr}`)
  return r.stdout.trim()
}

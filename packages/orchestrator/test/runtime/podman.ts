/** Helpers for tests that need the real podman. */
import { spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"

/**
 * A tag unique to this test process, part of every podman-backed test's name prefix, so two runs of
 * the suite on one machine (or two worktrees) never remove or reuse each other's containers.
 */
export const runTag: string = randomBytes(3).toString("hex")

/** True when a working podman is on PATH. */
export const hasPodman: boolean = (() => {
  const r = spawnSync("podman", ["version", "--format", "json"], { encoding: "utf8" })
  return r.status === 0
})()

/** Removes (forcefully, without waiting) every container and image whose name starts with `prefix`. */
export const removeByPrefix = (prefix: string): void => {
  const ps = spawnSync("podman", ["ps", "-a", "--format", "{{.Names}}"], { encoding: "utf8" })
  const names = ps.stdout.split("\n").filter((n) => n.startsWith(prefix))
  if (names.length > 0) spawnSync("podman", ["rm", "--force", "--time", "0", ...names], { encoding: "utf8" })
  const images = spawnSync("podman", ["images", "--format", "{{.Repository}}:{{.Tag}}"], { encoding: "utf8" })
  const refs = images.stdout.split("\n").filter((r) => r.startsWith(`localhost/${prefix}`))
  if (refs.length > 0) spawnSync("podman", ["rmi", "--force", ...refs], { encoding: "utf8" })
}

/** The real podman's absolute path ("podman" when it is not installed). */
export const podmanPath: string = hasPodman ? spawnSync("sh", ["-c", "command -v podman"], { encoding: "utf8" }).stdout.trim() : "podman"

/**
 * The podman orchestrator fixture of the service tests: demo apps of our own (demoApps.ts, named
 * under a per-run prefix), the orchestrator on real podman over their folder, a wall-time `until`
 * for podman's pace, and removal of what a test created.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Duration, Effect, Layer } from "effect"
import { spawnSync } from "node:child_process"
import * as BaseImage from "../../src/runtime/BaseImage.js"
import * as PodmanRuntime from "../../src/runtime/PodmanRuntime.js"
import * as Archipelago from "../../src/services/Archipelago.js"
import * as HookRegistry from "../../src/services/HookRegistry.js"
import { runTag } from "../runtime/podman.js"
import { waitUntil } from "./harness.js"

export const prefix = `t-svc-${runTag}-`

export { hasPodman } from "../runtime/podman.js"

import type { DemoApp } from "./demoApps.js"

export { addDemoApp, type DemoApp, demoManifest, makeAppsDir } from "./demoApps.js"

/** The orchestrator on real podman over `appsDir` (shutdown grace 30 s unless given; no hooks). */
export const podmanOrchestrator = (
  appsDir: string,
  dataDir: string,
  options: { readonly shutdownGrace?: Duration.Input; readonly backup?: Archipelago.Config["backup"] } = {}
) =>
  Archipelago.layer({
    appsDir,
    dataDir,
    shutdownGrace: options.shutdownGrace ?? Duration.seconds(30),
    ...(options.backup === undefined ? {} : { backup: options.backup })
  }).pipe(
    Layer.provideMerge(PodmanRuntime.layer),
    Layer.provide(HookRegistry.layerEmpty),
    Layer.provide(NodeServices.layer)
  )

export const ensureBaseImage = BaseImage.ensure().pipe(Effect.provide(NodeServices.layer))

export const podman = (...args: ReadonlyArray<string>) => {
  const r = spawnSync("podman", args, { encoding: "utf8" })
  return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() }
}

export const inspect = (
  name: string
): { id: string; status: string; running: boolean; pid: number; startedAt: string } | undefined => {
  const r = podman("inspect", "--format", "{{.Id}} {{.State.Status}} {{.State.Pid}} {{.State.StartedAt}}", name)
  if (r.status !== 0) return undefined
  const [id, status, pid, ...started] = r.stdout.split(" ")
  return { id: id!, status: status!, running: status === "running", pid: Number(pid), startedAt: started.join(" ") }
}

/**
 * Polls a check in wall time every 100 ms (podman's pace; not a timed assertion: it only bounds
 * a wait, generous for a loaded machine and for the 30 s scheduled pass that repairs what a
 * missed engine event did not).
 */
export const until = <E, R>(check: Effect.Effect<boolean, E, R>, what: string, boundMs = 90_000) =>
  waitUntil(check, what, boundMs, 100)

/** Removes a demo app's container and the image the orchestrator built for it. */
export const removeDemoApp = (id: string): void => {
  podman("rm", "--force", "--time", "0", id)
  // a build's tag is its version and its context's hash: every tag of the app's image
  const images = spawnSync("podman", ["images", "--format", "{{.Repository}}:{{.Tag}}"], { encoding: "utf8" }).stdout.split("\n")
  for (const ref of images.filter((r) => r.startsWith(`localhost/archipelago/${id}:`))) podman("rmi", "--force", ref)
}

/** Removes our containers, images and volumes. */
export const cleanup = (apps: ReadonlyArray<DemoApp>) => {
  for (const app of apps) {
    removeDemoApp(app.id)
    podman("volume", "rm", "--force", `${app.id}-data`)
  }
}

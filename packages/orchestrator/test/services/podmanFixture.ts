/** A demo app of our own (a copy of apps/demo-node under the `t-svc-` prefix) for podman runs. */
import { NodeContext } from "@effect/platform-node"
import { Duration, Effect, Layer } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as BaseImage from "../../src/runtime/BaseImage.js"
import * as PodmanRuntime from "../../src/runtime/PodmanRuntime.js"
import * as Archipelago from "../../src/services/Archipelago.js"
import * as HookRegistry from "../../src/services/HookRegistry.js"

import { runTag } from "../runtime/podman.js"

export const prefix = `t-svc-${runTag}-`

export { hasPodman } from "../runtime/podman.js"

const demoNode = fileURLToPath(new URL("../../../../apps/demo-node", import.meta.url))

export interface DemoApp {
  readonly id: string
  readonly stopDelaySec: number
  readonly stopTimeoutSec: number
  readonly port: number
  readonly restart?: "no" | "always"
}

/** An apps folder holding one demo app per entry, each a copy of apps/demo-node. */
export const makeAppsDir = (apps: ReadonlyArray<DemoApp>): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "svc-apps-"))
  for (const app of apps) {
    const appDir = path.join(dir, app.id)
    fs.mkdirSync(appDir)
    fs.copyFileSync(path.join(demoNode, "Containerfile"), path.join(appDir, "Containerfile"))
    fs.copyFileSync(path.join(demoNode, "serve.sh"), path.join(appDir, "serve.sh"))
    fs.writeFileSync(
      path.join(appDir, "manifest.yml"),
      [
        `id: ${app.id}`,
        `name: ${app.id}`,
        `version: "1.0.0"`,
        `build:`,
        `  context: .`,
        `  containerfile: Containerfile`,
        `ports:`,
        `  - host: ${app.port}`,
        `    container: 8080`,
        `volumes:`,
        `  - source: ${app.id}-data`,
        `    target: /data`,
        `env:`,
        `  APP_NAME: ${app.id}`,
        `  STOP_DELAY: "${app.stopDelaySec}"`,
        `stopTimeout: ${app.stopTimeoutSec}`,
        `restart: ${app.restart ?? "always"}`,
        ``
      ].join("\n")
    )
  }
  return dir
}

/** The orchestrator on real podman. */
export const podmanOrchestrator = (appsDir: string, dataDir: string, options: { readonly shutdownGrace?: Duration.DurationInput } = {}) =>
  Archipelago.layer({ appsDir, dataDir, shutdownGrace: options.shutdownGrace ?? Duration.seconds(30) }).pipe(
    Layer.provideMerge(PodmanRuntime.layer),
    Layer.provide(HookRegistry.layerEmpty),
    Layer.provide(NodeContext.layer)
  )

export const ensureBaseImage = BaseImage.ensure().pipe(Effect.provide(NodeContext.layer))

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

/** Removes our containers, images and volumes. */
export const cleanup = (apps: ReadonlyArray<DemoApp>) => {
  for (const app of apps) {
    podman("rm", "--force", "--time", "0", app.id)
    podman("rmi", "--force", `localhost/archipelago/${app.id}:1.0.0`)
    podman("volume", "rm", "--force", `${app.id}-data`)
  }
}

/**
 * Stand-in apps for the hooks' tests on real podman: folders built from apps/demo-* scripts,
 * manifests with the fields every stand-in shares, one orchestrator on podman with the hooks
 * under test, and the waits and requests those tests make. Names carry the caller's prefix
 * (which holds the run's tag), and `cleanup` removes their containers and images.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Archipelago, BaseImage, Lifecycle, PodmanRuntime, StateStore } from "@archipelago/orchestrator"
import type { AppId } from "@archipelago/orchestrator"
import { Duration, Effect, Layer, References } from "effect"
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import { removeByPrefix } from "../../orchestrator/test/runtime/podman.js"
import { waitUntil } from "../../orchestrator/test/services/harness.js"
import type { PreStartHook } from "../src/PreStartHook.js"
import * as Hooks from "../src/Hooks.js"

/** The folder of one of the demo apps in apps/. */
export const demoApp = (app: string): string => fileURLToPath(new URL(`../../../apps/${app}`, import.meta.url))

/**
 * The manifest lines every stand-in shares: built from its folder, its web page on `port`,
 * `APP_NAME` and a 1 s graceful stop, the host reachable as host.containers.internal. `env`
 * adds lines under `env:`.
 */
export const standInManifest = (id: string, port: number, env: ReadonlyArray<string> = []): Array<string> => [
  `id: ${id}`,
  `name: ${id}`,
  `version: "1.0.0"`,
  `build:`,
  `  context: .`,
  `ports:`,
  `  - host: ${port}`,
  `    container: 8080`,
  `env:`,
  `  APP_NAME: ${id}`,
  `  STOP_DELAY: "1"`,
  ...env,
  `extraHosts:`,
  `  host.containers.internal: host-gateway`,
  `stopTimeout: 10`
]

/**
 * Writes a stand-in's folder: `serve.sh` from a demo app, and either that app's Containerfile or,
 * with `start`, a start script run before `serve.sh` (it reads the rendered config, then execs it).
 */
export const writeStandIn = (
  dir: string,
  id: string,
  options: { readonly from: string; readonly start?: string; readonly manifest: ReadonlyArray<string> }
): void => {
  const folder = NodePath.join(dir, id)
  Fs.mkdirSync(folder)
  Fs.copyFileSync(NodePath.join(demoApp(options.from), "serve.sh"), NodePath.join(folder, "serve.sh"))
  if (options.start === undefined) {
    Fs.copyFileSync(NodePath.join(demoApp(options.from), "Containerfile"), NodePath.join(folder, "Containerfile"))
  } else {
    Fs.writeFileSync(NodePath.join(folder, "start.sh"), options.start)
    Fs.writeFileSync(
      NodePath.join(folder, "Containerfile"),
      `FROM localhost/archipelago/base:latest\nCOPY serve.sh start.sh /app/\nCMD ["/bin/sh", "/app/start.sh"]\n`
    )
  }
  Fs.writeFileSync(NodePath.join(folder, "manifest.yml"), [...options.manifest, ""].join("\n"))
}

/** Removes the stand-ins' containers (by prefix) and the images built for `ids`. */
export const cleanup = (prefix: string, ids: ReadonlyArray<string>): void => {
  removeByPrefix(prefix)
  // a build's tag is its version and its context's hash: remove every tag of the ids' images
  const images = spawnSync("podman", ["images", "--format", "{{.Repository}}:{{.Tag}}"], { encoding: "utf8" }).stdout.split("\n")
  const refs = images.filter((r) => ids.some((id) => r.startsWith(`localhost/archipelago/${id}:`)))
  if (refs.length > 0) spawnSync("podman", ["rmi", "--force", ...refs])
}

/** Fresh temporary folders for a test file's catalog and data; `remove` deletes both. */
export const tempFolders = (name: string) => {
  const folders: { appsDir: string; dataDir: string } = { appsDir: "", dataDir: "" }
  return {
    folders,
    create: () => {
      folders.appsDir = Fs.mkdtempSync(NodePath.join(Os.tmpdir(), `t-${name}-apps-`))
      folders.dataDir = Fs.mkdtempSync(NodePath.join(Os.tmpdir(), `t-${name}-data-`))
    },
    remove: () => {
      for (const dir of [folders.appsDir, folders.dataDir]) if (dir !== "") Fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** The offline base image the stand-ins are built from. */
export const ensureBaseImage = (): Promise<unknown> => Effect.runPromise(BaseImage.ensure().pipe(Effect.provide(NodeServices.layer)))

/** A test file's catalog and data folders, filled in by `tempFolders().create` before the tests run. */
export interface Folders {
  readonly appsDir: string
  readonly dataDir: string
}

/**
 * One orchestrator on real podman over the stand-ins' catalog, running only `hooks` (each bound
 * to its consumers by the caller); `fast` scans and reconciles every second. The folders are read
 * when the layer is built, after `beforeAll` created them.
 */
export const onPodman = (
  options: { readonly folders: Folders; readonly hooks: ReadonlyArray<PreStartHook>; readonly fast?: boolean }
) =>
<A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.provide(Layer.suspend(() =>
      Archipelago.layer({
        appsDir: options.folders.appsDir,
        dataDir: options.folders.dataDir,
        ...(options.fast === true ? { reconcileInterval: "1 second", scanInterval: "1 second" } : {}),
        shutdownGrace: Duration.seconds(30)
      }).pipe(
        Layer.provideMerge(PodmanRuntime.layer),
        Layer.provide(Hooks.layer(options.hooks, { dataDir: options.folders.dataDir })),
        Layer.provide(NodeServices.layer)
      )
    )),
    Effect.provideService(References.MinimumLogLevel, "Warn")
  )

/** Polls `check` every 250 ms until it holds, failing with `what` after `boundMs`. */
export const until = <E, R>(check: Effect.Effect<boolean, E, R>, what: string, boundMs = 180_000) =>
  waitUntil(check, what, boundMs, 250)

/** The app's entry in the orchestrator's state. */
export const entry = (id: string) => Effect.flatMap(StateStore.StateStore, (s) => s.entry(id as AppId.AppId))

/** The app's state as the orchestrator shows it. */
export const stateOf = (id: string) => Effect.map(entry(id), (e) => e.state)

/** A lifecycle request, as a client's RPC makes it. */
export const request = (op: "install" | "remove", id: string) => Effect.flatMap(Lifecycle.Lifecycle, (l) => l.request(op, id))

/** The stand-in's web page on the host's port, or "" while nothing answers. */
export const page = (port: number) =>
  Effect.promise(() => fetch(`http://127.0.0.1:${port}/index.html`).then((r) => r.text(), () => ""))

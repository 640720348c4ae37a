/**
 * Demo apps of our own for the service tests: an apps folder whose apps are copies of
 * apps/demo-node (its Containerfile and serve.sh) with a manifest each. Writes files only; the
 * podman side is podmanFixture.ts (so a simulator test using these folders needs no podman).
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const demoNode = fileURLToPath(new URL("../../../../apps/demo-node", import.meta.url))

export interface DemoApp {
  readonly id: string
  readonly stopDelaySec: number
  readonly stopTimeoutSec: number
  readonly port: number
  readonly restart?: "no" | "always"
}

/** Adds app `id` to the apps folder `dir`: apps/demo-node's Containerfile and serve.sh, and `manifest` as its manifest.yml. */
export const addDemoApp = (dir: string, id: string, manifest: string): void => {
  const appDir = path.join(dir, id)
  fs.mkdirSync(appDir)
  fs.copyFileSync(path.join(demoNode, "Containerfile"), path.join(appDir, "Containerfile"))
  fs.copyFileSync(path.join(demoNode, "serve.sh"), path.join(appDir, "serve.sh"))
  fs.writeFileSync(path.join(appDir, "manifest.yml"), manifest)
}

/**
 * A demo app's manifest: built from its folder, `APP_NAME` and `STOP_DELAY` (how long it takes to
 * answer SIGTERM) in its env, then `lines` (ports, volumes, health, backup: YAML at top level).
 */
export const demoManifest = (
  id: string,
  options: { readonly stopDelaySec?: number; readonly stopTimeoutSec?: number; readonly restart?: "no" | "always" } = {},
  lines: ReadonlyArray<string> = []
): string =>
  [
    `id: ${id}`,
    `name: ${id}`,
    `version: "1.0.0"`,
    `build:`,
    `  context: .`,
    `  containerfile: Containerfile`,
    `env:`,
    `  APP_NAME: ${id}`,
    `  STOP_DELAY: "${options.stopDelaySec ?? 0}"`,
    `stopTimeout: ${options.stopTimeoutSec ?? 10}`,
    `restart: "${options.restart ?? "no"}"`,
    ...lines,
    ``
  ].join("\n")

/** An apps folder holding one demo app per entry (port 8080 published, a `<id>-data` volume), each a copy of apps/demo-node. */
export const makeAppsDir = (apps: ReadonlyArray<DemoApp>): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "svc-apps-"))
  for (const app of apps) {
    addDemoApp(dir, app.id, demoManifest(app.id, { ...app, restart: app.restart ?? "always" }, [
      `ports:`,
      `  - host: ${app.port}`,
      `    container: 8080`,
      `volumes:`,
      `  - source: ${app.id}-data`,
      `    target: /data`
    ]))
  }
  return dir
}


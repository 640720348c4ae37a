/**
 * A private copy of the demo apps for one chaos lane: ids, container names and volumes carry the
 * lane's prefix (the run tag inside), host ports are free ones, graceful stops are shortened,
 * every app gets a `/data` volume for the "nothing lost" marker, and chosen apps come from a
 * registry image instead of a local build.
 */
import { spawnSync } from "node:child_process"
import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { freePort } from "./Serve.js"

export const demoApps = ["demo-node", "demo-lightning", "demo-indexer", "demo-ui"] as const
export type DemoApp = (typeof demoApps)[number]

/** What each demo app depends on (as in apps/). */
export const dependencies: Readonly<Record<DemoApp, ReadonlyArray<DemoApp>>> = {
  "demo-node": [],
  "demo-lightning": ["demo-node"],
  "demo-indexer": ["demo-node"],
  "demo-ui": ["demo-node"]
}

/** Graceful stop delays in the copies: long enough to observe a stop, short enough for CI. */
export const stopDelaySec: Readonly<Record<DemoApp, number>> = {
  "demo-node": 3,
  "demo-lightning": 2,
  "demo-indexer": 2,
  "demo-ui": 1
}

export interface CatalogApp {
  readonly demo: DemoApp
  readonly id: string
  /** Host port of the app's HTTP service. */
  readonly port: number
  /** The registry reference when the app runs from a registry image, else undefined (local build). */
  readonly image?: string
}

export interface Catalog {
  readonly dir: string
  readonly apps: ReadonlyMap<DemoApp, CatalogApp>
}

export interface CatalogOptions {
  readonly root: string
  readonly dir: string
  readonly prefix: string
  readonly apps: ReadonlyArray<DemoApp>
  /** Pushes a local image to the test registry, returning its reference; apps in `fromRegistry` need it. */
  readonly push?: (localRef: string, name: string) => string
  readonly fromRegistry?: ReadonlyArray<DemoApp>
}

const podman = (args: ReadonlyArray<string>, cwd?: string): string => {
  const r = spawnSync("podman", args, { encoding: "utf8", timeout: 300_000, ...(cwd === undefined ? {} : { cwd }) })
  if (r.status !== 0) throw new Error(`podman ${args.join(" ")} failed (${r.status}): ${r.stderr}`)
  return r.stdout
}

const originalPorts: Readonly<Record<DemoApp, string>> = {
  "demo-node": "18081",
  "demo-lightning": "18082",
  "demo-indexer": "18083",
  "demo-ui": "18084"
}

export const makeCatalog = async (options: CatalogOptions): Promise<Catalog> => {
  mkdirSync(options.dir, { recursive: true })
  const ports = new Map<DemoApp, number>()
  for (const demo of demoApps) ports.set(demo, await freePort())
  const apps = new Map<DemoApp, CatalogApp>()
  for (const demo of options.apps) {
    const id = `${options.prefix}${demo}`
    const target = join(options.dir, id)
    cpSync(join(options.root, "apps", demo), target, { recursive: true })
    // A label of the lane makes its image its own: an identical build elsewhere on the machine
    // (another test, another lane) would otherwise share the image id, and \`podman rmi -f\` of the
    // lane's tag would only untag it (no removal: the rm-image scenario would not happen).
    const containerfile = join(target, "Containerfile")
    if (existsSync(containerfile)) appendFileSync(containerfile, `\nLABEL io.archipelago.chaos-lane="${id}"\n`)
    const file = join(target, "manifest.yml")
    let text = readFileSync(file, "utf8").replace(/\bdemo-(node|lightning|indexer|ui)\b(?!-page)/g, `${options.prefix}demo-$1`)
    for (const d of demoApps) text = text.replaceAll(originalPorts[d], String(ports.get(d)))
    text = text.replace(/STOP_DELAY: "\d+"/, `STOP_DELAY: "${stopDelaySec[demo]}"`)
    if (!/target: \/data\n/.test(text)) {
      const volume = `  - source: ${id}-data\n    target: /data\n`
      text = /\nvolumes:\n/.test(text)
        ? text.replace(/\nvolumes:\n/, `\nvolumes:\n${volume}`)
        : text.replace(/\nenv:\n/, `\nvolumes:\n${volume}env:\n`)
    }
    let image: string | undefined
    if (options.fromRegistry?.includes(demo) === true) {
      if (options.push === undefined) throw new Error(`${demo} should come from a registry but no registry was given`)
      const local = `localhost/archipelago/${id}-src:1.0.0`
      podman(["build", "--pull=never", "--quiet", "--tag", local, target])
      image = options.push(local, `archipelago/${id}:1.0.0`)
      podman(["rmi", local, image])
      text = text.replace(/\nbuild:\n(?: {2}.*\n)+/, `\nimage: ${image}\n`)
    }
    writeFileSync(file, text)
    apps.set(demo, { demo, id, port: ports.get(demo)!, ...(image === undefined ? {} : { image }) })
  }
  return { dir: options.dir, apps }
}

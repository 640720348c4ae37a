/**
 * The container a manifest describes, derived purely from the manifest and the settings, and
 * its stable hash, stamped on the container so the reconciler can tell drift from adoption.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { parseMemoryLimit } from "../domain/MemoryLimit.js"
import type { ContainerSpec, ExtraHost, HealthCheckSpec, VolumeSpec } from "../runtime/ContainerSpec.js"
import { Labels } from "../runtime/ContainerSpec.js"
import type { CatalogApp } from "./CatalogApp.js"
import * as PosixPath from "./internal/PosixPath.js"
import type { Manifest } from "./Manifest.js"
import { imageRef } from "./Resolve.js"
import type { Settings } from "./Settings.js"

/**
 * The container name: `container.name` when given, else `archy-<id>` for UI companions and
 * `<id>` for everything else.
 *
 * @since 0.1.0
 * @category getters
 */
export const containerName = (manifest: Manifest): string =>
  manifest.container.name ?? (manifest.role === "ui" ? `archy-${manifest.id}` : manifest.id)

/**
 * The folder under the data dir that holds one folder per app. The orchestrator's own files and
 * folders (`secrets`, `backups`, `rpc-token`, ...) sit beside it, never inside it, so no app id
 * can name one of them.
 *
 * @since 0.1.0
 * @category constants
 */
export const appsFolderName = "apps"

/**
 * The names the orchestrator uses directly under the data dir; no app may take one as its id
 * (an app's folder used to be `<dataDir>/<id>`, and the migration must never move one of these).
 *
 * @since 0.1.0
 * @category constants
 */
export const reservedNames: ReadonlySet<string> = new Set([
  appsFolderName,
  "secrets",
  "backups",
  "engine",
  "rpc-token"
])

/**
 * The app's data directory on the host: `<dataDir>/apps/<id>`. The one place that computes it:
 * specs, rules, hooks and backups all ask here.
 *
 * @since 0.1.0
 * @category getters
 */
export const appDataDir = (settings: Pick<Settings, "dataDir">, id: string): string =>
  PosixPath.join(settings.dataDir, `${appsFolderName}/${id}`) ?? `${settings.dataDir}/${appsFolderName}/${id}`

/**
 * The host source of a volume: `./x` becomes `<dataDir>/apps/<id>/x`, an absolute path is
 * normalised, a bare name stays a named volume.
 *
 * @since 0.1.0
 * @category getters
 */
export const volumeSource = (settings: Settings, id: string, source: string): string => {
  if (source === "." || source.startsWith("./")) return PosixPath.join(appDataDir(settings, id), source) ?? source
  if (PosixPath.isAbsolute(source)) return PosixPath.normalize(source) ?? source
  return source
}

/**
 * The host folders an app bind-mounts (to create before the container), in manifest order.
 *
 * @since 0.1.0
 * @category getters
 */
export const bindSources = (manifest: Manifest, settings: Settings): ReadonlyArray<string> =>
  manifest.volumes.map((v) => volumeSource(settings, manifest.id, v.source)).filter(PosixPath.isAbsolute)

// tcp and http checks run from outside the container (OutsideProbe): an image without nc or
// wget can pass them; cmd checks run inside, by podman
const healthCheck = (health: NonNullable<Manifest["health"]>): HealthCheckSpec => {
  const outside = health.type === "http"
    ? { probe: { type: "http" as const, port: health.port, path: health.path } }
    : health.type === "tcp"
    ? { probe: { type: "tcp" as const, port: health.port } }
    : undefined
  return {
    command: health.type === "cmd" ? [...health.command] : [],
    ...outside,
    intervalSec: health.interval,
    timeoutSec: health.timeout,
    retries: health.retries,
    startPeriodSec: health.startPeriod
  }
}

/**
 * Canonical JSON: object keys sorted, `undefined` fields left out, arrays in order.
 *
 * @since 0.1.0
 * @category getters
 */
export const canonicalJson = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`
  if (typeof value === "object" && value !== null) {
    const fields = Object.keys(value)
      .sort()
      .flatMap((k) => {
        const v = (value as Record<string, unknown>)[k]
        return v === undefined ? [] : [`${JSON.stringify(k)}:${canonicalJson(v)}`]
      })
    return `{${fields.join(",")}}`
  }
  return JSON.stringify(value) ?? "null"
}

/**
 * The sha256 (hex) of a spec's canonical JSON, ignoring the spec-hash label itself, so a
 * stamped spec hashes to its own label, and the instance label, so the same app has the same
 * hash in every data dir and a container from before instance ids is not recreated.
 *
 * @since 0.1.0
 * @category getters
 */
export const specHash = (spec: ContainerSpec): string => {
  const { [Labels.specHash]: _ignored, [Labels.instance]: _instance, ...labels } = spec.labels
  return createHash("sha256").update(canonicalJson({ ...spec, labels })).digest("hex")
}

const isApp = (u: CatalogApp | Manifest): u is CatalogApp => "manifest" in u

/**
 * The full container spec of an app, with the `io.archipelago.*` labels (including the spec
 * hash). Memory is omitted when the manifest has none.
 *
 * @since 0.1.0
 * @category constructors
 */
export const containerSpec = (app: CatalogApp | Manifest, settings: Settings): ContainerSpec => {
  const m = isApp(app) ? app.manifest : app
  const volumes: Array<VolumeSpec> = m.volumes.map((v) => ({
    source: volumeSource(settings, m.id, v.source),
    target: PosixPath.normalize(v.target) ?? v.target,
    readOnly: v.readOnly
  }))
  const extraHosts: Array<ExtraHost> = Object.entries(m.extraHosts)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([host, address]) => ({ host, address }))
  const memoryBytes = m.memory === undefined ? undefined : parseMemoryLimit(m.memory)
  const spec: ContainerSpec = {
    name: containerName(m),
    image: imageRef(m, isApp(app) ? app.contextHash : undefined),
    labels: {
      [Labels.app]: m.id,
      [Labels.managedBy]: Labels.managedByValue,
      ...(settings.instanceId === undefined ? {} : { [Labels.instance]: settings.instanceId })
    },
    ports: m.ports.map((p) => ({
      host: p.host,
      container: p.container,
      protocol: p.protocol,
      ...(p.hostIp !== undefined ? { hostIp: p.hostIp } : {})
    })),
    volumes,
    env: { ...m.env },
    extraHosts,
    ...(memoryBytes !== undefined ? { memoryBytes } : {}),
    stopTimeoutSec: m.stopTimeout,
    restart: m.restart,
    ...(m.container.command !== undefined ? { command: [...m.container.command] } : {}),
    ...(m.container.entrypoint !== undefined ? { entrypoint: [...m.container.entrypoint] } : {}),
    ...(m.container.user !== undefined ? { user: m.container.user } : {}),
    ...(m.container.workdir !== undefined ? { workdir: m.container.workdir } : {}),
    ...(m.health !== undefined ? { healthCheck: healthCheck(m.health) } : {})
  }
  return { ...spec, labels: { ...spec.labels, [Labels.specHash]: specHash(spec) } }
}

/**
 * Quadlet units for an app: the `.container` file (and a `.volume` file per named volume) that
 * podman's systemd generator turns into a service, rendered purely from the same resolved
 * `ContainerSpec` the podman runtime creates containers from.
 *
 * Every `[Container]`/`[Volume]` key is gated by the podman version that introduced it: Quadlet
 * drops a whole unit on a key it does not know, so emitting one is a bug. Where a key is newer
 * than the engine, the documented fallback is used (`PodmanArgs=` with the equivalent `podman
 * run` option, or the label the key stands for).
 *
 * @since 0.1.0
 */
import { Data, Result } from "effect"
import * as Capability from "../manifest/Capability.js"
import type { Catalog } from "../manifest/Catalog.js"
import type { Settings } from "../manifest/Settings.js"
import { containerName, containerSpec } from "../manifest/Spec.js"
import type { ContainerSpec, HealthCheckSpec, VolumeSpec } from "../runtime/ContainerSpec.js"
import { Labels } from "../runtime/ContainerSpec.js"
import * as OutsideProbe from "../runtime/OutsideProbe.js"
import { portArg, probeOf, shellCommand } from "../runtime/PodmanArgv.js"

/**
 * A podman version, `major.minor.patch`.
 *
 * @since 0.1.0
 * @category models
 */
export interface EngineVersion {
  readonly major: number
  readonly minor: number
  readonly patch: number
}

/**
 * Parses `4.3.1`, `v5.4.2`, `5.0.0-rc1`; `undefined` for anything else.
 *
 * @since 0.1.0
 * @category constructors
 */
export const parseVersion = (text: string): EngineVersion | undefined => {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text.trim())
  return m === null ? undefined : { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0) }
}

/**
 * @since 0.1.0
 * @category utils
 */
export const formatVersion = (v: EngineVersion): string => `${v.major}.${v.minor}.${v.patch}`

/**
 * True when `v` is at least `major.minor`.
 *
 * @since 0.1.0
 * @category utils
 */
export const atLeast = (v: EngineVersion, [major, minor]: readonly [number, number]): boolean =>
  v.major > major || (v.major === major && v.minor >= minor)

/**
 * The first podman with Quadlet.
 *
 * @since 0.1.0
 * @category constants
 */
export const quadletSince: readonly [number, number] = [4, 4]

/**
 * The `[Container]` keys this renderer may emit, each with the podman version that introduced
 * it (podman-systemd.unit(5) and the release notes of each version). Nothing outside this table
 * is ever emitted.
 *
 * @since 0.1.0
 * @category constants
 */
export const containerKeys = {
  Image: [4, 4],
  ContainerName: [4, 4],
  Label: [4, 4],
  PublishPort: [4, 4],
  Volume: [4, 4],
  Environment: [4, 4],
  Exec: [4, 4],
  User: [4, 4],
  PodmanArgs: [4, 4],
  HealthCmd: [4, 5],
  HealthInterval: [4, 5],
  HealthTimeout: [4, 5],
  HealthRetries: [4, 5],
  HealthStartPeriod: [4, 5],
  AutoUpdate: [4, 6],
  // Both landed by 5.0; gated there conservatively (a late gate only costs a PodmanArgs fallback).
  WorkingDir: [5, 0],
  Entrypoint: [5, 0],
  StopTimeout: [5, 0],
  AddHost: [5, 3],
  Memory: [5, 5]
} as const satisfies Record<string, readonly [number, number]>

/**
 * The `[Volume]` keys this renderer may emit. `VolumeName=` (so the volume keeps the name the
 * orchestrator uses instead of `systemd-<unit>`) is 4.6; before it no `.volume` file is written
 * and the container names the volume directly (podman creates it on first use).
 *
 * @since 0.1.0
 * @category constants
 */
export const volumeKeys = {
  Label: [4, 4],
  VolumeName: [4, 6]
} as const satisfies Record<string, readonly [number, number]>

/**
 * One `Key=value` line of a section (the value already escaped for the unit file).
 *
 * @since 0.1.0
 * @category models
 */
export type Entry = readonly [key: string, value: string]

/**
 * @since 0.1.0
 * @category models
 */
export interface Section {
  readonly name: string
  readonly entries: ReadonlyArray<Entry>
}

/**
 * A Quadlet source file: its name (`archy-demo-ui.container`) and its sections in order.
 *
 * @since 0.1.0
 * @category models
 */
export interface UnitFile {
  readonly fileName: string
  readonly sections: ReadonlyArray<Section>
}

/**
 * What `quadletUnit` renders for one app.
 *
 * @since 0.1.0
 * @category models
 */
export interface AppUnits {
  /** The systemd service Quadlet generates: `<container name>.service`. */
  readonly service: string
  readonly container: UnitFile
  readonly volumes: ReadonlyArray<UnitFile>
}

/**
 * Whether the units run under the system manager (rootful) or a user's manager (rootless).
 *
 * @since 0.1.0
 * @category models
 */
export type Scope = "system" | "user"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Default `system` (`WantedBy=multi-user.target`); `user` wants `default.target`. */
  readonly scope?: Scope
  /** `Description=` of the unit; default `Archipelago app <id>`. */
  readonly description?: string
  /** Services this one starts after (the app's `dependsOn`, as service names). */
  readonly after?: ReadonlyArray<string>
  /** `TimeoutStartSec=`: long enough for an image pull; default `startTimeoutSec`. */
  readonly startTimeoutSec?: number
  /** podman auto-update policy; default none (the orchestrator does updates). */
  readonly autoUpdate?: "registry" | "local"
}

/**
 * The default `TimeoutStartSec`: 15 minutes, enough to pull a multi-GB image on a home line.
 *
 * @since 0.1.0
 * @category constants
 */
export const startTimeoutSec = 900

/**
 * How much longer systemd waits than the container's own stop timeout before it kills.
 *
 * @since 0.1.0
 * @category constants
 */
export const stopMarginSec = 30

/**
 * The engine has no Quadlet (before 4.4): unit-owned mode cannot be used on it.
 *
 * @since 0.1.0
 * @category errors
 */
export class QuadletUnsupported extends Data.TaggedError("QuadletUnsupported")<{
  readonly version: string
}> {
  override get message(): string {
    return `podman ${this.version} has no Quadlet (it needs podman 4.4 or later): systemd-owned units are refused on this engine; ` +
      "keep the orchestrator-owned mode or upgrade podman"
  }
}

/**
 * A name that cannot become a unit file name.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidUnitName extends Data.TaggedError("InvalidUnitName")<{
  readonly name: string
  readonly field: string
}> {
  override get message(): string {
    return `${this.field} ${JSON.stringify(this.name)} cannot name a systemd unit (letters, digits, '.', '_' and '-' only)`
  }
}

const unitNameSyntax = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$/

/**
 * Escapes a value for a systemd unit line: `%` (specifiers) and `$` (variable expansion in the
 * `ExecStart=` Quadlet generates) are doubled; a line break cannot appear (callers quote).
 *
 * @since 0.1.0
 * @category utils
 */
export const escapeValue = (s: string): string => s.replaceAll("%", "%%").replaceAll("$", () => "$$")

const bareWord = /^[A-Za-z0-9_/.:=@+,-]+$/

/**
 * One word of a space-separated Quadlet value (`Exec=`, `PodmanArgs=`, `Environment=`,
 * `Label=`): bare when safe, else double-quoted with `\\`, `"` and control characters escaped
 * C-style, then `%`/`$` escaped for systemd.
 *
 * @since 0.1.0
 * @category utils
 */
export const quoteWord = (s: string): string => {
  if (bareWord.test(s)) return s
  const inner = s
    .replaceAll("\\", "\\\\")
    .replaceAll("\"", "\\\"")
    .replaceAll("\n", "\\n")
    .replaceAll("\r", "\\r")
    .replaceAll("\t", "\\t")
  return escapeValue(`"${inner}"`)
}

const words = (ws: ReadonlyArray<string>): string => ws.map(quoteWord).join(" ")

const sortedEntries = (record: Readonly<Record<string, string>>): ReadonlyArray<readonly [string, string]> =>
  Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

const isNamedVolume = (v: VolumeSpec): boolean => !v.source.startsWith("/")

/** The `.volume` unit file of a named volume (its base name is the volume's name). */
const volumeFileName = (name: string): string => `${name}.volume`

const volumeValue = (v: VolumeSpec, source: string): string => `${source}:${v.target}${v.readOnly ? ":ro" : ""}`

const seconds = (n: number): string => `${Math.max(0, Math.round(n))}s`

const healthEntries = (hc: HealthCheckSpec, version: EngineVersion): ReadonlyArray<Entry> => {
  const cmd = shellCommand(hc.command)
  if (atLeast(version, containerKeys.HealthCmd)) {
    return [
      ["HealthCmd", escapeValue(cmd)],
      ["HealthInterval", seconds(hc.intervalSec)],
      ["HealthTimeout", seconds(hc.timeoutSec)],
      ["HealthRetries", String(hc.retries)],
      ["HealthStartPeriod", seconds(hc.startPeriodSec)]
    ]
  }
  return [[
    "PodmanArgs",
    words([
      `--health-cmd=${cmd}`,
      `--health-interval=${seconds(hc.intervalSec)}`,
      `--health-timeout=${seconds(hc.timeoutSec)}`,
      `--health-retries=${hc.retries}`,
      `--health-start-period=${seconds(hc.startPeriodSec)}`
    ])
  ]]
}

/**
 * systemd's `Restart=` for the spec's policy: `always` and `unless-stopped` are both `always`
 * (a `systemctl stop` is never undone by systemd), `on-failure` stays, `no` stays.
 *
 * @since 0.1.0
 * @category utils
 */
export const systemdRestart = (policy: ContainerSpec["restart"]): "always" | "on-failure" | "no" =>
  policy === "no" ? "no" : policy === "on-failure" ? "on-failure" : "always"

/**
 * The service name Quadlet generates for a container unit.
 *
 * @since 0.1.0
 * @category utils
 */
export const serviceName = (spec: Pick<ContainerSpec, "name">): string => `${spec.name}.service`

/**
 * Renders an app's Quadlet units for a podman version. Refuses engines without Quadlet and names
 * that cannot be unit file names; otherwise total.
 *
 * @since 0.1.0
 * @category constructors
 */
export const quadletUnit = (
  spec: ContainerSpec,
  engineVersion: EngineVersion | string,
  options: Options = {}
): Result.Result<AppUnits, QuadletUnsupported | InvalidUnitName> => {
  const version = typeof engineVersion === "string" ? parseVersion(engineVersion) : engineVersion
  if (version === undefined || !atLeast(version, quadletSince)) {
    return Result.fail(
      new QuadletUnsupported({
        version: typeof engineVersion === "string" ? engineVersion : formatVersion(engineVersion)
      })
    )
  }
  if (!unitNameSyntax.test(spec.name)) return Result.fail(new InvalidUnitName({ name: spec.name, field: "container name" }))
  for (const v of spec.volumes.filter(isNamedVolume)) {
    if (!unitNameSyntax.test(v.source)) return Result.fail(new InvalidUnitName({ name: v.source, field: "volume name" }))
  }
  const has = (key: keyof typeof containerKeys) => atLeast(version, containerKeys[key])
  const namedVolumeUnits = atLeast(version, volumeKeys.VolumeName)
  const appId = spec.labels[Labels.app] ?? spec.name

  const c: Array<Entry> = [
    ["Image", escapeValue(spec.image)],
    ["ContainerName", spec.name]
  ]
  const labels: Record<string, string> = { ...spec.labels }
  if (options.autoUpdate !== undefined && !has("AutoUpdate")) labels["io.containers.autoupdate"] = options.autoUpdate
  for (const [k, v] of sortedEntries(labels)) c.push(["Label", quoteWord(`${k}=${v}`)])
  if (options.autoUpdate !== undefined && has("AutoUpdate")) c.push(["AutoUpdate", options.autoUpdate])
  for (const p of spec.ports) c.push(["PublishPort", portArg(p)])
  for (const v of spec.volumes) {
    const source = isNamedVolume(v) && namedVolumeUnits ? volumeFileName(v.source) : v.source
    c.push(["Volume", escapeValue(volumeValue(v, source))])
  }
  for (const [k, v] of sortedEntries(spec.env)) c.push(["Environment", quoteWord(`${k}=${v}`)])
  const podmanArgs: Array<string> = []
  for (const h of spec.extraHosts) {
    if (has("AddHost")) c.push(["AddHost", escapeValue(`${h.host}:${h.address}`)])
    else podmanArgs.push(`--add-host=${h.host}:${h.address}`)
  }
  if (spec.memoryBytes !== undefined && Number.isSafeInteger(spec.memoryBytes) && spec.memoryBytes > 0) {
    if (has("Memory")) c.push(["Memory", String(spec.memoryBytes)])
    else podmanArgs.push(`--memory=${spec.memoryBytes}`)
  }
  const stopTimeout = Math.max(0, Math.round(spec.stopTimeoutSec))
  if (has("StopTimeout")) c.push(["StopTimeout", String(stopTimeout)])
  else podmanArgs.push(`--stop-timeout=${stopTimeout}`)
  if (spec.user !== undefined) c.push(["User", escapeValue(spec.user)])
  if (spec.workdir !== undefined) {
    if (has("WorkingDir")) c.push(["WorkingDir", escapeValue(spec.workdir)])
    else podmanArgs.push(`--workdir=${spec.workdir}`)
  }
  if (spec.entrypoint !== undefined) {
    if (has("Entrypoint")) c.push(["Entrypoint", quoteWord(JSON.stringify(spec.entrypoint))])
    else podmanArgs.push(`--entrypoint=${JSON.stringify(spec.entrypoint)}`)
  }
  const hc = spec.healthCheck
  if (hc?.probe !== undefined) c.push(["Label", quoteWord(`${OutsideProbe.label}=${OutsideProbe.encode(probeOf({ ...hc, probe: hc.probe }))}`)])
  else if (hc !== undefined) c.push(...healthEntries(hc, version))
  if (podmanArgs.length > 0) c.push(["PodmanArgs", words(podmanArgs)])
  if (spec.command !== undefined && spec.command.length > 0) c.push(["Exec", words(spec.command)])

  const unit: Array<Entry> = [["Description", escapeValue(options.description ?? `Archipelago app ${appId}`)]]
  for (const a of options.after ?? []) {
    if (!unitNameSyntax.test(a)) return Result.fail(new InvalidUnitName({ name: a, field: "dependency" }))
    unit.push(["Wants", a], ["After", a])
  }

  const service: Array<Entry> = [
    ["Restart", systemdRestart(spec.restart)],
    ["TimeoutStartSec", String(Math.max(1, Math.round(options.startTimeoutSec ?? startTimeoutSec)))],
    ["TimeoutStopSec", String(stopTimeout + stopMarginSec)]
  ]
  const install: Array<Entry> = [["WantedBy", options.scope === "user" ? "default.target" : "multi-user.target"]]

  const volumes: Array<UnitFile> = namedVolumeUnits
    ? [...new Set(spec.volumes.filter(isNamedVolume).map((v) => v.source))].sort().map((name) => ({
      fileName: volumeFileName(name),
      sections: [
        { name: "Unit", entries: [["Description", escapeValue(`Archipelago volume ${name} of ${appId}`)]] },
        {
          name: "Volume",
          entries: [
            ["VolumeName", name],
            ["Label", quoteWord(`${Labels.app}=${appId}`)],
            ["Label", quoteWord(`${Labels.managedBy}=${Labels.managedByValue}`)]
          ]
        }
      ]
    }))
    : []

  return Result.succeed({
    service: serviceName(spec),
    container: {
      fileName: `${spec.name}.container`,
      sections: [
        { name: "Unit", entries: unit },
        { name: "Container", entries: c },
        { name: "Service", entries: service },
        { name: "Install", entries: install }
      ]
    },
    volumes
  })
}

/**
 * The text of a unit file: a header comment, then `[Section]` blocks of `Key=value` lines.
 *
 * @since 0.1.0
 * @category utils
 */
export const render = (file: UnitFile): string =>
  [
    "# Written by Archipelago; changes are overwritten on the next install.",
    ...file.sections.map((s) => [`[${s.name}]`, ...s.entries.map(([k, v]) => `${k}=${v}`)].join("\n"))
  ].join("\n\n") + "\n"

/**
 * Every file of an app's units, by file name, rendered.
 *
 * @since 0.1.0
 * @category utils
 */
export const files = (units: AppUnits): ReadonlyArray<{ readonly fileName: string; readonly content: string }> =>
  [units.container, ...units.volumes].map((f) => ({ fileName: f.fileName, content: render(f) }))

/**
 * An app's units from the catalog: its resolved container spec (the one the podman runtime
 * creates, labels and spec hash included), `After=`/`Wants=` on its dependencies' services, and
 * its name as the description. `image` overrides the spec's image with the reference actually
 * pulled or built.
 *
 * @since 0.1.0
 * @category constructors
 */
export const appUnits = (
  catalog: Pick<Catalog, "get"> & { readonly apps?: Catalog["apps"] },
  id: string,
  settings: Settings,
  engineVersion: EngineVersion | string,
  options: Options & { readonly image?: string } = {}
): Result.Result<AppUnits, QuadletUnsupported | InvalidUnitName> => {
  const app = catalog.get(id)
  if (app === undefined) return Result.fail(new InvalidUnitName({ name: id, field: "app id (not in the catalog)" }))
  const spec = containerSpec(app, settings)
  // A capability wants and orders after every provider: only the installed provider has a unit,
  // and systemd ignores Wants=/After= naming a unit that does not exist.
  const deps = catalog.apps === undefined
    ? [...app.manifest.dependsOn]
    : Capability.dependencyIds(catalog.apps.map((a) => a.manifest), app.manifest)
  const after = deps.flatMap((d) => {
    const dep = catalog.get(d)
    return dep === undefined ? [] : [serviceName({ name: containerName(dep.manifest) })]
  })
  const { image, ...rest } = options
  return quadletUnit(image === undefined ? spec : { ...spec, image }, engineVersion, {
    description: `Archipelago: ${app.manifest.name}`,
    after,
    ...rest
  })
}

/**
 * Pure builders of podman argv. Every podman call the runtime makes is built here, so the exact
 * command line for each `ContainerSpec` option is unit-tested without an engine.
 *
 * @since 0.1.0
 */
import * as OutsideProbe from "./OutsideProbe.js"
import type { BuildRequest, EngineInfo, PullCandidate } from "./ContainerRuntime.js"
import type { ContainerSpec, ExtraHost, HealthCheckSpec, PortSpec, RestartPolicy, VolumeSpec } from "./ContainerSpec.js"

/**
 * A podman invocation: `argv` (without the `podman` binary) and values to write to a private
 * env-file, so environment values (which may hold secrets) never appear in argv, `ps` or logs.
 *
 * @since 0.1.0
 * @category models
 */
export interface Command {
  readonly argv: ReadonlyArray<string>
  /** Content of the env-file passed as `--env-file`, when the spec has environment variables. */
  readonly envFile?: string
}

/**
 * The address podman resolves to the host from inside a container.
 *
 * @since 0.1.0
 * @category constants
 */
export const hostGatewayLiteral = "host-gateway"

/**
 * The name podman writes into every container's `/etc/hosts` for the host.
 *
 * @since 0.1.0
 * @category constants
 */
export const hostContainersInternal = "host.containers.internal"

/**
 * Where `createCommand` expects the env-file; the adapter replaces it with a real private path.
 *
 * @since 0.1.0
 * @category constants
 */
export const envFilePlaceholder = "<env-file>"

const sortedEntries = (record: Readonly<Record<string, string>>): ReadonlyArray<readonly [string, string]> =>
  Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

/**
 * `podman --version` style comparison: true when `version` is at least `major.minor`.
 *
 * @since 0.1.0
 * @category utils
 */
export const versionAtLeast = (version: string, major: number, minor: number): boolean => {
  const m = /^v?(\d+)\.(\d+)/.exec(version.trim())
  if (m === null) return false
  const [maj, min] = [Number(m[1]), Number(m[2])]
  return maj > major || (maj === major && min >= minor)
}

/**
 * podman 4.4 and later accept `--add-host name:host-gateway`; 4.3 rejects the literal.
 *
 * @since 0.1.0
 * @category utils
 */
export const supportsHostGateway = (version: string): boolean => versionAtLeast(version, 4, 4)

/**
 * `-p` value: `[hostIp:]host:container/protocol`, IPv6 host addresses in brackets.
 *
 * @since 0.1.0
 * @category utils
 */
export const portArg = (port: PortSpec): string => {
  const ip = port.hostIp === undefined || port.hostIp === "" ? "" : port.hostIp.includes(":") ? `[${port.hostIp}]:` : `${port.hostIp}:`
  return `${ip}${port.host}:${port.container}/${port.protocol}`
}

/**
 * `-v` value: `source:target[:ro]`.
 *
 * @since 0.1.0
 * @category utils
 */
export const volumeArg = (volume: VolumeSpec): string =>
  `${volume.source}:${volume.target}${volume.readOnly ? ":ro" : ""}`

/**
 * `--restart` value.
 *
 * @since 0.1.0
 * @category utils
 */
export const restartArg = (policy: RestartPolicy, retries: number | undefined): string =>
  policy === "on-failure" && retries !== undefined && retries > 0 ? `on-failure:${retries}` : policy

/**
 * The `--add-host` values for an engine. `host-gateway` is passed through when the engine
 * supports it; otherwise `host.containers.internal` is left to podman (which writes the bridge
 * gateway itself) and other names get the detected gateway address, or are dropped when none
 * is known.
 *
 * @since 0.1.0
 * @category utils
 */
export const addHostArgs = (hosts: ReadonlyArray<ExtraHost>, engine: EngineInfo): ReadonlyArray<string> =>
  hosts.flatMap((h): ReadonlyArray<string> => {
    if (h.address !== hostGatewayLiteral) return [`${h.host}:${h.address}`]
    if (engine.supportsHostGateway) return [`${h.host}:${hostGatewayLiteral}`]
    if (h.host === hostContainersInternal) return []
    return engine.hostGateway === undefined ? [] : [`${h.host}:${engine.hostGateway}`]
  })

/**
 * The env-file content for `--env-file`: one `KEY=value` per line, keys sorted. podman reads
 * values verbatim; entries `invalidEnv` reports cannot be represented.
 *
 * @since 0.1.0
 * @category utils
 */
export const envFileContent = (env: Readonly<Record<string, string>>): string =>
  sortedEntries(env)
    .map(([k, v]) => `${k}=${v}\n`)
    .join("")

/**
 * Keys whose entries an env-file cannot carry: a key that is empty, holds `=` or whitespace, or
 * starts with `#`, or a value holding a line break or NUL.
 *
 * @since 0.1.0
 * @category utils
 */
export const invalidEnv = (env: Readonly<Record<string, string>>): ReadonlyArray<string> =>
  sortedEntries(env)
    .filter(([k, v]) => !/^[^\s=#][^\s=]*$/.test(k) || /[\r\n\0]/.test(v))
    .map(([k]) => k)

const seconds = (n: number): string => `${Math.max(0, Math.round(n))}s`

const shellSafe = /^[A-Za-z0-9_/.:=@%+,-]+$/

/**
 * Quotes an argument for `/bin/sh`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const shellQuote = (arg: string): string => (shellSafe.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`)

/**
 * A health command in the shell form podman stores as `CMD-SHELL`. Podman 4.3 does not parse
 * the JSON exec form (`["CMD", ...]`): it stores the JSON text as words and every check fails.
 *
 * @since 0.1.0
 * @category constructors
 */
export const shellCommand = (command: ReadonlyArray<string>): string => command.map(shellQuote).join(" ")

/**
 * `podman create` for a spec. Never pulls (`--pull=never`: pulls are explicit, with mirrors);
 * memory is emitted only for a positive whole number of bytes; env values go to the env-file.
 *
 * @since 0.1.0
 * @category constructors
 */
export const createCommand = (spec: ContainerSpec, engine: EngineInfo): Command => {
  const argv: Array<string> = ["create", "--pull=never", "--name", spec.name]
  for (const [k, v] of sortedEntries(spec.labels)) argv.push("--label", `${k}=${v}`)
  for (const p of spec.ports) argv.push("-p", portArg(p))
  for (const v of spec.volumes) argv.push("-v", volumeArg(v))
  const hasEnv = Object.keys(spec.env).length > 0
  if (hasEnv) argv.push("--env-file", envFilePlaceholder)
  for (const h of addHostArgs(spec.extraHosts, engine)) argv.push("--add-host", h)
  if (spec.memoryBytes !== undefined && Number.isSafeInteger(spec.memoryBytes) && spec.memoryBytes > 0) {
    argv.push("--memory", String(spec.memoryBytes))
  }
  argv.push("--restart", restartArg(spec.restart, spec.restartRetries))
  argv.push("--stop-timeout", String(Math.max(0, Math.round(spec.stopTimeoutSec))))
  if (spec.user !== undefined) argv.push("--user", spec.user)
  if (spec.workdir !== undefined) argv.push("--workdir", spec.workdir)
  if (spec.entrypoint !== undefined) argv.push("--entrypoint", JSON.stringify(spec.entrypoint))
  const probe = spec.healthCheck?.probe
  if (spec.healthCheck !== undefined && probe !== undefined) {
    argv.push("--label", `${OutsideProbe.label}=${OutsideProbe.encode(probeOf({ ...spec.healthCheck, probe }))}`)
  }
  else if (spec.healthCheck !== undefined) {
    const hc = spec.healthCheck
    argv.push(
      "--health-cmd",
      shellCommand(hc.command),
      "--health-interval",
      seconds(hc.intervalSec),
      "--health-timeout",
      seconds(hc.timeoutSec),
      "--health-retries",
      String(hc.retries),
      "--health-start-period",
      seconds(hc.startPeriodSec)
    )
  }
  argv.push(spec.image)
  if (spec.command !== undefined) argv.push(...spec.command)
  return hasEnv ? { argv, envFile: envFileContent(spec.env) } : { argv }
}

/**
 * `podman version` as JSON on stdout, with podman's debug log on stderr: the same process tells
 * where podman logs events (`PodmanEventsFile.backendOf`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const versionArgv: ReadonlyArray<string> = ["version", "--format", "json", "--log-level=debug"]

/**
 * @since 0.1.0
 * @category constructors
 */
export const networkInspectArgv: ReadonlyArray<string> = ["network", "inspect", "podman", "--format", "json"]

/**
 * ONE process for every container.
 *
 * @since 0.1.0
 * @category constructors
 */
export const listArgv: ReadonlyArray<string> = ["ps", "-a", "--format", "json"]

/**
 * ONE process for many containers.
 *
 * @since 0.1.0
 * @category constructors
 */
export const inspectArgv = (names: ReadonlyArray<string>): ReadonlyArray<string> => [
  "container",
  "inspect",
  "--format",
  "json",
  ...names
]

/**
 * @since 0.1.0
 * @category constructors
 */
export const startArgv = (name: string): ReadonlyArray<string> => ["start", name]

/**
 * @since 0.1.0
 * @category constructors
 */
export const stopArgv = (name: string, timeoutSec: number): ReadonlyArray<string> => [
  "stop",
  "--time",
  String(Math.max(0, Math.round(timeoutSec))),
  name
]

/**
 * One process for a restart: stop with the app's window (when running), then start.
 *
 * @since 0.1.0
 * @category constructors
 */
export const restartArgv = (name: string, timeoutSec: number): ReadonlyArray<string> => [
  "restart",
  "--time",
  String(Math.max(0, Math.round(timeoutSec))),
  name
]

/**
 * @since 0.1.0
 * @category constructors
 */
export const removeArgv = (name: string, force: boolean): ReadonlyArray<string> =>
  force ? ["rm", "--force", name] : ["rm", name]

/**
 * `podman healthcheck run <name>`: exit 0 healthy, 1 unhealthy, 125 an error.
 *
 * @since 0.1.0
 * @category constructors
 */
export const healthcheckArgv = (name: string): ReadonlyArray<string> => ["healthcheck", "run", name]

/**
 * @since 0.1.0
 * @category constructors
 */
export const logsArgv = (name: string, tail: number | undefined): ReadonlyArray<string> =>
  tail === undefined ? ["logs", name] : ["logs", "--tail", String(Math.max(0, Math.floor(tail))), name]

/**
 * `podman logs --follow`: the last `tail` lines, then new ones until the container stops.
 *
 * @since 0.1.0
 * @category constructors
 */
export const followLogsArgv = (name: string, tail: number | undefined): ReadonlyArray<string> =>
  tail === undefined ? ["logs", "--follow", name] : ["logs", "--follow", "--tail", String(Math.max(0, Math.floor(tail))), name]

/**
 * ONE process samples every running container once.
 *
 * @since 0.1.0
 * @category constructors
 */
export const statsArgv: ReadonlyArray<string> = ["stats", "--no-stream", "--format", "json"]

/**
 * @since 0.1.0
 * @category constructors
 */
export const killArgv = (name: string, signal: string): ReadonlyArray<string> => ["kill", "--signal", signal, name]

/**
 * @since 0.1.0
 * @category constructors
 */
export const imageExistsArgv = (ref: string): ReadonlyArray<string> => ["image", "exists", ref]

/**
 * @since 0.1.0
 * @category constructors
 */
export const removeImageArgv = (ref: string): ReadonlyArray<string> => ["rmi", ref]

/**
 * `podman image inspect` printing the image id alone.
 *
 * @since 0.1.0
 * @category constructors
 */
export const imageIdArgv = (ref: string): ReadonlyArray<string> => ["image", "inspect", "--format", "{{.Id}}", ref]

/**
 * `podman untag <ref> <ref>`: removes that one name, never the image.
 *
 * @since 0.1.0
 * @category constructors
 */
export const untagArgv = (ref: string): ReadonlyArray<string> => ["untag", ref, ref]

/**
 * `podman pull` of one candidate; `--tls-verify=false` only for a registry marked insecure,
 * `--authfile` only for one given an auth file.
 *
 * @since 0.1.0
 * @category constructors
 */
export const pullArgv = (candidate: PullCandidate): ReadonlyArray<string> => [
  "pull",
  ...(candidate.insecure ? ["--tls-verify=false"] : []),
  ...(candidate.authFile === undefined ? [] : ["--authfile", candidate.authFile]),
  candidate.ref
]

/**
 * `podman tag`: gives a pulled mirror image the reference containers are created from.
 *
 * @since 0.1.0
 * @category constructors
 */
export const tagArgv = (source: string, target: string): ReadonlyArray<string> => ["tag", source, target]

/**
 * The outside probe of a health check that has one (`OutsideProbe`).
 *
 * @since 0.1.0
 * @category utils
 */
export const probeOf = (hc: HealthCheckSpec & { readonly probe: NonNullable<HealthCheckSpec["probe"]> }): OutsideProbe.Probe => ({
  ...hc.probe,
  timeoutSec: Math.max(1, Math.round(hc.timeoutSec)),
  retries: hc.retries,
  startPeriodSec: Math.max(0, Math.round(hc.startPeriodSec))
})

/**
 * `podman build` of a local context: never pulls the base (it is local), stamps our labels.
 *
 * @since 0.1.0
 * @category constructors
 */
export const buildArgv = (request: BuildRequest): ReadonlyArray<string> => {
  const argv: Array<string> = ["build", "--pull=never", "--tag", request.tag]
  if (request.containerfile !== undefined) argv.push("--file", request.containerfile)
  for (const [k, v] of sortedEntries(request.labels)) argv.push("--label", `${k}=${v}`)
  for (const [k, v] of sortedEntries(request.args)) argv.push("--build-arg", `${k}=${v}`)
  argv.push(request.context)
  return argv
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const eventsArgv: ReadonlyArray<string> = ["events", "--format", "json"]


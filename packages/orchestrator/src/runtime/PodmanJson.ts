/**
 * Schemas for podman's JSON output (`ps`, `container inspect`, `events` and its events file,
 * `version`, `network inspect`) and pure decoders to the runtime port's models. An engine upgrade that changes a
 * field we rely on fails here, at the boundary, with a message naming the field.
 *
 * Over 500 lines: one schema for each podman JSON output we read, with its decoder beside it, so
 * a field podman changes fails in one place.
 *
 * @since 0.1.0
 */
import { Effect, Result, Schema, SchemaGetter, SchemaIssue } from "effect"
import type { PortBinding } from "../domain/AppEntry.js"
import type {
  ContainerDetails,
  ContainerState,
  ContainerStats,
  ContainerSummary,
  EngineInfo,
  RuntimeEvent
} from "./ContainerRuntime.js"
import { supportsHostGateway } from "./PodmanArgv.js"

/**
 * podman's "never" in Unix seconds (Go's zero time).
 *
 * @since 0.1.0
 * @category constants
 */
export const goZeroUnix = -62135596800

const PodmanState = Schema.Literals(["created", "configured", "initialized", "running", "paused", "stopping", "stopped", "exited", "removing", "unknown"])

const StringRecord = Schema.Record(Schema.String, Schema.String)

/**
 * One element of `podman ps -a --format json`. `Labels`/`Ports` are null when empty, `Pid` is 0
 * when stopped, `ExitCode` may be missing (meaning 0), times are Unix seconds.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PsEntry = Schema.Struct({
  Id: Schema.String,
  Names: Schema.Array(Schema.String),
  Image: Schema.String,
  ImageID: Schema.optional(Schema.String),
  State: PodmanState,
  Status: Schema.optional(Schema.String),
  ExitCode: Schema.optional(Schema.Number),
  StartedAt: Schema.Number,
  ExitedAt: Schema.Number,
  Labels: Schema.NullOr(StringRecord),
  Ports: Schema.NullOr(
    Schema.Array(
      Schema.Struct({
        host_ip: Schema.optional(Schema.String),
        container_port: Schema.Number,
        host_port: Schema.Number,
        range: Schema.optional(Schema.Number),
        protocol: Schema.String
      })
    )
  ),
  Pid: Schema.Number
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const PsOutput = Schema.Array(PsEntry)

const PortMapEntry = Schema.Struct({ HostIp: Schema.optional(Schema.String), HostPort: Schema.String })

/**
 * One element of `podman container inspect --format json`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const InspectEntry = Schema.Struct({
  Id: Schema.String,
  Name: Schema.String,
  Image: Schema.String,
  ImageName: Schema.String,
  RestartCount: Schema.optional(Schema.Number),
  State: Schema.Struct({
    Status: PodmanState,
    OOMKilled: Schema.Boolean,
    Pid: Schema.Number,
    ExitCode: Schema.optional(Schema.Number),
    StartedAt: Schema.String,
    FinishedAt: Schema.String,
    Health: Schema.optional(Schema.NullOr(Schema.Struct({ Status: Schema.String })))
  }),
  Config: Schema.Struct({ Labels: Schema.optional(Schema.NullOr(StringRecord)) }),
  NetworkSettings: Schema.Struct({
    IPAddress: Schema.optional(Schema.String),
    Ports: Schema.optional(Schema.NullOr(Schema.Record(Schema.String, Schema.NullOr(Schema.Array(PortMapEntry))))),
    Networks: Schema.optional(
      Schema.NullOr(Schema.Record(Schema.String, Schema.Struct({ IPAddress: Schema.optional(Schema.String) })))
    )
  }),
  Mounts: Schema.NullOr(Schema.Array(Schema.Struct({ Source: Schema.String, Destination: Schema.String })))
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const InspectOutput = Schema.Array(InspectEntry)

/**
 * One line of `podman events --format json`. `ContainerExitCode` is omitted for exit code 0.
 *
 * @since 0.1.0
 * @category schemas
 */
export const EventLine = Schema.Struct({
  ID: Schema.optional(Schema.String),
  Name: Schema.optional(Schema.String),
  Status: Schema.String,
  Type: Schema.String,
  Time: Schema.optional(Schema.String),
  timeNano: Schema.optional(Schema.Number),
  ContainerExitCode: Schema.optional(Schema.Number)
})

/**
 * One line of podman's events file (`events_logger = "file"`): podman's `events.Event` struct
 * as its `ToJSONString` writes it. `Time` is RFC 3339 with nanoseconds; `ContainerExitCode`,
 * `ID`, `Image` and `Name` are omitted when empty or 0; `Attributes` (a container's labels) is
 * null for images and system events; `health_status` comes with health events. (podman 4.3's
 * `podman events --format json` prints the same struct; later versions print another one.)
 *
 * @since 0.1.0
 * @category schemas
 */
export const EventFileLine = Schema.Struct({
  ContainerExitCode: Schema.optional(Schema.Number),
  ID: Schema.optional(Schema.String),
  Image: Schema.optional(Schema.String),
  Name: Schema.optional(Schema.String),
  Network: Schema.optional(Schema.String),
  Status: Schema.String,
  Time: Schema.String,
  Type: Schema.String,
  health_status: Schema.optional(Schema.String),
  PodID: Schema.optional(Schema.String),
  Attributes: Schema.optional(Schema.NullOr(StringRecord))
})

/**
 * `podman version --format json`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const VersionOutput = Schema.Struct({
  Client: Schema.Struct({ Version: Schema.String }),
  Server: Schema.optional(Schema.Struct({ Version: Schema.String }))
})

/**
 * `podman network inspect podman --format json`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const NetworkOutput = Schema.Array(
  Schema.Struct({
    subnets: Schema.optional(
      Schema.NullOr(Schema.Array(Schema.Struct({ subnet: Schema.String, gateway: Schema.optional(Schema.String) })))
    )
  })
)

const siUnits: Readonly<Record<string, number>> = {
  B: 1,
  kB: 1e3,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  PB: 1e15,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4
}

/**
 * A size as podman's stats print it (`720.9kB`, `67.11MB`: decimal units) in bytes; `--`
 * (not measured yet) is 0.
 *
 * @since 0.1.0
 * @category utils
 */
export const parseSize = (text: string): number | undefined => {
  const t = text.trim()
  if (t === "--") return 0
  const m = /^(\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*([A-Za-z]+)$/.exec(t)
  const unit = m === null ? undefined : siUnits[m[2]!]
  return m === null || unit === undefined ? undefined : Math.round(Number(m[1]) * unit)
}

/**
 * A percentage as podman's stats print it (`1.77%`) as a number; `--` is 0.
 *
 * @since 0.1.0
 * @category utils
 */
export const parsePercent = (text: string): number | undefined => {
  const t = text.trim()
  if (t === "--") return 0
  const m = /^(\d+(?:\.\d+)?)%$/.exec(t)
  return m === null ? undefined : Number(m[1])
}

const Percent = Schema.String.pipe(
  Schema.decodeTo(Schema.Number, {
    decode: SchemaGetter.transformEffect((s: string, options) => {
      const n = parsePercent(s)
      return n === undefined
        ? Effect.fail(new SchemaIssue.InvalidValue({ message: `not a percentage like "1.5%": ${JSON.stringify(s)}` }, s, options))
        : Effect.succeed(n)
    }),
    encode: SchemaGetter.transform((n: number) => `${n}%`)
  })
)

const UsageOfLimit = Schema.String.pipe(
  Schema.decodeTo(Schema.Struct({ used: Schema.Number, limit: Schema.Number }), {
    decode: SchemaGetter.transformEffect((s: string, options) => {
      const [used, limit, ...rest] = s.split("/").map(parseSize)
      return used === undefined || limit === undefined || rest.length > 0
        ? Effect.fail(
          new SchemaIssue.InvalidValue(
            { message: `not a "used / limit" pair of sizes like "720.9kB / 67.11MB": ${JSON.stringify(s)}` },
            s,
            options
          )
        )
        : Effect.succeed({ used, limit })
    }),
    encode: SchemaGetter.transform(({ limit, used }: { readonly used: number; readonly limit: number }) => `${used}B / ${limit}B`)
  })
)

/**
 * One element of `podman stats --no-stream --format json` (podman 4.x prints formatted
 * strings: `"cpu_percent": "1.77%"`, `"mem_usage": "720.9kB / 67.11MB"`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const StatsEntry = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  cpu_percent: Percent,
  mem_usage: UsageOfLimit
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const StatsOutput = Schema.Array(StatsEntry)

// Every refused field, each with its path and the value podman printed there (`reportInput`).
const formatIssue = SchemaIssue.makeFormatterDefault()

const decodeJson = <S extends Schema.Decoder<unknown>>(schema: S, text: string, what: string): Result.Result<S["Type"], string> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return Result.fail(`${what}: not JSON (${e instanceof Error ? e.message : String(e)})`)
  }
  return Schema.decodeUnknownResult(schema)(json, { errors: "all", reportInput: true }).pipe(
    Result.mapError((err) => `${what}: unexpected shape: ${formatIssue(err.issue)}`)
  )
}

/**
 * Normalises podman's state words to the port's.
 *
 * @since 0.1.0
 * @category utils
 */
export const normaliseState = (state: typeof PodmanState.Type): ContainerState => {
  switch (state) {
    case "configured":
    case "initialized":
      return "created"
    default:
      return state
  }
}

const unixSecondsToMillis = (s: number): number | undefined => (s <= 0 || s === goZeroUnix ? undefined : s * 1000)

const isoToMillis = (s: string): number | undefined => {
  if (s.startsWith("0001-01-01")) return undefined
  const t = Date.parse(s)
  return Number.isNaN(t) || t <= 0 ? undefined : t
}

const protocolOf = (p: string): "tcp" | "udp" => (p.toLowerCase() === "udp" ? "udp" : "tcp")

/**
 * Health from `ps`'s human status suffix (`Up 5 seconds (healthy)`); podman 4.3's `ps` JSON has
 * no health field. Used only for health, never for state.
 *
 * @since 0.1.0
 * @category utils
 */
export const healthFromStatus = (status: string | undefined): ContainerSummary["health"] => {
  const m = status === undefined ? null : /\((healthy|unhealthy|starting)\)\s*$/.exec(status)
  return m === null ? undefined : (m[1] as "healthy" | "unhealthy" | "starting")
}

const psPorts = (ports: (typeof PsEntry.Type)["Ports"]): ReadonlyArray<PortBinding> =>
  (ports ?? []).flatMap((p) => {
    const range = p.range !== undefined && p.range > 1 ? p.range : 1
    return Array.from({ length: range }, (_, i) => ({
      host: p.host_port + i,
      container: p.container_port + i,
      protocol: protocolOf(p.protocol)
    }))
  })

/**
 * A `ps` entry as the port's summary.
 *
 * @since 0.1.0
 * @category utils
 */
export const summaryFromPs = (e: typeof PsEntry.Type): ContainerSummary => {
  const state = normaliseState(e.State)
  const startedAt = unixSecondsToMillis(e.StartedAt)
  const exitedAt = unixSecondsToMillis(e.ExitedAt)
  const health = healthFromStatus(e.Status)
  const exited = state === "exited" || state === "stopped"
  return {
    id: e.Id,
    name: e.Names[0] ?? e.Id.slice(0, 12),
    image: e.Image,
    ...(e.ImageID !== undefined ? { imageId: e.ImageID } : {}),
    state,
    ...(exited ? { exitCode: e.ExitCode ?? 0 } : {}),
    ...(startedAt !== undefined ? { startedAt } : {}),
    ...(exitedAt !== undefined ? { exitedAt } : {}),
    labels: e.Labels ?? {},
    ports: psPorts(e.Ports),
    ...(e.Pid > 0 ? { pid: e.Pid } : {}),
    ...(health !== undefined ? { health } : {})
  }
}

/**
 * Decodes `podman ps -a --format json`.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodePs = (stdout: string): Result.Result<ReadonlyArray<ContainerSummary>, string> =>
  decodeJson(PsOutput, stdout.trim() === "" ? "[]" : stdout, "podman ps").pipe(Result.map((es) => es.map(summaryFromPs)))

const inspectPorts = (ports: (typeof InspectEntry.Type)["NetworkSettings"]["Ports"]): ReadonlyArray<PortBinding> =>
  Object.entries(ports ?? {})
    .flatMap(([key, bindings]) => {
      const [port, proto] = key.split("/")
      return (bindings ?? []).map((b) => ({ host: Number(b.HostPort), container: Number(port), protocol: protocolOf(proto ?? "tcp") }))
    })
    .filter((p) => Number.isInteger(p.host) && p.host > 0 && Number.isInteger(p.container))
    .sort((a, b) => a.container - b.container || a.host - b.host)

const healthOf = (s: string | undefined): ContainerSummary["health"] =>
  s === "healthy" || s === "unhealthy" || s === "starting" ? s : undefined

/**
 * An inspect entry as the port's details.
 *
 * @since 0.1.0
 * @category utils
 */
export const detailsFromInspect = (e: typeof InspectEntry.Type): ContainerDetails => {
  const state = normaliseState(e.State.Status)
  const startedAt = isoToMillis(e.State.StartedAt)
  const exitedAt = isoToMillis(e.State.FinishedAt)
  const health = healthOf(e.State.Health?.Status)
  const exited = state === "exited" || state === "stopped"
  const ip =
    e.NetworkSettings.IPAddress !== undefined && e.NetworkSettings.IPAddress !== ""
      ? e.NetworkSettings.IPAddress
      : Object.values(e.NetworkSettings.Networks ?? {})
          .map((n) => n.IPAddress ?? "")
          .find((a) => a !== "")
  return {
    id: e.Id,
    name: e.Name,
    image: e.ImageName,
    imageId: e.Image,
    state,
    ...(exited ? { exitCode: e.State.ExitCode ?? 0 } : {}),
    ...(startedAt !== undefined ? { startedAt } : {}),
    ...(exitedAt !== undefined ? { exitedAt } : {}),
    labels: e.Config.Labels ?? {},
    ports: inspectPorts(e.NetworkSettings.Ports),
    ...(e.State.Pid > 0 ? { pid: e.State.Pid } : {}),
    ...(health !== undefined ? { health } : {}),
    oomKilled: e.State.OOMKilled,
    restartCount: e.RestartCount ?? 0,
    ...(ip !== undefined ? { ipAddress: ip } : {}),
    mounts: (e.Mounts ?? []).map((m) => ({ source: m.Source, target: m.Destination }))
  }
}

/**
 * Decodes `podman container inspect --format json`.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeInspect = (stdout: string): Result.Result<ReadonlyArray<ContainerDetails>, string> =>
  decodeJson(InspectOutput, stdout.trim() === "" ? "[]" : stdout, "podman container inspect").pipe(
    Result.map((es) => es.map(detailsFromInspect))
  )

const containerKinds: Readonly<Record<string, RuntimeEvent["kind"]>> = {
  create: "create",
  start: "start",
  stop: "stop",
  died: "died",
  kill: "kill",
  remove: "remove",
  restart: "restart",
  oom: "oom"
}

const eventKind = (type: string, status: string): RuntimeEvent["kind"] | undefined => {
  if (type === "container") return containerKinds[status] ?? "other"
  if (type === "image") return status === "remove" ? "image-remove" : "other"
  return undefined
}

// One event from either source's line: podman leaves out exit code 0 on `died`, restored here.
const eventOf = (
  kind: RuntimeEvent["kind"],
  e: { readonly Name?: string | undefined; readonly ID?: string | undefined; readonly ContainerExitCode?: number | undefined },
  at: number,
  raw: string
): RuntimeEvent => {
  const exitCode = kind === "died" ? (e.ContainerExitCode ?? 0) : e.ContainerExitCode
  return { kind, name: e.Name ?? "", id: e.ID ?? "", ...(exitCode !== undefined ? { exitCode } : {}), at, raw }
}

/**
 * Decodes one line of podman's events file (`EventFileLine`). Returns `undefined` for events
 * of other types (pods, volumes, networks, podman's own `log-rotation`); a line that is not
 * such an event (not JSON, a field of the wrong type, a `Time` that is not a time, a container
 * event without its ID) is a `Failure` naming what is wrong, so the caller can log and skip it.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeEventFileLine = (line: string): Result.Result<RuntimeEvent | undefined, string> =>
  decodeJson(EventFileLine, line, "podman events file line").pipe(
    Result.flatMap((e): Result.Result<RuntimeEvent | undefined, string> => {
      const kind = eventKind(e.Type, e.Status)
      if (kind === undefined) return Result.succeed(undefined)
      const at = isoToMillis(e.Time)
      if (at === undefined) return Result.fail(`podman events file line: Time is not a time: ${JSON.stringify(e.Time)}`)
      if (e.Type === "container" && (e.ID === undefined || e.ID === "")) {
        return Result.fail(`podman events file line: container ${e.Status} without an ID`)
      }
      return Result.succeed(eventOf(kind, e, at, line))
    })
  )

/**
 * Decodes one `podman events` line. Returns `undefined` for blank lines and events of other
 * types (pods, volumes, networks); a malformed line is a `Failure` so the caller can log and skip
 * it.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeEvent = (line: string): Result.Result<RuntimeEvent | undefined, string> => {
  if (line.trim() === "") return Result.succeed(undefined)
  return decodeJson(EventLine, line, "podman event").pipe(
    Result.map((e): RuntimeEvent | undefined => {
      const kind = eventKind(e.Type, e.Status)
      if (kind === undefined) return undefined
      const at =
        e.timeNano !== undefined ? Math.floor(e.timeNano / 1e6) : e.Time !== undefined ? (isoToMillis(e.Time) ?? 0) : 0
      return eventOf(kind, e, at, line)
    })
  )
}

/**
 * Decodes `podman stats --no-stream --format json` into the running containers' use. podman 4.3
 * also lists containers that are created but not running, with `0B / 0B`: a running container
 * always has a memory limit (its own or the host's), so entries without one are left out.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeStats = (stdout: string): Result.Result<ReadonlyArray<ContainerStats>, string> =>
  decodeJson(StatsOutput, stdout.trim() === "" ? "[]" : stdout, "podman stats").pipe(
    Result.map((es) =>
      es
        .filter((e) => e.mem_usage.limit > 0)
        .map((e): ContainerStats => ({
          id: e.id,
          name: e.name,
          cpuPercent: e.cpu_percent,
          memoryBytes: e.mem_usage.used,
          memoryLimitBytes: e.mem_usage.limit
        }))
    )
  )

/**
 * Engine info from `podman version --format json` (and the default network's gateway, when
 * known).
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeVersion = (stdout: string): Result.Result<EngineInfo, string> =>
  decodeJson(VersionOutput, stdout, "podman version").pipe(
    Result.map((v) => {
      const version = v.Server?.Version ?? v.Client.Version
      return { name: "podman", version, supportsHostGateway: supportsHostGateway(version) }
    })
  )

/**
 * The default bridge's gateway from `podman network inspect podman --format json`.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeGateway = (stdout: string): Result.Result<string | undefined, string> =>
  decodeJson(NetworkOutput, stdout, "podman network inspect").pipe(
    Result.map((nets) => nets.flatMap((n) => n.subnets ?? []).find((s) => s.gateway !== undefined)?.gateway)
  )

/**
 * `systemctl` for unit-owned apps: pure argv builders, the pure mapping of a unit's `systemctl
 * show` properties to a container state, and the effectful port (execa, never a shell).
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import { execa } from "execa"
import type { ContainerState } from "../runtime/ContainerRuntime.js"
import type { Scope } from "./Quadlet.js"

/**
 * What one `systemctl` call returned.
 *
 * @since 0.1.0
 * @category models
 */
export interface Result {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Runs `systemctl <argv>`; never fails (a missing binary is exit 127). */
  readonly run: (argv: ReadonlyArray<string>) => Effect.Effect<Result>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Systemctl extends Context.Service<Systemctl, Service>()("@archipelago/orchestrator/Systemctl") {}

const scopeArgs = (scope: Scope): ReadonlyArray<string> => (scope === "user" ? ["--user"] : [])

/**
 * `systemctl [--user] start|stop|restart <unit>`. `--no-block` is never used: the call returns
 * when systemd has finished (the lifecycle above is already asynchronous).
 *
 * @since 0.1.0
 * @category constructors
 */
export const unitArgv = (scope: Scope, verb: "start" | "stop" | "restart", unit: string): ReadonlyArray<string> => [
  ...scopeArgs(scope),
  verb,
  unit
]

/**
 * @since 0.1.0
 * @category constructors
 */
export const daemonReloadArgv = (scope: Scope): ReadonlyArray<string> => [...scopeArgs(scope), "daemon-reload"]

/**
 * The properties `showArgv` asks for.
 *
 * @since 0.1.0
 * @category constants
 */
export const showProperties = ["Id", "LoadState", "ActiveState", "SubState", "Result", "ExecMainStatus", "ExecMainPID"] as const

/**
 * ONE `systemctl show` for many units; systemd prints one block per unit, in order, separated
 * by a blank line.
 *
 * @since 0.1.0
 * @category constructors
 */
export const showArgv = (scope: Scope, units: ReadonlyArray<string>): ReadonlyArray<string> => [
  ...scopeArgs(scope),
  "show",
  `--property=${showProperties.join(",")}`,
  ...units
]

/**
 * A unit's properties as `systemctl show` prints them.
 *
 * @since 0.1.0
 * @category models
 */
export type Properties = Readonly<Record<string, string>>

/**
 * Splits `systemctl show` output into one property map per unit.
 *
 * @since 0.1.0
 * @category utils
 */
export const parseShow = (stdout: string): ReadonlyArray<Properties> =>
  stdout
    .split(/\n\s*\n/)
    .map((block) =>
      Object.fromEntries(
        block
          .split("\n")
          .map((l) => l.trim())
          .filter((l) => l.includes("="))
          .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const)
      )
    )
    .filter((p) => Object.keys(p).length > 0)

/**
 * What a unit's state says about its container.
 *
 * @since 0.1.0
 * @category models
 */
export interface UnitState {
  readonly state: ContainerState
  readonly exitCode?: number
  /** The unit file is unknown to systemd (not installed, or no daemon-reload yet). */
  readonly missing: boolean
}

/**
 * Maps a unit's `ActiveState`/`SubState`/`Result`/`ExecMainStatus` to a container state:
 * active → running; activating (a pull, a start) → created; deactivating → stopping;
 * inactive → exited (code 0 unless the main process said otherwise); failed → exited with
 * the main process's status (1 when systemd gives none); anything else → unknown.
 *
 * @since 0.1.0
 * @category utils
 */
export const unitState = (p: Properties): UnitState => {
  const missing = p.LoadState === "not-found"
  const status = Number(p.ExecMainStatus ?? "0")
  const code = Number.isFinite(status) ? status : 0
  switch (p.ActiveState) {
    case "active":
    case "reloading":
    case "refreshing":
      return { state: p.SubState === "exited" ? "exited" : "running", missing }
    case "activating":
      return { state: "created", missing }
    case "deactivating":
      return { state: "stopping", missing }
    case "inactive":
      return { state: "exited", exitCode: code, missing }
    case "failed":
      return { state: "exited", exitCode: code === 0 ? 1 : code, missing }
    default:
      return { state: "unknown", missing }
  }
}

/**
 * The real `systemctl` through execa.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Systemctl> = Layer.succeed(Systemctl, {
  run: (argv) =>
    Effect.promise(async () => {
      const r = await execa("systemctl", argv, { reject: false, stdin: "ignore", cleanup: false, env: { LC_ALL: "C", SYSTEMD_PAGER: "" } })
      return {
        exitCode: r.exitCode ?? 127,
        stdout: typeof r.stdout === "string" ? r.stdout : "",
        stderr: typeof r.stderr === "string" ? r.stderr : (r.shortMessage ?? "")
      }
    }).pipe(Effect.tap((r) => Effect.logDebug("systemctl", { argv, exitCode: r.exitCode })))
})

/**
 * Unit-owned apps: a `ContainerRuntime` decorator that sends the lifecycle of the apps systemd
 * owns (through their Quadlet units) to `systemctl start/stop <unit>`, and everything else to the
 * runtime it wraps. A `podman stop` of such a container would be undone by the unit's
 * `Restart=always`; a `systemctl stop` is not. The orchestrator, the reconciler and the async
 * lifecycle path above see the same port, so transitional states, intents and locks are
 * unchanged. While the unit is inactive its container does not exist (Quadlet runs it with
 * `--rm`), so `list`/`inspect` report the unit's state under the container's name and labels.
 *
 * @since 0.1.0
 */
import { Effect, Layer } from "effect"
import type { Catalog } from "../manifest/Catalog.js"
import type { Settings } from "../manifest/Settings.js"
import { containerSpec } from "../manifest/Spec.js"
import type { ContainerDetails, ContainerSummary, Service as RuntimeService } from "../runtime/ContainerRuntime.js"
import { ContainerRuntime } from "../runtime/ContainerRuntime.js"
import type { ContainerSpec } from "../runtime/ContainerSpec.js"
import { CommandFailed } from "../runtime/RuntimeError.js"
import type { Scope } from "./Quadlet.js"
import { serviceName } from "./Quadlet.js"
import * as Systemctl from "./Systemctl.js"

/**
 * An app whose container a systemd unit owns.
 *
 * @since 0.1.0
 * @category models
 */
export interface OwnedUnit {
  readonly containerName: string
  /** The generated service, `<container name>.service`. */
  readonly unit: string
  /** The labels the unit stamps (the spec's, spec hash included), reported while it is inactive. */
  readonly labels: Readonly<Record<string, string>>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly units: ReadonlyArray<OwnedUnit>
  /** Default `system`. */
  readonly scope?: Scope
  /**
   * Called by `create` for an owned container: (re)install its unit for this spec and reload
   * systemd. Without it `create` only checks the unit exists.
   */
  readonly install?: (spec: ContainerSpec) => Effect.Effect<void, CommandFailed>
}

/**
 * The owned units of some apps of a catalog (their specs as the runtime would create them).
 *
 * @since 0.1.0
 * @category constructors
 */
export const ownedUnits = (
  catalog: Pick<Catalog, "get">,
  ids: ReadonlyArray<string>,
  settings: Settings
): ReadonlyArray<OwnedUnit> =>
  ids.flatMap((id) => {
    const app = catalog.get(id)
    if (app === undefined) return []
    const spec = containerSpec(app, settings)
    return [{ containerName: spec.name, unit: serviceName(spec), labels: spec.labels }]
  })

const failed = (argv: ReadonlyArray<string>, r: Systemctl.Result) =>
  new CommandFailed({ argv: ["systemctl", ...argv], exitCode: r.exitCode, stderr: r.stderr })

/**
 * Wraps a runtime: owned containers go through systemd, the rest through `inner`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (inner: RuntimeService, systemctl: Systemctl.Service, options: Options): RuntimeService => {
  const scope = options.scope ?? "system"
  const byName = new Map(options.units.map((u) => [u.containerName, u] as const))

  const unitCall = (verb: "start" | "stop" | "restart", owned: OwnedUnit) =>
    Effect.gen(function*() {
      const argv = Systemctl.unitArgv(scope, verb, owned.unit)
      yield* Effect.logInfo(`systemctl ${argv.join(" ")}`)
      const r = yield* systemctl.run(argv)
      if (r.exitCode !== 0) return yield* Effect.fail(failed(argv, r))
    })

  /** The owned units' states, ONE `systemctl show` for all of them. */
  const unitStates = (owned: ReadonlyArray<OwnedUnit>) =>
    Effect.gen(function*() {
      if (owned.length === 0) return new Map<string, Systemctl.UnitState>()
      const argv = Systemctl.showArgv(scope, owned.map((u) => u.unit))
      const r = yield* systemctl.run(argv)
      if (r.exitCode !== 0) return yield* Effect.fail(failed(argv, r))
      const blocks = Systemctl.parseShow(r.stdout)
      return new Map(owned.map((u, i) => [u.containerName, Systemctl.unitState(blocks.find((b) => b.Id === u.unit) ?? blocks[i] ?? {})]))
    })

  const summaryOf = (owned: OwnedUnit, s: Systemctl.UnitState): ContainerSummary => ({
    id: `unit:${owned.unit}`,
    name: owned.containerName,
    image: "",
    state: s.state,
    ...(s.exitCode === undefined ? {} : { exitCode: s.exitCode }),
    labels: owned.labels,
    ports: []
  })

  const detailsOf = (owned: OwnedUnit, s: Systemctl.UnitState): ContainerDetails => ({
    ...summaryOf(owned, s),
    oomKilled: false,
    restartCount: 0,
    mounts: []
  })

  // A unit-owned container listed by its id (the reconciler starts what its pass listed by id):
  // the ids this wrapper has reported for owned names, so such a start still goes to systemd.
  const byId = new Map<string, OwnedUnit>([...byName.values()].map((u) => [`unit:${u.unit}`, u] as const))
  const remember = <C extends { readonly id: string; readonly name: string }>(cs: ReadonlyArray<C>): ReadonlyArray<C> => {
    for (const c of cs) {
      const owned = byName.get(c.name)
      if (owned !== undefined) byId.set(c.id, owned)
    }
    return cs
  }
  const ownerOf = (nameOrId: string): OwnedUnit | undefined => byName.get(nameOrId) ?? byId.get(nameOrId)

  const absentOwned = (present: ReadonlyArray<{ readonly name: string }>, names?: ReadonlyArray<string>) => {
    const seen = new Set(present.map((c) => c.name))
    return [...byName.values()].filter((u) => !seen.has(u.containerName) && (names === undefined || names.includes(u.containerName)))
  }

  return {
    ...inner,
    list: () =>
      Effect.gen(function*() {
        const present = yield* inner.list()
        const absent = absentOwned(present)
        const states = yield* unitStates(absent)
        return remember([
          ...present,
          ...absent.flatMap((u) => {
            const s = states.get(u.containerName)
            return s === undefined || s.missing ? [] : [summaryOf(u, s)]
          })
        ])
      }),
    inspect: (names) =>
      Effect.gen(function*() {
        const present = yield* inner.inspect(names)
        const absent = absentOwned(present, names)
        const states = yield* unitStates(absent)
        return remember([
          ...present,
          ...absent.flatMap((u) => {
            const s = states.get(u.containerName)
            return s === undefined || s.missing ? [] : [detailsOf(u, s)]
          })
        ])
      }),
    create: (spec) => {
      const owned = byName.get(spec.name)
      if (owned === undefined) return inner.create(spec)
      return Effect.gen(function*() {
        if (options.install !== undefined) yield* options.install(spec)
        const states = yield* unitStates([owned])
        if (states.get(owned.containerName)?.missing !== false) {
          return yield* Effect.fail(
            new CommandFailed({
              argv: ["systemctl", ...Systemctl.showArgv(scope, [owned.unit])],
              exitCode: 1,
              stderr: `${owned.unit} is not installed: install the app's Quadlet units, then systemctl daemon-reload`
            })
          )
        }
        yield* Effect.logInfo(`${spec.name} is unit-owned: ${owned.unit} creates it on start`)
        return `unit:${owned.unit}`
      })
    },
    start: (name) => {
      const owned = ownerOf(name)
      return owned === undefined ? inner.start(name) : unitCall("start", owned)
    },
    stop: (name, timeoutSec) => {
      const owned = byName.get(name)
      return owned === undefined ? inner.stop(name, timeoutSec) : unitCall("stop", owned)
    },
    restart: (name, timeoutSec) => {
      const owned = ownerOf(name)
      return owned === undefined ? inner.restart(name, timeoutSec) : unitCall("restart", owned)
    },
    remove: (name, removeOptions) => {
      const owned = byName.get(name)
      if (owned === undefined) return inner.remove(name, removeOptions)
      // Stopping the unit removes its container (`--rm`); a leftover goes the usual way. A unit
      // systemd does not know (not installed yet) has nothing to stop.
      return Effect.gen(function*() {
        const states = yield* unitStates([owned])
        if (states.get(owned.containerName)?.missing === false) yield* unitCall("stop", owned)
        yield* inner.remove(name, { force: true }).pipe(Effect.catchTag("ContainerNotFound", () => Effect.void))
      })
    }
  }
}

/**
 * Decorates the `ContainerRuntime` it is provided with (e.g. `PodmanRuntime.layer`).
 *
 * @example
 * UnitOwned.layer({ units }).pipe(Layer.provide(PodmanRuntime.layer), Layer.provide(Systemctl.layer))
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<ContainerRuntime, never, ContainerRuntime | Systemctl.Systemctl> =>
  Layer.effect(
    ContainerRuntime,
    Effect.gen(function*() {
      const inner = yield* ContainerRuntime
      const systemctl = yield* Systemctl.Systemctl
      return make(inner, systemctl, options)
    })
  )

import * as NodeServices from "@effect/platform-node/NodeServices"
import { Context, Duration, Effect, Layer, Schema } from "effect"
import { TestClock } from "effect/testing"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Manifest } from "../../src/manifest/Manifest.js"
import * as Settings from "../../src/manifest/Settings.js"
import * as Apps from "../../src/services/Apps.js"
import * as Archipelago from "../../src/services/Archipelago.js"
import * as HookRegistry from "../../src/services/HookRegistry.js"
import type { ContainerRuntime } from "../../src/runtime/ContainerRuntime.js"
import { Fixtures, SimulatedRuntime } from "../../src/testing/index.js"

export const decodeManifest = Schema.decodeUnknownSync(Manifest)

/** A manifest of a long-running service on the base image. */
export const serviceManifest = (
  id: string,
  extra: Record<string, unknown> = {},
  options: { readonly prefix?: string; readonly stopDelaySec?: number } = {}
) =>
  decodeManifest({
    id,
    name: id,
    version: "1.0.0",
    image: Fixtures.baseImage,
    container: { name: `${options.prefix ?? ""}${id}`, command: Fixtures.serviceCommand },
    env: options.stopDelaySec === undefined ? {} : { STOP_DELAY: String(options.stopDelaySec) },
    ...extra
  })

export const defsOf = (manifests: ReadonlyArray<Manifest>, dataDir: string, instanceId?: string) => {
  const settings = Settings.make({ dataDir, ...(instanceId === undefined ? {} : { instanceId }) })
  return manifests.map((manifest) =>
    Apps.defOf({ manifest, dir: `/apps/${manifest.id}`, file: `/apps/${manifest.id}/manifest.yml` }, settings)
  )
}

export const tempDir = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix))

export interface HarnessConfig {
  readonly dataDir: string
  readonly scanInterval?: Duration.Input
  readonly reconcileInterval?: Duration.Input
  readonly healthInterval?: Duration.Input
  readonly shutdownGrace?: Duration.Input
  readonly hooks?: Layer.Layer<HookRegistry.HookRegistry>
  readonly backup?: Archipelago.Config["backup"]
  readonly settlePeriod?: Duration.Input
  readonly onStep?: (point: string) => Effect.Effect<void>
}

/** The orchestrator over app definitions, needing only a container runtime. */
export const orchestrator = (defs: ReadonlyArray<Apps.AppDef>, config: HarnessConfig) =>
  Archipelago.layerFromApps(Apps.layer(defs), {
    dataDir: config.dataDir,
    ...(config.scanInterval === undefined ? {} : { scanInterval: config.scanInterval }),
    ...(config.reconcileInterval === undefined ? {} : { reconcileInterval: config.reconcileInterval }),
    ...(config.healthInterval === undefined ? {} : { healthInterval: config.healthInterval }),
    ...(config.shutdownGrace === undefined ? {} : { shutdownGrace: config.shutdownGrace }),
    ...(config.backup === undefined ? {} : { backup: config.backup }),
    ...(config.settlePeriod === undefined ? {} : { settlePeriod: config.settlePeriod }),
    ...(config.onStep === undefined ? {} : { onStep: config.onStep })
  }).pipe(
    Layer.provide(config.hooks ?? HookRegistry.layerEmpty),
    Layer.provide(NodeServices.layer)
  )

/** Lets real I/O (state file writes) finish while the TestClock stands still. */
export const settle = (ms = 5) => Effect.promise(() => new Promise<void>((r) => setTimeout(r, ms)))

/**
 * Polls a condition in real time (not a timed assertion: it only bounds a wait for I/O). The bound
 * is wall time, generous enough for a machine under heavy load, where 5 ms timers stretch and
 * each state.json write takes longer; a wait that is met returns at once whatever the bound.
 */
export const waitUntil = <E, R>(check: Effect.Effect<boolean, E, R>, what: string, boundMs = 45_000, everyMs = 5) =>
  Effect.gen(function*() {
    const end = Date.now() + boundMs
    for (;;) {
      if (yield* check) return
      if (Date.now() > end) return yield* Effect.die(new Error(`gave up waiting for: ${what}`))
      yield* settle(everyMs)
    }
  })

/**
 * Waits for a condition while moving the TestClock forward in steps, up to `maxAdvance` of
 * virtual time in all. Under load the services may reach their clock-driven sleeps (the event
 * debounce, a back-off) only after a single `TestClock.adjust` has passed them by; stepping lets
 * them fire whenever they get there, while the virtual bound keeps the test's timing claim.
 */
export const waitAdvancing = <E, R>(
  check: Effect.Effect<boolean, E, R>,
  what: string,
  options: { readonly step?: Duration.Input; readonly maxAdvance: Duration.Input; readonly boundMs?: number }
) =>
  Effect.gen(function*() {
    const step = Duration.toMillis(Duration.fromInputUnsafe(options.step ?? "100 millis"))
    let left = Duration.toMillis(Duration.fromInputUnsafe(options.maxAdvance))
    const end = Date.now() + (options.boundMs ?? 45_000)
    for (;;) {
      if (yield* check) return
      if (Date.now() > end) return yield* Effect.die(new Error(`gave up waiting for: ${what}`))
      if (left > 0) {
        const by = Math.min(step, left)
        left -= by
        yield* TestClock.adjust(Duration.millis(by))
      }
      yield* settle(20)
    }
  })

/**
 * Runs `body` against the orchestrator over `manifests` on a fresh simulator, with the TestClock
 * at `epoch`, a new data dir (handed to `body`), both loops every 30 s and no shutdown grace:
 * the setup of the simulator tests that drive one app with `driveUntil`.
 */
export const withSimulated = <A, E, R>(
  manifests: ReadonlyArray<Manifest>,
  body: (dataDir: string) => Effect.Effect<A, E, R>,
  options: { readonly tempPrefix?: string } = {}
) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(epoch)
    const dataDir = tempDir(options.tempPrefix ?? "svc-sim-")
    const layer = orchestrator(defsOf(manifests, dataDir), {
      dataDir,
      scanInterval: "30 seconds",
      reconcileInterval: "30 seconds",
      shutdownGrace: 0
    }).pipe(Layer.provideMerge(SimulatedRuntime.layer()))
    return yield* Effect.provide(body(dataDir), layer)
  })

/** Moves the TestClock in 50 ms steps (letting real I/O settle between them) until `done`, so retry schedules elapse. */
export const driveUntil = <E, R>(done: Effect.Effect<boolean, E, R>, what: string) =>
  Effect.gen(function*() {
    for (let i = 0; i < 400; i++) {
      if (yield* done) return
      yield* TestClock.adjust("50 millis")
      yield* settle(2)
    }
    return yield* Effect.die(new Error(`gave up waiting for: ${what}`))
  })

/** Provides the orchestrator over an already-built runtime context, so it can be restarted on the same engine. */
export const withOrchestrator = <A, E, R>(
  engine: Context.Context<ContainerRuntime | SimulatedRuntime.SimulatedEngine>,
  defs: ReadonlyArray<Apps.AppDef>,
  config: HarnessConfig,
  body: Effect.Effect<A, E, R>
) =>
  body.pipe(
    Effect.provide(
      orchestrator(defs, { shutdownGrace: 0, ...config }).pipe(Layer.provideMerge(Layer.succeedContext(engine)))
    )
  )

/** A fake hook registry: `changed` decides what each run reports; runs are counted. */
export const countingHooks = (changed: () => boolean) => {
  let runs = 0
  const layer = Layer.succeed(HookRegistry.HookRegistry, {
    consumers: {},
    names: ["fake"],
    run: () => Effect.sync(() => {
      runs++
      const c = changed()
      return { changed: c, files: [{ hook: "fake", path: "/tmp/fake.conf", changed: c, sha256: "x" }] }
    })
  })
  return { layer, runs: () => runs }
}

/** A realistic start time: intents record when the user spoke, and 0 means "never". */
export const epoch = 1_700_000_000_000

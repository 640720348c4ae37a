/**
 * The engine work of `start`, `stop` and `restart` (and the reconciler's start of a container its
 * pass has just listed), over the shared `Engine`; a container that vanished is brought back by
 * `Install`'s repair. The owned stop itself is the engine's (`Engine.stopContainer`): every
 * operation stops through it.
 *
 * @since 0.1.0
 * @internal
 */
import { Effect } from "effect"
import type { ContainerSummary } from "../../runtime/ContainerRuntime.js"
import type { AppDef } from "../Apps.js"
import type * as Operation from "../Operation.js"
import type { Engine } from "./Engine.js"
import type { Install } from "./Install.js"
import type { WorkError } from "./WorkError.js"

/**
 * The start, stop and restart steps over `engine`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (engine: Engine, installs: Install) => {
  const { answered, checkMounts, hooks, inspectOwn, log, runtime, stopContainer } = engine
  const { install } = installs

  const startContainer = (def: AppDef): Effect.Effect<void | Operation.Answered, WorkError> =>
    Effect.gen(function*() {
      const changed = yield* hooks(def)
      const existing = yield* inspectOwn(def)
      if (existing === undefined) return yield* install(def, true, true)
      if (existing.state === "running") {
        if (!changed) return
        yield* log.append(def.id, "info", "a hook changed a file: restarting to pick it up")
        yield* checkMounts(def)
        yield* runtime.restart(existing.id, def.manifest.stopTimeout)
        return answered(def, existing, "running")
      }
      yield* checkMounts(def)
      yield* runtime.start(existing.id)
      return answered(def, existing, "running")
    })

  // The reconciler's repair of a container its pass has just listed (seconds old, under the
  // app's lock, owned: the plan refuses another instance's): no inspect, started by its id, so
  // a container replaced since the listing is never the one started; one gone since is looked
  // for again (and re-created) by the full start.
  const startListed = (def: AppDef, listed: ContainerSummary): Effect.Effect<void | Operation.Answered, WorkError> =>
    listed.state === "running"
      ? startContainer(def)
      : Effect.gen(function*() {
        yield* hooks(def)
        yield* checkMounts(def)
        const started = yield* runtime.start(listed.id).pipe(
          Effect.as(true),
          Effect.catchTag("ContainerNotFound", () => Effect.succeed(false))
        )
        if (!started) return yield* startContainer(def)
        return answered(def, listed, "running")
      })

  // One engine call (`podman restart`), not a stop and a start with their inspects around them.
  const restartContainer = (def: AppDef): Effect.Effect<void | Operation.Answered, WorkError> =>
    Effect.gen(function*() {
      yield* hooks(def)
      const existing = yield* inspectOwn(def)
      if (existing === undefined) return yield* install(def, true, true)
      yield* checkMounts(def)
      return yield* runtime.restart(existing.id, def.manifest.stopTimeout).pipe(
        Effect.as<void | Operation.Answered>(answered(def, existing, "running")),
        Effect.catchTag("ContainerNotFound", () => install(def, true, true))
      )
    })

  return { startContainer, startListed, stopContainer, restartContainer }
}

/**
 * @since 0.1.0
 * @category models
 */
export type StartStop = ReturnType<typeof make>

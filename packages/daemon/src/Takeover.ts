/**
 * `archipelago takeover APP`: the operator's way out when another orchestrator instance (another
 * data dir) left a container of APP behind: stop it gracefully and remove it (its named volumes
 * and host folders stay), so this data dir's server installs its own on its next pass.
 * `archipelago takeover APP --container NAME` does the same for a container made without
 * Archipelago's labels that holds APP's name: the orchestrator never touches such a container on
 * its own, so replacing it is always this explicit act naming it.
 *
 * @since 0.1.0
 */
import { readdir } from "node:fs/promises"
import { resolve } from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Console, Data, Effect } from "effect"
import { ContainerRuntime, ContainerSpec, Instance, Observation, Plan, PodmanRuntime } from "@archipelago/orchestrator"
import type { RuntimeError } from "@archipelago/orchestrator"
import * as Config from "./Config.js"
import * as Status from "./Status.js"

/**
 * Nothing to take over, or the engine failed.
 *
 * @since 0.1.0
 * @category errors
 */
export class TakeoverError extends Data.TaggedError("TakeoverError")<{ readonly reason: string }> {
  override get message(): string {
    return this.reason
  }
}

/**
 * The longest graceful stop any app gets (bitcoin-core's): podman returns as soon as the
 * container exits.
 *
 * @since 0.1.0
 * @category constants
 */
export const stopTimeoutSec = 600

// the app ids of the catalog folder (none when it cannot be read)
const catalogIds = (apps: string | undefined) =>
  apps === undefined
    ? Effect.succeed([] as ReadonlyArray<string>)
    : Effect.promise(() =>
      readdir(apps, { withFileTypes: true }).then((es) => es.filter((e) => e.isDirectory()).map((e) => e.name), () => [] as Array<string>)
    )

/**
 * Takes APP's containers of other instances over (stop, remove) and says what it did. An app no
 * container is labelled with is unknown, with a "did you mean" among the catalog's apps
 * (`options.apps`) and the apps of the containers.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run: (
  options: Pick<Config.ServeOptions, "data"> & { readonly apps?: string },
  app: string,
  container?: string
) => Effect.Effect<void, TakeoverError | Instance.InstanceError | RuntimeError.RuntimeError, ContainerRuntime.ContainerRuntime> = Effect.fn("Takeover.run")(function*(
  options: Pick<Config.ServeOptions, "data"> & { readonly apps?: string },
  app: string,
  container?: string
) {
  const ours = yield* Instance.id(resolve(options.data)).pipe(Effect.provide(NodeServices.layer))
  const runtime = yield* ContainerRuntime.ContainerRuntime
  const all = yield* runtime.list()
  const foreign = container !== undefined
    ? yield* strangerNamed(all, app, container)
    : all.filter((c) =>
      c.labels[ContainerSpec.Labels.app] === app &&
      Plan.ownership(c.labels[ContainerSpec.Labels.instance], ours)._tag === "Foreign"
    )
  if (foreign.length === 0) {
    const labelled = all.flatMap((c) => c.labels[ContainerSpec.Labels.app] ?? [])
    if (labelled.includes(app)) {
      return yield* new TakeoverError({ reason: `no container of ${app} belongs to another orchestrator instance: nothing to take over` })
    }
    const hint = Config.closest(app, [...new Set([...(yield* catalogIds(options.apps)), ...labelled])])
    return yield* new TakeoverError({
      reason: `unknown app ${app}: no container of any orchestrator instance is labelled with it${
        hint === undefined ? "" : `; did you mean ${hint}?`
      } (\`archipelago list\` shows this node's apps)`
    })
  }
  for (const c of foreign) {
    const owner = c.labels[ContainerSpec.Labels.instance]
    const whose = owner === undefined ? "(not made by Archipelago)" : `of instance ${owner}`
    yield* Console.log(`stopping ${c.name} ${whose} (up to ${stopTimeoutSec} s)`)
    yield* runtime.stop(c.name, stopTimeoutSec).pipe(Effect.catchTag("ContainerNotFound", () => Effect.void))
    yield* runtime.remove(c.name, { force: true }).pipe(Effect.catchTag("ContainerNotFound", () => Effect.void))
    yield* Console.log(
      owner === undefined
        ? `removed ${c.name} (its image and named volumes stay)`
        : `removed ${c.name} of instance ${owner} (stop that instance's server first, or it will want it back)`
    )
  }
  // this data dir's server, when it runs, installs the app now
  const asked = yield* Effect.result(Status.call(options.data, "container-install", { appId: app }))
  yield* Console.log(
    asked._tag === "Success"
      ? `asked this data dir's server (instance ${ours}) to install ${app}`
      : `install ${app} from the dashboard once this data dir's server runs (${asked.failure.message})`
  )
})

// The named container, only when it carries none of Archipelago's labels (those are taken over
// by instance, without --container).
const strangerNamed = (all: ReadonlyArray<ContainerRuntime.ContainerSummary>, app: string, name: string) =>
  Effect.gen(function*() {
    const c = all.find((x) => x.name === name)
    if (c === undefined) return yield* new TakeoverError({ reason: `no container named ${name}: nothing to take over` })
    if (Observation.isLabelled(c)) {
      return yield* new TakeoverError({
        reason: `${name} carries Archipelago's labels: it is not a stranger; run \`archipelago takeover ${app}\` without --container if another instance owns it`
      })
    }
    return [c]
  })

/**
 * `run` on the host's podman.
 *
 * @since 0.1.0
 * @category constructors
 */
export const runOnPodman = (options: Pick<Config.ServeOptions, "data"> & { readonly apps?: string }, app: string, container?: string) =>
  run(options, app, container).pipe(Effect.provide(PodmanRuntime.layer))

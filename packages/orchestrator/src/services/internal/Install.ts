/**
 * The engine work of `install` (and of a repair, which brings a vanished container back on the
 * release it ran) and of the reconciler's `recreate`, over the shared `Engine`.
 *
 * @since 0.1.0
 * @internal
 */
import { Effect } from "effect"
import type { Release } from "../../domain/AppEntry.js"
import { Labels } from "../../runtime/ContainerSpec.js"
import type { AppDef } from "../Apps.js"
import type * as Operation from "../Operation.js"
import type { Engine } from "./Engine.js"
import { shortDigest } from "./Engine.js"
import { ReleaseUnavailable } from "./WorkError.js"
import type { WorkError } from "./WorkError.js"

/**
 * The install steps over `engine`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (engine: Engine) => {
  const { answered, create, createFetching, ensureImage, hooks, inspectOwn, log, prepareDirs, runtime, stopContainer, store } = engine

  // The release the app ran, when it is another than the manifest's (an update is on offer): a
  // repair of a vanished container brings that one back; only an explicit update moves on.
  const recordedRelease = (def: AppDef): Effect.Effect<Release | undefined> =>
    Effect.map(store.entry(def.id), (e) =>
      e.release !== undefined && (e.release.version !== def.manifest.version || e.release.image !== def.spec.image)
        ? e.release
        : undefined)

  const reinstate = (def: AppDef, release: Release, start: boolean): Effect.Effect<Operation.Answered, WorkError> =>
    Effect.gen(function*() {
      yield* log.append(
        def.id,
        "info",
        `recreating ${def.spec.name} on ${release.version} (${shortDigest(release.digest)}), the release it ran; ${def.manifest.version} stays on offer as an update`
      )
      yield* hooks(def)
      yield* prepareDirs(def)
      // created from the digest itself: podman's "image not known" says the release is gone
      const made = yield* create(def, release.digest, { version: release.version, image: release.image }, { found: undefined }, {
        digest: release.digest
      }).pipe(
        Effect.catchTag("ImageNotFound", () =>
          Effect.fail(
            new ReleaseUnavailable({ appId: def.id, version: release.version, digest: release.digest, offered: def.manifest.version })
          ))
      )
      if (!start) return answered(def, made, "created")
      yield* runtime.start(made.id)
      return answered(def, made, "running")
    })

  // `repair`: the container vanished behind our back (a start, a restart, the reconciler), so it
  // comes back on the release it ran; an explicit install or update creates the manifest's.
  const install = (def: AppDef, start: boolean, repair = false): Effect.Effect<void | Operation.Answered, WorkError> =>
    Effect.gen(function*() {
      // this inspect, under the app's lock, is what the whole install decides on: not asked again
      const found = yield* inspectOwn(def)
      if (repair && found === undefined) {
        const release = yield* recordedRelease(def)
        if (release !== undefined) return yield* reinstate(def, release, start)
      }
      yield* hooks(def)
      yield* prepareDirs(def)
      if (found !== undefined && found.labels[Labels.specHash] === def.specHash) {
        if (!start) return
        yield* runtime.start(found.id)
        return answered(def, found, "running")
      }
      const made = yield* createFetching(def, found)
      if (!start) return answered(def, made, "created")
      yield* runtime.start(made.id)
      return answered(def, made, "running")
    })

  const recreate = (def: AppDef, start: boolean, force = false): Effect.Effect<void, WorkError> =>
    Effect.gen(function*() {
      yield* inspectOwn(def)
      const image = yield* ensureImage(def, force)
      yield* hooks(def)
      yield* prepareDirs(def)
      yield* stopContainer(def)
      yield* create(def, image)
      if (start) yield* runtime.start(def.spec.name)
    })

  return { recordedRelease, reinstate, install, recreate }
}

/**
 * @since 0.1.0
 * @category models
 */
export type Install = ReturnType<typeof make>

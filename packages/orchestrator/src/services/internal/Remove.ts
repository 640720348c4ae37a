/**
 * The engine work of `remove`: stop, remove the app's containers, and with `purge` move its data
 * folder aside (journaled first) and delete it, over the shared `Engine`.
 *
 * @since 0.1.0
 * @internal
 */
import { Clock, Effect } from "effect"
import type { AppDef } from "../Apps.js"
import type { Engine } from "./Engine.js"
import type { WorkError } from "./WorkError.js"

/**
 * The remove step over `engine`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (engine: Engine) => {
  const { fs, journalOf, log, names, record, removeIfPresent, stopContainer, store } = engine

  // A purge moves the data folder aside in one rename (journaled first), then deletes it: the
  // folder is whole in place or gone, never half deleted in place. Safe to run again.
  const removeContainer = (def: AppDef, purge: boolean): Effect.Effect<void, WorkError> =>
    Effect.gen(function*() {
      yield* stopContainer(def)
      for (const name of yield* Effect.map(store.entry(def.id), (e) => names(def, e))) yield* removeIfPresent(name)
      if (!purge) return
      const journal = yield* journalOf(def)
      const now = yield* Clock.currentTimeMillis
      const trash = journal?.op === "remove" && journal.trash !== undefined ? journal.trash : `${def.dataDir}.purging-${now}`
      yield* record(def, { op: "remove", step: "purging", since: now, trash })
      if ((yield* fs.exists(def.dataDir)) && !(yield* fs.exists(trash))) yield* fs.rename(def.dataDir, trash)
      if (yield* fs.exists(trash)) {
        yield* fs.remove(trash, { recursive: true })
        yield* log.append(def.id, "info", `purged ${def.dataDir}`)
      }
    })

  return { removeContainer }
}

/**
 * @since 0.1.0
 * @category models
 */
export type Remove = ReturnType<typeof make>

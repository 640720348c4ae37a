/**
 * The engine work of `recover`, boot's journal replay: carries out `Journal.recover`'s decision
 * about an app's record (redo a purge, resume an update's gate or roll it back, clean up what an
 * abandoned step left, commit or revert a restore, finish a backup). Over the shared `Engine`
 * and the other operations' steps.
 *
 * @since 0.1.0
 * @internal
 */
import { Clock, Effect, Option } from "effect"
import * as Journal from "../../domain/Journal.js"
import type { AppDef } from "../Apps.js"
import * as BackupWork from "../BackupWork.js"
import * as ChannelState from "../ChannelState.js"
import type { Engine } from "./Engine.js"
import type { Remove } from "./Remove.js"
import type { StartStop } from "./StartStop.js"
import type { Update } from "./Update.js"
import { Interrupted, Unsupported } from "./WorkError.js"
import type { WorkError } from "./WorkError.js"

/**
 * The recovery steps over `engine` and the operations it finishes or undoes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  engine: Engine,
  steps: { readonly startStop: StartStop; readonly removes: Remove; readonly updates: Update }
) => {
  const { backups, journalOf, log, observeStrict, preBackupHooks, record, runtime, stopContainer, targetName, unhold } = engine
  const { startContainer } = steps.startStop
  const { removeContainer } = steps.removes
  const { proveOrRollBack, rollBack } = steps.updates

  // Carries out boot's decision about a journal record (see `Journal.Recovery`).
  const applyRecovery = (def: AppDef, entry: Journal.Entry, decision: Journal.Recovery): Effect.Effect<void, WorkError> =>
    Effect.gen(function*() {
      yield* Effect.logInfo(`recovering ${entry.op} of ${def.id} from its journal (${entry.step}): ${decision._tag}`)
      switch (decision._tag) {
        case "Redo":
          // only a purging remove is journaled and redone whole
          if (entry.op === "remove") return yield* removeContainer(def, true)
          break
        case "ResumeGate":
        case "RollBack": {
          if (entry.op !== "update" || entry.from === undefined) break
          const pending = { ...entry, from: entry.from }
          return decision._tag === "ResumeGate"
            ? yield* proveOrRollBack(def, pending)
            : yield* rollBack(def, pending, decision.reason)
        }
        case "Abandon":
          yield* cleanUpAbandoned(def, entry)
          if (decision.startAgain) yield* Effect.asVoid(startContainer(def))
          if (entry.op === "update") yield* unhold(def)
          return yield* Effect.fail(new Interrupted({ op: entry.op, reason: decision.message }))
        case "Revert":
        case "Commit":
        case "Finish":
          return yield* finishRecovery(def, entry, decision)
      }
      return yield* Effect.fail(new Interrupted({ op: entry.op, reason: `${entry.op} interrupted by a restart (${entry.step}); nothing could be resumed` }))
    })

  // What an abandoned operation's step left: a restore's unpacked folders, a backup's staging
  // folder and partial archive, a freeze that was never released.
  const cleanUpAbandoned = (def: AppDef, entry: Journal.Entry): Effect.Effect<void, WorkError> =>
    Effect.gen(function*() {
      if (entry.op !== "restore" && entry.op !== "backup") return
      if (Option.isNone(backups)) return
      const target = backups.value
      if (entry.op === "restore" && entry.swaps !== undefined) yield* target.discard({ archive: entry.archive ?? def.id, swaps: entry.swaps })
      const removed = yield* target.sweep(def)
      for (const path of removed) yield* log.append(def.id, "info", `removed ${path}, left by the interrupted ${entry.op}`)
      if (entry.op === "backup" && entry.hook !== undefined) yield* releaseHook(def, entry.hook)
    })

  // The freeze a killed backup may have left (its record says the hook ran or was about to):
  // released again; a release that finds nothing frozen is said in the log, not an error.
  const releaseHook = (def: AppDef, name: string) =>
    Option.match(Option.flatMap(preBackupHooks, (r) => Option.fromNullishOr(r.get(name))), {
      onNone: () => Effect.void,
      onSome: (hook) =>
        hook.release === undefined
          ? Effect.void
          : Effect.flatMap(targetName(def), (containerName) =>
            hook.release!({ appId: def.id, manifest: def.manifest, appDataDir: def.dataDir, containerName }).pipe(
              Effect.andThen(log.append(def.id, "info", `pre-backup hook ${name} released`)),
              Effect.catch((e) => log.append(def.id, "info", `pre-backup hook ${name} had nothing to release: ${e.message}`))
            ))
    })

  // Revert, Commit and Finish of `Journal.recover`.
  const finishRecovery = (def: AppDef, entry: Journal.Entry, decision: Journal.Recovery): Effect.Effect<void, WorkError> =>
    Effect.gen(function*() {
      if (entry.op === "remove") return yield* removeContainer(def, true)
      if (entry.op === "backup") {
        if (entry.hook !== undefined) yield* releaseHook(def, entry.hook)
        if (entry.stopped === true) yield* Effect.asVoid(startContainer(def))
        if (Option.isSome(backups)) yield* Effect.ignore(backups.value.sweep(def))
        yield* log.append(def.id, "info", decision._tag === "Finish" ? decision.message : "backup finished")
        return
      }
      if (entry.op !== "restore" || Option.isNone(backups)) return yield* Effect.fail(new Unsupported({ op: entry.op }))
      const staged = { archive: entry.archive ?? def.id, swaps: entry.swaps ?? [] }
      if (decision._tag === "Commit") {
        yield* backups.value.commit(staged)
        // the app was started for the gate: it ends as it was before the restore
        yield* entry.wasRunning === true ? Effect.asVoid(startContainer(def)) : stopContainer(def)
        yield* log.append(def.id, "info", decision.message)
        return
      }
      yield* record(def, Journal.advance(entry, "reverting", yield* Clock.currentTimeMillis))
      yield* stopContainer(def)
      // the channel state the restored app ran on goes back with the previous data, never an
      // older one (see `ChannelState.carryBack`)
      const patterns = def.manifest.backup?.channelState?.files ?? []
      const previous = staged.swaps.find((w) => w.live === def.dataDir)?.previous
      if (patterns.length > 0 && previous !== undefined) {
        const carried = yield* ChannelState.carryBack(def.id, def.dataDir, previous, patterns)
        if (carried.length > 0) yield* log.append(def.id, "info", `restore: the channel state it ran on goes back with the previous data (${carried.join(", ")})`)
      }
      yield* backups.value.revert(staged)
      yield* backups.value.discard(staged)
      const message = decision._tag === "Revert" ? decision.message : "restore interrupted"
      if (entry.wasRunning !== true) return yield* Effect.fail(new Interrupted({ op: entry.op, reason: message }))
      // over when the app it leaves running is healthy again, or it says why not
      yield* Effect.asVoid(startContainer(def))
      const again = yield* Effect.flatMap(targetName(def), (name) => BackupWork.healthGate(runtime)(def, name))
      return yield* Effect.fail(new Interrupted({
        op: entry.op,
        reason: Option.isNone(again) ? message : `${message}, but the app is not healthy on it: ${again.value}`
      }))
    })

  const recoverWork = (def: AppDef): Effect.Effect<void, WorkError> =>
    Effect.gen(function*() {
      const journal = yield* journalOf(def)
      if (journal === undefined) return
      const decision = Journal.recover(journal, Option.getOrUndefined(yield* observeStrict(def)))
      return yield* applyRecovery(def, journal, decision)
    })

  return { applyRecovery, recoverWork }
}

/**
 * @since 0.1.0
 * @category models
 */
export type Recover = ReturnType<typeof make>

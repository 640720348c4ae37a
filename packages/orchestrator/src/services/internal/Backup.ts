/**
 * The `backup` and `restore` operations as the orchestrator runs them: `BackupWork` (which
 * holds their work) handed its dependencies from the shared `Engine` and the start and stop
 * steps. Without a backup target (`Backups.layer`) both answer `Unsupported`.
 *
 * @since 0.1.0
 * @internal
 */
import { Effect, Option } from "effect"
import type { RequestOptions } from "../../domain/Request.js"
import { providersOf } from "../Apps.js"
import type { AppDef } from "../Apps.js"
import * as BackupWork from "../BackupWork.js"
import type { Engine } from "./Engine.js"
import type { StartStop } from "./StartStop.js"
import { Unsupported } from "./WorkError.js"
import type { WorkError } from "./WorkError.js"

/**
 * The backup and restore steps over `engine`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (engine: Engine, startStop: StartStop) => {
  const { apps, backups, hookRegistry, journalOf, log, observe, preBackupHooks, record, recoveryRunner, runtime, store, targetName } = engine
  const { startContainer, stopContainer } = startStop

  const run = (op: "backup" | "restore", def: AppDef, options: RequestOptions): Effect.Effect<void, WorkError> =>
    Option.match(backups, {
      onNone: () => Effect.fail(new Unsupported({ op })),
      onSome: (target) => {
        const deps: BackupWork.Deps<WorkError> = {
          steps: { start: (d) => Effect.asVoid(startContainer(d)), stop: stopContainer, observe },
          backups: target,
          hooks: hookRegistry,
          log,
          preBackupHooks,
          gate: BackupWork.healthGate(runtime),
          journal: {
            current: journalOf(def),
            record: (next) => record(def, next)
          },
          providers: (d) => Effect.map(store.get, (state) => providersOf(apps, d, state)),
          ...(Option.isSome(recoveryRunner) ? { exec: recoveryRunner.value } : {})
        }
        return op === "backup"
          ? Effect.asVoid(BackupWork.backup(deps, def))
          : Effect.flatMap(targetName(def), (name) => Effect.asVoid(BackupWork.restore(deps, def, name, { archive: options.archive, closeChannels: options.closeChannels })))
      }
    })

  return { run }
}

/**
 * @since 0.1.0
 * @category models
 */
export type Backup = ReturnType<typeof make>

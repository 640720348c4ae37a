/**
 * `<dataDir>/sessions.json`: the live sessions (hashes and expiry times), 0600, written and read
 * through `SafeFile` (atomic, never following a symlink).
 */
import { resolve } from "node:path"
import { SafeFile } from "@archipelago/orchestrator"
import { Effect, Option } from "effect"
import * as Sessions from "../Sessions.js"

export const path = (dataDir: string): string => resolve(dataDir, "sessions.json")

const why = (e: SafeFile.SafeFileError | SafeFile.UnsafePath): string => (e._tag === "UnsafePath" ? e.message : e.reason)

/** The saved sessions; an absent, unreadable or planted (symlink) file reads as none, with a warning. */
export const load = (dataDir: string, now: number, policy: Sessions.Policy): Effect.Effect<Sessions.Store> => {
  const file = path(dataDir)
  return SafeFile.readString(file, { root: resolve(dataDir), narrow: true }).pipe(
    Effect.flatMap(Option.match({
      onNone: () => Effect.succeed(Sessions.empty),
      onSome: (text) => {
        const store = Sessions.decode(text, now, policy)
        return store === undefined
          ? Effect.as(Effect.logWarning(`${file} is not a sessions file; starting with no session`), Sessions.empty)
          : Effect.succeed(store)
      }
    })),
    Effect.catch((e) => Effect.as(Effect.logWarning(`cannot read ${file}: ${why(e)}`), Sessions.empty))
  )
}

/** Saves the sessions; a failure is logged (the sessions still work until the next restart). */
export const save = (dataDir: string, store: Sessions.Store): Effect.Effect<void> => {
  const file = path(dataDir)
  return SafeFile.write(file, Sessions.encode(store), { root: resolve(dataDir), mode: 0o600, dirMode: 0o700 }).pipe(
    Effect.asVoid,
    Effect.catch((e) => Effect.logWarning(`cannot save ${file}: ${why(e)}`))
  )
}

/**
 * Installs an app's Quadlet units: each file created whole with `SafeFile.create` (temp file
 * linked to its name, never over an existing entry) or, when this installer wrote it before,
 * replaced with `SafeFile.writeIfUnchanged` (symlink-safe, atomic: temp file in the same folder,
 * fsync, rename, fsync of the folder; no write when the content is unchanged) into the rootful
 * or rootless Quadlet folder, then one `systemctl [--user] daemon-reload` so systemd runs the
 * generator. Uninstall removes the files and reloads.
 *
 * @since 0.1.0
 */
import { Data, Effect, FileSystem, Option } from "effect"
import { join, resolve } from "node:path"
import * as SafeFile from "../fs/SafeFile.js"
import type { AppUnits, Scope } from "./Quadlet.js"
import { files } from "./Quadlet.js"
import * as Systemctl from "./Systemctl.js"

/**
 * Writing a unit file or reloading systemd failed.
 *
 * @since 0.1.0
 * @category errors
 */
export class InstallFailed extends Data.TaggedError("InstallFailed")<{
  readonly path: string
  readonly reason: string
}> {
  override get message(): string {
    return `cannot install Quadlet unit ${this.path}: ${this.reason}`
  }
}

/**
 * Where Quadlet reads units: `/etc/containers/systemd` for the system manager,
 * `$XDG_CONFIG_HOME/containers/systemd` (or `~/.config/containers/systemd`) for a user's.
 *
 * @since 0.1.0
 * @category utils
 */
export const quadletDir = (scope: Scope, env: Readonly<Record<string, string | undefined>> = process.env): string => {
  if (scope === "system") return "/etc/containers/systemd"
  const config = env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== ""
    ? env.XDG_CONFIG_HOME
    : join(env.HOME ?? "/root", ".config")
  return join(config, "containers", "systemd")
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Default `system`. */
  readonly scope?: Scope
  /** Overrides the Quadlet folder (tests, a custom `QUADLET_UNIT_DIRS`). */
  readonly dir?: string
}

/**
 * What an install or uninstall changed.
 *
 * @since 0.1.0
 * @category models
 */
export interface Outcome {
  readonly dir: string
  readonly written: ReadonlyArray<string>
  readonly unchanged: ReadonlyArray<string>
  readonly removed: ReadonlyArray<string>
  readonly reloaded: boolean
}

const header = "# Written by Archipelago"

/** A unit file this installer wrote (`Quadlet.render` starts each with its header). */
const isOurs = (content: string): boolean => content.startsWith(header)

const foreign = `it exists and was not written by Archipelago (no "${header}" first line): not overwritten; ` +
  "move it away to let Archipelago own this container"

const reload = (systemctl: Systemctl.Service, scope: Scope, dir: string) =>
  Effect.gen(function*() {
    const argv = Systemctl.daemonReloadArgv(scope)
    const r = yield* systemctl.run(argv)
    if (r.exitCode !== 0) {
      return yield* Effect.fail(
        new InstallFailed({ path: dir, reason: `systemctl ${argv.join(" ")} exited ${r.exitCode}: ${r.stderr.trim()}` })
      )
    }
  })

/**
 * Writes the units that changed and reloads systemd when any did. A missing file is created whole
 * and never over an entry that appeared meanwhile; an existing file is replaced only when this
 * installer wrote it (its "# Written by Archipelago" first line) and it still holds what was read;
 * any other (the user's own unit, a symlink) fails with `InstallFailed` naming it, untouched.
 *
 * @since 0.1.0
 * @category constructors
 */
export const install = Effect.fn("QuadletInstaller.install")(function*(units: AppUnits, options: Options = {}) {
  const systemctl = yield* Systemctl.Systemctl
  const scope = options.scope ?? "system"
  const dir = resolve(options.dir ?? quadletDir(scope))
  const written: Array<string> = []
  const unchanged: Array<string> = []
  for (const f of files(units)) {
    const path = join(dir, f.fileName)
    const failed = (e: { readonly message: string }) => new InstallFailed({ path, reason: e.message })
    // Created whole and never over an existing entry (temp file linked to the name): the "is it
    // there?" decision and the write are one step, so a unit the user creates meanwhile stays.
    const created = yield* SafeFile.create(path, f.content, { root: dir, mode: 0o644, dirMode: 0o755, replaceNonFile: false }).pipe(
      Effect.mapError(failed)
    )
    if (!created) {
      const current = yield* Effect.mapError(SafeFile.readString(path, { root: dir }), failed)
      if (Option.isNone(current) || !isOurs(current.value)) {
        return yield* new InstallFailed({ path, reason: foreign })
      }
      // Ours: replaced atomically, only if it still holds what was just read.
      const result = yield* SafeFile.writeIfUnchanged(path, f.content, { root: dir, mode: 0o644, expected: current.value }).pipe(
        Effect.mapError((e) => e._tag === "FileChanged" ? new InstallFailed({ path, reason: "it changed while being installed: not overwritten" }) : failed(e))
      )
      if (!result.written) {
        unchanged.push(path)
        continue
      }
    }
    written.push(path)
    yield* Effect.logInfo(`wrote Quadlet unit ${path}`)
  }
  if (written.length > 0) yield* reload(systemctl, scope, dir)
  return { dir, written, unchanged, removed: [], reloaded: written.length > 0 } satisfies Outcome
})

/**
 * Removes an app's unit files (the running service is left to `systemctl stop` first) and
 * reloads systemd when any was there. A file this installer did not write is left in place (logged).
 *
 * @since 0.1.0
 * @category constructors
 */
export const uninstall = Effect.fn("QuadletInstaller.uninstall")(function*(units: AppUnits, options: Options = {}) {
  const fs = yield* FileSystem.FileSystem
  const systemctl = yield* Systemctl.Systemctl
  const scope = options.scope ?? "system"
  const dir = options.dir ?? quadletDir(scope)
  const removed: Array<string> = []
  for (const f of files(units)) {
    const path = join(dir, f.fileName)
    if (!(yield* fs.exists(path).pipe(Effect.orElseSucceed(() => false)))) continue
    const current = yield* Effect.mapError(SafeFile.readString(path, { root: dir }), (e) => new InstallFailed({ path, reason: e.message }))
    if (Option.isNone(current) || !isOurs(current.value)) {
      yield* Effect.logWarning(`left ${path} in place: it was not written by Archipelago`)
      continue
    }
    yield* fs.remove(path).pipe(Effect.mapError((e) => new InstallFailed({ path, reason: e.message })))
    removed.push(path)
  }
  if (removed.length > 0) yield* reload(systemctl, scope, dir)
  return { dir, written: [], unchanged: [], removed, reloaded: removed.length > 0 } satisfies Outcome
})

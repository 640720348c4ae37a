/**
 * Installs an app's Quadlet units: each file written with `SafeFile.write` (symlink-safe, atomic:
 * temp file in the same folder, fsync, rename, fsync of the folder; no write when the content is
 * unchanged) into the rootful
 * or rootless Quadlet folder, then one `systemctl [--user] daemon-reload` so systemd runs the
 * generator. Uninstall removes the files and reloads.
 *
 * @since 0.1.0
 */
import { FileSystem } from "@effect/platform"
import { Data, Effect } from "effect"
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
 * Writes the units that changed and reloads systemd when any did.
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
    // Symlink-safe and atomic (temp file, fsync, rename, fsync of the folder); unchanged content is not rewritten.
    const result = yield* SafeFile.write(path, f.content, { root: dir, mode: 0o644 }).pipe(
      Effect.mapError((e) => new InstallFailed({ path, reason: e.message }))
    )
    if (!result.written) {
      unchanged.push(path)
      continue
    }
    written.push(path)
    yield* Effect.logInfo(`wrote Quadlet unit ${path}`)
  }
  if (written.length > 0) yield* reload(systemctl, scope, dir)
  return { dir, written, unchanged, removed: [], reloaded: written.length > 0 } satisfies Outcome
})

/**
 * Removes an app's unit files (the running service is left to `systemctl stop` first) and
 * reloads systemd when any was there.
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
    yield* fs.remove(path).pipe(Effect.mapError((e) => new InstallFailed({ path, reason: e.message })))
    removed.push(path)
  }
  if (removed.length > 0) yield* reload(systemctl, scope, dir)
  return { dir, written: [], unchanged: [], removed, reloaded: removed.length > 0 } satisfies Outcome
})

/**
 * A named volume's content for backups and restores. A volume of the `local` driver without
 * options keeps its content in a host folder (`podman volume inspect`'s `Mountpoint`), read and
 * swapped like any folder. Any other volume (another driver, or `local` with `type`/`o`/`device`
 * options, e.g. bound to a disk or an NFS share) has its content only while it is mounted, so its
 * `Mountpoint` may be an empty folder: such a volume is read and written as a tar stream,
 * `podman volume export` / `podman volume import`, with the volume mounted
 * (`podman volume mount`, reference counted, unmounted after) because podman 4.3 refuses to export
 * or import an unmounted one.
 *
 * @since 0.1.0
 */
import * as NodePath from "node:path"
import { Effect } from "effect"
import * as Fs from "../fs/internal/Files.js"
import * as PodmanCommand from "./PodmanCommand.js"
import { CommandFailed } from "./RuntimeError.js"
import type { EngineUnavailable } from "./RuntimeError.js"

/**
 * What `podman volume inspect` tells of a volume.
 *
 * @since 0.1.0
 * @category models
 */
export interface Info {
  readonly name: string
  readonly driver: string
  readonly mountpoint: string
  readonly options: Readonly<Record<string, string>>
}

/**
 * How a volume's content is reached: its host folder, or a tar stream through podman.
 *
 * @since 0.1.0
 * @category models
 */
export type Access =
  | { readonly _tag: "Folder"; readonly path: string }
  | { readonly _tag: "Stream" }

/**
 * The access a volume needs: a folder only for the `local` driver without options (whose
 * content always lies in its `Mountpoint`), a stream otherwise.
 *
 * @since 0.1.0
 * @category utils
 */
export const access = (info: Info): Access =>
  info.driver === "local" && Object.keys(info.options).length === 0 && info.mountpoint.startsWith("/")
    ? { _tag: "Folder", path: info.mountpoint }
    : { _tag: "Stream" }

/**
 * @since 0.1.0
 * @category models
 */
export type Error = CommandFailed | EngineUnavailable

const podman = (binary: string, argv: ReadonlyArray<string>, timeoutMs = 60_000): Effect.Effect<string, Error> =>
  PodmanCommand.run(binary, argv, { timeoutMs }).pipe(
    Effect.flatMap((r) =>
      r.exitCode === 0
        ? Effect.succeed(r.stdout)
        : Effect.fail(new CommandFailed({ argv: [binary, ...argv], exitCode: r.exitCode, stderr: r.stderr.slice(-2000) }))
    )
  )

/**
 * `podman volume inspect` of one volume.
 *
 * @since 0.1.0
 * @category constructors
 */
export const inspect = (name: string, binary = "podman"): Effect.Effect<Info, Error> =>
  Effect.flatMap(podman(binary, ["volume", "inspect", "--format", "json", name]), (stdout) => {
    try {
      const [v] = JSON.parse(stdout) as Array<{ Name?: string; Driver?: string; Mountpoint?: string; Options?: Record<string, string> | null }>
      if (v === undefined) throw new Error("empty answer")
      return Effect.succeed({ name: v.Name ?? name, driver: v.Driver ?? "", mountpoint: v.Mountpoint ?? "", options: v.Options ?? {} })
    } catch (e) {
      return Effect.fail(new CommandFailed({ argv: [binary, "volume", "inspect", name], exitCode: 0, stderr: `unreadable answer: ${String(e)}` }))
    }
  })

/**
 * The host folder of a named volume (`Mountpoint`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const mountpoint = (name: string, binary = "podman"): Effect.Effect<string, Error> =>
  Effect.flatMap(inspect(name, binary), (info) =>
    info.mountpoint.startsWith("/")
      ? Effect.succeed(info.mountpoint)
      : Effect.fail(new CommandFailed({ argv: [binary, "volume", "inspect", name], exitCode: 0, stderr: "no mountpoint" })))

/**
 * Runs `f` with the volume mounted (`podman volume mount`, its mountpoint given) and unmounts it
 * after, also on failure. Mounts are counted by podman, so a container using the volume keeps it.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withMounted = <A, E, R>(
  name: string,
  f: (path: string) => Effect.Effect<A, E, R>,
  binary = "podman"
): Effect.Effect<A, E | Error, R> =>
  Effect.acquireUseRelease(
    Effect.map(podman(binary, ["volume", "mount", name]), (out) => out.trim()),
    f,
    () => Effect.ignore({ log: "Debug" })(podman(binary, ["volume", "unmount", name]))
  )

/**
 * Writes the volume's content as a tar stream to `file` (`podman volume export --output`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const exportTo = (name: string, file: string, binary = "podman"): Effect.Effect<void, Error> =>
  withMounted(name, () => Effect.asVoid(podman(binary, ["volume", "export", "--output", file, name], 3_600_000)), binary)

/**
 * Replaces the volume's content by the tar stream in `file`: the volume is emptied, then
 * `podman volume import` unpacks the stream into it (modes and owners as archived).
 *
 * @since 0.1.0
 * @category constructors
 */
export const replaceFrom = (name: string, file: string, binary = "podman"): Effect.Effect<void, Error> =>
  withMounted(name, (path) =>
    Effect.andThen(
      Effect.tryPromise({
        try: async () => {
          for (const entry of await Fs.readdir(path)) await Fs.rm(NodePath.join(path, entry), { recursive: true, force: true })
        },
        catch: (e) => new CommandFailed({ argv: ["rm", "-rf", `${path}/*`], exitCode: 1, stderr: String(e) })
      }),
      Effect.asVoid(podman(binary, ["volume", "import", name, file], 3_600_000))
    ), binary)

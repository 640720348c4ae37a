/**
 * Where podman keeps a named volume's content on the host (`podman volume inspect`), for
 * backups and restores of the volume's folder.
 *
 * @since 0.3.0
 */
import { Effect } from "effect"
import { execa } from "execa"
import { CommandFailed, EngineUnavailable } from "./RuntimeError.js"

/**
 * The host folder of a named volume (`Mountpoint`, local driver).
 *
 * @since 0.3.0
 * @category constructors
 */
export const mountpoint = (name: string, binary = "podman"): Effect.Effect<string, CommandFailed | EngineUnavailable> =>
  Effect.tryPromise({
    try: () => execa(binary, ["volume", "inspect", "--format", "{{.Mountpoint}}", name], { reject: false, timeout: 60_000 }),
    catch: (e) => new EngineUnavailable({ reason: `cannot run ${binary}: ${String(e)}`, hint: "install podman" })
  }).pipe(
    Effect.flatMap((r) => {
      const path = String(r.stdout).trim()
      return r.exitCode === 0 && path.startsWith("/")
        ? Effect.succeed(path)
        : Effect.fail(new CommandFailed({ argv: [binary, "volume", "inspect", name], exitCode: r.exitCode ?? -1, stderr: String(r.stderr).slice(-2000) }))
    })
  )

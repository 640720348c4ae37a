/**
 * Where podman keeps a named volume's content on the host (`podman volume inspect`), for
 * backups and restores of the volume's folder.
 *
 * @since 0.3.0
 */
import { Effect } from "effect"
import * as PodmanCommand from "./PodmanCommand.js"
import { CommandFailed } from "./RuntimeError.js"
import type { EngineUnavailable } from "./RuntimeError.js"

/**
 * The host folder of a named volume (`Mountpoint`, local driver).
 *
 * @since 0.3.0
 * @category constructors
 */
export const mountpoint = (name: string, binary = "podman"): Effect.Effect<string, CommandFailed | EngineUnavailable> =>
  PodmanCommand.run(binary, ["volume", "inspect", "--format", "{{.Mountpoint}}", name], { timeoutMs: 60_000 }).pipe(
    Effect.flatMap((r) => {
      const path = r.stdout.trim()
      return r.exitCode === 0 && path.startsWith("/")
        ? Effect.succeed(path)
        : Effect.fail(new CommandFailed({ argv: [binary, "volume", "inspect", name], exitCode: r.exitCode, stderr: r.stderr.slice(-2000) }))
    })
  )

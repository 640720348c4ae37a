/**
 * The `archipelago` executable: runs the command line; any failure is one line on stderr and a
 * non-zero exit (2 for usage errors, prefixed with the command: `archipelago validate: ...`), never
 * a stack trace. `--version` prints and exits wherever it
 * appears, before anything else runs.
 *
 * @since 0.1.0
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect, Exit } from "effect"
import type { Runtime } from "effect"
import { CliError } from "effect/cli"
import * as Cli from "./Cli.js"
import { version } from "./internal/version.js"

const argv = process.argv.slice(2)

const program = Cli.run(argv).pipe(
  Effect.provide(NodeServices.layer),
  Effect.onExit((exit) =>
    Effect.sync(() => {
      if (Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)) return
      const failure = Cause.findErrorOption(exit.cause)
      if (failure._tag === "Some") {
        // Cli.run turns effect/cli's parse errors into UsageErrors; any other was printed by it
        if (CliError.isCliError(failure.value)) {
          process.exitCode = 2
          return
        }
        const e = failure.value as { readonly _tag?: string; readonly message?: string; readonly exitCode?: number }
        const usage = e._tag === "UsageError"
        // a usage error names the command it is about: `archipelago validate: missing argument <DIR> (...)`
        process.stderr.write(`${usage ? Cli.programOf(argv) : "archipelago"}: ${e.message ?? String(e)}\n`)
        process.exitCode = usage ? 2 : typeof e.exitCode === "number" ? e.exitCode : 1
      } else {
        process.stderr.write(`archipelago: unexpected failure: ${Cause.pretty(exit.cause).split("\n")[0]}\n`)
        process.exitCode = 1
      }
    })
  ),
  Effect.ignore
)

// a stop by SIGTERM or SIGINT (how systemd stops the service) exits 0, not the 130 of Effect's
// default teardown; any other exit code was set above
const teardown: Runtime.Teardown = (exit, onExit) =>
  onExit(Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? Number(process.exitCode ?? 0) : 1)

if (argv.includes("--version") || argv.includes("-v")) process.stdout.write(`archipelago ${version}\n`)
else NodeRuntime.runMain(program, { disableErrorReporting: true, teardown })

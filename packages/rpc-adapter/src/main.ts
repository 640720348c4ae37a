/**
 * The `archipelago` executable.
 *
 * @since 0.1.0
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Either } from "effect"
import * as Cli from "./Cli.js"
import { version } from "./ServerInfo.js"

const command = Cli.parse(process.argv.slice(2), process.env)

if (Either.isLeft(command)) {
  process.stderr.write(`${command.left.message}\n`)
  process.exitCode = 2
} else {
  const c = command.right
  switch (c._tag) {
    case "Help":
      process.stdout.write(Cli.usage)
      break
    case "Version":
      process.stdout.write(`archipelago ${version}\n`)
      break
    case "Validate":
      NodeRuntime.runMain(
        Effect.flatMap(Effect.promise(() => import("./Validate.js")), (V) => V.run(c.dir)).pipe(
          Effect.flatMap(Console.log),
          Effect.catchTag("CatalogError", (e) =>
            Effect.zipRight(Console.error(e.message), Effect.sync(() => {
              process.exitCode = 1
            }))),
          Effect.provide(NodeContext.layer)
        ),
        { disableErrorReporting: false }
      )
      break
    case "Serve":
      NodeRuntime.runMain(Effect.flatMap(Effect.promise(() => import("./Serve.js")), (S) => S.run(c.options)))
      break
  }
}

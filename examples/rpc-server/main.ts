/**
 * Runs the example: `node --import tsx examples/rpc-server/main.ts [--simulated]` from the
 * repository root, then open the printed URL. Ctrl-C stops it cleanly.
 *
 * @since 0.1.0
 */
import { join } from "node:path"
import { Server } from "@archipelago/rpc-adapter"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect, Layer } from "effect"
import { layer } from "./server.js"

const root = join(import.meta.dirname, "..", "..")
const dataDir = process.env["ARCHIPELAGO_DATA"] ?? join(root, ".data")
const simulated = process.argv.includes("--simulated")

const hello = Layer.effectDiscard(
  Effect.flatMap(Server.RpcServer, (server) => Console.log(`dashboard: ${server.loginUrl}`))
)

Layer.launch(hello.pipe(Layer.provide(layer({ appsDir: join(root, "apps"), dataDir, simulated })))).pipe(NodeRuntime.runMain)

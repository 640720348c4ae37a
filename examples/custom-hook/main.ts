/**
 * Runs the example server: `node --import tsx examples/custom-hook/main.ts [--simulated]`.
 * Open the printed login URL and install `hello`: its page was rendered by the custom hook.
 *
 * @since 0.1.0
 */
import * as NodePath from "node:path"
import { Server } from "@archipelago/rpc-adapter"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect, Layer } from "effect"
import { layer } from "./server.js"

const simulated = process.argv.includes("--simulated")
const dataDir = process.env["ARCHIPELAGO_DATA_DIR"] ?? NodePath.join(import.meta.dirname, ".data")

const banner = Layer.effectDiscard(
  Effect.flatMap(Server.RpcServer, (server) =>
    Console.log(`custom-hook example on ${simulated ? "the simulator" : "podman"}, data in ${dataDir}\nopen ${server.loginUrl}`))
)

Layer.launch(banner.pipe(Layer.provide(layer({ dataDir, simulated })))).pipe(NodeRuntime.runMain)

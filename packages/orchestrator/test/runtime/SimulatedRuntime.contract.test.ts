import { Effect } from "effect"
import { SimulatedRuntime } from "../../src/testing/index.js"
import { runtimeContract } from "./RuntimeContract.js"

runtimeContract({
  name: "SimulatedRuntime (TestClock)",
  layer: SimulatedRuntime.layer(),
  prefix: "t-sim-",
  clock: "test",
  hostKill: (name) => Effect.flatMap(SimulatedRuntime.SimulatedEngine, (engine) => engine.kill(name, "SIGKILL")),
  hostRemoveContainer: (name) => Effect.flatMap(SimulatedRuntime.SimulatedEngine, (engine) => engine.removeContainer(name)),
  hostRemoveImage: (ref) => Effect.flatMap(SimulatedRuntime.SimulatedEngine, (engine) => engine.removeImage(ref, { force: true }))
})

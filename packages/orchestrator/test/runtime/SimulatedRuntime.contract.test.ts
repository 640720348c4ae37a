import { Effect } from "effect"
import { ContainerRuntime } from "../../src/runtime/ContainerRuntime.js"
import { SimulatedRuntime } from "../../src/testing/index.js"
import { runtimeContract } from "./RuntimeContract.js"

// the simulated registry's one slow image, and how long its pull and the slow build take
const slowImage = "docker.io/t-sim-slow/app:1"
const slowTime = "1 second"

/** After the time the work would have taken, its image is still not there. */
const neverDone = (refs: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const rt = yield* ContainerRuntime
    yield* Effect.sleep("2 seconds")
    for (const ref of refs) if (yield* rt.imageExists(ref)) return false
    return true
  })

runtimeContract({
  name: "SimulatedRuntime (TestClock)",
  layer: SimulatedRuntime.layer({ registry: [{ ref: slowImage, pullTime: slowTime }] }),
  prefix: "t-sim-",
  clock: "test",
  hostKill: (name) => Effect.flatMap(SimulatedRuntime.SimulatedEngine, (engine) => engine.kill(name, "SIGKILL")),
  hostRemoveContainer: (name) => Effect.flatMap(SimulatedRuntime.SimulatedEngine, (engine) => engine.removeContainer(name)),
  hostRemoveImage: (ref) => Effect.flatMap(SimulatedRuntime.SimulatedEngine, (engine) => engine.removeImage(ref, { force: true })),
  hostBindPort: Effect.flatMap(SimulatedRuntime.SimulatedEngine, (engine) =>
    Effect.as(Effect.acquireRelease(engine.holdHostPort(28474), () => engine.releaseHostPort(28474)), 28474)),
  slowPull: (ref) =>
    Effect.map(ContainerRuntime, (rt) => ({
      candidate: { ref: slowImage, insecure: false },
      started: Effect.void,
      stopped: Effect.provideService(neverDone([slowImage, ref]), ContainerRuntime, rt)
    })),
  slowBuild: (tag) =>
    Effect.map(ContainerRuntime, (rt) => ({
      containerfile: `FROM ${SimulatedRuntime.baseImage}\nRUN sleep 1\n`,
      started: Effect.void,
      stopped: Effect.provideService(neverDone([tag]), ContainerRuntime, rt),
      leftBehind: Effect.succeed([])
    }))
})

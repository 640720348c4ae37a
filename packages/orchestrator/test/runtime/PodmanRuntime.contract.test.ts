import { afterAll, beforeAll } from "@effect/vitest"
import { Effect } from "effect"
import { ContainerRuntime } from "../../src/runtime/ContainerRuntime.js"
import * as BaseImage from "../../src/runtime/BaseImage.js"
import * as PodmanRuntime from "../../src/runtime/PodmanRuntime.js"
import { hasPodman, removeByPrefix } from "./podman.js"
import { runtimeContract } from "./RuntimeContract.js"

const prefix = "t-rt-c-"

if (!hasPodman) console.warn("skipping the podman runtime contract: podman is not installed (run scripts/setup-host.sh)")

beforeAll(async () => {
  if (hasPodman) await Effect.runPromise(BaseImage.ensure())
})
afterAll(() => {
  if (hasPodman) removeByPrefix(prefix)
})

runtimeContract({
  name: "PodmanRuntime (real podman)",
  layer: PodmanRuntime.layer,
  prefix,
  clock: "live",
  hostKill: (name) =>
    Effect.gen(function* () {
      const [d] = yield* (yield* ContainerRuntime).inspect([name])
      if (d?.pid === undefined) return yield* Effect.fail(`${name} has no process to kill`)
      const pid = d.pid
      yield* Effect.sync(() => process.kill(pid, "SIGKILL"))
    }),
  ...(hasPodman ? {} : { skip: "podman is not installed" })
})


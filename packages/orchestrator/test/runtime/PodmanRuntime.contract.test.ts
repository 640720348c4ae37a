import { spawnSync } from "node:child_process"
import { afterAll, beforeAll } from "@effect/vitest"
import { Effect } from "effect"
import { ContainerRuntime } from "../../src/runtime/ContainerRuntime.js"
import * as BaseImage from "../../src/runtime/BaseImage.js"
import * as PodmanRuntime from "../../src/runtime/PodmanRuntime.js"
import { hasPodman, removeByPrefix, runTag } from "./podman.js"
import { runtimeContract } from "./RuntimeContract.js"

const prefix = `t-rt-c-${runTag}-`

const podman = (args: ReadonlyArray<string>) =>
  Effect.suspend(() => {
    const r = spawnSync("podman", args, { encoding: "utf8" })
    return r.status === 0 ? Effect.void : Effect.fail(`podman ${args.join(" ")}: ${r.stderr}`)
  })

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
  hostRemoveContainer: (name) => podman(["rm", "--force", "--time", "0", name]),
  hostRemoveImage: (ref) => podman(["rmi", "--force", ref]),
  ...(hasPodman ? {} : { skip: "podman is not installed" })
})


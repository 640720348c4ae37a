import { afterAll, beforeAll } from "@effect/vitest"
import { Effect } from "effect"
import * as BaseImage from "../../src/runtime/BaseImage.js"
import * as PodmanRuntime from "../../src/runtime/PodmanRuntime.js"
import { podmanContract } from "./PodmanContract.js"
import { hasPodman, removeByPrefix, runTag } from "./podman.js"
import { runtimeContract } from "./RuntimeContract.js"

const prefix = `t-rt-c-${runTag}-`

if (!hasPodman) console.warn("skipping the podman runtime contract: podman is not installed (run scripts/setup-host.sh)")

beforeAll(async () => {
  if (hasPodman) await Effect.runPromise(BaseImage.ensure())
})
afterAll(() => {
  if (hasPodman) removeByPrefix(prefix)
})

runtimeContract(podmanContract("PodmanRuntime (real podman)", PodmanRuntime.layer, prefix))

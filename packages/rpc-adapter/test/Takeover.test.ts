// `archipelago takeover APP --container NAME`: the one way a container without Archipelago's
// labels is ever stopped and removed (issue 26).
import { SimulatedRuntime } from "@archipelago/orchestrator/testing"
import { ContainerRuntime } from "@archipelago/orchestrator"
import type { ContainerSpec } from "@archipelago/orchestrator"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as Takeover from "../src/Takeover.js"
import { tempDir } from "./fixtures.js"

const spec = (name: string, labels: Record<string, string>): ContainerSpec.ContainerSpec => ({
  name,
  image: "localhost/archipelago/base:latest",
  env: {},
  ports: [],
  volumes: [],
  extraHosts: [],
  labels,
  stopTimeoutSec: 1,
  restart: "no"
})

describe("Takeover --container", () => {
  it.scoped("stops and removes the named stranger, refuses a labelled container and a missing one, touches nothing else", () =>
    Effect.gen(function*() {
      const rt = yield* ContainerRuntime.ContainerRuntime
      const data = tempDir("takeover-")
      const stranger = yield* rt.create(spec("by-hand", {}))
      yield* rt.start(stranger)
      const ours = yield* rt.create(spec("lnd", { "io.archipelago.managed-by": "archipelago", "io.archipelago.app": "lnd" }))
      const bystander = yield* rt.create(spec("other", {}))

      const labelled = yield* Effect.either(Takeover.run({ data }, "lnd", "lnd"))
      expect(Either.isLeft(labelled) && labelled.left.message).toContain("lnd carries Archipelago's labels")
      const missing = yield* Effect.either(Takeover.run({ data }, "lnd", "nope"))
      expect(Either.isLeft(missing) && missing.left.message).toContain("no container named nope")

      yield* Takeover.run({ data }, "lnd", "by-hand")
      const left = (yield* rt.list()).map((c) => c.id).sort()
      expect(left).toStrictEqual([ours, bystander].sort())
    }).pipe(Effect.provide(SimulatedRuntime.layer())))
})

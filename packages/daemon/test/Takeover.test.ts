// `archipelago takeover APP --container NAME`: the one way a container without Archipelago's
// labels is ever stopped and removed (issue 26).
import { SimulatedRuntime } from "@archipelago/orchestrator/testing"
import { ContainerRuntime } from "@archipelago/orchestrator"
import type { ContainerSpec } from "@archipelago/orchestrator"
import { describe, expect, it } from "@effect/vitest"
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { Effect, Result } from "effect"
import * as Takeover from "../src/Takeover.js"
import { tempDir } from "../../rpc-adapter/test/fixtures.js"

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
  it.effect("stops and removes the named stranger, refuses a labelled container and a missing one, touches nothing else", () =>
    Effect.gen(function*() {
      const rt = yield* ContainerRuntime.ContainerRuntime
      const data = tempDir("takeover-")
      const stranger = yield* rt.create(spec("by-hand", {}))
      yield* rt.start(stranger)
      const ours = yield* rt.create(spec("lnd", { "io.archipelago.managed-by": "archipelago", "io.archipelago.app": "lnd" }))
      const bystander = yield* rt.create(spec("other", {}))

      const labelled = yield* Effect.result(Takeover.run({ data }, "lnd", "lnd"))
      expect(Result.isFailure(labelled) && labelled.failure.message).toContain("lnd carries Archipelago's labels")
      const missing = yield* Effect.result(Takeover.run({ data }, "lnd", "nope"))
      expect(Result.isFailure(missing) && missing.failure.message).toContain("no container named nope")

      yield* Takeover.run({ data }, "lnd", "by-hand")
      const left = (yield* rt.list()).map((c) => c.id).sort()
      expect(left).toStrictEqual([ours, bystander].sort())
    }).pipe(Effect.provide(SimulatedRuntime.layer())))
})

describe("Takeover of an app no container is labelled with", () => {
  it.effect("says unknown app, with a did-you-mean among the catalog's apps; an app of a container of this instance has nothing to take over", () =>
    Effect.gen(function*() {
      const rt = yield* ContainerRuntime.ContainerRuntime
      const data = tempDir("takeover-")
      const apps = tempDir("takeover-apps-")
      for (const id of ["bitcoin-core", "electrs"]) mkdirSync(join(apps, id))
      yield* rt.create(spec("lnd", { "io.archipelago.managed-by": "archipelago", "io.archipelago.app": "lnd" }))

      const near = yield* Effect.result(Takeover.run({ data, apps }, "bitcoin-cor"))
      expect(Result.isFailure(near) && near.failure.message).toBe(
        "unknown app bitcoin-cor: no container of any orchestrator instance is labelled with it; did you mean bitcoin-core? (`archipelago list` shows this node's apps)"
      )
      const far = yield* Effect.result(Takeover.run({ data, apps }, "nope"))
      expect(Result.isFailure(far) && far.failure.message).toBe(
        "unknown app nope: no container of any orchestrator instance is labelled with it (`archipelago list` shows this node's apps)"
      )
      // the containers' apps count too, and an unreadable catalog is no error
      const labelled = yield* Effect.result(Takeover.run({ data, apps: join(apps, "missing") }, "lnx"))
      expect(Result.isFailure(labelled) && labelled.failure.message).toContain("did you mean lnd?")
    }).pipe(Effect.provide(SimulatedRuntime.layer())))
})

import { assert, describe, it } from "@effect/vitest"
import type { ContainerSummary } from "../../src/runtime/ContainerRuntime.js"
import { Labels } from "../../src/runtime/ContainerSpec.js"
import * as Observation from "../../src/services/Observation.js"

const summary = (name: string, labels: Record<string, string> = {}, extra: Partial<ContainerSummary> = {}): ContainerSummary => ({
  id: `${name}-id`,
  name,
  image: "localhost/archipelago/base:latest",
  state: "running",
  labels,
  ports: [],
  ...extra
})

describe("Observation", () => {
  it("finds an app's container by its app label first, then by name", () => {
    const labelled = summary("lnd-old", { [Labels.app]: "lnd" })
    const named = summary("lnd")
    assert.strictEqual(Observation.findContainer([named, labelled], "lnd", ["lnd"]), labelled)
    assert.strictEqual(Observation.findContainer([named], "lnd", ["lnd"]), named)
    assert.strictEqual(Observation.findContainer([named], "lnd", ["archy-lnd"]), undefined)
    const adopted = summary("my-lnd")
    assert.strictEqual(Observation.findContainer([adopted], "lnd", ["my-lnd", "lnd"]), adopted)
  })

  it("maps a container to an observation and the plan's facts", () => {
    const c = summary("lnd", { [Labels.app]: "lnd", [Labels.managedBy]: "archipelago", [Labels.specHash]: "h" }, {
      state: "exited",
      exitCode: 137,
      exitedAt: 5000,
      startedAt: 1000
    })
    assert.deepStrictEqual(Observation.observationOf(c), {
      state: "exited",
      observed: {
        containerId: "lnd-id",
        containerName: "lnd",
        image: "localhost/archipelago/base:latest",
        specHash: "h",
        health: "none",
        ports: [],
        startedAt: 1000,
        exitCode: 137
      }
    })
    assert.deepStrictEqual(Observation.factsOf(c), {
      id: "lnd-id",
      name: "lnd",
      state: "exited",
      managed: true,
      labelled: true,
      specHash: "h",
      exitedAt: 5000
    })
    // none of Archipelago's labels: a stranger; the app label alone (an older orchestrator's) is ours
    assert.isFalse(Observation.factsOf({ ...c, labels: {} }).labelled)
    assert.isTrue(Observation.factsOf({ ...c, labels: { "io.archipelago.app": "lnd" } }).labelled)
    assert.strictEqual(Observation.stateOf(c), "exited", "died by itself")
    assert.strictEqual(Observation.stateOf(c, { userStopped: true }), "stopped", "stopped by its user")
    assert.strictEqual(Observation.stateOf(summary("y"), { userStopped: true }), "running")
    // podman 4.3 lists a killed container as "stopped" until its cleanup runs (chaos: sigkill, OOM)
    const killed = summary("lnd", {}, { state: "stopped", exitCode: 137 })
    assert.strictEqual(Observation.stateOf(killed), "exited", "podman's transient stopped after a crash")
    assert.strictEqual(Observation.stateOf(killed, { userStopped: true }), "stopped")
    assert.isFalse(Observation.isManaged(summary("x")))
    assert.deepStrictEqual(Observation.observationOf(undefined), { state: "not-installed", observed: { health: "none", ports: [] } })
  })

  it("answeredOf: what a start or a create answered, with nothing the engine did not say", () => {
    const exited = {
      ...summary("lnd", { [Labels.specHash]: "h", [Labels.version]: "1.0.0" }, {
        state: "exited",
        exitCode: 137,
        exitedAt: 5000,
        startedAt: 1000,
        pid: 42,
        health: "unhealthy",
        imageId: "abc",
        ports: [{ host: 8080, container: 80, protocol: "tcp" }]
      }),
      // an inspect's address, which a start may change
      ipAddress: "10.88.0.5"
    }
    const fields = {
      containerId: "lnd-id",
      containerName: "lnd",
      image: "localhost/archipelago/base:latest",
      specHash: "h",
      digest: "sha256:abc",
      version: "1.0.0",
      ports: [{ host: 8080, container: 80, protocol: "tcp" as const }]
    }
    assert.deepStrictEqual(Observation.answeredOf(exited, "running", false), { state: "running", observed: { ...fields, health: "none" } })
    assert.deepStrictEqual(Observation.answeredOf(exited, "running", true), { state: "running", observed: { ...fields, health: "starting" } })
    assert.deepStrictEqual(Observation.answeredOf(exited, "created", true), { state: "installed", observed: { ...fields, health: "none" } })
  })
})

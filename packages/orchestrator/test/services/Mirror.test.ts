/**
 * Issue 14, "Pulls and mirrors": an app whose manifest names `docker.io/library/...` is pulled
 * from the configured mirror (a real registry on loopback), never from docker.io, and the pull's
 * progress reaches the install log. Image, container and app names carry this process's run tag.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { hasRegistry, type Registry, startRegistry } from "../../../../test-support/registry.js"
import { AppId } from "../../src/domain/index.js"
import * as PodmanRuntime from "../../src/runtime/PodmanRuntime.js"
import * as Archipelago from "../../src/services/Archipelago.js"
import * as HookRegistry from "../../src/services/HookRegistry.js"
import { InstallLog } from "../../src/services/InstallLog.js"
import { Lifecycle } from "../../src/services/Lifecycle.js"
import { StateStore } from "../../src/services/StateStore.js"
import { runTag } from "../runtime/podman.js"
import { ensureBaseImage, hasPodman, podman } from "./podmanFixture.js"

const id = `t-mirror-${runTag}`
const repo = `library/archy-mirror-test-${runTag}:1.0.0`
const hubRef = `docker.io/${repo}`

if (!hasPodman) console.warn("services/Mirror.test.ts skipped: podman is not available on this host")
else if (!hasRegistry) console.warn("services/Mirror.test.ts skipped: /usr/bin/docker-registry is missing (scripts/setup-host.sh installs it)")

const sleep = (ms: number) => Effect.promise(() => new Promise<void>((r) => setTimeout(r, ms)))

describe.skipIf(!hasPodman || !hasRegistry)("pulls through a mirror (real podman, loopback registry)", () => {
  let registry: Registry | undefined
  let appsDir = ""
  let pushed = ""
  const removeAll = () => {
    podman("rm", "--force", "--time", "0", id)
    podman("rmi", "--force", hubRef)
    if (pushed !== "") podman("rmi", "--force", pushed)
  }

  beforeAll(async () => {
    await Effect.runPromise(ensureBaseImage)
    registry = await startRegistry()
    pushed = registry.push("localhost/archipelago/base:latest", repo)
    // only the registry has it now: the local copies under both names are gone
    podman("rmi", "--force", pushed)
    podman("rmi", "--force", hubRef)
    appsDir = fs.mkdtempSync(path.join(os.tmpdir(), "svc-mirror-apps-"))
    fs.mkdirSync(path.join(appsDir, id))
    fs.writeFileSync(
      path.join(appsDir, id, "manifest.yml"),
      [`id: ${id}`, `name: Mirror test`, `version: "1.0.0"`, `image: ${hubRef}`, `container:`, `  command: ["sleep", "3600"]`, `stopTimeout: 2`, `restart: "no"`, ``].join("\n")
    )
  }, 180_000)

  afterAll(async () => {
    removeAll()
    await registry?.stop()
  })

  it.live("installs a docker.io/library/... app from the insecure loopback mirror; progress reaches the install log", () =>
    Effect.gen(function*() {
      const mirror = registry!.host
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "svc-mirror-data-"))
      const layer = Archipelago.layer({
        appsDir,
        dataDir,
        settings: { mirrors: [{ location: mirror, insecure: true }] },
        shutdownGrace: Duration.seconds(10)
      }).pipe(Layer.provideMerge(PodmanRuntime.layer), Layer.provide(HookRegistry.layerEmpty), Layer.provide(NodeServices.layer))
      yield* Effect.gen(function*() {
        const lifecycle = yield* Lifecycle
        const store = yield* StateStore
        const log = yield* InstallLog
        yield* lifecycle.request("install", id)
        const deadline = Date.now() + 120_000
        let state = ""
        while (Date.now() < deadline) {
          const entry = yield* store.entry(AppId.make(id))
          state = entry.state
          if (state === "running" || entry.lastError !== undefined) break
          yield* sleep(200)
        }
        const lines = (yield* log.lines(id)).map((l) => l.message)
        assert.strictEqual(state, "running", lines.join("\n"))
        const mirrored = `${mirror}/${repo}`
        assert.include(lines, `pulling ${mirrored}`)
        assert.isFalse(lines.some((l) => l.startsWith(`pulling ${hubRef}`)), `docker.io was tried:\n${lines.join("\n")}`)
        assert.isTrue(lines.some((l) => /Copying (blob|config)/.test(l)), `no pull progress in the log:\n${lines.join("\n")}`)
        assert.include(lines, `image ${hubRef} ready (pulled from ${mirrored})`)
      }).pipe(Effect.provide(layer))
      // the container runs the docker.io reference (tagged from the mirror), not the mirror's name
      assert.strictEqual(podman("inspect", "--format", "{{.ImageName}}", id).stdout, hubRef)
      assert.strictEqual(podman("image", "exists", hubRef).status, 0)
    }), 240_000)
})

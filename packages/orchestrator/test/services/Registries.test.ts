/**
 * Issue 27, "insecure/private registries and an offline switch", on real podman and a real
 * registry on loopback (Debian's `docker-registry`): an image naming `127.0.0.1:<port>/...`
 * fails without the operator's setting (podman's own error), installs with the registry listed
 * as insecure, and under `offline` a Docker Hub short name is refused before any podman pull
 * while the listed registry and a local build still work. Names carry this process's run tag.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { hasRegistry, type Registry, startRegistry } from "../../../../test-support/registry.js"
import { AppId } from "../../src/domain/index.js"
import type * as Settings from "../../src/manifest/Settings.js"
import * as PodmanRuntime from "../../src/runtime/PodmanRuntime.js"
import * as Archipelago from "../../src/services/Archipelago.js"
import * as HookRegistry from "../../src/services/HookRegistry.js"
import { InstallLog } from "../../src/services/InstallLog.js"
import { Lifecycle } from "../../src/services/Lifecycle.js"
import { StateStore } from "../../src/services/StateStore.js"
import { runTag } from "../runtime/podman.js"
import { ensureBaseImage, hasPodman, podman } from "./podmanFixture.js"

const fromRegistry = `t-reg-${runTag}`
const fromHub = `t-reg-hub-${runTag}`
const built = `t-reg-built-${runTag}`
const repo = `archy-registries-test-${runTag}:1`
const hubImage = `archy-not-on-any-registry-${runTag}:1`

if (!hasPodman) console.warn("services/Registries.test.ts skipped: podman is not available on this host")
else if (!hasRegistry) console.warn("services/Registries.test.ts skipped: /usr/bin/docker-registry is missing (scripts/setup-host.sh installs it)")

const sleep = (ms: number) => Effect.promise(() => new Promise<void>((r) => setTimeout(r, ms)))

const manifest = (id: string, source: string) =>
  [`id: ${id}`, `name: Registry test`, `version: "1.0.0"`, source, `container:`, `  command: ["sleep", "3600"]`, `stopTimeout: 2`, `restart: "no"`, ``].join("\n")

describe.skipIf(!hasPodman || !hasRegistry)("insecure and offline registries (real podman, loopback registry)", () => {
  let registry: Registry | undefined
  let appsDir = ""
  let pushed = ""
  const removeAll = () => {
    for (const id of [fromRegistry, fromHub, built]) podman("rm", "--force", "--time", "0", id)
    if (pushed !== "") podman("rmi", "--force", pushed)
    // the build's tag carries a hash of its context: every tag of the app's repository
    const tags = podman("images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", `reference=localhost/archipelago/${built}`).stdout
    for (const tag of tags.split("\n").filter((t) => t !== "")) podman("rmi", "--force", tag)
  }

  beforeAll(async () => {
    await Effect.runPromise(ensureBaseImage)
    registry = await startRegistry()
    pushed = registry.push("localhost/archipelago/base:latest", repo)
    podman("rmi", "--force", pushed) // only the registry has it now
    appsDir = fs.mkdtempSync(path.join(os.tmpdir(), "svc-registries-apps-"))
    for (const [id, source] of [[fromRegistry, `image: ${pushed}`], [fromHub, `image: ${hubImage}`], [built, `build: {context: .}`]] as const) {
      fs.mkdirSync(path.join(appsDir, id))
      fs.writeFileSync(path.join(appsDir, id, "manifest.yml"), manifest(id, source))
    }
    fs.writeFileSync(path.join(appsDir, built, "Containerfile"), "FROM localhost/archipelago/base:latest\n")
  }, 180_000)

  afterAll(async () => {
    removeAll()
    await registry?.stop()
  })

  /** Installs `id` on a fresh data dir with `settings`; answers its final state, error and install log. */
  const install = (id: string, settings: Partial<Settings.Settings>) =>
    Effect.gen(function*() {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "svc-registries-data-"))
      const layer = Archipelago.layer({ appsDir, dataDir, settings, shutdownGrace: Duration.seconds(10) }).pipe(
        Layer.provideMerge(PodmanRuntime.layer),
        Layer.provide(HookRegistry.layerEmpty),
        Layer.provide(NodeServices.layer)
      )
      return yield* Effect.gen(function*() {
        const lifecycle = yield* Lifecycle
        const store = yield* StateStore
        const log = yield* InstallLog
        yield* lifecycle.request("install", id)
        const deadline = Date.now() + 120_000
        let entry = yield* store.entry(AppId.make(id))
        while (Date.now() < deadline) {
          entry = yield* store.entry(AppId.make(id))
          if (entry.state === "running" || (entry.lastError !== undefined && entry.transition === undefined)) break
          yield* sleep(200)
        }
        const lines = (yield* log.lines(id)).map((l) => l.message)
        return { state: entry.state, error: entry.lastError, lines }
      }).pipe(Effect.provide(layer))
    })

  it.live("without the setting, podman refuses the plain-HTTP registry; listed as insecure, the app installs from it", () =>
    Effect.gen(function*() {
      const plain = yield* install(fromRegistry, {})
      assert.notStrictEqual(plain.state, "running")
      const failed = plain.lines.find((l) => l.startsWith(`failed ${pushed}: `))
      assert.isDefined(failed, plain.lines.join("\n"))
      assert.include(failed!, "server gave HTTP response to HTTPS client")
      console.info(`without the setting: ${failed}\nlastError: ${plain.error?.message}`)

      const listed = yield* install(fromRegistry, { registries: [{ location: registry!.host, insecure: true }] })
      assert.strictEqual(listed.state, "running", listed.lines.join("\n"))
      assert.include(listed.lines, `pulling ${pushed}`)
      assert.include(listed.lines, `image ${pushed} ready`)
      assert.strictEqual(podman("inspect", "--format", "{{.ImageName}}", fromRegistry).stdout, pushed)
      removeAll()
    }), 300_000)

  it.live("offline: a Docker Hub short name is refused before any pull, naming the app, manifest and image; the listed registry and a local build work", () =>
    Effect.gen(function*() {
      const settings = { registries: [{ location: registry!.host, insecure: true }], offline: true }
      const hub = yield* install(fromHub, settings)
      assert.strictEqual(hub.state, "not-installed")
      const expected = `cannot fetch the image of ${fromHub}: ${path.join(appsDir, fromHub, "manifest.yml")} image: offline: not pulling ${hubImage} ` +
        `(docker.io/library/${hubImage}): docker.io is not a listed registry and no mirror is set (listed: ${registry!.host}); ` +
        "list it under `registries` (or `mirrors`), turn `offline` off, or give the app a `build`"
      assert.include(hub.error?.message ?? "", expected)
      // no podman pull ran: nothing was contacted
      assert.isFalse(hub.lines.some((l) => l.startsWith("pulling") || l.startsWith("fetching")), hub.lines.join("\n"))
      console.info(`offline refusal: ${hub.error?.message}`)

      const listed = yield* install(fromRegistry, settings)
      assert.strictEqual(listed.state, "running", listed.lines.join("\n"))
      assert.include(listed.lines, `pulling ${pushed}`)

      const local = yield* install(built, settings)
      assert.strictEqual(local.state, "running", local.lines.join("\n"))
      assert.isFalse(local.lines.some((l) => l.startsWith("pulling")), local.lines.join("\n"))
    }), 300_000)
})

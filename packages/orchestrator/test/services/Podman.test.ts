/**
 * The orchestrator on real podman: the founding bug with a short stop window, adoption at boot,
 * kill -9, a removed container, and a stop that holds across an orchestrator restart.
 * Containers, images and volumes carry the `t-svc-` prefix and are removed afterwards.
 */
import { afterAll, assert, beforeAll, beforeEach, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { AppId } from "../../src/domain/index.js"
import { Lifecycle } from "../../src/services/Lifecycle.js"
import { Reconciler } from "../../src/services/Reconciler.js"
import { Scanner } from "../../src/services/Scanner.js"
import { StateStore } from "../../src/services/StateStore.js"
import { cleanup, ensureBaseImage, hasPodman, inspect, makeAppsDir, podman, podmanOrchestrator, prefix, until } from "./podmanFixture.js"

// a 5 s graceful stop: long enough for three scans even when a loaded machine makes each scan
// take a second, short beside a real node's minutes
const node = { id: `${prefix}node`, stopDelaySec: 5, stopTimeoutSec: 15, port: 28931 }
const apps = [node]
const id = AppId.make(node.id)

if (!hasPodman) console.warn("services/Podman.test.ts skipped: podman is not available on this host")

const sleep = (ms: number) => Effect.promise(() => new Promise<void>((r) => setTimeout(r, ms)))
const stateOf = Effect.flatMap(StateStore, (s) => Effect.map(s.entry(id), (e) => e.state))
const tmp = (p: string) => fs.mkdtempSync(path.join(os.tmpdir(), p))

describe.skipIf(!hasPodman)("Orchestrator on podman", () => {
  let appsDir = ""
  beforeAll(async () => {
    cleanup(apps)
    await Effect.runPromise(ensureBaseImage)
    appsDir = makeAppsDir(apps)
  }, 120_000)
  afterAll(() => cleanup(apps))
  beforeEach(() => {
    podman("rm", "--force", "--time", "0", node.id)
  })

  it.live("the founding bug with a short stop window: `stopping` at every scan, `stopped` after", () =>
    Effect.gen(function*() {
      const dataDir = tmp("svc-podman-fb-")
      yield* Effect.gen(function*() {
        const lifecycle = yield* Lifecycle
        const scanner = yield* Scanner
        yield* lifecycle.request("install", node.id)
        yield* until(Effect.map(stateOf, (s) => s === "running"), "installed and running", 120_000)
        const stop = yield* lifecycle.request("stop", node.id)
        assert.deepStrictEqual(stop, { appId: node.id, op: "stop", status: "stopping", generation: stop.generation })
        assert.isAbove(stop.generation, 1)
        let scansWhileRunning = 0
        // podman shows `stopping` while the app flushes; `exited` once it is down
        while (inspect(node.id)?.status === "running" || inspect(node.id)?.status === "stopping") {
          const scan = yield* scanner.scan
          const engineSays = scan.byApp.get(id)?.state
          assert.strictEqual(yield* stateOf, "stopping", `entry while the engine says ${engineSays}`)
          if (engineSays === "running" || engineSays === "stopping") scansWhileRunning++
          yield* sleep(100)
        }
        assert.isAtLeast(scansWhileRunning, 3, "scans saw the container still running during the graceful stop")
        yield* until(Effect.map(stateOf, (s) => s === "stopped"), "stopped")
        yield* scanner.scan
        assert.strictEqual(yield* stateOf, "stopped")
        yield* Effect.flatMap(Lifecycle, (l) => l.request("remove", node.id))
        yield* until(Effect.map(stateOf, (s) => s === "not-installed"), "removed")
      }).pipe(Effect.provide(podmanOrchestrator(appsDir, dataDir)))
    }), 180_000)

  it.live("adopts pre-existing containers, repairs kill -9 and removal, and a stop holds across a restart", () =>
    Effect.gen(function*() {
      // 1. an orchestrator installs the app, then goes away
      const first = tmp("svc-podman-a-")
      yield* Effect.gen(function*() {
        yield* Effect.flatMap(Lifecycle, (l) => l.request("install", node.id))
        yield* until(Effect.map(stateOf, (s) => s === "running"), "running", 120_000)
      }).pipe(Effect.provide(podmanOrchestrator(appsDir, first)))
      yield* until(Effect.sync(() => inspect(node.id)?.running === true), "the container left running", 30_000)
      const before = inspect(node.id)!

      // 2. the same instance (its instance id kept) with its state lost adopts it: same id, not restarted
      const dataDir = tmp("svc-podman-b-")
      fs.copyFileSync(path.join(first, "instance-id"), path.join(dataDir, "instance-id"))
      yield* Effect.gen(function*() {
        const store = yield* StateStore
        const entry = yield* store.entry(id)
        assert.strictEqual(entry.state, "running")
        assert.strictEqual(entry.observed.containerId, before.id)
        const intent = yield* store.intent(id)
        assert.deepStrictEqual([intent.installed, intent.wantRunning, intent.userStopped], [true, true, false])
        const adopted = inspect(node.id)!
        assert.strictEqual(adopted.id, before.id)
        assert.strictEqual(adopted.startedAt, before.startedAt, "not restarted")

        // 3. kill -9 of the app's process: running again, restarted by podman's policy (not by us)
        const restarts = Number(podman("inspect", "--format", "{{.RestartCount}}", node.id).stdout)
        process.kill(adopted.pid, "SIGKILL")
        yield* until(Effect.sync(() => {
          const c = inspect(node.id)
          return c !== undefined && c.running && c.pid !== adopted.pid
        }), "running again after kill -9", 90_000)
        assert.strictEqual(inspect(node.id)!.id, before.id, "restarted in place, not recreated")
        assert.strictEqual(Number(podman("inspect", "--format", "{{.RestartCount}}", node.id).stdout), restarts + 1)
        yield* until(Effect.map(stateOf, (s) => s === "running"), "entry running after kill -9")

        // 4. the container removed behind our back: recreated by the reconciler
        const rm = podman("rm", "--force", "--time", "0", node.id)
        assert.strictEqual(rm.status, 0, rm.stderr)
        yield* until(Effect.sync(() => {
          const c = inspect(node.id)
          return c !== undefined && c.running && c.id !== before.id
        }), "recreated and running after rm -f", 90_000)
        yield* until(Effect.map(stateOf, (s) => s === "running"), "entry running after recreation")

        // 5. the user stops it
        yield* Effect.flatMap(Lifecycle, (l) => l.request("stop", node.id))
        yield* until(Effect.map(stateOf, (s) => s === "stopped"), "stopped")
      }).pipe(Effect.provide(podmanOrchestrator(appsDir, dataDir)))

      // 6. ... and it stays stopped across an orchestrator restart
      yield* Effect.gen(function*() {
        const store = yield* StateStore
        assert.isTrue((yield* store.intent(id)).userStopped)
        yield* sleep(3_000)
        const decisions = yield* Effect.flatMap(Reconciler, (r) => r.pass)
        assert.deepStrictEqual(decisions.map((d) => d.action._tag), ["NoOp"])
        assert.isFalse(inspect(node.id)!.running)
        assert.strictEqual(yield* stateOf, "stopped")
      }).pipe(Effect.provide(podmanOrchestrator(appsDir, dataDir)))
    }), 400_000)
})

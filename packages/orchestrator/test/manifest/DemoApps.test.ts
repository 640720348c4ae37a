/**
 * The offline demo apps on real podman: each builds on the busybox base image, serves HTTP on
 * loopback and, on SIGTERM, stops gracefully (exit 0, "stopped cleanly") rather than being
 * killed. Stop delays are shortened through STOP_DELAY; no timing is asserted.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import * as Catalog from "../../src/manifest/Catalog.js"
import * as Resolve from "../../src/manifest/Resolve.js"
import * as Settings from "../../src/manifest/Settings.js"
import * as Spec from "../../src/manifest/Spec.js"
import * as BaseImage from "../../src/runtime/BaseImage.js"
import { hasPodman, removeByPrefix, runTag } from "../runtime/podman.js"
import { freePort } from "../../../../test-support/net.js"

const prefix = `t-manifest-${runTag}-`
const appsDir = fileURLToPath(new URL("../../../../apps", import.meta.url))
if (!hasPodman) console.warn("skipping the demo app tests: podman is not installed (run scripts/setup-host.sh)")

const podman = (...args: ReadonlyArray<string>): string => {
  const r = spawnSync("podman", args, { encoding: "utf8" })
  if (r.status !== 0) throw new Error(`podman ${args.join(" ")} failed (${r.status}): ${r.stderr}`)
  return r.stdout.trim()
}

/** Polls a URL until `ready(body)` holds; fails after `attempts` tries. */
const fetchUntil = async (url: string, ready: (body: string) => boolean, attempts = 100): Promise<string> => {
  let last = ""
  for (let i = 0; i < attempts; i++) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) })
      last = await res.text()
      if (res.ok && ready(last)) return last
    } catch (e) {
      last = String(e)
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`${url} never became ready; last answer: ${last}`)
}

const www = Fs.mkdtempSync(NodePath.join(Os.tmpdir(), `${prefix}www-`))
let catalog: Catalog.Catalog

beforeAll(async () => {
  if (!hasPodman) return
  removeByPrefix(prefix)
  await Effect.runPromise(BaseImage.ensure())
  catalog = await Effect.runPromise(Catalog.load(appsDir).pipe(Effect.provide(NodeServices.layer)))
  for (const id of ["demo-node", "demo-lightning", "demo-indexer", "demo-ui"]) {
    const source = Resolve.resolve(catalog.get(id)!, Settings.defaults)
    assert.strictEqual(source._tag, "Build")
    if (source._tag !== "Build") continue
    podman("build", "--quiet", "--tag", `localhost/${prefix}${id}:test`, "--file", source.containerfile, source.context)
  }
}, 300_000)

afterAll(() => {
  if (hasPodman) removeByPrefix(prefix)
  Fs.rmSync(www, { recursive: true, force: true })
})

/** Runs a demo app the way its spec says (env, stop timeout), on a free host port. */
const run = async (id: string, extra: ReadonlyArray<string> = []) => {
  const spec = Spec.containerSpec(catalog.get(id)!, Settings.defaults)
  const port = await freePort()
  const env = Object.entries({ ...spec.env, STOP_DELAY: "1" }).flatMap(([k, v]) => ["--env", `${k}=${v}`])
  const name = `${prefix}${id}`
  podman("run", "--detach", "--name", name, "--publish", `${port}:8080`, ...env, ...extra, `localhost/${prefix}${id}:test`)
  return { name, port, stopTimeout: spec.stopTimeoutSec }
}

const stopGracefully = (c: { readonly name: string; readonly stopTimeout: number }) => {
  podman("stop", "--time", String(c.stopTimeout), c.name)
  const exitCode = podman("inspect", c.name, "--format", "{{.State.ExitCode}}")
  const logs = spawnSync("podman", ["logs", c.name], { encoding: "utf8" })
  return { exitCode, logs: `${logs.stdout}${logs.stderr}` }
}

describe.skipIf(!hasPodman)("demo apps on podman", () => {
  it("demo-node, demo-lightning and demo-indexer serve their status and stop gracefully", async () => {
    const node = await run("demo-node")
    const body = await fetchUntil(`http://127.0.0.1:${node.port}/status`, (b) => b.trim() === "running")
    assert.strictEqual(body.trim(), "running")
    assert.include(await fetchUntil(`http://127.0.0.1:${node.port}/`, (b) => b.includes("demo-node")), `<b id="status">running</b>`)

    const nodeEnv = ["--env", `NODE_PORT=${node.port}`]
    const lightning = await run("demo-lightning", nodeEnv)
    const indexer = await run("demo-indexer", nodeEnv)
    // both reach demo-node through host.containers.internal and report what it says
    for (const c of [lightning, indexer]) {
      const page = await fetchUntil(`http://127.0.0.1:${c.port}/`, (b) => b.includes(`<span id="node">running</span>`), 150)
      assert.include(page, `<b id="status">running</b>`)
    }
    for (const c of [indexer, lightning, node]) {
      const stopped = stopGracefully(c)
      assert.strictEqual(stopped.exitCode, "0", `${c.name}: ${stopped.logs}`)
      assert.include(stopped.logs, "SIGTERM received")
      assert.include(stopped.logs, "stopped cleanly")
    }
  }, 180_000)

  it("demo-ui serves the page mounted read-only at /var/www", async () => {
    Fs.writeFileSync(NodePath.join(www, "index.html"), "<h1>rendered by the hook</h1>\n", { mode: 0o644 })
    const ui = await run("demo-ui", ["--volume", `${www}:/var/www:ro`])
    assert.strictEqual(await fetchUntil(`http://127.0.0.1:${ui.port}/`, (b) => b.includes("rendered")), "<h1>rendered by the hook</h1>\n")
    const stopped = stopGracefully(ui)
    assert.strictEqual(stopped.exitCode, "0", stopped.logs)
    assert.include(stopped.logs, "stopped cleanly")
  }, 120_000)
})

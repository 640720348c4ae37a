/**
 * Issue 14's proof on podman with a real registry on loopback, through a real `archipelago
 * serve` (the built CLI) and its RPC API: an app published as 1.0.0 (healthy), 1.1.0 (its health
 * check never passes) and 1.2.0 (healthy). The update to 1.1.0 rolls back to 1.0.0's digest even
 * after the 1.0.0 tag is deleted from the registry and from local storage; a server SIGKILLed
 * during 1.1.0's health gate comes back and rolls back; the update to 1.2.0 succeeds; the data
 * written under 1.0.0 survives each. Needs podman, docker-registry and `npm run build`.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Serve, startServe, type View } from "../../../test-support/chaos/Serve.js"
import { must, podman } from "../../../test-support/podman.js"
import { hasRegistry, type Registry, startRegistry } from "../../../test-support/registry.js"
import { releaseContainerfile, releaseManifest, releaseOkCheck } from "../../../test-support/releases.js"
import { hasPodman, runTag } from "../../orchestrator/test/runtime/podman.js"

const root = fileURLToPath(new URL("../../../", import.meta.url))
const cli = `${root}packages/daemon/dist/cli.js`
const id = `t-upd-${runTag}`
const repo = `archy-upd-${runTag}/app`
const base = "localhost/archipelago/base:latest"

if (!hasPodman) console.warn("Updates.test.ts skipped: podman is missing or not working")
else if (!hasRegistry) console.warn("Updates.test.ts skipped: /usr/bin/docker-registry is missing (scripts/setup-host.sh installs it)")

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// Short health timings keep the test's wall time small; 1.1.0's image fails the check (RELEASE_OK=no).
const manifest = (host: string, version: string) =>
  releaseManifest({
    id,
    host,
    repo,
    version,
    volumes: [{ source: "./data", target: "/data" }],
    health: { command: releaseOkCheck, interval: 2, timeout: 2, retries: 3, startPeriod: 2 }
  })

describe.runIf(hasPodman && hasRegistry)("health-gated updates on podman (loopback registry, real serve)", { concurrent: false }, () => {
  let registry: Registry | undefined
  let serve: Serve | undefined
  let appsDir = ""
  let dataDir = ""
  const refs: Array<string> = []

  const view = async (): Promise<View> => (await serve!.list()).find((v) => v.id === id)!

  const until = (what: string, done: (v: View) => boolean) => serve!.untilView(id, what, done, 240_000)
  const settled = (v: View) => v.transition === null && v.state === "running"
  const pending = () => {
    const file = join(dataDir, "state.json")
    return existsSync(file) ? JSON.parse(readFileSync(file, "utf8")).apps?.[id]?.journal : undefined
  }
  const release = async (version: string) => {
    writeFileSync(join(appsDir, id, "manifest.yml"), manifest(registry!.host, version))
    const report = await serve!.rpc<{ _tag: string; changed: Array<string> }>("catalog-reload")
    expect(report).toEqual({ _tag: "Reloaded", apps: 1, changed: [id] })
  }
  const data = () => podman("exec", id, "cat", "/data/wallet.dat").stdout
  const log = async () => (await serve!.rpc<Array<{ message: string }>>("install-log", { appId: id, limit: 500 })).map((l) => l.message)

  beforeAll(async () => {
    if (!existsSync(cli)) throw new Error(`${cli} is missing: run npm run build first`)
    registry = await startRegistry()
    // 1.1.0 is the broken release: its health check never passes
    refs.push(...registry.publish(repo, ["1.0.0", "1.1.0", "1.2.0"], (version) =>
      releaseContainerfile(base, version, { RELEASE_OK: version === "1.1.0" ? "no" : "yes" })))
    appsDir = mkdtempSync(join(tmpdir(), "archy-upd-apps-"))
    dataDir = mkdtempSync(join(tmpdir(), "archy-upd-data-"))
    mkdirSync(join(appsDir, id))
    writeFileSync(join(appsDir, id, "manifest.yml"), manifest(registry.host, "1.0.0"))
    serve = await startServe({ root, appsDir, dataDir, env: registry.env(process.env), interval: "2s" })
  }, 300_000)

  afterAll(async () => {
    await serve?.close()
    podman("rm", "--force", "--time", "0", id)
    for (const ref of refs) podman("rmi", "--force", ref)
    podman("untag", `localhost/archipelago/hold/${id}:rollback`)
    await registry?.stop()
  }, 120_000)

  let digest100 = ""

  it("installs 1.0.0 from the registry, healthy, with its digest and version", async () => {
    await serve!.rpc("container-install", { appId: id })
    const v = await until("1.0.0 running", settled)
    expect(v.runningVersion).toBe("1.0.0")
    expect(v.digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(v.updateAvailable).toBeNull()
    digest100 = v.digest as string
    expect(must("inspect", "--format", "{{index .Config.Labels \"io.archipelago.image-digest\"}}", id)).toBe(digest100)
    must("exec", id, "sh", "-c", "echo written under 1.0.0 > /data/wallet.dat")
  }, 300_000)

  it("rolls the update to 1.1.0 back to 1.0.0's digest, with 1.0.0's tag gone from the registry and local storage", async () => {
    // delete 1.0.0 from the registry (by its manifest digest) and untag it locally
    const url = `http://${registry!.host}/v2/${repo}/manifests`
    const head = await fetch(`${url}/1.0.0`, {
      method: "HEAD",
      headers: { accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json" }
    })
    const manifestDigest = head.headers.get("docker-content-digest")
    expect(manifestDigest).toMatch(/^sha256:/)
    expect((await fetch(`${url}/${manifestDigest}`, { method: "DELETE" })).status).toBe(202)
    expect((await fetch(`${url}/1.0.0`, { method: "HEAD" })).status).toBe(404)
    must("untag", `${registry!.host}/${repo}:1.0.0`)
    expect(podman("image", "exists", `${registry!.host}/${repo}:1.0.0`).status).toBe(1)

    await release("1.1.0")
    const offered = await view()
    expect(offered.updateAvailable).toEqual({ from: "1.0.0", to: "1.1.0", direction: "upgrade" })
    expect(offered.digest).toBe(digest100)

    await serve!.rpc("container-update", { appId: id })
    const v = await until("the update to end", (x) => x.transition === null && x.lastError !== null)
    expect(v.lastError?.message).toMatch(/^update to 1\.1\.0 rolled back: health check failed 3 times: cmd sh -c/)
    expect(v.state).toBe("running")
    expect(v.digest).toBe(digest100)
    expect(v.runningVersion).toBe("1.0.0")
    expect(v.updateAvailable).toEqual({ from: "1.0.0", to: "1.1.0", direction: "upgrade" })
    // the record ends in the write that settles the view; on disk it follows within a group commit
    for (let i = 0; i < 100 && pending() !== undefined; i++) await new Promise((r) => setTimeout(r, 100))
    expect(pending()).toBeUndefined()
    expect(data()).toBe("written under 1.0.0\n")
    const lines = await log()
    expect(lines.some((l) => l.startsWith("update to 1.1.0 failed: health check failed 3 times"))).toBe(true)
    expect(lines.some((l) => l.startsWith("rolled back to 1.0.0"))).toBe(true)
    // the pull's progress (podman's layer by layer lines) reached the install log
    expect(lines.some((l) => /^Copying (blob|config) /.test(l)), lines.join("\n")).toBe(true)
  }, 300_000)

  it("a server SIGKILLed during 1.1.0's health gate comes back and rolls back", async () => {
    await serve!.rpc("container-update", { appId: id })
    const end = Date.now() + 180_000
    while (pending()?.step !== "gating") {
      if (Date.now() > end) throw new Error(`the update never reached its health gate:\n${serve!.output().slice(-3000)}`)
      await sleep(100)
    }
    await serve!.kill()
    expect(pending()?.step).toBe("gating")
    expect(pending()?.from.digest).toBe(digest100)
    await serve!.restart()
    const v = await until("the resumed update to end", (x) => x.transition === null && pending() === undefined && x.state === "running")
    expect(v.lastError?.message).toMatch(/^update to 1\.1\.0 rolled back: /)
    expect(v.digest).toBe(digest100)
    expect(v.runningVersion).toBe("1.0.0")
    expect(data()).toBe("written under 1.0.0\n")
  }, 300_000)

  it("the update to 1.2.0 is proved healthy and kept; the data is still there", async () => {
    await release("1.2.0")
    expect((await view()).updateAvailable).toEqual({ from: "1.0.0", to: "1.2.0", direction: "upgrade" })
    await serve!.rpc("container-update", { appId: id })
    const v = await until("1.2.0 proved", (x) => x.transition === null && x.runningVersion === "1.2.0")
    expect(v.lastError).toBeNull()
    expect(v.state).toBe("running")
    expect(v.digest).not.toBe(digest100)
    expect(v.updateAvailable).toBeNull()
    expect(data()).toBe("written under 1.0.0\n")
    expect(podman("image", "exists", `localhost/archipelago/hold/${id}:rollback`).status).toBe(1)
  }, 300_000)
})

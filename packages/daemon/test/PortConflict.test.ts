/**
 * Issue 27 on podman, through a real `archipelago serve` (the built CLI) and its RPC API: an app
 * publishing a host port another program (a node server here) already listens on. Its view says
 * so in the operator's words first (`lastError`'s first line names the port), its crash-loop
 * record says the container never ran (not a crash), and the journal's line leads with the same
 * sentence, podman's stderr in its `detail` field. Once the port is free the reconciler starts it.
 * Needs podman and `npm run build`.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import type { Server } from "node:net"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freePort, type Serve, startServe, type View } from "../../../test-support/chaos/Serve.js"
import { podman } from "../../../test-support/podman.js"
import { hasPodman, runTag } from "../../orchestrator/test/runtime/podman.js"

const root = fileURLToPath(new URL("../../../", import.meta.url))
const id = `t-portc-${runTag}`
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

if (!hasPodman) console.warn("PortConflict.test.ts skipped: podman is missing or not working")

describe.runIf(hasPodman)("a host port in use is a failure to start, not a crash (podman, real serve)", { concurrent: false }, () => {
  let serve: Serve | undefined
  let holder: Server | undefined
  let port = 0

  const until = (what: string, done: (v: View) => boolean) => serve!.untilView(id, what, done)
  const journal = () =>
    serve!.output().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>)

  beforeAll(async () => {
    port = await freePort()
    holder = createServer((socket) => socket.destroy())
    await new Promise<void>((resolve, reject) => {
      holder!.once("error", reject)
      holder!.listen(port, "127.0.0.1", () => resolve())
    })
    const appsDir = mkdtempSync(join(tmpdir(), "archy-portc-apps-"))
    const dataDir = mkdtempSync(join(tmpdir(), "archy-portc-data-"))
    mkdirSync(join(appsDir, id))
    writeFileSync(join(appsDir, id, "Containerfile"), "FROM localhost/archipelago/base:latest\nCMD [\"sleep\", \"3600\"]\n")
    writeFileSync(
      join(appsDir, id, "manifest.yml"),
      `id: ${id}\nname: ${id}\nversion: "1.0.0"\nbuild: {context: .}\nstopTimeout: 5\nports:\n  - host: ${port}\n    container: 8080\n`
    )
    serve = await startServe({ root, appsDir, dataDir, interval: "2s", args: ["--log-format", "json"], observe: false })
  }, 300_000)

  afterAll(async () => {
    await new Promise<void>((resolve) => (holder?.listening === true ? holder.close(() => resolve()) : resolve()))
    await serve?.close()
    podman("rm", "--force", "--time", "0", id)
    const images = podman("images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", `reference=localhost/archipelago/${id}`).stdout
    for (const ref of images.split("\n").filter((r) => r !== "")) podman("rmi", "--force", ref)
  }, 120_000)

  it("the view names the port first, crashLoop.neverRan is true, and the journal leads with the same sentence", async () => {
    await serve!.rpc("container-install", { appId: id })
    // the reconciler's next attempt is a start of the container the install left, or, when the
    // failed install left none, an install again: either way it names the port first
    const sentenceOf = (op: string) => `${id} could not ${op}: host port ${port} is already in use by another program`
    const v = await until("a failed reconciler start", (x) => (x["crashLoop"] as { neverRan?: boolean } | null)?.neverRan === true)
    const [first, blank, ...stderr] = v.lastError!.message.split("\n")
    const op = v.lastError!.op
    expect(["start", "install"]).toContain(op)
    expect(first).toBe(sentenceOf(op))
    expect(blank).toBe("")
    expect(stderr.join("\n")).toMatch(new RegExp(`^Error: unable to start container "[0-9a-f]{12}…": cannot listen on the TCP port: listen tcp4 :${port}: bind: address already in use$`))
    expect(v.state).not.toBe("running")
    const crashLoop = v["crashLoop"] as { restarts: number; neverRan?: boolean }
    expect(crashLoop.restarts).toBeGreaterThanOrEqual(1)

    // the install itself failed the same way, and the reconciler's attempt after it
    const warnings = () => journal().filter((e) => e["appId"] === id && e["logLevel"] === "WARN")
    // the line is written just after the view changed
    for (let i = 0; i < 100 && warnings().length < 2; i++) await sleep(100)
    const failures = warnings()
    expect(failures.map((e) => [e["op"], e["message"]]).slice(0, 2)).toStrictEqual([
      ["install", sentenceOf("install")],
      [op, sentenceOf(op)]
    ])
    expect(failures[1]!["detail"]).toMatch(new RegExp(`bind: address already in use$`))
    expect(String(failures[1]!["detail"])).not.toMatch(/[0-9a-f]{64}/)
  }, 300_000)

  it("once the port is free the reconciler starts it, and the record no longer says it never ran", async () => {
    await new Promise<void>((resolve) => holder!.close(() => resolve()))
    const v = await until("running", (x) => x.state === "running" && x.transition === null)
    expect((v["crashLoop"] as { neverRan?: boolean } | null)?.neverRan).toBeUndefined()
    expect(v.lastError).toBeNull()
  }, 300_000)
})

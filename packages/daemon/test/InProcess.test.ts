/**
 * The node in the test's own process through the Promise facade, on the simulator: the client it
 * hands back installs and stops an app with `{ wait: true }`, and `close` shuts the node down.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import * as InProcess from "../src/InProcess.js"

const apps = fileURLToPath(new URL("../../../apps", import.meta.url))

describe("InProcess", () => {
  it("starts a node in this process whose client installs and stops with { wait: true }, and closes it", async () => {
    const data = mkdtempSync(join(tmpdir(), "archy-inprocess-"))
    const node = await InProcess.start({ apps, data, engine: "sim", interval: "1 second" })
    try {
      expect(node.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      const installed = await node.client.install("demo-node", { wait: true, timeoutMs: 60_000, pollIntervalMs: 100 })
      expect(installed.app.state).toBe("running")
      const stopped = await node.client.stop("demo-node", { wait: true, timeoutMs: 60_000, pollIntervalMs: 100 })
      expect(stopped.app.state).toBe("stopped")
    } finally {
      await node.close()
      rmSync(data, { recursive: true, force: true })
    }
    await expect(fetch(`${node.url}/rpc`)).rejects.toThrow()
  }, 120_000)
})

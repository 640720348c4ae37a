/**
 * The client as a Node user without Effect drives the real `archipelago serve` (its simulated
 * engine: no podman needed), with the `ws` package's WebSocket: install, stop and start with
 * `{ wait: true }`, first without a socket (polling `container-list`), then over the live
 * socket; each resolves once the server's view of the app says the operation is over.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { WebSocket } from "ws"
import { ArchyClient } from "../src/index.js"
import type { AppView } from "@archipelago/orchestrator/domain"
import { startRealServer } from "./support/RealServer.js"
import type { RealServer } from "./support/RealServer.js"

const stateOf = async (client: ArchyClient, appId: string): Promise<string | undefined> =>
  (await client.call<ReadonlyArray<AppView.AppView>>("container-list")).find((a) => a.id === appId)?.state

describe("ArchyClient against archipelago serve (simulated engine)", { timeout: 240_000 }, () => {
  let server: RealServer
  beforeAll(async () => {
    server = await startRealServer({ engine: "sim" })
  }, 180_000)
  afterAll(async () => {
    await server?.cleanup()
  })

  it("install, stop and start with { wait: true }: by polling, then over the socket", async () => {
    const appId = server.id("demo-node")
    const client = new ArchyClient({ url: server.url, token: server.token, WebSocket, pollIntervalMs: 200 })
    expect(await stateOf(client, appId)).toBe("not-installed")

    const installed = await client.install(appId, { wait: true, timeoutMs: 120_000, pollIntervalMs: 100 })
    expect(installed.app).toMatchObject({ id: appId, state: "running" })
    expect(installed.app.generation).toBeGreaterThan(installed.accepted.generation)

    const stopped = await client.stop(appId, { wait: true, timeoutMs: 60_000, pollIntervalMs: 100 })
    expect([stopped.accepted.op, stopped.app.state]).toEqual(["stop", "stopped"])
    expect(await stateOf(client, appId)).toBe("stopped")

    client.start()
    try {
      await new Promise<void>((resolve) => {
        const done = client.subscribe(() => client.connection === "open" && client.apps.length > 0 && (done(), resolve()))
      })
      const started = await client.start(appId, { wait: true, timeoutMs: 60_000 })
      expect(started.app.state).toBe("running")
      const again = await client.stop(appId, { wait: true, timeoutMs: 60_000 })
      expect(again.app.state).toBe("stopped")
      expect(client.app(appId)?.visualState).toBe("stopped")
      expect(client.connection).toBe("open")
      expect(await stateOf(client, appId)).toBe("stopped")
    } finally {
      client.stop()
    }
  })
})

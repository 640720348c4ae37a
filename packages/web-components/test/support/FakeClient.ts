/**
 * The client tests' fixture: per test, the scripted `FakeServer` and an `ArchyClient` of it with a
 * fast reconnect, both closed after the test (`useFakeClient` registers the `afterEach`).
 */
import type { AppView } from "@archipelago/orchestrator/domain"
import { afterEach } from "@effect/vitest"
import { WebSocket } from "ws"
import { ArchyClient } from "../../src/client/ArchyClient.js"
import { FakeServer } from "./FakeServer.js"

/** Reconnects after 20 ms, doubling up to 100 ms. */
export const fastBackoff = { initialMs: 20, maxMs: 100, factor: 2 }

/** Answers a `setup(views, options)` that starts a server with `views` and a client of it (polling every 50 ms by default). */
export const useFakeClient = () => {
  let server: FakeServer | undefined
  let client: ArchyClient | undefined
  afterEach(async () => {
    client?.stop()
    client = undefined
    await server?.close()
    server = undefined
  })
  return async (
    views: ReadonlyArray<AppView.AppView>,
    options: { readonly token?: string; readonly pollIntervalMs?: number } = {}
  ): Promise<{ readonly server: FakeServer; readonly client: ArchyClient }> => {
    const token = options.token === undefined ? {} : { token: options.token }
    server = new FakeServer(views, token)
    await server.listen()
    client = new ArchyClient({ url: server.url, WebSocket, backoff: fastBackoff, pollIntervalMs: options.pollIntervalMs ?? 50, ...token })
    return { server, client }
  }
}

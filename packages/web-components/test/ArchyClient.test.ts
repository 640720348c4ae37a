import { describe, expect, it } from "@effect/vitest"
import { WebSocket } from "ws"
import { ArchyClient, defaultBackoff, reconnectDelay } from "../src/client/ArchyClient.js"
import { ProtocolError, RpcError, TransportError } from "../src/client/RpcError.js"
import { view } from "./support/FakeServer.js"
import { useFakeClient } from "./support/FakeClient.js"
import { waitFor } from "./support/waitFor.js"

const Socket = WebSocket

const start = useFakeClient()
const setup = (token?: string, pollIntervalMs = 50) =>
  start([view("lnd", "LND", "running"), view("bitcoin-core", "Bitcoin Core", "stopped")], token === undefined ? { pollIntervalMs } : { token, pollIntervalMs })

const shown = (c: ArchyClient, id: string) => c.app(id)?.visualState

describe("ArchyClient", () => {
  it("reconnect delays grow by the factor up to the cap", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 10].map((n) => reconnectDelay(defaultBackoff, n))).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000, 15000])
  })

  it("authenticates the socket and the RPCs with the bearer token", async () => {
    const { server, client } = await setup("s3cret")
    client.start()
    await waitFor("snapshot", () => client.apps.length === 2)
    expect(client.connection).toBe("open")
    expect(client.apps.map((a) => a.view.id)).toEqual(["lnd", "bitcoin-core"])
    expect(await client.version()).toEqual({ version: "0.1.0", engine: "simulated", engineVersion: "test" })
    expect(server.calls.at(-1)).toEqual({ method: "server.version", params: {}, auth: "bearer" })
  })

  it("a request without credentials is a TransportError with the HTTP status", async () => {
    const { server } = await setup("s3cret")
    const anonymous = new ArchyClient({ url: server.url, WebSocket: Socket })
    const error = await anonymous.call("container-list").then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(TransportError)
    expect((error as TransportError).status).toBe(401)
  })

  it("a JSON-RPC error is an RpcError with the server's code and message", async () => {
    const { client } = await setup()
    const error = await client.call("nope").then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(RpcError)
    expect([(error as RpcError).code, (error as RpcError).message]).toEqual([-32601, "method not found: nope"])
  })

  it("a result that is not what the protocol says is a ProtocolError naming the method and the field, not a cast", async () => {
    const { server, client } = await setup()
    server.rawResults.set("container-list", [view("lnd", "LND", "running"), { ...view("x", "X", "running"), state: "sleeping" }])
    const error = await client.refresh().then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(ProtocolError)
    expect(error).toBeInstanceOf(TransportError)
    expect([(error as ProtocolError).method, (error as ProtocolError).field]).toEqual(["container-list", "result[1].state"])
    expect((error as ProtocolError).message).toMatch(/^container-list: .*result\[1\]\.state: expected one of not-installed, /)
    expect(client.apps).toEqual([])

    server.rawResults.set("container-stop", { appId: "lnd", op: "stop", status: "stopping" })
    await client.refresh().catch(() => {})
    server.rawResults.delete("container-list")
    await client.refresh()
    const refused = await client.request("stop", "lnd")
    expect(refused._tag).toBe("Refused")
    expect(refused._tag === "Refused" && refused.error instanceof ProtocolError ? refused.error.field : null).toBe("result.generation")
    expect(shown(client, "lnd")).toBe("running")
  })

  it("a notification that is not what the protocol says is not applied: the socket is dropped and the connection says why", async () => {
    const { server, client } = await setup()
    client.start()
    await waitFor("snapshot", () => client.apps.length === 2 && client.connection === "open")
    server.sendRaw({ jsonrpc: "2.0", method: "state.changed", params: { app: { ...view("lnd", "LND", "stopped"), ports: [{ host: "9735" }] }, seq: server.seq + 1 } })
    await waitFor("refused", () => client.connection === "lost")
    expect(client.connectionError).toBe("state.changed: the server sent a message this dashboard does not understand: params.app.ports[0].host: expected a number")
    expect(client.protocolError?.field).toBe("params.app.ports[0].host")
    expect(shown(client, "lnd")).toBe("running")
    // a server that speaks the protocol again is followed again
    await waitFor("reconnected", () => client.connection === "open")
    server.set("lnd", "stopping")
    await waitFor("change", () => shown(client, "lnd") === "stopping")
  })

  it("watchBackups: told when the socket opens and on each backups.changed of its app; a malformed notice is refused", async () => {
    const { server, client } = await setup()
    const heard: Array<string> = []
    const stop = client.watchBackups("lnd", () => heard.push("lnd"))
    client.watchBackups("bitcoin-core", () => heard.push("bitcoin-core"))
    client.start()
    await waitFor("told on open", () => heard.length === 2)
    server.addBackup("lnd", { file: "lnd-1.tar", createdAt: 1, bytes: 1 })
    await waitFor("the notice", () => heard.length === 3)
    expect(heard).toEqual(["lnd", "bitcoin-core", "lnd"])
    stop()
    server.addBackup("lnd", { file: "lnd-2.tar", createdAt: 2, bytes: 1 })
    server.addBackup("bitcoin-core", { file: "bitcoin-core-1.tar", createdAt: 3, bytes: 1 })
    await waitFor("the other app's notice", () => heard.length === 4)
    expect(heard.at(-1)).toBe("bitcoin-core")
    server.sendRaw({ jsonrpc: "2.0", method: "backups.changed", params: { app: "lnd" } })
    await waitFor("refused", () => client.connection === "lost")
    expect(client.protocolError?.field).toBe("params.appId")
  })

  it("applies ordered changes and resyncs with a fresh snapshot after a gap", async () => {
    const { server, client } = await setup()
    client.start()
    await waitFor("snapshot", () => client.apps.length === 2)
    server.set("bitcoin-core", "starting")
    await waitFor("change", () => shown(client, "bitcoin-core") === "starting")
    expect(server.socketCount).toBe(1)
    server.skipSeq()
    server.set("bitcoin-core", "running")
    await waitFor("resync", () => shown(client, "bitcoin-core") === "running")
    expect(server.socketCount).toBe(2)
    expect(client.store.seq).toBe(server.seq)
  })

  it("while the socket is down it polls, shows the connection lost, and recovers", async () => {
    const { server, client } = await setup()
    client.start()
    await waitFor("open", () => client.connection === "open")
    server.refuseSockets = true
    server.killSockets()
    await waitFor("lost", () => client.connection === "lost")
    server.set("lnd", "stopped")
    await waitFor("polled change", () => shown(client, "lnd") === "stopped")
    server.refuseSockets = false
    await waitFor("reconnected", () => client.connection === "open")
    expect(client.connectionError).toBe(null)
    const polls = server.calls.filter((c) => c.method === "container-list").length
    server.set("lnd", "starting")
    await waitFor("live change", () => shown(client, "lnd") === "starting")
    await new Promise((r) => setTimeout(r, 200))
    expect(server.calls.filter((c) => c.method === "container-list").length).toBe(polls)
  })

  it("a stop shows stopping at once and holds it until the server says stopped", async () => {
    const { server, client } = await setup()
    client.start()
    await waitFor("snapshot", () => client.apps.length === 2)
    server.scripts.set("lnd:stop", { staleScanFirst: true, hold: true, scans: 4, scanEveryMs: 20 })
    const seen: Array<string | undefined> = []
    client.subscribe(() => seen.push(shown(client, "lnd")))
    const result = client.request("stop", "lnd")
    expect(shown(client, "lnd")).toBe("stopping")
    await waitFor("held", () => server.isHeld("lnd"))
    server.release("lnd")
    expect(await result).toEqual({ _tag: "Accepted", accepted: { appId: "lnd", op: "stop", status: "stopping", generation: 1 } })
    await waitFor("stopped", () => shown(client, "lnd") === "stopped")
    expect(seen.length).toBeGreaterThan(4)
    expect(seen.slice(0, seen.indexOf("stopped"))).toEqual(Array(seen.indexOf("stopped")).fill("stopping"))
    expect(server.calls.find((c) => c.method === "container-stop")?.params).toEqual({ appId: "lnd" })
  })

  it("a refused request restores the previous state and records the error", async () => {
    const { server, client } = await setup()
    client.start()
    await waitFor("snapshot", () => client.apps.length === 2)
    server.refusals.set("bitcoin-core:start", { code: -32002, message: "cannot start bitcoin-core: update is already in progress" })
    const result = await client.request("start", "bitcoin-core")
    expect(result._tag).toBe("Refused")
    expect(client.app("bitcoin-core")).toMatchObject({
      visualState: "stopped",
      pending: null,
      refusal: { op: "start", code: -32002, message: "cannot start bitcoin-core: update is already in progress" }
    })
  })
})

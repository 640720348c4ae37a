/**
 * The Promise-based operations of `ArchyClient` against the scripted server: `stop(appId)`
 * resolves with the server's answer; `{ wait: true }` resolves once a view of the app newer than
 * the answer's generation shows the stop over (never on a stale view of an older generation),
 * rejects with the app's `lastError` when it failed, times out naming the app and the op, stops
 * on an abort, and works from the socket's changes or, without a socket, by polling.
 */
import { describe, expect, it } from "@effect/vitest"
import { OperationError, OperationTimeoutError } from "../src/client/Operations.js"
import { RpcError } from "../src/client/RpcError.js"
import { view } from "./support/FakeServer.js"
import { useFakeClient } from "./support/FakeClient.js"
import { waitFor } from "./support/waitFor.js"

const start = useFakeClient()

const setup = async (options: { readonly live: boolean }, lnd = view("lnd", "LND", "running")) => {
  const { server, client } = await start([lnd, view("bitcoin-core", "Bitcoin Core", "stopped")], { token: "s3cret" })
  if (options.live) {
    client.start()
    await waitFor("snapshot", () => client.apps.length === 2 && client.connection === "open")
  }
  return { server, client }
}

/** The promise's outcome so far, without waiting for it. */
const track = <A>(p: Promise<A>) => {
  const t: { settled: boolean; value?: A; error?: unknown } = { settled: false }
  p.then((value) => Object.assign(t, { settled: true, value }), (error: unknown) => Object.assign(t, { settled: true, error }))
  return t
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe("ArchyClient operations", () => {
  it("without wait: resolves with the server's answer as soon as it accepted; a refusal rejects", async () => {
    const { server, client } = await setup({ live: false })
    server.scripts.set("lnd:stop", { manual: true })
    expect(await client.stop("lnd")).toEqual({ appId: "lnd", op: "stop", status: "stopping", generation: 1 })
    expect(server.apps.get("lnd")?.state).toBe("stopping")
    server.refusals.set("bitcoin-core:start", { code: -32002, message: "cannot start bitcoin-core: update is already in progress" })
    const error = await client.start("bitcoin-core", { wait: true }).then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(RpcError)
    expect((error as RpcError).reason).toBe("cannot start bitcoin-core: update is already in progress")
  })

  it("with wait over the socket: resolves on the view past the answer's generation, not on an older generation's stopped view", async () => {
    const { server, client } = await setup({ live: true })
    server.scripts.set("lnd:stop", { manual: true })
    const stopping = track(client.stop("lnd", { wait: true }))
    await waitFor("accepted", () => server.apps.get("lnd")?.state === "stopping")
    const generation = server.apps.get("lnd")!.generation
    // a stale scan of an earlier stop: stopped, no transition, but an older generation
    server.push({ ...server.apps.get("lnd")!, generation: generation - 1, state: "stopped", visualState: "stopped", transition: null })
    // the transitional view again (the request's own generation)
    server.push(server.apps.get("lnd")!)
    await waitFor("the pushes", () => client.store.seq === server.seq)
    await sleep(100)
    expect(stopping.settled).toBe(false)
    server.set("lnd", "stopped", { transition: null })
    await waitFor("settled", () => stopping.settled)
    expect(stopping.error).toBeUndefined()
    expect(stopping.value).toMatchObject({ accepted: { appId: "lnd", op: "stop", generation }, app: { state: "stopped", generation: generation + 1 } })
    expect(client.app("lnd")?.visualState).toBe("stopped")
    // the socket told: no container-list was read
    expect(server.calls.filter((c) => c.method === "container-list")).toEqual([])
  })

  it("with wait: rejects with the app's lastError when the operation failed", async () => {
    const { server, client } = await setup({ live: true })
    server.scripts.set("lnd:stop", { failWith: "podman said: container is paused", scanEveryMs: 10 })
    const error = await client.stop("lnd", { wait: true }).then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(OperationError)
    expect(error).toMatchObject({ appId: "lnd", op: "stop", reason: "podman said: container is paused", app: { state: "running" } })
    expect((error as Error).message).toBe("stop lnd failed: podman said: container is paused")
  })

  it("with wait: an error shown before the request is not the operation's; a start that leaves the app exited is a failure", async () => {
    const old = { op: "stop" as const, message: "an earlier stop failed", at: 1 }
    const { server, client } = await setup({ live: true }, view("lnd", "LND", "running", { lastError: old }))
    server.scripts.set("lnd:stop", { manual: true })
    const stopping = track(client.stop("lnd", { wait: true }))
    await waitFor("accepted", () => server.apps.get("lnd")?.state === "stopping")
    // the transition expired: the state is observed, the earlier error stays
    server.set("lnd", "exited", { transition: null })
    await waitFor("settled", () => stopping.settled)
    expect(stopping.value).toMatchObject({ app: { state: "exited", lastError: old } })

    server.scripts.set("lnd:start", { manual: true })
    const starting = track(client.start("lnd", { wait: true }))
    await waitFor("accepted", () => server.apps.get("lnd")?.state === "starting")
    server.set("lnd", "exited", { transition: null, exitCode: 3 })
    await waitFor("settled", () => starting.settled)
    expect(starting.error).toBeInstanceOf(OperationError)
    expect((starting.error as OperationError).reason).toBe("the app is exited (exit code 3) after start")
  })

  it("with wait and no socket: polls container-list until the operation settled", async () => {
    const { server, client } = await setup({ live: false })
    server.scripts.set("bitcoin-core:start", { scans: 3, scanEveryMs: 30 })
    const settled = await client.start("bitcoin-core", { wait: true, pollIntervalMs: 20 })
    expect(settled.app).toMatchObject({ id: "bitcoin-core", state: "running", generation: settled.accepted.generation + 1 })
    expect(server.calls.filter((c) => c.method === "container-list").length).toBeGreaterThan(1)
    expect(server.socketCount).toBe(0)
    // the polled list is the client's store too
    expect(client.app("bitcoin-core")?.visualState).toBe("running")

    server.scripts.set("bitcoin-core:restart", { failWith: "the port 8332 is taken", scanEveryMs: 10 })
    const error = await client.restart("bitcoin-core", { wait: true, pollIntervalMs: 20 }).then(() => undefined, (e: unknown) => e)
    expect(error).toMatchObject({ name: "OperationError", op: "restart", reason: "the port 8332 is taken" })
  })

  it("with wait: rejects after timeoutMs naming the app and the op; an abort rejects with the signal's reason", async () => {
    const { server, client } = await setup({ live: false })
    server.scripts.set("lnd:stop", { manual: true })
    const error = await client.stop("lnd", { wait: true, timeoutMs: 150, pollIntervalMs: 20 }).then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(OperationTimeoutError)
    expect((error as Error).message).toBe("stop lnd did not settle within 150 ms (the app is stopping)")

    server.scripts.set("bitcoin-core:start", { manual: true })
    const controller = new AbortController()
    const waiting = track(client.start("bitcoin-core", { wait: true, signal: controller.signal }))
    await waitFor("accepted", () => server.apps.get("bitcoin-core")?.state === "starting")
    await sleep(50)
    controller.abort(new Error("the user gave up"))
    await waitFor("aborted", () => waiting.settled)
    expect((waiting.error as Error).message).toBe("the user gave up")

    const sent = server.calls.length
    const already = await client.start("bitcoin-core", { wait: true, signal: AbortSignal.abort() }).then(() => undefined, (e: unknown) => e)
    expect((already as Error).name).toBe("AbortError")
    expect(server.calls.length).toBe(sent)
  })
})

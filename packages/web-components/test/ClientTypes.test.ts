/**
 * The client's types as a Node user without Effect meets them, checked by `tsc` (this file is
 * in the typecheck) and by `expectTypeOf`: the WebSocket classes of the browser, of Node (22 and
 * later: undici's, which `@types/node` declares as the global `WebSocket`) and of the `ws`
 * package are accepted as they are, without a cast; an operation resolves with the server's
 * answer, or with `{ wait: true }` with the settled view.
 */
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import type { WebSocket as UndiciWebSocket } from "undici-types"
import { WebSocket as WsWebSocket } from "ws"
import { ArchyClient, OperationError, OperationTimeoutError, Protocol } from "../src/index.js"
import type { Settled, SocketConstructor } from "../src/index.js"

const url = "http://127.0.0.1:7420"
const token = "t"

describe("the client's types", () => {
  it("takes ws's WebSocket, the browser's and Node's global one without a cast", () => {
    const withWs = new ArchyClient({ url, token, WebSocket: WsWebSocket })
    const withGlobal = new ArchyClient({ url, token, WebSocket: globalThis.WebSocket })
    expectTypeOf<typeof UndiciWebSocket>().toMatchTypeOf<SocketConstructor>()
    expectTypeOf<typeof WsWebSocket>().toMatchTypeOf<SocketConstructor>()
    expectTypeOf<typeof globalThis.WebSocket>().toMatchTypeOf<SocketConstructor>()
    expect(withWs.baseUrl).toBe(url)
    expect(withGlobal.connection).toBe("idle")
  })

  it("an operation resolves with the answer, or with the settled view when waited for", () => {
    const client = new ArchyClient({ url, token, WebSocket: WsWebSocket })
    const accepted = () => client.stop("lnd")
    const settled = () => client.stop("lnd", { wait: true, timeoutMs: 60_000 })
    const restarted = () => client.restart("lnd", { wait: true, signal: AbortSignal.timeout(1_000) })
    const purged = () => client.remove("lnd", { purge: true, wait: false })
    expectTypeOf(accepted).returns.resolves.toEqualTypeOf<Protocol.Accepted>()
    expectTypeOf(settled).returns.resolves.toEqualTypeOf<Settled>()
    expectTypeOf(restarted).returns.resolves.toEqualTypeOf<Settled>()
    expectTypeOf(purged).returns.resolves.toEqualTypeOf<Protocol.Accepted>()
    const wait: boolean = Math.random() > 2
    expectTypeOf(() => client.start("lnd", { wait })).returns.resolves.toEqualTypeOf<Settled | Protocol.Accepted>()
    // the connection's own start and stop take no argument and return nothing
    expectTypeOf(() => client.start()).returns.toEqualTypeOf<void>()
    expectTypeOf(() => client.stop()).returns.toEqualTypeOf<void>()
    expectTypeOf<OperationError["reason"]>().toEqualTypeOf<string>()
    expectTypeOf<OperationTimeoutError["timeoutMs"]>().toEqualTypeOf<number>()
  })
})

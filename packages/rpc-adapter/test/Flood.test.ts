// Floods (issue 26, "not yet tried"): many WebSockets, thousands of idle and slow connections.
// The WebSocket count is capped and idle or slow connections are dropped within seconds, while
// the owner's dashboard page and API keep answering.
import * as Net from "node:net"
import { describe, expect, it } from "vitest"
import { makeFake, view } from "./fixtures.js"
import { connect, start } from "./harness.js"

const apps = () => [view("lnd", "running")]

const timed = async <A>(f: () => Promise<A>): Promise<[A, number]> => {
  const t0 = performance.now()
  const a = await f()
  return [a, performance.now() - t0]
}

describe("Server under a flood", () => {
  it("caps open WebSockets (503 past the cap, POST /rpc still answers) and drops idle and slow connections, the owner's dashboard answering throughout", async () => {
    const s = await start(makeFake(apps()).layer, { maxSockets: 8, headersTimeout: "1 second" })
    const sockets: Array<Net.Socket> = []
    const open: Array<Awaited<ReturnType<typeof connect>>> = []
    try {
      const auth = { authorization: `Bearer ${s.server.token}` }
      for (let i = 0; i < 8; i++) open.push(await connect(s.server.url, { headers: auth }))
      const refused = await connect(s.server.url, { headers: auth }).then(() => 0, (e: { status?: number }) => e.status)
      expect(refused).toBe(503)
      expect(s.logs.some((l) => l.includes("websocket refused: 8 already open"))).toBe(true)

      // 1,000 idle connections and 200 that send half a request head, slowly
      const port = s.server.port
      let closedByServer = 0
      const closedSlow: Array<number> = []
      // in batches below the listen backlog, each batch connected before the next
      for (let batch = 0; batch < 6; batch++) {
        await Promise.all(Array.from({ length: 200 }, (_, k) => {
          const i = batch * 200 + k
          const c = Net.connect({ host: "127.0.0.1", port })
          c.on("close", () => {
            closedByServer++
            if (i >= 1000) closedSlow.push(i)
          })
          sockets.push(c)
          return new Promise<void>((connected) => {
            c.on("error", () => connected())
            c.on("connect", () => {
              if (i >= 1000) c.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Slow: `)
              connected()
            })
          })
        }))
      }

      // the owner: the page (cookie), the API, a fresh login
      const login = await fetch(s.server.loginUrl, { redirect: "manual" })
      const cookie = login.headers.get("set-cookie")!.split(";")[0]!
      for (let i = 0; i < 5; i++) {
        const [page, pageMs] = await timed(() => fetch(`${s.server.url}/`, { headers: { cookie } }))
        expect(page.status).toBe(200)
        const [version, rpcMs] = await timed(() => s.call("server.version"))
        expect(version.result.engine).toBe("simulated")
        expect(Math.max(pageMs, rpcMs)).toBeLessThan(2_000)
      }

      // idle and slow connections are gone within the timeout plus the check interval
      const deadline = Date.now() + 15_000
      while (closedByServer < 1200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
      expect([closedByServer, closedSlow.length]).toStrictEqual([1200, 200])

      // a closed WebSocket frees its place
      open.pop()!.ws.close()
      await new Promise((r) => setTimeout(r, 200))
      open.push(await connect(s.server.url, { headers: auth }))
    } finally {
      for (const c of sockets) c.destroy()
      for (const o of open) o.ws.close()
      await s.close()
    }
  }, 60_000)
})

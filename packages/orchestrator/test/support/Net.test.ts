import { describe, expect, it } from "vitest"
import { freePort } from "../../../../test-support/net.js"

describe("the tests' free-port helper", () => {
  // A test that picks a server port and app ports one after another must never get the same port
  // twice: the OS hands out a port it handed out a moment ago (nothing holds it), and an app
  // publishing the server's own port is a catalog error, so the server exits right after it has
  // printed its URL (CI saw a refused connection from that).
  it("never returns a port it has returned before in this process", async () => {
    const seen = new Set<number>()
    for (let i = 0; i < 1500; i++) {
      const port = await freePort()
      expect(seen.has(port), `port ${port} returned twice (call ${i + 1})`).toBe(false)
      seen.add(port)
    }
  }, 120_000)
})

/** Network helpers shared by the real-server tests, the chaos matrix and the benchmarks. */
import { connect, createServer } from "node:net"

const osPort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer()
    s.once("error", reject)
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })

// Every port this process has handed out: the OS offers a port it offered a moment ago (nothing
// holds it once the probe closes), so a server port and its apps' ports picked in a row collide.
const given = new Set<number>()

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it) and that this process has
 * never handed out before: ports picked one after another for a server and its apps are distinct.
 */
export const freePort = async (): Promise<number> => {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const port = await osPort()
    if (!given.has(port)) {
      given.add(port)
      return port
    }
  }
  throw new Error(`freePort: the OS offered only ports already handed out (${given.size} so far) in 1000 tries`)
}

/**
 * Resolves once something accepts TCP connections on 127.0.0.1:`port` (a server just spawned as
 * a child process listens some time later, longer on a loaded machine); rejects after `boundMs`,
 * naming `what`, or at once when `gone()` says the process has exited.
 */
export const waitListening = async (
  port: number,
  what: string,
  options: { readonly boundMs?: number; readonly gone?: () => boolean } = {}
): Promise<void> => {
  const deadline = Date.now() + (options.boundMs ?? 30_000)
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1")
      socket.once("connect", () => {
        socket.destroy()
        resolve(true)
      })
      socket.once("error", () => resolve(false))
    })
    if (open) return
    if (options.gone?.() === true) throw new Error(`${what} exited before listening on 127.0.0.1:${port}`)
    if (Date.now() > deadline) throw new Error(`${what} was not listening on 127.0.0.1:${port} within ${options.boundMs ?? 30_000} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/**
 * A loopback TCP server that accepts every connection and never answers (a registry that
 * hangs): a pull or a build's `FROM` from `host` starts and never finishes.
 */
export interface HangingServer {
  /** `127.0.0.1:<port>` */
  readonly host: string
  /** Connections accepted so far. */
  readonly accepted: () => number
  /** Accepted connections the client has not closed. */
  readonly open: () => number
  readonly close: () => Promise<void>
}

export const hangingServer = (): Promise<HangingServer> =>
  new Promise((resolve, reject) => {
    let accepted = 0
    const sockets = new Set<import("node:net").Socket>()
    const server = createServer((socket) => {
      accepted++
      sockets.add(socket)
      socket.on("error", () => {})
      // read (and drop) what the client sends, so its close is seen
      socket.resume()
      socket.on("close", () => sockets.delete(socket))
    })
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port
      resolve({
        host: `127.0.0.1:${port}`,
        accepted: () => accepted,
        open: () => sockets.size,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy()
            server.close(() => done())
          })
      })
    })
  })

/**
 * Starts the real server on an ephemeral 127.0.0.1 port for tests, and small HTTP/WebSocket
 * clients that wait for messages without timing assertions.
 */
import { Layer, Logger, ManagedRuntime } from "effect"
import { WebSocket } from "ws"
import type { Apps, AppViews, Lifecycle } from "@archipelago/orchestrator"
import * as Server from "../src/Server.js"
import type * as ServerInfo from "../src/ServerInfo.js"
import { tempDir } from "./fixtures.js"

export interface Running {
  readonly server: Server.Service
  readonly dataDir: string
  readonly rpc: (body: unknown, headers?: Record<string, string>) => Promise<Response>
  readonly call: (method: string, params?: unknown) => Promise<any>
  readonly close: () => Promise<void>
  /** Every line the server logged, as `LEVEL message`. */
  readonly logs: Array<string>
}

export const start = async (
  services: Layer.Layer<Lifecycle.Lifecycle | AppViews.AppViews | Apps.Apps | ServerInfo.ServerInfo>,
  config: Partial<Server.Config> = {}
): Promise<Running> => {
  const dataDir = config.dataDir ?? tempDir()
  const logs: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => {
    logs.push(`${logLevel.toUpperCase()} ${Array.isArray(message) ? message.map(String).join(" ") : String(message)}`)
  })
  const runtime = ManagedRuntime.make(
    Server.layer({ port: 0, ...config, dataDir }).pipe(
      Layer.provide(Layer.merge(services, Logger.layer([logger])))
    )
  )
  const server = await runtime.runPromise(Server.RpcServer)
  const rpc = (body: unknown, headers: Record<string, string> = { authorization: `Bearer ${server.token}` }) =>
    fetch(`${server.url}/rpc`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body)
    })
  let id = 0
  const call = async (method: string, params?: unknown) => {
    const res = await rpc({ jsonrpc: "2.0", id: ++id, method, ...(params === undefined ? {} : { params }) })
    return res.json()
  }
  return { server, dataDir, rpc, call, close: () => runtime.dispose(), logs }
}

export interface WsClient {
  readonly ws: WebSocket
  readonly messages: Array<any>
  /** Resolves with the first message (from index `from`) matching the predicate. */
  readonly next: (pred: (m: any) => boolean, from?: number) => Promise<any>
  readonly send: (m: unknown) => void
  readonly close: () => Promise<void>
}

export const connect = (url: string, options: { protocols?: Array<string>; headers?: Record<string, string> } = {}) =>
  new Promise<WsClient>((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, "ws") + "/ws", options.protocols ?? [], { headers: options.headers ?? {} })
    const messages: Array<any> = []
    const waiters: Array<{ pred: (m: any) => boolean; from: number; resolve: (m: any) => void }> = []
    ws.on("message", (data) => {
      const m = JSON.parse(data.toString())
      messages.push(m)
      for (const w of [...waiters]) {
        if (messages.length - 1 >= w.from && w.pred(m)) {
          waiters.splice(waiters.indexOf(w), 1)
          w.resolve(m)
        }
      }
    })
    ws.once("unexpected-response", (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })))
    ws.once("error", reject)
    ws.once("open", () =>
      resolve({
        ws,
        messages,
        next: (pred, from = 0) =>
          new Promise((res) => {
            const found = messages.slice(from).find(pred)
            if (found !== undefined) return res(found)
            waiters.push({ pred, from, resolve: res })
          }),
        send: (m) => ws.send(JSON.stringify(m)),
        close: () =>
          new Promise<void>((res) => {
            if (ws.readyState === WebSocket.CLOSED) return res()
            ws.once("close", () => res())
            ws.close()
          })
      }))
  })

/**
 * The anchor of bench/http.ts: a bare `node:http` server doing the work a JSON-RPC answer needs
 * and nothing else: read the body (capped), check the bearer token (one SHA-256 of what was sent,
 * compared in constant time with the token's digest computed once), parse the JSON, answer JSON.
 * `server.version` answers a constant; `container-list` serializes the list it was given at start
 * (the same 50 views our server answered), so both servers put the same bytes on the wire.
 *
 * Run: `node bench/tools/bare-http.mjs <token-file> <list.json>`; prints `listening <port>`.
 */
import { createHash, timingSafeEqual } from "node:crypto"
import { readFileSync } from "node:fs"
import { createServer } from "node:http"

const token = readFileSync(process.argv[2], "utf8").trim()
const list = JSON.parse(readFileSync(process.argv[3], "utf8"))
const digest = createHash("sha256").update(token).digest()
const maxBody = 1024 * 1024

const authorized = (header) =>
  typeof header === "string" && /^bearer /i.test(header) &&
  timingSafeEqual(createHash("sha256").update(header.slice(7).trim()).digest(), digest)

const answer = (res, status, body) => {
  const text = JSON.stringify(body)
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", "content-length": Buffer.byteLength(text) })
  res.end(text)
}

const server = createServer((req, res) => {
  if (req.method !== "POST" || req.url !== "/rpc") return answer(res, 404, { error: "not found" })
  if (!authorized(req.headers.authorization)) return answer(res, 401, { error: "unauthorized" })
  const chunks = []
  let size = 0
  req.on("data", (c) => {
    size += c.length
    if (size <= maxBody) chunks.push(c)
  })
  req.on("end", () => {
    if (size > maxBody) return answer(res, 413, { error: "payload too large" })
    let request
    try {
      request = JSON.parse(Buffer.concat(chunks).toString("utf8"))
    } catch {
      return answer(res, 200, { jsonrpc: "2.0", id: null, error: { code: -32700, message: "parse error" } })
    }
    const result = request.method === "server.version" ? { version: "0.1.0" } : request.method === "container-list" ? list : undefined
    answer(res, 200, result === undefined
      ? { jsonrpc: "2.0", id: request.id ?? null, error: { code: -32601, message: "method not found" } }
      : { jsonrpc: "2.0", id: request.id ?? null, result })
  })
})
server.listen(0, "127.0.0.1", () => console.log(`listening ${server.address().port}`))
// a clean exit on SIGTERM, so `--cpu-prof` writes its profile
process.on("SIGTERM", () => {
  server.closeAllConnections()
  server.close(() => process.exit(0))
})

/**
 * `archipelago status` and `archipelago login-url`: an operator at a shell asks the running
 * server (found through `<dataDir>/server.json`, authenticated with `<dataDir>/rpc-token`).
 *
 * @since 0.1.0
 */
import { readFile } from "node:fs/promises"
import { join, resolve } from "node:path"
import { Console, Data, Effect, Schema } from "effect"
import { SafeFile } from "@archipelago/orchestrator"
import type { AppView } from "@archipelago/orchestrator/domain"
import { Auth } from "@archipelago/rpc-adapter"
import type * as Config from "./Config.js"

/**
 * The server cannot be found or asked; `message` says what to do.
 *
 * @since 0.1.0
 * @category errors
 */
export class StatusError extends Data.TaggedError("StatusError")<{ readonly reason: string }> {
  override get message(): string {
    return this.reason
  }
}

const ServerFile = Schema.fromJsonString(Schema.Struct({ url: Schema.String, pid: Schema.Number, instance: Schema.optional(Schema.String) }))

/**
 * The file under the data dir where `serve` records where it listens (never the token).
 *
 * @since 0.1.0
 * @category constants
 */
export const serverFile = "server.json"

/**
 * What `serve` records in `<dataDir>/server.json`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ServerRecord {
  readonly url: string
  readonly pid: number
  readonly instance: string
}

/**
 * Records where the server of a data dir listens, for `status` and `login-url`: written whole
 * (temp file, rename; `SafeFile.write`), so a `status` reading it meanwhile finds the old or the
 * new record, never an empty or partial file it would call malformed.
 *
 * @since 0.1.0
 * @category constructors
 */
export const record = (dataDir: string, server: ServerRecord): Effect.Effect<void, SafeFile.SafeFileError | SafeFile.UnsafePath> => {
  const dir = resolve(dataDir)
  return Effect.asVoid(SafeFile.write(join(dir, serverFile), `${JSON.stringify(server)}\n`, { root: dir, mode: 0o644 }))
}

/**
 * Where the server of a data dir listens, and its token.
 *
 * @since 0.1.0
 * @category constructors
 */
export const locate = Effect.fn("Status.locate")(function*(dataDir: string) {
  const dir = resolve(dataDir)
  const file = join(dir, serverFile)
  const text = yield* Effect.tryPromise({
    try: () => readFile(file, "utf8"),
    catch: () => new StatusError({ reason: `no server has run on ${dir} (${file} is missing): start \`archipelago serve --data ${dir}\`` })
  })
  const server = yield* Schema.decodeUnknownEffect(ServerFile)(text).pipe(
    Effect.mapError(() => new StatusError({ reason: `${file} is malformed: restart the server to rewrite it` }))
  )
  const token = yield* Effect.tryPromise({
    try: () => readFile(Auth.tokenPath(dir), "utf8"),
    catch: (e) => new StatusError({ reason: `cannot read ${Auth.tokenPath(dir)}: ${(e as NodeJS.ErrnoException).code ?? String(e)} (run as the server's user)` })
  })
  return { url: server.url, token: token.trim(), instance: server.instance }
})

/**
 * One line per app: id, state, and its error if any.
 *
 * @since 0.1.0
 * @category getters
 */
export const table = (views: ReadonlyArray<AppView.AppView>): string => {
  const width = Math.max(3, ...views.map((v) => v.id.length))
  const stateWidth = Math.max(5, ...views.map((v) => v.state.length))
  const lines = [`${"APP".padEnd(width)}  ${"STATE".padEnd(stateWidth)}  ERROR`]
  for (const v of views) {
    lines.push(`${v.id.padEnd(width)}  ${v.state.padEnd(stateWidth)}  ${v.lastError?.message ?? ""}`.trimEnd())
  }
  return `${lines.join("\n")}\n`
}

/**
 * Calls one RPC method of the data dir's running server.
 *
 * @since 0.1.0
 * @category constructors
 */
export const call = Effect.fn("Status.call")(function*(dataDir: string, method: string, params?: unknown) {
  const server = yield* locate(dataDir)
  const res = yield* Effect.tryPromise({
    try: () =>
      fetch(`${server.url}/rpc`, {
        method: "POST",
        headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, ...(params === undefined ? {} : { params }) })
      }).then((r) => r.json() as Promise<{ result?: unknown; error?: { message: string } }>),
    catch: (e) => new StatusError({ reason: `the server at ${server.url} does not answer (${(e as Error).message}): is \`archipelago serve\` running?` })
  })
  if (res.result === undefined) {
    return yield* Effect.fail(new StatusError({ reason: `the server at ${server.url} refused ${method}: ${res.error?.message ?? "no result"}` }))
  }
  return { server, result: res.result }
})

/**
 * Asks the server for `container-list` and prints it (a table, or JSON with `json`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = Effect.fn("Status.run")(function*(options: Pick<Config.ServeOptions, "data">, flags: { readonly json: boolean }) {
  const { server, result } = yield* call(options.data, "container-list")
  const views = result as ReadonlyArray<AppView.AppView>
  if (flags.json) return yield* Console.log(JSON.stringify(views, null, 2))
  yield* Effect.sync(() => process.stdout.write(`server ${server.url}${server.instance === undefined ? "" : ` (instance ${server.instance})`}\n${table(views)}`))
})

/**
 * Prints the dashboard's login URL with the token.
 *
 * @since 0.1.0
 * @category constructors
 */
export const printLoginUrl = Effect.fn("Status.printLoginUrl")(function*(options: Pick<Config.ServeOptions, "data">) {
  const server = yield* locate(options.data)
  yield* Console.log(`${server.url}/login?token=${encodeURIComponent(server.token)}`)
})

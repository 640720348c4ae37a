/**
 * The app commands of `archipelago` (`list`, `install`, `start`, `stop`, `restart`, `update`,
 * `remove`, `backup create`, `restore`, `logs`): a client of the running server, found and
 * authenticated through the data dir (`Status.call`), as `podman` talks to its service. Human
 * tables by default, `--json` for scripts; `--wait` returns when the operation has settled (the
 * first view of the app at a generation above the one the request was recorded at, as the
 * dashboard settles a click) with an exit code that says how it ended, and shows a progress line
 * meanwhile.
 *
 * @since 0.1.0
 */
import { Clock, Data, Duration, Effect, Schedule } from "effect"
import type { AppView, Op } from "@archipelago/orchestrator/domain"
import { Methods, Views } from "@archipelago/orchestrator/protocol"
import * as Status from "./Status.js"

/**
 * The exit codes of the app commands: `0` accepted (or, with `--wait`, succeeded), `1` the
 * operation failed or the server refused it, `2` a usage error, `3` `--timeout` passed before
 * the operation settled.
 *
 * @since 0.1.0
 * @category constants
 */
export const exitCodes = { ok: 0, failed: 1, usage: 2, timeout: 3 } as const

/**
 * An app command did not end well; `exitCode` is one of `exitCodes`.
 *
 * @since 0.1.0
 * @category errors
 */
export class CommandError extends Data.TaggedError("CommandError")<{ readonly reason: string; readonly exitCode: number }> {
  override get message(): string {
    return this.reason
  }
}

/**
 * How a requested operation stands in a view of its app.
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome =
  | { readonly _tag: "Pending" }
  | { readonly _tag: "Succeeded"; readonly view: AppView.AppView }
  | { readonly _tag: "Failed"; readonly view: AppView.AppView; readonly message: string }

/**
 * The outcome of `op`, accepted at `generation`, in `view`: pending while the view is not newer
 * than the request (its generation is at most the answer's), else settled: failed when the view
 * records a failure of that operation, succeeded otherwise (a success clears the app's error).
 *
 * @since 0.1.0
 * @category getters
 */
export const outcome = (view: AppView.AppView, op: Op.Op, generation: number): Outcome => {
  if (view.generation <= generation) return { _tag: "Pending" }
  return view.lastError !== null && view.lastError.op === op
    ? { _tag: "Failed", view, message: view.lastError.message }
    : { _tag: "Succeeded", view }
}

const pad = (rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd()).join("\n") + "\n"
}

const ports = (v: AppView.AppView): string =>
  v.ports.length === 0 ? "-" : v.ports.map((p) => `${p.host}->${p.container}${p.protocol === "udp" ? "/udp" : ""}`).join(",")

/**
 * The table `archipelago list` prints: one row per app with its state, health, version (and the
 * update on offer), ports, and its error (a manifest error first).
 *
 * @since 0.1.0
 * @category getters
 */
export const table = (views: ReadonlyArray<AppView.AppView>): string =>
  pad([
    ["APP", "STATE", "HEALTH", "VERSION", "PORTS", "ERROR"],
    ...views.map((v) => [
      v.id,
      v.catalogError !== undefined ? "broken-manifest" : v.state,
      v.health === "none" ? "-" : v.health,
      v.catalogError !== undefined
        ? "-"
        : v.updateAvailable === null
        ? (v.runningVersion ?? v.version)
        : `${v.updateAvailable.from} (${v.updateAvailable.direction === "downgrade" ? "downgrade" : "update"}: ${v.updateAvailable.to})`,
      ports(v),
      (v.catalogError ?? v.lastError?.message ?? "").split("\n")[0]!
    ])
  ])

/**
 * The progress line while waiting: the app, its state and the seconds waited.
 *
 * @since 0.1.0
 * @category getters
 */
export const progressLine = (appId: string, view: AppView.AppView | undefined, elapsedMs: number): string =>
  `${appId}: ${view === undefined ? "waiting for the server" : view.state}… ${Math.floor(elapsedMs / 1000)}s`

/**
 * The line printed when an operation has settled.
 *
 * @since 0.1.0
 * @category getters
 */
export const settledLine = (appId: string, op: Op.Op, settled: Exclude<Outcome, { _tag: "Pending" }>, elapsedMs: number): string =>
  settled._tag === "Succeeded"
    ? `${appId}: ${op} done, ${settled.view.state} (${(elapsedMs / 1000).toFixed(1)}s)`
    : `${appId}: ${op} failed: ${settled.message}`

/**
 * How `--wait` asks the server for the app's view: every 400 ms until the operation settles
 * (the schedule's output is the last outcome).
 *
 * @since 0.1.0
 * @category constants
 */
export const waitSchedule: Schedule.Schedule<Outcome, Outcome> = Schedule.identity<Outcome>().pipe(
  Schedule.while(({ input }) => input._tag === "Pending"),
  Schedule.addDelay(() => Effect.succeed(Duration.millis(400)))
)

/**
 * Options of a lifecycle command.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestOptions {
  readonly data: string
  readonly json: boolean
  readonly wait: boolean
  readonly timeout?: Duration.Duration
  /** Extra params of the method (`purge`, `cascade`, `archive`). */
  readonly params?: Readonly<Record<string, unknown>>
}

interface Output {
  readonly out: (text: string) => void
  readonly progress: (line: string) => void
  readonly endProgress: () => void
}

const terminalOutput = (): Output => {
  const tty = process.stderr.isTTY === true
  let last = ""
  return {
    out: (text) => void process.stdout.write(text),
    // on a terminal one line is rewritten in place; in a pipe a line is written when it changes
    progress: (line) => {
      if (tty) process.stderr.write(`\r\u001b[K${line}`)
      else {
        const shown = line.replace(/… \d+s$/, "…")
        if (shown !== last) process.stderr.write(`${shown}\n`)
        last = shown
      }
    },
    endProgress: () => void (tty ? process.stderr.write("\r\u001b[K") : undefined)
  }
}

const refused = (e: Status.StatusError) => new CommandError({ reason: e.reason, exitCode: exitCodes.failed })

const viewOf = (data: string, appId: string) =>
  Effect.map(Status.call(data, Methods.Method.ContainerList), ({ result }) =>
    (result as ReadonlyArray<AppView.AppView>).find((v) => v.id === appId))

/**
 * Requests `op` of `appId` from the data dir's server and prints the answer; with `wait`, waits
 * until it settles and fails with `CommandError` (exit 1) when it failed, or (exit 3) when
 * `timeout` passed first.
 *
 * @since 0.1.0
 * @category constructors
 */
export const request = Effect.fn("AppCommands.request")(function*(op: Op.Op, appId: string, options: RequestOptions, output: Output = terminalOutput()) {
  const started = yield* Clock.currentTimeMillis
  const { result } = yield* Status.call(options.data, Methods.methodOf[op], { appId, ...options.params }).pipe(Effect.mapError(refused))
  const accepted = result as typeof Views.Accepted.Type
  if (!options.wait) {
    output.out(options.json ? `${JSON.stringify(accepted)}\n` : `${appId}: ${accepted.status} (${op} accepted at generation ${accepted.generation})\n`)
    return
  }
  const poll = Effect.gen(function*() {
    const view = yield* viewOf(options.data, appId).pipe(Effect.mapError(refused))
    const now = yield* Clock.currentTimeMillis
    const o = view === undefined ? ({ _tag: "Pending" } as const) : outcome(view, op, accepted.generation)
    if (o._tag === "Pending") output.progress(progressLine(appId, view, now - started))
    return o
  })
  const settled = yield* poll.pipe(
    Effect.repeat(waitSchedule),
    (e) =>
      options.timeout === undefined ? e : Effect.timeoutOrElse(e, {
        duration: options.timeout,
        orElse: () =>
          Effect.fail(
            new CommandError({
              reason: `${appId}: ${op} did not settle within ${Duration.format(options.timeout!)}; it goes on in the server (\`archipelago list\` shows it)`,
              exitCode: exitCodes.timeout
            })
          )
      }),
    Effect.ensuring(Effect.sync(() => output.endProgress()))
  )
  if (settled._tag === "Pending") return
  const elapsed = (yield* Clock.currentTimeMillis) - started
  if (options.json) {
    output.out(`${JSON.stringify({ appId, op, outcome: settled._tag === "Succeeded" ? "succeeded" : "failed", ...(settled._tag === "Failed" ? { error: settled.message } : {}), view: settled.view })}\n`)
  } else if (settled._tag === "Succeeded") output.out(`${settledLine(appId, op, settled, elapsed)}\n`)
  if (settled._tag === "Failed") {
    return yield* Effect.fail(new CommandError({ reason: settledLine(appId, op, settled, elapsed), exitCode: exitCodes.failed }))
  }
})

/**
 * `archipelago list`: every app of the server, as a table or as JSON.
 *
 * @since 0.1.0
 * @category constructors
 */
export const list = Effect.fn("AppCommands.list")(function*(options: { readonly data: string; readonly json: boolean }) {
  const { result } = yield* Status.call(options.data, Methods.Method.ContainerList).pipe(Effect.mapError(refused))
  const views = result as ReadonlyArray<AppView.AppView>
  yield* Effect.sync(() => process.stdout.write(options.json ? `${JSON.stringify(views, null, 2)}\n` : table(views)))
})

/**
 * `archipelago logs APP`: the last `tail` lines of the app's container log.
 *
 * @since 0.1.0
 * @category constructors
 */
export const logs = Effect.fn("AppCommands.logs")(function*(appId: string, options: { readonly data: string; readonly json: boolean; readonly tail: number }) {
  const { result } = yield* Status.call(options.data, Methods.Method.ContainerLogs, { appId, tail: options.tail }).pipe(Effect.mapError(refused))
  const r = result as { readonly text: string; readonly truncated: boolean }
  yield* Effect.sync(() => process.stdout.write(options.json ? `${JSON.stringify(r)}\n` : r.text.endsWith("\n") || r.text === "" ? r.text : `${r.text}\n`))
})

/**
 * The subscriptions of one WebSocket connection: an app's container log followed live
 * (`logs.subscribe`) and resource samples (`stats.subscribe`). Each is a fiber of the
 * connection's scope, so it ends when the client unsubscribes or leaves, and with it the engine
 * process behind it. Every follow is bounded: lines are clipped, at most `limits.queuedLines`
 * wait to be sent (more are dropped and counted), and batches go out at most every
 * `limits.batchEvery`.
 *
 * @since 0.1.0
 */
import { Cause, Deferred, Effect, Result, FiberMap, Option, Queue, Schema, Stream } from "effect"
import type { Scope } from "effect"
import { AppViews } from "@archipelago/orchestrator"
import { Methods as Protocol } from "@archipelago/orchestrator/protocol"
import * as JsonRpc from "./JsonRpc.js"
import type { Local } from "./Dispatch.js"
import * as Methods from "./Methods.js"
import { InvalidParams, LimitReached } from "./RpcError.js"
import { Resources } from "./Resources.js"

/**
 * The bounds of one connection's subscriptions.
 *
 * @since 0.1.0
 * @category constants
 */
export const limits = {
  /** Log follows open at once per connection. */
  follows: 4,
  /** Characters kept of one log line; the rest is cut and marked with `…`. */
  lineLength: 4096,
  /** Lines waiting to be sent per follow; more are dropped and counted in `dropped`. */
  queuedLines: 1000,
  /** Lines per `logs.lines` notification. */
  batchLines: 500,
  /** The pause after each `logs.lines` notification: at most 10 per second per follow. */
  batchEvery: "100 millis"
} as const

/**
 * Cuts a line to `max` characters, marking the cut.
 *
 * @since 0.1.0
 * @category utils
 */
export const clipLine = (line: string, max: number = limits.lineLength): string =>
  line.length <= max ? line : `${line.slice(0, Math.max(0, max - 1))}…`

/**
 * @since 0.1.0
 * @category schemas
 */
export const UnsubscribeParams = Schema.Struct({ subscription: Schema.String.check(Schema.isMaxLength(64)) })

/**
 * Sends one notification to the client; fails when the socket is gone.
 *
 * @since 0.1.0
 * @category models
 */
export type Send = (notification: JsonRpc.Notification) => Effect.Effect<void, unknown>

type Line = string

const decoded = <A>(schema: Schema.Decoder<A>, params: unknown): Effect.Effect<A, InvalidParams> =>
  Result.match(Methods.decodeParams(schema, params), { onFailure: Effect.fail, onSuccess: Effect.succeed })

// What is waiting, up to `max`, without waiting for more (a sole consumer: the size cannot drop
// between the look and the take).
const takeUpTo = <A>(queue: Queue.Dequeue<A>, max: number): Effect.Effect<ReadonlyArray<A>> =>
  Effect.flatMap(Queue.size(queue), (n) => (n === 0 ? Effect.succeed([]) : Queue.takeBetween(queue, 1, max)))

/**
 * The connection's methods (`logs.subscribe`, `logs.unsubscribe`, `stats.subscribe`,
 * `stats.unsubscribe`), alive for the scope's lifetime.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (send: Send): Effect.Effect<Local, never, Scope.Scope | AppViews.AppViews | Resources> =>
  Effect.gen(function*() {
    const views = yield* AppViews.AppViews
    const resources = yield* Resources
    const fibers = yield* FiberMap.make<string>()
    let serial = 0

    const follow = (subscription: string, appId: string, tail: number) =>
      Effect.gen(function*() {
        const queue = yield* Queue.dropping<Line>(limits.queuedLines)
        const ended = yield* Deferred.make<string>()
        let dropped = 0
        yield* views.followLogs(appId, tail).pipe(
          Stream.runForEach((line) =>
            Effect.map(Queue.offer(queue, clipLine(line)), (accepted) => {
              if (!accepted) dropped += 1
            })
          ),
          Effect.matchCauseEffect({
            onSuccess: () => Deferred.succeed(ended, "stopped"),
            onFailure: (cause) =>
              Deferred.succeed(
                ended,
                Option.getOrElse(Option.map(Cause.findErrorOption(cause), (e) => e.message), () => "the log could not be read")
              )
          }),
          Effect.forkScoped
        )
        while (true) {
          // the first line, or the end of the log when no line is left
          const first = yield* Effect.raceFirst(
            Effect.map(Queue.take(queue), Option.some),
            Effect.as(Deferred.await(ended), Option.none<Line>())
          )
          const rest = yield* takeUpTo(queue, limits.batchLines - 1)
          const lines = Option.isSome(first) ? [first.value, ...rest] : [...rest]
          if (lines.length > 0 || dropped > 0) {
            const n = dropped
            dropped = 0
            yield* send(JsonRpc.notification(Protocol.Notification.LogsLines, { subscription, appId, lines, dropped: n }))
          }
          if (Option.isNone(first) && (yield* Queue.size(queue)) === 0) break
          yield* Effect.sleep(limits.batchEvery)
        }
        yield* send(JsonRpc.notification(Protocol.Notification.LogsEnded, { subscription, appId, reason: yield* Deferred.await(ended) }))
      }).pipe(Effect.scoped)

    const logsSubscribe: Methods.Method = (params) =>
      Effect.gen(function*() {
        const { appId, tail } = yield* decoded(Methods.LogsParams, params)
        if (!(yield* views.list).some((v) => v.id === appId)) {
          return yield* Effect.fail(new InvalidParams({ field: "appId", reason: `no app ${appId} on this node` }))
        }
        const open = (yield* FiberMap.size(fibers)) - ((yield* FiberMap.has(fibers, statsId)) ? 1 : 0)
        if (open >= limits.follows) return yield* Effect.fail(new LimitReached({ what: "log follows", limit: limits.follows }))
        serial += 1
        const subscription = `logs-${serial}`
        yield* FiberMap.run(fibers, subscription, Effect.ignore(follow(subscription, appId, tail ?? Methods.logTail.default)))
        return { subscription, appId }
      })

    const unsubscribe = (prefix: string): Methods.Method => (params) =>
      Effect.gen(function*() {
        const { subscription } = yield* decoded(UnsubscribeParams, params)
        if (!subscription.startsWith(prefix) || !(yield* FiberMap.has(fibers, subscription))) {
          return yield* Effect.fail(new InvalidParams({ field: "subscription", reason: `no open subscription ${subscription}` }))
        }
        yield* FiberMap.remove(fibers, subscription)
        return { subscription, unsubscribed: true }
      })

    const statsSubscribe: Methods.Method = (params) =>
      Effect.gen(function*() {
        yield* decoded(Methods.NoParams, params)
        yield* FiberMap.run(
          fibers,
          statsId,
          Effect.scoped(Effect.gen(function*() {
            const q = yield* resources.watch
            while (true) {
              const sample = yield* Queue.take(q)
              yield* send(JsonRpc.notification(Protocol.Notification.StatsChanged, { subscription: statsId, ...sample }))
            }
          })).pipe(Effect.ignore),
          { onlyIfMissing: true }
        )
        return { subscription: statsId }
      })

    const table: { readonly [K in Protocol.SocketMethod]: Methods.Method } = {
      [Protocol.SocketMethod.LogsSubscribe]: logsSubscribe,
      [Protocol.SocketMethod.LogsUnsubscribe]: unsubscribe("logs-"),
      [Protocol.SocketMethod.StatsSubscribe]: statsSubscribe,
      [Protocol.SocketMethod.StatsUnsubscribe]: unsubscribe(statsId)
    }
    return (method) => (Object.prototype.hasOwnProperty.call(table, method) ? table[method as Protocol.SocketMethod] : undefined)
  })

const statsId = "stats"

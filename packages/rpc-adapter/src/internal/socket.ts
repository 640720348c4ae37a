/**
 * One WebSocket client: its requests answered in order (at most 32 pending before the socket
 * stops being read), its push notifications, and the heartbeat that drops a silent client.
 */
import * as Http from "node:http"
import type { Duplex } from "node:stream"
import { Cause, Deferred, Effect, Queue, Schedule, Stream } from "effect"
import { WebSocket } from "ws"
import * as Dispatch from "../Dispatch.js"
import type * as Methods from "../Methods.js"
import * as Push from "../Push.js"
import type * as Resources from "../Resources.js"
import * as Subscriptions from "../Subscriptions.js"
import type { Runtime } from "./runtime.js"

export const rejectUpgrade = (socket: Duplex, status: number, text: string) => {
  const body = JSON.stringify({ error: text })
  socket.end(
    `HTTP/1.1 ${status} ${Http.STATUS_CODES[status] ?? ""}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  )
}

const send = (ws: WebSocket, data: string) =>
  Effect.callback<void, Error>((resume) => {
    if (ws.readyState !== WebSocket.OPEN) return resume(Effect.fail(new Error("closed")))
    ws.send(data, (err) => resume(err ? Effect.fail(err) : Effect.void))
  })

const maxPendingMessages = 32

export const closeHandshakePoll = Schedule.spaced("10 millis")

// How long shutdown waits for WebSocket clients to answer the close frame before cutting them.
export const closeHandshakeGrace = "1 second"

export const connection = (
  ws: WebSocket,
  rt: Runtime,
  capacity: number | undefined,
  heartbeat: Schedule.Schedule<unknown>
): Effect.Effect<void, never, Methods.Requirements | Push.Push | Resources.Resources> =>
  Effect.scoped(Effect.gen(function*() {
    const closed = yield* Deferred.make<void>()
    const inbox = yield* Queue.unbounded<string>()
    let alive = true
    let pending = 0
    ws.on("close", () => Deferred.doneUnsafe(closed, Effect.void))
    ws.on("error", () => Deferred.doneUnsafe(closed, Effect.void))
    ws.on("pong", () => {
      alive = true
    })
    ws.on("message", (data) => {
      const bytes = Array.isArray(data)
        ? Buffer.concat(data)
        : Buffer.isBuffer(data)
        ? data
        : Buffer.from(new Uint8Array(data))
      const text = bytes.toString("utf8")
      Queue.offerUnsafe(inbox, text)
      pending += 1
      // Stop reading the socket while requests pile up: the client feels TCP back-pressure.
      if (pending >= maxPendingMessages) ws.pause()
    })
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(1001, "server closing")
      })
    )

    // this connection's subscriptions (logs, stats) end with its scope
    const local = yield* Subscriptions.make((n) => send(ws, JSON.stringify(n)))
    const requests = Effect.forever(Effect.gen(function*() {
      const text = yield* Queue.take(inbox)
      pending -= 1
      if (ws.isPaused && pending < maxPendingMessages / 2) ws.resume()
      const reply = yield* Dispatch.bodyText(text, { maxBatch: rt.maxBatch, maxResponseBytes: rt.maxResponseBytes, local })
      if (reply !== undefined) yield* send(ws, reply)
    }))
    const notifications = Stream.merge(Push.notifications(capacity), Push.backupNotifications).pipe(
      Stream.runForEach((n) => send(ws, JSON.stringify(n)))
    )
    const pings = Effect.repeat(
      Effect.suspend(() => {
        if (!alive) return Effect.fail(new Error("missed heartbeat"))
        alive = false
        ws.ping()
        return Effect.void
      }),
      heartbeat
    ).pipe(Effect.tapError(() => Effect.sync(() => ws.terminate())))

    // A defect in the request loop must not leave the socket half alive (pushes flowing,
    // requests unanswered): log it and end the connection.
    const loud = <E, R>(name: string, effect: Effect.Effect<unknown, E, R>) =>
      effect.pipe(
        Effect.catchCause((cause) =>
          Cause.hasInterruptsOnly(cause) || (cause.reasons.length === 1 && cause.reasons.every(Cause.isFailReason))
            ? Effect.void
            : Effect.logError(`websocket ${name} loop failed; closing the connection`, cause)
        )
      )

    yield* Effect.raceAll([
      Deferred.await(closed),
      Effect.ignore(loud("request", requests)),
      Effect.ignore(loud("push", notifications)),
      Effect.ignore(pings)
    ])
  }))

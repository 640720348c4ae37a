/**
 * State push for WebSocket clients: a snapshot on connect, then every change of the store as
 * `state.changed` with a sequence number that increases by one. Each client has a bounded
 * queue; when a slow client overflows it, the queue is dropped and the client gets a fresh
 * `state.snapshot` instead, so memory stays bounded whatever the client does.
 *
 * @since 0.1.0
 */
import { Context, Deferred, Effect, Layer, Option, Queue, Ref, Stream, Semaphore } from "effect"
import type { Scope } from "effect"
import { AppViews, Backups } from "@archipelago/orchestrator"
import { Methods } from "@archipelago/orchestrator/protocol"
import type { AppView } from "@archipelago/orchestrator/domain"
import * as JsonRpc from "./JsonRpc.js"

/**
 * What the hub queues for a client: a change, or a request to resynchronise with a snapshot.
 *
 * @since 0.1.0
 * @category models
 */
export type Message =
  | { readonly _tag: "Changed"; readonly app: AppView.AppView; readonly seq: number }
  | { readonly _tag: "Resync" }

/**
 * A consistent picture: every app, as of change number `seq`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Snapshot {
  readonly apps: ReadonlyArray<AppView.AppView>
  readonly seq: number
}

/**
 * The default length of a client's queue.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultCapacity = 256

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Registers a client for the scope's lifetime; its queue starts with a `Resync`. */
  readonly subscribe: (capacity?: number) => Effect.Effect<Queue.Dequeue<Message>, never, Scope.Scope>
  /** The apps and the sequence number of the last change the hub published. */
  readonly snapshot: Effect.Effect<Snapshot>
  /** Number of connected clients. */
  readonly clients: Effect.Effect<number>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Push extends Context.Service<Push, Service>()("@archipelago/rpc-adapter/Push") {}

/**
 * Builds the hub: one subscription to `AppViews.changes` for all clients; ready once it holds
 * the picture the feed starts with.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Service, never, AppViews.AppViews | Scope.Scope> = Effect.gen(function*() {
  const views = yield* AppViews.AppViews
  const lock = yield* Semaphore.make(1)
  const seq = yield* Ref.make(0)
  // The hub's own picture: the apps with every change up to `seq` applied. Snapshots read it,
  // not the store, so a snapshot is never ahead of the changes that follow it (a client never
  // sees an older view after a newer one).
  const current = new Map<string, AppView.AppView>()
  const queues = new Set<Queue.Queue<Message>>()

  const publish = (app: AppView.AppView) =>
    lock.withPermits(1)(Effect.gen(function*() {
      current.set(app.id, app)
      const n = yield* Ref.updateAndGet(seq, (s) => s + 1)
      for (const q of queues) {
        const accepted = yield* Queue.offer(q, { _tag: "Changed", app, seq: n })
        if (!accepted) {
          yield* Queue.clear(q)
          yield* Queue.offer(q, { _tag: "Resync" })
        }
      }
    }))

  // `changes` starts with the picture: it seeds the hub (no change number), and every later
  // batch is published in order. The hub is ready once it holds the picture, so its first
  // snapshot is never empty and no change falls between the picture and the feed.
  const seeded = yield* Deferred.make<void>()
  yield* views.changes.pipe(
    Stream.runForEach((batch) =>
      Effect.flatMap(Deferred.isDone(seeded), (done) =>
        done
          ? Effect.forEach(batch, publish, { discard: true })
          : lock.withPermits(1)(Effect.sync(() => {
            for (const app of batch) current.set(app.id, app)
          })).pipe(Effect.andThen(Deferred.succeed(seeded, undefined)))
      )
    ),
    Effect.forkScoped
  )
  yield* Deferred.await(seeded)

  const subscribe = (capacity: number = defaultCapacity) =>
    Effect.acquireRelease(
      lock.withPermits(1)(Effect.gen(function*() {
        const q = yield* Queue.dropping<Message>(Math.max(2, capacity))
        yield* Queue.offer(q, { _tag: "Resync" })
        queues.add(q)
        return q
      })),
      (q) => Effect.andThen(Effect.sync(() => queues.delete(q)), Queue.shutdown(q))
    ).pipe(Effect.map((q): Queue.Dequeue<Message> => q))

  const snapshot = lock.withPermits(1)(
    Effect.map(Ref.get(seq), (n): Snapshot => ({ apps: [...current.values()], seq: n }))
  )

  return { subscribe, snapshot, clients: Effect.sync(() => queues.size) }
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Push, never, AppViews.AppViews> = Layer.effect(Push, make)

/**
 * The notifications of one client, for the scope's lifetime: `state.snapshot` first, then
 * `state.changed` in order; after an overflow a fresh `state.snapshot`, and changes it already
 * covers are skipped.
 *
 * @since 0.1.0
 * @category streams
 */
export const notifications = (capacity?: number): Stream.Stream<JsonRpc.Notification, never, Push> =>
  Stream.unwrap(Effect.gen(function*() {
    const push = yield* Push
    const q = yield* push.subscribe(capacity)
    const last = yield* Ref.make(0)
    const next: Effect.Effect<Option.Option<JsonRpc.Notification>> = Effect.flatMap(Queue.take(q), (m) => {
      if (m._tag === "Resync") {
        return Effect.flatMap(push.snapshot, (s) =>
          Effect.as(Ref.set(last, s.seq), Option.some(JsonRpc.notification(Methods.Notification.StateSnapshot, s))))
      }
      return Effect.flatMap(Ref.get(last), (l) =>
        m.seq <= l
          ? Effect.succeed(Option.none())
          : Effect.as(Ref.set(last, m.seq), Option.some(JsonRpc.notification(Methods.Notification.StateChanged, { app: m.app, seq: m.seq }))))
    })
    return Stream.fromEffectRepeat(next).pipe(Stream.filter(Option.isSome), Stream.map((o) => o.value))
  }))

/**
 * `backups.changed` for each app whose backups changed (an archive written, a watched file such
 * as LND's `channel.backup` copied), for every client alike; nothing on a server without a
 * backup target. A notice says only which app: the client reads `backup-list` for what it holds.
 *
 * @since 0.1.0
 * @category streams
 */
export const backupNotifications: Stream.Stream<JsonRpc.Notification> = Stream.unwrap(
  Effect.map(
    Effect.serviceOption(Backups.Backups),
    Option.match({
      onNone: () => Stream.never,
      onSome: (backups) =>
        Stream.unwrap(Effect.map(backups.subscribeChanges, (q) =>
          Stream.fromQueue(q).pipe(
            Stream.map((appId) => JsonRpc.notification(Methods.Notification.BackupsChanged, { appId }))
          )))
    })
  )
)

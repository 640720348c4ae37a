/**
 * Group commit of engine reads: concurrent requests share one engine call. A request never
 * joins a call already running (its answer could predate the request: an operation's inspect
 * must be taken after it holds the app's lock); it waits for the next call, which asks for the
 * keys of every request waiting by then. The first request of a quiet moment is sent at once,
 * so one caller alone waits for nothing more than its own call.
 *
 * Internal: `Orchestrator` uses it for the ownership `inspect` and the `image inspect` of
 * concurrent operations (ten installs at once ask podman twice, not ten times).
 */
import { Deferred, Effect, Exit } from "effect"

interface Waiting<A, E> {
  readonly keys: ReadonlyArray<string>
  readonly answer: Deferred.Deferred<A, E>
}

/**
 * `run` answers a batch of keys (distinct, in the order they were asked); every request gets
 * the whole answer (or the batch's failure) and picks its part.
 */
export const make = <A, E>(run: (keys: ReadonlyArray<string>) => Effect.Effect<A, E>) => {
  let waiting: Array<Waiting<A, E>> = []
  let busy = false

  // Runs batches until nobody waits; detached from the requests, so an interrupted request
  // never leaves the others without an answer.
  const drain: Effect.Effect<void> = Effect.suspend(() => {
    const batch = waiting
    waiting = []
    if (batch.length === 0) {
      busy = false
      return Effect.void
    }
    const keys = [...new Set(batch.flatMap((w) => w.keys))]
    return run(keys).pipe(
      Effect.exit,
      Effect.flatMap((exit) => Effect.forEach(batch, (w) => Deferred.done(w.answer, exit), { discard: true })),
      Effect.catchCause((cause) =>
        Effect.forEach(batch, (w) => Deferred.done(w.answer, Exit.failCause(cause)), { discard: true })
      ),
      Effect.andThen(drain)
    )
  })

  return (keys: ReadonlyArray<string>): Effect.Effect<A, E> =>
    Effect.gen(function*() {
      const answer = yield* Deferred.make<A, E>()
      waiting.push({ keys, answer })
      if (!busy) {
        busy = true
        yield* Effect.forkDetach(drain)
      }
      return yield* Deferred.await(answer)
    })
}

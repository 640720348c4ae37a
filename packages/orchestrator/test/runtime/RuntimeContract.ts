/**
 * THE runtime contract: one suite, run against every `ContainerRuntime` implementation (real
 * podman and the simulator). The simulator is only as good as this suite proves.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import type { Layer } from "effect"
import { Deferred, Duration, Effect, Exit, Fiber, Option, Ref, Scope, Stream } from "effect"
import { TestClock } from "effect/testing"
import { FailureMessage } from "../../src/domain/index.js"
import { Fixtures } from "../../src/testing/index.js"
import type { ContainerSummary, Progress, PullCandidate, RuntimeEvent } from "../../src/runtime/ContainerRuntime.js"
import { ContainerRuntime } from "../../src/runtime/ContainerRuntime.js"

/**
 * Work an engine starts and does not finish on its own for a long while (a registry that
 * hangs, a long build step), to be interrupted.
 */
export interface SlowWork {
  /** Returns once the engine provably works on it. */
  readonly started: Effect.Effect<void, unknown>
  /** Whether the engine has stopped working on it (polled after the interruption). */
  readonly stopped: Effect.Effect<boolean, unknown>
}

export interface Contract<R> {
  /** Shown in the describe block. */
  readonly name: string
  /** A fresh runtime per test (the simulator) or a handle on the shared engine (podman). */
  readonly layer: Layer.Layer<ContainerRuntime | R, unknown>
  /** Every container and image the suite creates starts with this. */
  readonly prefix: string
  /** "test": drive Effect's TestClock forward automatically; "live": real time. */
  readonly clock: "test" | "live"
  /** Kill -9 of the container's process from the host (not `podman kill`). */
  readonly hostKill: (name: string) => Effect.Effect<void, unknown, ContainerRuntime | R>
  /** Someone else's `podman rm --force --time 0 <name>`. */
  readonly hostRemoveContainer: (name: string) => Effect.Effect<void, unknown, ContainerRuntime | R>
  /** Someone else's `podman rmi --force <ref>` (which also removes the image's containers). */
  readonly hostRemoveImage: (ref: string) => Effect.Effect<void, unknown, ContainerRuntime | R>
  /**
   * Another program (not a container) listens on a free host TCP port until the scope closes;
   * returns the port.
   */
  readonly hostBindPort: Effect.Effect<number, unknown, Scope.Scope | ContainerRuntime | R>
  /** A pull candidate whose pull hangs; the pull tags it as `ref`. */
  readonly slowPull: (ref: string) => Effect.Effect<SlowWork & { readonly candidate: PullCandidate }, unknown, Scope.Scope | ContainerRuntime | R>
  /**
   * A Containerfile whose build (tagged `tag`) hangs; `leftBehind` lists what the build left on
   * the engine (working containers, processes of a RUN step) once it stopped.
   */
  readonly slowBuild: (tag: string) => Effect.Effect<
    SlowWork & { readonly containerfile: string; readonly leftBehind: Effect.Effect<ReadonlyArray<string>, unknown> },
    unknown,
    Scope.Scope | ContainerRuntime | R
  >
  /** Reason to skip, e.g. podman missing. */
  readonly skip?: string
  /** Runs only the tests whose title matches (a second configuration of the same runtime). */
  readonly only?: RegExp
}

const virtualBudget = Duration.minutes(30)

/** Runs `body` while moving the TestClock forward in small steps until it is done. */
const withVirtualTime = <A, E, R>(body: Effect.Effect<A, E, R>): Effect.Effect<A, E | string, R> =>
  Effect.gen(function* () {
    const fiber = yield* Effect.forkChild(body)
    let elapsed = 0
    while (true) {
      for (let i = 0; i < 10; i++) yield* Effect.yieldNow
      if (fiber.pollUnsafe() !== undefined) return yield* Fiber.join(fiber)
      if (elapsed > Duration.toMillis(virtualBudget)) {
        yield* Fiber.interrupt(fiber)
        return yield* Effect.fail("virtual time budget exhausted: the test never finished")
      }
      yield* TestClock.adjust("10 millis")
      elapsed += 10
    }
  })

/** Polls `check` until it returns Some, sleeping `every` in between, at most `times`. */
const eventually = <A, E, R>(
  check: Effect.Effect<Option.Option<A>, E, R>,
  what: string,
  times = 100,
  every: Duration.Input = "100 millis"
) =>
  Effect.gen(function* () {
    for (let i = 0; i < times; i++) {
      const r = yield* check
      if (Option.isSome(r)) return r.value
      yield* Effect.sleep(every)
    }
    return yield* Effect.fail(`never happened: ${what}`)
  })

/**
 * A sink that records lines and takes less time for each later line, so lines delivered
 * concurrently (or after the operation returned) would show out of order (or missing).
 */
const recorder = Effect.map(Ref.make<ReadonlyArray<string>>([]), (lines) => {
  let k = 0
  const sink: Progress = (line) =>
    Effect.suspend(() => Effect.sleep(Duration.millis(20 + Math.max(0, 50 - 10 * k++)))).pipe(
      Effect.andThen(Ref.update(lines, (ls) => [...ls, line]))
    )
  return { sink, lines: Ref.get(lines) }
})

const findIn = (list: ReadonlyArray<ContainerSummary>, name: string) => list.find((c) => c.name === name)

/**
 * Collects `name`'s events until `until` holds, in a fiber. Returns once the watcher provably
 * sees new events (a probe container's create arrived), since podman's starts with a delay.
 */
const watchEvents = (name: string, until: (e: RuntimeEvent) => boolean) =>
  Effect.gen(function* () {
    const rt = yield* ContainerRuntime
    const probe = `${name}-probe`
    const ready = yield* Deferred.make<number>()
    // Only events stamped from the probe's creation on: after podman rotates its events file,
    // `podman events` prints the lines the new file kept again (a `start` from before the watch
    // would end it early); events are reasons to look, and a repeat is harmless to the product.
    let since = Number.POSITIVE_INFINITY
    const fiber = yield* rt.events().pipe(
      Stream.tap((e) => {
        if (e.name !== probe || e.kind !== "create") return Effect.void
        since = Math.min(since, e.at)
        return Deferred.succeed(ready, e.at)
      }),
      Stream.filter((e) => e.name === name && e.at >= since),
      Stream.takeUntil(until),
      Stream.runCollect,
      Effect.timeoutOrElse({ duration: "30 seconds", orElse: () => Effect.fail(`the awaited event for ${name} never came`) }),
      Effect.forkChild
    )
    for (let i = 0; i < 20 && !(yield* Deferred.isDone(ready)); i++) {
      yield* rt.remove(probe, { force: true })
      yield* rt.create(Fixtures.service(probe))
      yield* Effect.ignore(Effect.timeout(Deferred.await(ready), "1 second"))
    }
    yield* rt.remove(probe, { force: true })
    if (!(yield* Deferred.isDone(ready))) return yield* Effect.fail("the event watcher never saw the probe container")
    return fiber
  })

export const runtimeContract = <R>(contract: Contract<R>) => {
  const { prefix } = contract
  const n = (suffix: string) => `${prefix}${suffix}`

  const test = (title: string, body: Effect.Effect<void, unknown, ContainerRuntime | R>, names: ReadonlyArray<string> = []) => {
    const cleanup = Effect.gen(function* () {
      const rt = yield* ContainerRuntime
      for (const name of names) yield* Effect.ignore(rt.remove(name, { force: true }))
    })
    if (contract.only !== undefined && !contract.only.test(title)) return
    const wrapped = body.pipe(Effect.ensuring(Effect.ignore(cleanup)), Effect.provide(contract.layer))
    if (contract.clock === "test") it.effect(title, () => withVirtualTime(wrapped))
    else it.live(title, () => wrapped)
  }

  describe.skipIf(contract.skip !== undefined)(`ContainerRuntime contract: ${contract.name}`, () => {
    test(
      "info names the engine and its version",
      Effect.gen(function* () {
        const info = yield* (yield* ContainerRuntime).info
        assert.isTrue(info.name.length > 0)
        assert.match(info.version, /^\d+\.\d+/)
      })
    )

    test(
      "create makes a created container with its labels and ports; list and inspect agree",
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const name = n("create")
        const id = yield* rt.create(
          Fixtures.service(name, {
            labels: { "io.archipelago.app": "demo", "io.archipelago.managed-by": "archipelago" },
            ports: [{ host: 28471, container: 80, protocol: "tcp" }],
            env: { SECRET_TOKEN: "s3cret value" }
          })
        )
        assert.match(id, /^[0-9a-f]{64}$/)
        const summary = findIn(yield* rt.list(), name)
        assert.isDefined(summary)
        assert.strictEqual(summary!.id, id)
        assert.strictEqual(summary!.state, "created")
        assert.strictEqual(summary!.image, Fixtures.baseImage)
        assert.strictEqual(summary!.labels["io.archipelago.app"], "demo")
        assert.strictEqual(summary!.labels["io.archipelago.managed-by"], "archipelago")
        assert.deepStrictEqual(summary!.ports, [{ host: 28471, container: 80, protocol: "tcp" }])
        assert.isUndefined(summary!.pid)
        assert.isUndefined(summary!.startedAt)
        const [details] = yield* rt.inspect([name])
        assert.strictEqual(details!.id, id)
        assert.strictEqual(details!.state, "created")
        assert.deepStrictEqual(details!.labels, summary!.labels)
        assert.deepStrictEqual(details!.ports, summary!.ports)
        assert.strictEqual(details!.restartCount, 0)
        assert.isFalse(details!.oomKilled)
      }),
      [n("create")]
    )

    test(
      "start and restart take the container's id as well as its name; a removed container's id is ContainerNotFound",
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const name = n("byid")
        const id = yield* rt.create(Fixtures.service(name))
        yield* rt.start(id)
        assert.strictEqual(findIn(yield* rt.list(), name)!.state, "running")
        yield* rt.restart(id, 0)
        assert.strictEqual(findIn(yield* rt.list(), name)!.state, "running")
        yield* rt.remove(name, { force: true })
        const gone = yield* Effect.flip(rt.start(id))
        assert.strictEqual(gone._tag, "ContainerNotFound")
      }),
      [n("byid")]
    )

    test(
      "start runs the container; a graceful stop within the window exits 0",
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const name = n("graceful")
        yield* rt.create(Fixtures.service(name, { stopDelaySec: 0.3, stopTimeoutSec: 10 }))
        yield* rt.start(name)
        const running = findIn(yield* rt.list(), name)!
        assert.strictEqual(running.state, "running")
        assert.isTrue((running.pid ?? 0) > 0)
        assert.isDefined(running.startedAt)
        assert.isUndefined(running.exitCode)
        const logs = yield* eventually(
          Effect.map(rt.logs(name), (text) => (text.includes("started") ? Option.some(text) : Option.none())),
          "the process logs `started`"
        )
        assert.include(logs, "started")
        yield* rt.stop(name, 10)
        const stopped = findIn(yield* rt.list(), name)!
        assert.strictEqual(stopped.state, "exited")
        assert.strictEqual(stopped.exitCode, 0)
        assert.isUndefined(stopped.pid)
        assert.isDefined(stopped.exitedAt)
        assert.include(yield* rt.logs(name), "stopping")
        const [details] = yield* rt.inspect([name])
        assert.strictEqual(details!.exitCode, 0)
      }),
      [n("graceful")]
    )

    test(
      "followLogs gives the tail, then each new line, and ends when the container stops",
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const name = n("follow")
        yield* rt.create(Fixtures.service(name, { stopDelaySec: 0.3, stopTimeoutSec: 10 }))
        yield* rt.start(name)
        yield* eventually(
          Effect.map(rt.logs(name), (text) => (text.includes("started") ? Option.some(text) : Option.none())),
          "the process logs `started`"
        )
        const seen = yield* Ref.make<ReadonlyArray<string>>([])
        const follower = yield* rt.followLogs(name, { tail: 10 }).pipe(
          Stream.tap((line) => Ref.update(seen, (ls) => [...ls, line])),
          Stream.runDrain,
          Effect.forkChild
        )
        yield* eventually(Effect.map(Ref.get(seen), (ls) => (ls.includes("started") ? Option.some(ls) : Option.none())), "the tail arrives")
        yield* rt.stop(name, 10)
        yield* Fiber.join(follower).pipe(
          Effect.timeoutOrElse({ duration: "30 seconds", orElse: () => Effect.fail("the follow never ended after the stop") })
        )
        assert.deepStrictEqual(yield* Ref.get(seen), ["started", "stopping"])
        // a stopped container: its log, then the end
        const after = yield* Stream.runCollect(rt.followLogs(name, { tail: 1 }))
        assert.deepStrictEqual(after, ["stopping"])
        const ghost = yield* Effect.flip(Stream.runDrain(rt.followLogs(n("follow-ghost"))))
        assert.strictEqual(ghost._tag, "ContainerNotFound")
      }),
      [n("follow")]
    )

    test(
      "stats samples every running container in one call, with the memory limit",
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const limited = n("stats-limited")
        const unlimited = n("stats-unlimited")
        const stopped = n("stats-stopped")
        const limit = 64 * 1024 * 1024
        yield* rt.create(Fixtures.service(limited, { memoryBytes: limit }))
        yield* rt.create(Fixtures.service(unlimited))
        yield* rt.create(Fixtures.service(stopped))
        yield* rt.start(limited)
        yield* rt.start(unlimited)
        const sample = yield* rt.stats()
        const of = (name: string) => sample.filter((s) => s.name === name)
        assert.strictEqual(of(limited).length, 1)
        assert.strictEqual(of(unlimited).length, 1)
        assert.deepStrictEqual(of(stopped), [])
        const [l] = of(limited)
        const [u] = of(unlimited)
        // podman prints sizes rounded to 4 digits in decimal units
        assert.isTrue(Math.abs((l!.memoryLimitBytes ?? 0) - limit) / limit < 0.001, `limit ${l!.memoryLimitBytes} is not ${limit}`)
        assert.isTrue(u!.memoryLimitBytes === undefined || u!.memoryLimitBytes > limit)
        for (const s of [l!, u!]) {
          assert.isTrue(s.cpuPercent >= 0 && s.memoryBytes >= 0)
          assert.isTrue(s.id.length >= 12)
        }
        const ids = new Map((yield* rt.list()).map((c) => [c.name, c.id]))
        assert.isTrue(ids.get(limited)!.startsWith(l!.id))
      }),
      [n("stats-limited"), n("stats-unlimited"), n("stats-stopped")]
    )

    test(
      "a stop past the window ends in SIGKILL: exit 137",
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const name = n("forced")
        yield* rt.create(Fixtures.service(name, { stopDelaySec: 30, stopTimeoutSec: 30 }))
        yield* rt.start(name)
        yield* rt.stop(name, 1)
        const [details] = yield* rt.inspect([name])
        assert.strictEqual(details!.state, "exited")
        assert.strictEqual(details!.exitCode, 137)
        assert.isFalse(details!.oomKilled)
      }),
      [n("forced")]
    )

    test(
      "stop of a stopped container and start of a running one are no-ops",
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const name = n("idem")
        yield* rt.create(Fixtures.service(name))
        yield* rt.stop(name, 1)
        yield* rt.start(name)
        const first = findIn(yield* rt.list(), name)!
        yield* rt.start(name)
        const second = findIn(yield* rt.list(), name)!
        assert.strictEqual(second.state, "running")
        assert.strictEqual(second.pid, first.pid)
        yield* rt.stop(name, 5)
        yield* rt.stop(name, 5)
        assert.strictEqual(findIn(yield* rt.list(), name)!.state, "exited")
      }),
      [n("idem")]
    )

    test(
      "restart stops within the window and starts again in one call; a created or stopped container is started",
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const name = n("restart")
        const stubborn = n("restart-kill")
        yield* rt.create(Fixtures.service(name, { stopDelaySec: 0.3, stopTimeoutSec: 10 }))
        yield* rt.restart(name, 10)
        const first = findIn(yield* rt.list(), name)!
        assert.strictEqual(first.state, "running", "a created container is started")
        yield* eventually(
          Effect.map(rt.logs(name), (text) => (text.includes("started") ? Option.some(text) : Option.none())),
          "the process logs `started`"
        )
        yield* rt.restart(name, 10)
        const second = findIn(yield* rt.list(), name)!
        assert.strictEqual(second.state, "running")
        // `podman ps` gives StartedAt in whole seconds: a quick restart can keep the same second,
        // so a new run shows as a new main process, and a start time that never goes back
        assert.notStrictEqual(second.pid, first.pid, "a new run")
        assert.isAtLeast(second.startedAt!, first.startedAt!)
        assert.include(yield* rt.logs(name), "stopping", "the old run got its graceful stop")
        yield* rt.stop(name, 10)
        yield* rt.restart(name, 10)
        assert.strictEqual(findIn(yield* rt.list(), name)!.state, "running", "a stopped container is started")
        // past the window the old run is SIGKILLed, and the new one starts all the same
        yield* rt.create(Fixtures.service(stubborn, { stopDelaySec: 30, stopTimeoutSec: 30 }))
        yield* rt.start(stubborn)
        const before = findIn(yield* rt.list(), stubborn)!
        yield* rt.restart(stubborn, 1)
        const after = findIn(yield* rt.list(), stubborn)!
        assert.strictEqual(after.state, "running")
        assert.notStrictEqual(after.pid, before.pid, "a new run after the SIGKILL")
        assert.isAtLeast(after.startedAt!, before.startedAt!)
        yield* rt.stop(stubborn, 0)
        const ghost = yield* Effect.flip(rt.restart(n("restart-ghost"), 1))
        assert.strictEqual(ghost._tag, "ContainerNotFound")
      }),
      [n("restart"), n("restart-kill")]
    )

    test(
      "healthcheck runs the configured check once: starting, then healthy; refused without a check or when stopped",
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const name = n("health")
        const plain = n("health-none")
        const healthCheck = { command: ["true"], intervalSec: 30, timeoutSec: 5, retries: 1, startPeriodSec: 0 }
        yield* rt.create(Fixtures.service(name, { healthCheck }))
        yield* rt.create(Fixtures.service(plain))
        const stoppedCheck = yield* Effect.flip(rt.healthcheck(name))
        assert.strictEqual(stoppedCheck._tag, "CommandFailed")
        yield* rt.start(name)
        yield* rt.start(plain)
        assert.strictEqual(findIn(yield* rt.list(), name)!.health, "starting")
        assert.strictEqual(yield* rt.healthcheck(name), "healthy")
        assert.strictEqual(findIn(yield* rt.list(), name)!.health, "healthy")
        const noCheck = yield* Effect.flip(rt.healthcheck(plain))
        assert.strictEqual(noCheck._tag, "CommandFailed")
        assert.include(noCheck.message, "no defined healthcheck")
        const missing = yield* Effect.flip(rt.healthcheck(n("health-missing")))
        assert.strictEqual(missing._tag, "ContainerNotFound")
      }),
      [n("health"), n("health-none")]
    )

    test(
      "remove deletes; removing a running container needs force",
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const name = n("remove")
        yield* rt.create(Fixtures.service(name, { stopTimeoutSec: 2 }))
        yield* rt.start(name)
        const refused = yield* Effect.flip(rt.remove(name))
        assert.strictEqual(refused._tag, "CommandFailed")
        assert.strictEqual(findIn(yield* rt.list(), name)?.state, "running")
        yield* rt.remove(name, { force: true })
        assert.isUndefined(findIn(yield* rt.list(), name))
        const again = yield* Effect.flip(rt.remove(name))
        assert.strictEqual(again._tag, "ContainerNotFound")
        assert.deepStrictEqual(yield* rt.inspect([name]), [])
      }),
      [n("remove")]
    )

    test(
      "typed errors: unknown containers, missing images, name clashes",
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const ghost = n("ghost")
        for (const e of [
          yield* Effect.flip(rt.start(ghost)),
          yield* Effect.flip(rt.stop(ghost, 1)),
          yield* Effect.flip(rt.remove(ghost)),
          yield* Effect.flip(rt.logs(ghost))
        ]) {
          assert.strictEqual(e._tag, "ContainerNotFound")
          if (e._tag === "ContainerNotFound") assert.strictEqual(e.name, ghost)
        }
        // Like podman's `rm --force`: forced removal of what is already gone succeeds.
        yield* rt.remove(ghost, { force: true })
        const missingImage = `localhost/${prefix}missing:1`
        assert.isFalse(yield* rt.imageExists(missingImage))
        const noImage = yield* Effect.flip(rt.create(Fixtures.service(n("noimage"), { image: missingImage })))
        assert.strictEqual(noImage._tag, "ImageNotFound")
        // the orchestrator creates first and fetches on this answer: nothing is left behind, so
        // the create after the fetch takes the name
        if (noImage._tag === "ImageNotFound") assert.strictEqual(noImage.ref, missingImage)
        assert.isUndefined(findIn(yield* rt.list(), n("noimage")))
        const noRmi = yield* Effect.flip(rt.removeImage(missingImage))
        assert.strictEqual(noRmi._tag, "ImageNotFound")
        const name = n("clash")
        yield* rt.create(Fixtures.service(name))
        const clash = yield* Effect.flip(rt.create(Fixtures.service(name)))
        assert.strictEqual(clash._tag, "CommandFailed")
        if (clash._tag === "CommandFailed") {
          assert.strictEqual(clash.exitCode, 125)
          assert.include(clash.stderr, "already in use")
        }
      }),
      [n("clash"), n("noimage")]
    )

    test(
      "bind mounts: an existing source is mounted, a missing one is refused at create",
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const dir = yield* Effect.promise(() => mkdtemp(join(tmpdir(), "archy-rt-bind-")))
        yield* Effect.addFinalizer(() => Effect.promise(() => rm(dir, { recursive: true, force: true })))
        const name = n("bind")
        yield* rt.create(Fixtures.service(name, { volumes: [{ source: dir, target: "/data", readOnly: true }] }))
        const [d] = yield* rt.inspect([name])
        assert.deepStrictEqual(d!.mounts, [{ source: dir, target: "/data" }])
        const missing = join(dir, "does-not-exist")
        const e = yield* Effect.flip(rt.create(Fixtures.service(n("bind-missing"), { volumes: [{ source: missing, target: "/data", readOnly: false }] })))
        assert.strictEqual(e._tag, "CommandFailed")
        if (e._tag === "CommandFailed") {
          assert.strictEqual(e.exitCode, 125)
          assert.include(e.stderr, missing)
        }
        assert.isUndefined(findIn(yield* rt.list(), n("bind-missing")))
      }).pipe(Effect.scoped),
      [n("bind"), n("bind-missing")]
    )

    test(
      "a host port another running container publishes: create succeeds, start fails and leaves it created",
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const ports = [{ host: 28473, container: 80, protocol: "tcp" as const }]
        yield* rt.create(Fixtures.service(n("port-a"), { ports }))
        yield* rt.create(Fixtures.service(n("port-b"), { ports }))
        yield* rt.start(n("port-a"))
        const e = yield* Effect.flip(rt.start(n("port-b")))
        assert.strictEqual(e._tag, "CommandFailed")
        if (e._tag === "CommandFailed") {
          assert.strictEqual(e.exitCode, 125)
          assert.include(e.stderr, "address already in use")
        }
        assert.strictEqual(findIn(yield* rt.list(), n("port-b"))!.state, "created")
        yield* rt.stop(n("port-a"), 5)
        yield* rt.start(n("port-b"))
        assert.strictEqual(findIn(yield* rt.list(), n("port-b"))!.state, "running")
      }),
      [n("port-a"), n("port-b")]
    )

    test(
      "a host port another program listens on: start fails with podman's words, the container never ran; once freed it starts",
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const held = yield* Scope.make()
        const port = yield* Effect.provideService(contract.hostBindPort, Scope.Scope, held)
        yield* rt.create(Fixtures.service(n("port-held"), { ports: [{ host: port, container: 80, protocol: "tcp" }] }))
        const e = yield* Effect.flip(rt.start(n("port-held")))
        assert.strictEqual(e._tag, "CommandFailed")
        if (e._tag === "CommandFailed") {
          assert.strictEqual(e.exitCode, 125)
          assert.include(e.stderr, `:${port}: bind: address already in use`)
          assert.strictEqual(
            FailureMessage.headline(FailureMessage.ofError("web", "start", e)),
            `web could not start: host port ${port} is already in use by another program`
          )
        }
        assert.strictEqual(findIn(yield* rt.list(), n("port-held"))!.state, "created")
        const [details] = yield* rt.inspect([n("port-held")])
        assert.isUndefined(details!.startedAt, "it never ran")
        yield* Scope.close(held, Exit.void)
        yield* rt.start(n("port-held"))
        assert.strictEqual(findIn(yield* rt.list(), n("port-held"))!.state, "running")
      }),
      [n("port-held")]
    )

    test(
      "inspect takes many names at once and leaves unknown ones out",
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const names = [n("insp-a"), n("insp-b")]
        for (const name of names) yield* rt.create(Fixtures.service(name))
        assert.deepStrictEqual(yield* rt.inspect([]), [])
        const found = yield* rt.inspect([names[0]!, n("insp-ghost"), names[1]!])
        assert.deepStrictEqual(
          found.map((d) => d.name).sort(),
          [...names].sort()
        )
      }),
      [n("insp-a"), n("insp-b")]
    )

    test(
      "many containers: one list() sees them all with their labels",
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const names = Array.from({ length: 12 }, (_, i) => n(`many-${i}`))
        yield* Effect.forEach(
          names,
          (name, i) => rt.create(Fixtures.service(name, { labels: { "io.archipelago.app": `app-${i}` } })),
          { concurrency: 4 }
        )
        yield* Effect.forEach(names.slice(0, 6), (name) => rt.start(name), { concurrency: 3 })
        const list = yield* rt.list()
        for (const [i, name] of names.entries()) {
          const c = findIn(list, name)
          assert.isDefined(c, name)
          assert.strictEqual(c!.labels["io.archipelago.app"], `app-${i}`)
          assert.strictEqual(c!.state, i < 6 ? "running" : "created")
        }
        assert.strictEqual((yield* rt.inspect(names)).length, 12)
        yield* Effect.forEach(names, (name) => rt.remove(name, { force: true }), { concurrency: 4 })
        const after = yield* rt.list()
        assert.deepStrictEqual(names.filter((name) => findIn(after, name) !== undefined), [])
      }),
      Array.from({ length: 12 }, (_, i) => n(`many-${i}`))
    )

    test(
      "build stamps labels on the image; containers inherit them under the spec's own",
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const tag = `localhost/${prefix}built:1`
        const dir = yield* Effect.promise(() => mkdtemp(join(tmpdir(), "archy-rt-build-")))
        yield* Effect.promise(() => writeFile(join(dir, "Containerfile"), `FROM ${Fixtures.baseImage}\nLABEL x.file="from the containerfile"\n`))
        const progress = yield* recorder
        yield* rt
          .build(
            { tag, context: dir, containerfile: "Containerfile", args: {}, labels: { "io.archipelago.app": "built", "x.kept": "image" } },
            progress.sink
          )
          .pipe(Effect.ensuring(Effect.promise(() => rm(dir, { recursive: true, force: true }))))
        assert.isTrue((yield* progress.lines).length > 0)
        assert.isTrue(yield* rt.imageExists(tag))
        const name = n("built")
        yield* rt.create(Fixtures.service(name, { image: tag, labels: { "io.archipelago.app": "spec" } }))
        const c = findIn(yield* rt.list(), name)!
        assert.strictEqual(c.labels["io.archipelago.app"], "spec")
        assert.strictEqual(c.labels["x.kept"], "image")
        assert.strictEqual(c.labels["x.file"], "from the containerfile")
        const inUse = yield* Effect.flip(rt.removeImage(tag))
        assert.strictEqual(inUse._tag, "CommandFailed")
        yield* rt.remove(name)
        yield* rt.removeImage(tag)
        assert.isFalse(yield* rt.imageExists(tag))
      }).pipe(
        Effect.ensuring(
          Effect.flatMap(ContainerRuntime, (rt) =>
            Effect.ignore(rt.remove(n("built"), { force: true }).pipe(Effect.andThen(rt.removeImage(`localhost/${prefix}built:1`))))
          )
        )
      ),
      [n("built")]
    )

    test(
      "containers are created from an image digest; tagImage and untagImage add and remove names only",
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const tag = `localhost/${prefix}digest:1`
        const hold = `localhost/${prefix}digest-hold:1`
        assert.isTrue(Option.isNone(yield* rt.imageDigest(`localhost/${prefix}never-built:1`)))
        yield* rt.tagImage(Fixtures.baseImage, tag)
        const digest = Option.getOrThrow(yield* rt.imageDigest(tag))
        assert.match(digest, /^sha256:[0-9a-f]{64}$/)
        assert.deepStrictEqual(yield* rt.imageDigest(digest), Option.some(digest))
        yield* rt.tagImage(digest, hold)
        yield* rt.untagImage(tag)
        assert.isFalse(yield* rt.imageExists(tag))
        assert.deepStrictEqual(yield* rt.imageDigest(hold), Option.some(digest))
        yield* rt.untagImage(hold)
        assert.isFalse(yield* rt.imageExists(hold))
        const name = n("from-digest")
        yield* rt.create(Fixtures.service(name, { image: digest }))
        const [c] = yield* rt.inspect([name])
        assert.strictEqual(`sha256:${c!.imageId}`, digest)
        assert.strictEqual((yield* Effect.flip(rt.untagImage(tag)))._tag, "ImageNotFound")
      }).pipe(
        Effect.ensuring(
          Effect.flatMap(ContainerRuntime, (rt) =>
            Effect.all([rt.untagImage(`localhost/${prefix}digest:1`), rt.untagImage(`localhost/${prefix}digest-hold:1`)].map((e) => Effect.ignore(e)))
          )
        )
      ),
      [n("from-digest")]
    )

    test(
      "pull tries exactly the candidates given, in order, and reports every failure",
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const progress = yield* recorder
        // dead loopback registries only: the test never leaves the machine
        const ref = "docker.io/archipelago-test/does-not-exist:0"
        const candidates = [
          { ref: "127.0.0.1:1/archipelago-test/does-not-exist:0", insecure: true },
          { ref: "127.0.0.1:9/archipelago-test/does-not-exist:0", insecure: false }
        ]
        const e = yield* Effect.flip(rt.pull({ ref, candidates }, progress.sink))
        const lines = yield* progress.lines
        assert.strictEqual(e._tag, "ImageNotFound")
        if (e._tag === "ImageNotFound") {
          assert.strictEqual(e.ref, ref)
          assert.strictEqual(e.tried.length, 2)
          assert.isTrue(e.tried[0]!.startsWith(`${candidates[0]!.ref}: `), e.tried[0])
          assert.isTrue(e.tried[1]!.startsWith(`${candidates[1]!.ref}: `), e.tried[1])
        }
        assert.isTrue(lines.some((l) => l === `pulling ${candidates[0]!.ref}`))
        assert.isTrue(lines.some((l) => l === `pulling ${candidates[1]!.ref}`))
        assert.isFalse(lines.some((l) => l.includes(`pulling ${ref}`)), "docker.io was not in the list, so it is not tried")
        // in order, every line received before the pull returned
        assert.deepStrictEqual(
          lines.filter((l) => /^(pulling|failed) /.test(l)).map((l) => l.replace(/^(failed [^ ]+): .*$/, "$1")),
          candidates.flatMap((c) => [`pulling ${c.ref}`, `failed ${c.ref}`])
        )
      })
    )

    test(
      "build progress reaches an effectful sink in order, all of it before build returns",
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const tag = `localhost/${prefix}progress:1`
        const dir = yield* Effect.promise(() => mkdtemp(join(tmpdir(), "archy-rt-progress-")))
        yield* Effect.promise(() =>
          writeFile(join(dir, "Containerfile"), `FROM ${Fixtures.baseImage}\nLABEL x.one=1\nENV X_TWO=2\nLABEL x.three=3\n`)
        )
        const progress = yield* recorder
        yield* rt
          .build({ tag, context: dir, args: {}, labels: {} }, progress.sink)
          .pipe(Effect.ensuring(Effect.promise(() => rm(dir, { recursive: true, force: true }))))
        const lines = yield* progress.lines
        const steps = lines.flatMap((l) => {
          const m = /^STEP (\d+)\/(\d+): /.exec(l)
          return m === null ? [] : [[Number(m[1]), Number(m[2])] as const]
        })
        assert.isTrue(steps.length > 0, lines.join("\n"))
        assert.deepStrictEqual(steps.map(([i]) => i), steps.map((_, i) => i + 1), lines.join("\n"))
        assert.strictEqual(steps.at(-1)![0], steps.at(-1)![1])
        const tagged = lines.indexOf(`Successfully tagged ${tag}`)
        const lastStep = lines.map((l, i) => (l.startsWith("STEP ") ? i : -1)).reduce((a, b) => Math.max(a, b), -1)
        assert.isTrue(tagged > lastStep, lines.join("\n"))
        yield* rt.removeImage(tag)
      }).pipe(
        Effect.ensuring(Effect.flatMap(ContainerRuntime, (rt) => Effect.ignore(rt.removeImage(`localhost/${prefix}progress:1`))))
      )
    )

    test(
      "interrupting a pull stops it: no line after the interruption, no image",
      Effect.scoped(
        Effect.gen(function* () {
          const rt = yield* ContainerRuntime
          const ref = `localhost/${prefix}slow-pull:1`
          const slow = yield* contract.slowPull(ref)
          const progress = yield* recorder
          const fiber = yield* Effect.forkChild(rt.pull({ ref, candidates: [slow.candidate] }, progress.sink))
          yield* eventually(
            Effect.map(progress.lines, (ls) => (ls.includes(`pulling ${slow.candidate.ref}`) ? Option.some(ls) : Option.none())),
            "the pull's first line"
          )
          yield* slow.started
          yield* Fiber.interrupt(fiber)
          assert.isTrue(Exit.hasInterrupts(yield* Fiber.await(fiber)))
          const seen = (yield* progress.lines).length
          yield* eventually(Effect.map(slow.stopped, (done) => (done ? Option.some(done) : Option.none())), "the engine stopped the pull")
          assert.strictEqual((yield* progress.lines).length, seen, "no line after the interruption")
          assert.isFalse(yield* rt.imageExists(ref))
        })
      )
    )

    test(
      "interrupting a build stops it: no line after the interruption, no image, nothing left behind",
      Effect.scoped(
        Effect.gen(function* () {
          const rt = yield* ContainerRuntime
          const tag = `localhost/${prefix}slow-build:1`
          const slow = yield* contract.slowBuild(tag)
          const dir = yield* Effect.acquireRelease(
            Effect.promise(() => mkdtemp(join(tmpdir(), "archy-rt-slow-build-"))),
            (d) => Effect.promise(() => rm(d, { recursive: true, force: true }))
          )
          yield* Effect.promise(() => writeFile(join(dir, "Containerfile"), slow.containerfile))
          const progress = yield* recorder
          const fiber = yield* Effect.forkChild(rt.build({ tag, context: dir, args: {}, labels: {} }, progress.sink))
          yield* eventually(
            Effect.map(progress.lines, (ls) => (ls.some((l) => l.startsWith("STEP 1/")) ? Option.some(ls) : Option.none())),
            "the build's first step"
          )
          yield* slow.started
          yield* Fiber.interrupt(fiber)
          assert.isTrue(Exit.hasInterrupts(yield* Fiber.await(fiber)))
          const seen = (yield* progress.lines).length
          yield* eventually(Effect.map(slow.stopped, (done) => (done ? Option.some(done) : Option.none())), "the engine stopped the build")
          assert.strictEqual((yield* progress.lines).length, seen, "no line after the interruption")
          assert.isFalse(yield* rt.imageExists(tag))
          assert.deepStrictEqual(yield* slow.leftBehind, [], "the interrupted build's working container and RUN process")
        })
      )
    )

    test(
      "events: create, start, died (with exit code) and remove arrive for a container",
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const name = n("events")
        const seen = yield* watchEvents(name, (e) => e.kind === "remove")
        yield* rt.create(Fixtures.service(name, { stopDelaySec: 0.2 }))
        yield* rt.start(name)
        yield* rt.stop(name, 5)
        yield* rt.remove(name)
        const events: ReadonlyArray<RuntimeEvent> = yield* Fiber.join(seen)
        const kinds = new Set(events.map((e) => e.kind))
        for (const k of ["create", "start", "died", "remove"] as const) assert.isTrue(kinds.has(k), `missing ${k} in ${[...kinds].join(",")}`)
        const died = events.find((e) => e.kind === "died")!
        assert.strictEqual(died.exitCode, 0)
        assert.isTrue(events.every((e) => e.id.length === 64 && e.at > 0))
      }),
      [n("events"), n("events-probe")]
    )

    test(
      "a kill -9 from the host restarts a container whose policy is always: died 137, restart, start",
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const name = n("restart-always")
        yield* rt.create(Fixtures.service(name, { restart: "always" }))
        yield* rt.start(name)
        const seen = yield* watchEvents(name, (e) => e.kind === "start")
        yield* contract.hostKill(name)
        const events = yield* Fiber.join(seen)
        assert.deepStrictEqual(
          events.filter((e) => e.kind === "died" || e.kind === "restart" || e.kind === "start").map((e) => [e.kind, e.exitCode]),
          [
            ["died", 137],
            ["restart", undefined],
            ["start", undefined]
          ]
        )
        const d = yield* eventually(
          Effect.map(rt.inspect([name]), ([d]) => (d !== undefined && d.restartCount >= 1 && d.state === "running" ? Option.some(d) : Option.none())),
          "the container restarted"
        )
        assert.strictEqual(d.restartCount, 1)
        assert.isTrue((d.pid ?? 0) > 0)
        yield* rt.stop(name, 5)
        const stopped = (yield* rt.inspect([name]))[0]!
        assert.strictEqual(stopped.state, "exited")
        yield* Effect.sleep("1 second")
        assert.strictEqual((yield* rt.inspect([name]))[0]!.state, "exited")
      }),
      [n("restart-always"), n("restart-always-probe")]
    )

    test(
      "a kill -9 from the host leaves a restart=no container exited with 137",
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const name = n("restart-no")
        yield* rt.create(Fixtures.service(name))
        yield* rt.start(name)
        yield* contract.hostKill(name)
        const d = yield* eventually(
          Effect.map(rt.inspect([name]), ([d]) => (d !== undefined && d.state === "exited" ? Option.some(d) : Option.none())),
          "the container exited"
        )
        assert.strictEqual(d.exitCode, 137)
        assert.isFalse(d.oomKilled)
        yield* Effect.sleep("1 second")
        const later = (yield* rt.inspect([name]))[0]!
        assert.strictEqual(later.state, "exited")
        assert.strictEqual(later.restartCount, 0)
      }),
      [n("restart-no")]
    )

    test(
      "a container removed behind our back is gone from list and inspect, and remove says not found",
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const name = n("rm-behind")
        yield* rt.create(Fixtures.service(name))
        yield* rt.start(name)
        yield* contract.hostRemoveContainer(name)
        assert.isUndefined(findIn(yield* rt.list(), name))
        assert.deepStrictEqual(yield* rt.inspect([name]), [])
        assert.strictEqual((yield* Effect.flip(rt.remove(name)))._tag, "ContainerNotFound")
        assert.strictEqual((yield* Effect.flip(rt.start(name)))._tag, "ContainerNotFound")
      }),
      [n("rm-behind")]
    )

    test(
      "an image removed behind our back takes its containers; create then reports ImageNotFound",
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const tag = `localhost/${prefix}doomed:1`
        const dir = yield* Effect.promise(() => mkdtemp(join(tmpdir(), "archy-rt-doomed-")))
        yield* Effect.promise(() => writeFile(join(dir, "Containerfile"), `FROM ${Fixtures.baseImage}\nLABEL x.doomed=yes\n`))
        yield* rt
          .build({ tag, context: dir, args: {}, labels: {} })
          .pipe(Effect.ensuring(Effect.promise(() => rm(dir, { recursive: true, force: true }))))
        const name = n("doomed")
        yield* rt.create(Fixtures.service(name, { image: tag }))
        yield* rt.start(name)
        yield* contract.hostRemoveImage(tag)
        assert.isFalse(yield* rt.imageExists(tag))
        assert.isUndefined(findIn(yield* rt.list(), name))
        const e = yield* Effect.flip(rt.create(Fixtures.service(name, { image: tag })))
        assert.strictEqual(e._tag, "ImageNotFound")
      }),
      [n("doomed")]
    )
  })
}

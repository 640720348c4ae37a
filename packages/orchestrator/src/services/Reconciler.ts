/**
 * The level-triggered reconciler: observe (one scan), decide per app with the pure
 * `Plan.plan`, apply, record. At boot it adopts existing containers as they are and resumes or
 * settles persisted transitions; afterwards it converges apps to their intent on a schedule and
 * whenever the engine reports an event, so damage is repaired within about a second.
 *
 * @since 0.1.0
 */
import { Clock, Context, Duration, Effect, Result, FiberSet, Layer, Option, Queue, Schedule, Stream } from "effect"
import type { AppEntry, Observation } from "../domain/AppEntry.js"
import type { AppId } from "../domain/AppId.js"
import * as Intent from "../domain/Intent.js"
import * as Merge from "../domain/Merge.js"
import * as Op from "../domain/Op.js"
import * as Transition from "../domain/Transition.js"
import * as Plan from "../reconcile/Plan.js"
import { ContainerRuntime } from "../runtime/ContainerRuntime.js"
import { Labels } from "../runtime/ContainerSpec.js"
import { AppLocks } from "./AppLocks.js"
import { Apps, resolveDependencies } from "./Apps.js"
import type { AppDef } from "./Apps.js"
import { InstallLog } from "./InstallLog.js"
import { factsOf, observationOf } from "../reconcile/Observation.js"
import * as Operation from "./Operation.js"
import { Orchestrator } from "./Orchestrator.js"
import type { WorkError } from "./Orchestrator.js"
import { Scanner } from "./Scanner.js"
import type { Scan } from "./Scanner.js"
import { StateStore } from "./StateStore.js"

/**
 * The action taken for one app in a pass.
 *
 * @since 0.1.0
 * @category models
 */
export interface Decision {
  readonly appId: AppId
  readonly action: Plan.Action
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * The boot pass: one scan, persisted transitions resumed or settled by observation, existing
   * containers adopted as they are (no recreation, no restart), one log line per app.
   */
  readonly boot: Effect.Effect<ReadonlyArray<Decision>>
  /** One converging pass: one scan, then plan and apply for every app, dependencies first. */
  readonly pass: Effect.Effect<ReadonlyArray<Decision>>
  /** Asks the loop for a pass soon (debounced). */
  readonly kick: Effect.Effect<void>
  /** The loop: passes on the schedule, on kicks and engine events, and at back-off/grace ends. */
  readonly run: Effect.Effect<never>
  /** Decisions of the last pass. */
  readonly last: Effect.Effect<ReadonlyArray<Decision>>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Reconciler extends Context.Service<Reconciler, Service>()("@archipelago/orchestrator/Reconciler") {}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Time between scheduled passes; default 30 s. */
  readonly interval?: Duration.Input
  /**
   * Quiet time after an engine event before the pass; default 5 ms (`defaultDebounce`).
   */
  readonly debounce?: Duration.Input
  /** How long shutdown waits for resumed operations; default 10 s. */
  readonly shutdownGrace?: Duration.Input
}

/**
 * The default time between scheduled passes.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultInterval: Duration.Duration = Duration.seconds(30)

/**
 * The default quiet time after an engine event: enough for the lines of one read of podman's
 * events file (or one chunk of `podman events`) to be gathered into one kick. Events that come
 * while a pass runs are gathered anyway (the kicks queue holds one), so waiting longer only
 * delays the look: after a kill -9 the `died` line kicks a pass, and what podman writes while
 * that pass runs (`restart` a few ms later, `cleanup`, `init`, `start` 100-800 ms later) kicks
 * one more after it, at 5 ms as at 25 (`bench/tools/processes.ts`). Was 25 ms.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultDebounce: Duration.Duration = Duration.millis(5)

/**
 * After a pass triggered by an engine event, another look this much later: an event can be seen
 * before the engine's list shows what it announced.
 *
 * @since 0.1.0
 * @category constants
 */
export const followUpMs = 2_000

/**
 * How old a pass's listing may be for a repair to trust it (the container's ownership and id)
 * instead of inspecting it again; the pass holds the app's lock and has checked that no
 * operation wrote since the listing. Older (earlier apps' work took long), the start looks again.
 *
 * @since 0.1.0
 * @category constants
 */
export const trustListingMs = 5_000

/**
 * How the event watcher is restarted when the engine's event stream fails.
 *
 * @since 0.1.0
 * @category constants
 */
export const eventsRetry = Schedule.min([Schedule.exponential(Duration.millis(500)), Schedule.spaced(Duration.seconds(10))])

const desiredOf = (def: AppDef): Plan.Desired => {
  const instance = def.spec.labels[Labels.instance]
  return {
    id: def.id,
    specHash: def.specHash,
    dependsOn: def.manifest.dependsOn,
    restartPolicy: def.manifest.restart,
    version: def.manifest.version,
    imageRef: def.spec.image,
    ...(instance === undefined ? {} : { instance })
  }
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}) =>
  Effect.gen(function*() {
    const apps = yield* Apps
    const store = yield* StateStore
    const locks = yield* AppLocks
    const scanner = yield* Scanner
    const orchestrator = yield* Orchestrator
    const runtime = yield* ContainerRuntime
    const installLog = yield* InstallLog
    const operation = yield* Operation.make
    const steps = orchestrator.steps
    const interval = Duration.fromInputUnsafe(options.interval ?? defaultInterval)
    const debounce = Duration.fromInputUnsafe(options.debounce ?? defaultDebounce)
    const grace = Duration.fromInputUnsafe(options.shutdownGrace ?? Duration.seconds(10))
    const kicks = yield* Queue.sliding<void>(1)
    const resumed = yield* FiberSet.make<void, never>()
    yield* Effect.addFinalizer(() =>
      Duration.isZero(grace) ? Effect.void : FiberSet.awaitEmpty(resumed).pipe(Effect.timeout(grace), Effect.ignore)
    )
    const adopted = new Set<AppId>()
    let lastDecisions: ReadonlyArray<Decision> = []

    /**
     * Runs engine work for an app under a transition of `op` through the one runner, without
     * touching the intent; an automatic (re)start counts toward the crash-loop back-off. A
     * refusal (another operation holds the app) is left for the next pass; a failure is already
     * in the install log and the app's last error, and logged as a warning by the runner.
     */
    const transition = (
      def: AppDef,
      op: Op.Op,
      work: Effect.Effect<void | Operation.Answered, WorkError>,
      countsAsRestart: boolean,
      starts = countsAsRestart
    ) =>
      operation.run({
        def,
        op,
        label: `reconcile ${op}`,
        begin: (entry, _intent, now) =>
          Result.map(Transition.begin(entry, op, now, def.manifest.stopTimeout), (begun) => ({
            entry: countsAsRestart ? { ...begun, crashLoop: Plan.nextCrashLoop(entry.crashLoop, now) } : begun
          })),
        work,
        observe: steps.observe(def),
        // whether the container ran is recorded only for work meant to start it
        ...(countsAsRestart && starts ? { settled: recordAttempt } : {})
      }).pipe(
        Effect.catchTags({
          Conflict: () => Effect.void,
          NotAllowed: () => Effect.void,
          OperationFailed: () => Effect.void
        })
      )

    const recordAttempt = (entry: AppEntry, failed: boolean, seen: Observation | undefined): AppEntry => {
      const crashLoop = Plan.attemptSettled(entry.crashLoop, failed, seen)
      return crashLoop === undefined ? entry : { ...entry, crashLoop }
    }

    const apply = (def: AppDef, action: Plan.Action, scan: Scan): Effect.Effect<void> =>
      Plan.Action.$match(action, {
        NoOp: () => Effect.void,
        Adopt: ({ running }) =>
          Effect.gen(function*() {
            const now = yield* Clock.currentTimeMillis
            const c = scan.byApp.get(def.id)
            adopted.add(def.id)
            yield* store.update(def.id, (entry, intent) => ({
              entry: Merge.merge(entry, observationOf(c, intent), now).entry,
              intent: intent.updatedAt === 0 ? Intent.adopted(running, now) : intent
            }))
          }),
        Install: ({ start }) => transition(def, "install", steps.install(def, start), true, start),
        Start: () =>
          Effect.gen(function*() {
            // the pass's own listing, when seconds old, is trusted for the container to start
            const listed = scan.byApp.get(def.id)
            const fresh = listed !== undefined && (yield* Clock.currentTimeMillis) - scan.at <= trustListingMs
            yield* transition(def, "start", fresh ? steps.startListed(def, listed) : steps.start(def), true)
          }),
        Recreate: ({ start }) => transition(def, "update", steps.recreate(def, start), true, start),
        Stop: () => transition(def, "stop", steps.stop(def), false),
        Remove: () => transition(def, "remove", steps.remove(def, false), false),
        Foreign: ({ reason }) => leftAlone(def, reason),
        Stranger: ({ reason }) => leftAlone(def, reason)
      })

    // A container that is not ours: touch nothing, say why on the card (once).
    const leftAlone = (def: AppDef, reason: string) =>
      Effect.gen(function*() {
        const entry = yield* store.entry(def.id)
        if (entry.lastError?.message === reason) return
        const now = yield* Clock.currentTimeMillis
        yield* store.update(def.id, (e) => ({ entry: { ...e, lastError: { op: "reconcile", message: reason, at: now } } }))
        yield* installLog.append(def.id, "error", reason)
        yield* Effect.logWarning(`${def.id}: ${reason}`)
      })

    const describe = (action: Plan.Action): string =>
      Plan.Action.$match(action, {
        NoOp: ({ reason }) => `NoOp (${reason})`,
        Install: ({ start }) => `Install${start ? " and start" : ""}`,
        Start: () => "Start",
        Recreate: ({ reason }) => `Recreate (${reason})`,
        Adopt: ({ running }) => `Adopt (${running ? "running" : "not running"})`,
        Stop: ({ reason }) => `Stop (${reason})`,
        Remove: () => "Remove",
        Foreign: ({ instance }) => `Foreign (instance ${instance})`,
        Stranger: ({ name }) => `Stranger (container ${name} not made by archipelago)`
      })

    const decide = (def: AppDef, scan: Scan, boot: boolean, acted: Set<AppId>) =>
      locks.withLock(def.id, Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        if (yield* store.changedSince(def.id, scan.mark)) {
          // An operation wrote after the scan: its observation is stale for this app.
          yield* kick
          return Plan.Action.NoOp({ reason: "changed since the scan; looking again" })
        }
        const state = yield* store.get
        const entry = state.entries[def.id]!
        const intent = state.intents[def.id] ?? Intent.none
        if (entry.crashLoop !== undefined && Plan.crashLoopExpired(entry.crashLoop, now)) {
          yield* store.update(def.id, (e) => {
            const { crashLoop: _c, ...rest } = e
            return { entry: rest }
          })
        }
        const c = scan.byApp.get(def.id)
        // A dependency acted on in this pass is known by its fresh entry; any other by this scan. A
        // capability counts as its one installed provider (unresolved, it is waited for by name).
        const notRunning = (d: AppId) =>
          state.entries[d]?.state !== "running" || (!acted.has(d) && scan.byApp.get(d)?.state !== "running")
        const waitingFor = resolveDependencies(apps, def, state).flatMap((r) =>
          r._tag !== "Resolved" ? [r.name] : notRunning(r.appId) ? [r.appId] : []
        )
        const observed: Plan.Observed = {
          ...(c === undefined ? {} : { container: factsOf(c) }),
          inTransition: Transition.isLive(entry, now),
          adopted: boot ? false : adopted.has(def.id),
          waitingFor,
          ...(entry.crashLoop === undefined ? {} : { crashLoop: entry.crashLoop })
        }
        const action = Plan.plan(desiredOf(def), observed, intent, now)
        const notOurs = action._tag === "Foreign" || action._tag === "Stranger"
        if (!notOurs && entry.lastError !== undefined && Plan.isForeignReason(entry.lastError.message)) {
          yield* store.update(def.id, (e) => {
            const { lastError: _e, ...rest } = e
            return { entry: rest }
          })
        }
        if (notOurs) {
          if (!boot) adopted.delete(def.id)
          yield* apply(def, action, scan)
          return action
        }
        if (boot) {
          adopted.add(def.id)
          if (action._tag === "Adopt") {
            yield* apply(def, action, scan)
            yield* Effect.logInfo(
              `boot: adopted ${def.id}: container ${c!.name} (${c!.id.slice(0, 12)}) ${c!.state}, kept as it is`
            )
          } else {
            yield* Effect.logInfo(
              `boot: ${def.id}: ${c === undefined ? "no container" : "container held by an operation"} (intent: ${
                intent.installed ? (intent.userStopped ? "stopped by the user" : "installed") : "not installed"
              })`
            )
          }
          return action
        }
        if (action._tag === "NoOp") {
          yield* Effect.logDebug(`reconcile ${def.id}: ${describe(action)}`)
          if (action.reason === "running as asked" && def.manifest.hooks.length > 0) yield* refreshHooks(def)
        } else {
          yield* Effect.logInfo(`reconcile ${def.id}: ${describe(action)}`)
          acted.add(def.id)
          yield* apply(def, action, scan)
        }
        return action
      }))

    // Derived config is re-rendered on every pass; a changed file restarts the app.
    const refreshHooks = (def: AppDef) =>
      steps.hooks(def).pipe(
        Effect.flatMap((changed) =>
          changed
            ? transition(def, "restart", steps.restart(def), false)
            : Effect.void
        ),
        Effect.catch((e) => installLog.append(def.id, "error", e.message))
      )

    const runPass = (boot: boolean) =>
      Effect.gen(function*() {
        const scan = yield* scanner.scan
        const decisions: Array<Decision> = []
        const acted = new Set<AppId>()
        for (const def of apps.all) {
          decisions.push({ appId: def.id, action: yield* decide(def, scan, boot, acted) })
        }
        lastDecisions = decisions
        return decisions as ReadonlyArray<Decision>
      }).pipe(
        Effect.catch((e) => Effect.as(Effect.logWarning(`reconcile pass skipped: ${e.message}`), [] as ReadonlyArray<Decision>))
      )

    const resume = Effect.gen(function*() {
      const scan = yield* scanner.last
      const state = yield* store.get
      const now = yield* Clock.currentTimeMillis
      for (const def of apps.all) {
        const entry = state.entries[def.id]!
        const t = entry.transition
        if (entry.journal !== undefined) {
          // a data operation's journal record: never settled by observation; replayed (finished,
          // or put back as it was) by `Journal.recover`, its outcome recorded truthfully
          yield* Effect.logInfo(`boot: replaying the journal of ${def.id}: ${entry.journal.op} stopped at ${entry.journal.step}`)
          yield* FiberSet.run(resumed, orchestrator.recover(def.id).pipe(Effect.ignore), { startImmediately: false })
          continue
        }
        if (t === undefined) continue
        const observation = observationOf(Option.getOrUndefined(scan)?.byApp.get(def.id), state.intents[def.id])
        if (Option.isSome(scan) && Op.settledBy(t.op, observation.state)) {
          // the same settle rule as the runner's, as if the op had just finished
          yield* store.update(def.id, (e) => ({
            entry: Transition.settle(e, t.op, Transition.succeeded, observation, now)
          }))
          yield* Effect.logInfo(`boot: ${t.op} of ${def.id} had finished while we were down; settled by observation`)
          yield* installLog.append(def.id, "info", `${t.op} done: it had finished while the server was down (seen ${observation.state} at start)`)
        } else if (t.op === "backup" || t.op === "restore") {
          yield* store.update(def.id, (e) => ({
            entry: Transition.settle(e, t.op, Transition.failed("interrupted by a restart"), undefined, now)
          }))
        } else {
          yield* store.update(def.id, (e) => ({ entry: Transition.resume(e, now, def.manifest.stopTimeout) }))
          const deadline = (yield* store.entry(def.id)).transition?.deadline ?? t.deadline
          yield* Effect.logInfo(`boot: resuming ${t.op} of ${def.id} (deadline ${new Date(deadline).toISOString()})`)
          yield* FiberSet.run(resumed, orchestrator.perform(t.op, def.id).pipe(Effect.ignore), { startImmediately: false })
        }
      }
    })

    const boot = Effect.gen(function*() {
      const decisions = yield* runPass(true)
      yield* resume
      return decisions
    }).pipe(Effect.withSpan("Reconciler.boot"))

    const pass = runPass(false).pipe(Effect.withSpan("Reconciler.pass"))

    const kick = Queue.offer(kicks, undefined).pipe(Effect.asVoid)

    // The next look: the interval, a NoOp's recheck time, or the end of a crash-loop back-off
    // (an automatic start that just failed is retried then, not a whole interval later).
    const nextWake = (decisions: ReadonlyArray<Decision>, entries: ReadonlyArray<AppEntry>, now: number): number => {
      let at = now + Duration.toMillis(interval)
      for (const d of decisions) {
        if (d.action._tag === "NoOp" && d.action.recheckAt !== undefined) at = Math.min(at, d.action.recheckAt)
      }
      for (const e of entries) {
        if (e.crashLoop !== undefined && e.crashLoop.nextAttemptAt > now) at = Math.min(at, e.crashLoop.nextAttemptAt)
      }
      return Math.max(at, now + 1)
    }

    // Only events about our apps' containers (or images) are reasons to look again.
    const relevant = (e: { readonly kind: string; readonly name: string }) =>
      Effect.map(store.get, (state) =>
        e.kind === "image-remove" ||
        apps.all.some((def) => def.containerName === e.name || state.entries[def.id]?.observed.containerName === e.name))
    const events = runtime.events().pipe(
      Stream.filterEffect(relevant),
      Stream.runForEach(() => kick),
      Effect.tapError((e) => Effect.logWarning(`engine events unavailable: ${e.message}; retrying`)),
      Effect.retry(eventsRetry),
      Effect.catch(() => Effect.void)
    )

    const run: Effect.Effect<never> = Effect.gen(function*() {
      yield* Effect.forkScoped(events)
      let kicked = false
      while (true) {
        const decisions = yield* pass
        const now = yield* Clock.currentTimeMillis
        const entries = Object.values((yield* store.get).entries)
        // An event can arrive before a list() shows its effect: look once more a bit later.
        const wake = Math.min(nextWake(decisions, entries, now), kicked ? now + followUpMs : Number.POSITIVE_INFINITY)
        kicked = yield* Effect.raceFirst(
          Effect.as(Effect.sleep(Duration.millis(wake - now)), false),
          Queue.take(kicks).pipe(
            Effect.andThen(Effect.sleep(debounce)),
            Effect.andThen(Queue.clear(kicks)),
            Effect.as(true)
          )
        )
      }
    }).pipe(Effect.scoped)

    const service: Service = { boot, pass, kick, run, last: Effect.sync(() => lastDecisions) }
    return service
  })

/**
 * The reconciler service alone (no loop, no boot): for tests that drive passes by hand.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerManual = (options: Options = {}) => Layer.effect(Reconciler, make(options))

/**
 * The reconciler with its boot pass run while the layer builds and its loop running in the
 * layer's scope (interrupted when the scope closes).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}) =>
  Layer.effect(
    Reconciler,
    Effect.gen(function*() {
      const reconciler = yield* make(options)
      yield* reconciler.boot
      yield* Effect.forkScoped(reconciler.run)
      return reconciler
    })
  )

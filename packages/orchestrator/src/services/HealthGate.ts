/**
 * The health gate: after a container was (re)created and started, wait until the app proves it
 * works, or decide it does not. Used by the health-gated update (and by a restore) before the
 * change is called done.
 *
 * With a manifest `health` check, the gate waits out its `startPeriod`, then runs the check
 * every `interval`: the first pass is `Healthy`, `retries` failures in a row are `Failed`.
 * Without one, the container must stay running without a restart for a settle period (default
 * 30 s). Either way a restart of the container during the gate is `CrashLooping`, an exit or a
 * vanished container is `Failed`, and nothing decided by the deadline (derived from the
 * manifest, see `policy`) is `Failed`.
 *
 * How to call it (the caller holds the app's lock; the gate only reads the engine):
 *
 * ```ts
 * const verdict = yield* HealthGate.run({ name: "lnd", policy: HealthGate.policy(manifest.health) })
 * if (verdict._tag !== "Healthy") yield* rollBack(HealthGate.reason(verdict))
 * ```
 *
 * `policy` and `step` are pure (time is an argument); `run` is the loop around them, driven by
 * Effect's `Clock` (so `TestClock` steps it), needing only the `ContainerRuntime`.
 *
 * @since 0.1.0
 */
import { Clock, Data, Duration, Effect } from "effect"
import { ContainerRuntime } from "../runtime/ContainerRuntime.js"
import type { ContainerDetails } from "../runtime/ContainerRuntime.js"

/**
 * A manifest's health check, as far as the gate needs it (seconds, like the manifest).
 *
 * @since 0.1.0
 * @category models
 */
export interface Check {
  readonly type: "http" | "tcp" | "cmd"
  readonly port?: number
  readonly path?: string
  readonly command?: ReadonlyArray<string>
  readonly interval: number
  readonly timeout: number
  readonly retries: number
  readonly startPeriod: number
}

/**
 * How the gate decides, in milliseconds. `deadlineMs` counts from the gate's start.
 *
 * @since 0.1.0
 * @category models
 */
export type Policy =
  | {
    readonly _tag: "Probe"
    readonly startPeriodMs: number
    readonly intervalMs: number
    readonly timeoutMs: number
    readonly retries: number
    readonly deadlineMs: number
    /** What the check does, for reasons: `http :8080/status`. */
    readonly describe: string
  }
  | { readonly _tag: "Settle"; readonly settleMs: number; readonly deadlineMs: number }

/**
 * The settle period of an app without a health check.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultSettleMs = 30_000

/**
 * A short description of a check: `http :8080/status`, `tcp :9735`, `cmd test -f /ready`.
 *
 * @since 0.1.0
 * @category getters
 */
export const describeCheck = (check: Check): string =>
  check.type === "http"
    ? `http :${check.port}${check.path ?? "/"}`
    : check.type === "tcp"
    ? `tcp :${check.port}`
    : `cmd ${(check.command ?? []).join(" ")}`

/**
 * The gate's policy for an app: its health check, or the settle period when it has none. The
 * deadline of a check leaves room for the start period and for `retries + 1` rounds of
 * interval plus timeout (so `retries` failures can be seen before it); the deadline of a settle
 * period is twice the period (a slow start of the container gets as long again).
 *
 * @since 0.1.0
 * @category constructors
 */
export const policy = (health: Check | undefined, options: { readonly settleMs?: number } = {}): Policy => {
  if (health === undefined) {
    const settleMs = Math.max(0, options.settleMs ?? defaultSettleMs)
    return { _tag: "Settle", settleMs, deadlineMs: 2 * settleMs }
  }
  const startPeriodMs = health.startPeriod * 1000
  const intervalMs = health.interval * 1000
  const timeoutMs = health.timeout * 1000
  return {
    _tag: "Probe",
    startPeriodMs,
    intervalMs,
    timeoutMs,
    retries: health.retries,
    deadlineMs: startPeriodMs + (health.retries + 1) * (intervalMs + timeoutMs),
    describe: describeCheck(health)
  }
}

/**
 * The gate's outcome.
 *
 * @since 0.1.0
 * @category models
 */
export type Verdict = Data.TaggedEnum<{
  Healthy: { readonly after: number }
  Failed: { readonly reason: string }
  CrashLooping: { readonly restarts: number; readonly exitCode?: number }
}>

/**
 * @since 0.1.0
 * @category constructors
 */
export const Verdict = Data.taggedEnum<Verdict>()

/**
 * A verdict in words, for `lastError` and the install log: `health check failed 3 times: http
 * :8080/status`, `crash-looping: restarted 2 times (last exit code 1)`.
 *
 * @since 0.1.0
 * @category getters
 */
export const reason = (verdict: Verdict): string =>
  Verdict.$match(verdict, {
    Healthy: ({ after }) => `healthy after ${(after / 1000).toFixed(1)}s`,
    Failed: ({ reason }) => reason,
    CrashLooping: ({ exitCode, restarts }) =>
      `crash-looping: restarted ${restarts} time${restarts === 1 ? "" : "s"}${exitCode === undefined ? "" : ` (last exit code ${exitCode})`}`
  })

/**
 * What the gate saw at one moment: the container (absent when gone) and, when a check ran, its
 * result (`error` when the engine could not run it).
 *
 * @since 0.1.0
 * @category models
 */
export interface Sample {
  readonly at: number
  readonly container?: Pick<ContainerDetails, "id" | "state" | "restartCount" | "exitCode" | "startedAt">
  readonly check?: "healthy" | "unhealthy" | { readonly error: string }
}

/**
 * The gate's memory between samples.
 *
 * @since 0.1.0
 * @category models
 */
export interface GateState {
  /** When the gate began (the container's start, when resuming after a restart of the orchestrator). */
  readonly since: number
  /** The container's id and restart count when first seen. */
  readonly baseline?: { readonly id: string; readonly restartCount: number }
  /** Failed checks in a row, and the last failure. */
  readonly failures: number
  readonly lastFailure?: string
}

/**
 * The state of a gate beginning at `since`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const initial = (since: number): GateState => ({ since, failures: 0 })

/**
 * What `step` decides: a verdict, or to look again at `nextAt` (running the check then when
 * `check` is true).
 *
 * @since 0.1.0
 * @category models
 */
export type Decision =
  | { readonly _tag: "Done"; readonly verdict: Verdict }
  | { readonly _tag: "Wait"; readonly state: GateState; readonly nextAt: number; readonly check: boolean }

/**
 * Whether the next sample should run the check: a probe policy past its start period.
 *
 * @since 0.1.0
 * @category getters
 */
export const checkDue = (p: Policy, state: GateState, at: number): boolean =>
  p._tag === "Probe" && at >= state.since + p.startPeriodMs

/**
 * One step of the gate, pure: the sample against the policy. Rules in order: a gone or
 * replaced container fails; a restart since the baseline is a crash loop; a container not
 * running fails with its exit code; a passing check is healthy; `retries` failed checks in a
 * row fail; a settle period run through is healthy; past the deadline fails; else wait.
 *
 * @since 0.1.0
 * @category combinators
 */
export const step = (p: Policy, state: GateState, sample: Sample): Decision => {
  const done = (verdict: Verdict): Decision => ({ _tag: "Done", verdict })
  const c = sample.container
  if (c === undefined) return done(Verdict.Failed({ reason: "the container is gone" }))
  const baseline = state.baseline ?? { id: c.id, restartCount: c.restartCount }
  if (c.id !== baseline.id) return done(Verdict.Failed({ reason: "the container was replaced by another" }))
  const restarts = c.restartCount - baseline.restartCount
  if (restarts > 0) {
    return done(Verdict.CrashLooping({ restarts, ...(c.exitCode === undefined ? {} : { exitCode: c.exitCode }) }))
  }
  if (c.state !== "running") {
    return done(Verdict.Failed({
      reason: `the container ${c.state === "exited" || c.state === "stopped" ? "exited" : `is ${c.state}`}` +
        (c.exitCode === undefined ? "" : ` with code ${c.exitCode}`)
    }))
  }
  const elapsed = sample.at - state.since
  let next: GateState = { ...state, baseline }
  if (p._tag === "Probe" && sample.check !== undefined) {
    if (sample.check === "healthy") return done(Verdict.Healthy({ after: Math.max(0, elapsed) }))
    const failure = typeof sample.check === "string" ? p.describe : `${p.describe} (${sample.check.error})`
    next = { ...next, failures: state.failures + 1, lastFailure: failure }
    if (next.failures >= p.retries) {
      return done(Verdict.Failed({
        reason: `health check failed ${next.failures} time${next.failures === 1 ? "" : "s"}: ${failure}`
      }))
    }
  }
  if (p._tag === "Settle" && elapsed >= p.settleMs) return done(Verdict.Healthy({ after: elapsed }))
  if (elapsed >= p.deadlineMs) {
    const seconds = Math.round(p.deadlineMs / 1000)
    return done(Verdict.Failed({
      reason: p._tag === "Probe"
        ? `not healthy within ${seconds}s${next.failures === 0 ? " (no check passed)" : ` (last: ${next.lastFailure})`}`
        : `did not stay running for ${Math.round(p.settleMs / 1000)}s within ${seconds}s`
    }))
  }
  const deadlineAt = state.since + p.deadlineMs
  if (p._tag === "Settle") {
    // look every few seconds so a crash is seen soon, and exactly when the period is over
    const nextAt = Math.min(state.since + p.settleMs, sample.at + Math.max(1, Math.min(2_000, p.settleMs)), deadlineAt)
    return { _tag: "Wait", state: next, nextAt: Math.max(nextAt, sample.at + 1), check: false }
  }
  const checkStart = state.since + p.startPeriodMs
  const nextAt = sample.at < checkStart
    ? Math.min(checkStart, sample.at + Math.max(1, p.intervalMs))
    : sample.check === undefined
    ? sample.at
    : sample.at + Math.max(1, p.intervalMs)
  const at = Math.min(Math.max(nextAt, sample.at), deadlineAt)
  return { _tag: "Wait", state: next, nextAt: at, check: at >= checkStart }
}

/**
 * What `run` needs: the container's name, the policy, and optionally when the gate began (a
 * resumed gate keeps its original deadline).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly name: string
  readonly policy: Policy
  readonly since?: number
  /** Called with each failed check (for the install log). */
  readonly onFailure?: (failure: string, count: number) => Effect.Effect<void>
}

/**
 * Runs the gate to its verdict: inspects the container, runs the health check when due,
 * sleeps until the next look. Engine errors while inspecting count as a failed look only when
 * they persist to the deadline; a check the engine cannot run counts as a failed check.
 *
 * @since 0.1.0
 * @category combinators
 */
export const run = Effect.fn("HealthGate.run")(function*(options: Options) {
  const runtime = yield* ContainerRuntime
  const start = options.since ?? (yield* Clock.currentTimeMillis)
  let state = initial(start)
  let check = checkDue(options.policy, state, yield* Clock.currentTimeMillis)
  for (;;) {
    const at = yield* Clock.currentTimeMillis
    const found = yield* runtime.inspect([options.name]).pipe(Effect.result)
    if (found._tag === "Failure") {
      if (at - start >= options.policy.deadlineMs) {
        return Verdict.Failed({ reason: `the engine could not be asked: ${found.failure.message}` })
      }
      yield* Effect.sleep(Duration.seconds(1))
      continue
    }
    const container = found.success[0]
    let result: Sample["check"]
    if (check && container?.state === "running") {
      result = yield* runtime.healthcheck(options.name).pipe(
        Effect.catch((e) => Effect.succeed({ error: e.message.split("\n")[0]!.slice(0, 200) }))
      )
    }
    const sample: Sample = {
      at: yield* Clock.currentTimeMillis,
      ...(container === undefined ? {} : { container }),
      ...(result === undefined ? {} : { check: result })
    }
    const decision = step(options.policy, state, sample)
    if (decision._tag === "Done") return decision.verdict
    if (decision.state.failures > state.failures && options.onFailure !== undefined) {
      yield* options.onFailure(decision.state.lastFailure ?? "", decision.state.failures)
    }
    state = decision.state
    check = decision.check
    const wait = decision.nextAt - sample.at
    if (wait > 0) yield* Effect.sleep(Duration.millis(wait))
  }
})

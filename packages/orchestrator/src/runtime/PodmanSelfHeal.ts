/**
 * The podman start-up probe and self-heal: two cheap calls (`podman info`, `podman ps -a`),
 * classified by `PodmanHealth`, then the planned recovery steps, least destructive first, each
 * logged, re-probing after each round. `podman system reset` is never run: what only the
 * operator may do is reported. After a recovery the orchestrator's boot adopts the containers
 * that survived and the reconciler recreates the ones removed; no volume is touched.
 *
 * @since 0.1.0
 */
import { Duration, Effect } from "effect"
import * as Command from "./PodmanCommand.js"
import * as Health from "./PodmanHealth.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The podman binary; default `podman`. */
  readonly binary?: string
  /** Probe-and-repair rounds before giving up; default 3. */
  readonly maxRounds?: number
  /** How long a container without its process must stay so before it counts as lost; default 2 s. */
  readonly confirmDelay?: Duration.Input
  /** Tells whether a host process is alive; default `kill(pid, 0)`. */
  readonly isAlive?: (pid: number) => boolean
}

/**
 * What happened to one step.
 *
 * @since 0.1.0
 * @category models
 */
export interface StepOutcome {
  readonly step: Health.Step
  readonly outcome: "done" | "failed" | "skipped" | "operator"
  readonly detail: string
}

/**
 * The probe's verdict before and after recovery, and every step taken or left to the operator.
 *
 * @since 0.1.0
 * @category models
 */
export interface Report {
  readonly before: Health.Health
  readonly after: Health.Health
  readonly steps: ReadonlyArray<StepOutcome>
  /** Commands only the operator may run, with why. Empty when the engine is healthy. */
  readonly operator: ReadonlyArray<string>
}

/**
 * Whether a host pid is alive: `kill(pid, 0)` succeeds or is refused (EPERM: alive, not ours).
 *
 * @since 0.1.0
 * @category utils
 */
export const pidAlive = (pid: number): boolean => {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

const notFound = "Error: podman is not installed (not found on PATH)"

const call = (binary: string, argv: ReadonlyArray<string>): Effect.Effect<Health.CallResult> =>
  Command.run(binary, argv, { timeoutMs: 120_000 }).pipe(
    Effect.map((r) => ({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr })),
    Effect.catchTag("EngineUnavailable", (e) =>
      Effect.succeed(
        e.reason.endsWith("not found on PATH")
          ? { exitCode: 127, stdout: "", stderr: notFound }
          : { exitCode: 125, stdout: "", stderr: e.reason }
      ))
  )

/**
 * One probe: `podman info --format json`, then (when info answered) `podman ps -a --format json`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const probe = (options: Options = {}): Effect.Effect<{ readonly health: Health.Health; readonly live: number }> =>
  Effect.gen(function*() {
    const binary = options.binary ?? "podman"
    const isAlive = options.isAlive ?? pidAlive
    const info = yield* call(binary, ["info", "--format", "json"])
    if (info.exitCode !== 0) return { health: Health.classify({ info, isAlive }), live: -1 }
    let ps = yield* call(binary, Health.psArgv)
    let inspect: Health.CallResult | undefined
    const suspects = ps.exitCode === 0 ? Health.deadContainers(ps.stdout, isAlive) : []
    if (suspects.length > 0) {
      // A process that just died is not yet a lost one: look again, and ask whether conmon lives.
      yield* Effect.sleep(options.confirmDelay ?? Duration.seconds(2))
      ps = yield* call(binary, Health.psArgv)
      inspect = yield* call(binary, Health.inspectArgv(suspects.map((c) => c.id)))
    }
    const health = Health.classify({ info, ps, ...(inspect === undefined ? {} : { inspect }), isAlive })
    return { health, live: ps.exitCode !== 0 ? -1 : liveCount(ps.stdout, isAlive) }
  })

const liveCount = (psJson: string, isAlive: (pid: number) => boolean): number => {
  try {
    const rows: unknown = JSON.parse(psJson === "" ? "[]" : psJson)
    if (!Array.isArray(rows)) return -1
    return rows.filter((r: { Pid?: unknown }) => typeof r.Pid === "number" && r.Pid > 0 && isAlive(r.Pid)).length
  } catch {
    return -1
  }
}

const findingsText = (h: Health.Health): string =>
  h._tag === "Healthy" ? "healthy" : h.findings.map((f) => f._tag).join(", ")

/**
 * Probes podman and repairs what it safely can, logging every finding and step. Never fails:
 * the report says what is left, and the engine check that follows decides whether to serve.
 *
 * @since 0.1.0
 * @category constructors
 */
export const heal = Effect.fn("PodmanSelfHeal.heal")(function*(options: Options = {}) {
  const binary = options.binary ?? "podman"
  const maxRounds = options.maxRounds ?? 3
  const first = yield* probe(options)
  const steps: Array<StepOutcome> = []
  const operator: Array<string> = []
  if (first.health._tag === "Broken" && JSON.stringify(first.health).includes(notFound)) {
    yield* Effect.logInfo("podman probe: podman is not installed; nothing to heal")
    return { before: first.health, after: first.health, steps, operator } satisfies Report
  }
  if (first.health._tag === "Healthy") {
    yield* Effect.logDebug("podman probe: healthy", { containers: first.health.containers })
    return { before: first.health, after: first.health, steps, operator } satisfies Report
  }
  yield* Effect.logWarning(`podman probe: ${findingsText(first.health)}`, { findings: first.health.findings })
  let current = first
  const tried = new Set<string>()
  for (let round = 0; round < maxRounds && current.health._tag === "Broken"; round++) {
    const planned = Health.plan(current.health, current.live < 0 ? 1 : current.live)
    let acted = false
    for (const step of planned) {
      const key = JSON.stringify(step)
      if (step._tag === "Operator") {
        if (!operator.includes(Health.describe(step))) {
          operator.push(Health.describe(step))
          steps.push({ step, outcome: "operator", detail: step.command })
          yield* Effect.logError(Health.describe(step))
        }
        continue
      }
      if (tried.has(key) && step._tag !== "Wait") continue
      tried.add(key)
      yield* Effect.logWarning(`podman recovery: ${Health.describe(step)}`)
      const outcome = yield* runStep(binary, step)
      steps.push(outcome)
      if (outcome.outcome === "done") acted = true
      if (outcome.outcome === "failed") yield* Effect.logError(`podman recovery step failed: ${outcome.detail}`)
    }
    if (!acted) break
    current = yield* probe(options)
    yield* Effect.logInfo(`podman probe after recovery round ${round + 1}: ${findingsText(current.health)}`)
  }
  if (current.health._tag === "Broken") {
    for (const step of Health.plan(current.health, 1).filter((s) => s._tag === "Operator")) {
      const text = Health.describe(step)
      if (!operator.includes(text)) {
        operator.push(text)
        yield* Effect.logError(text)
      }
    }
  }
  return { before: first.health, after: current.health, steps, operator } satisfies Report
})

const runStep = (binary: string, step: Health.Step): Effect.Effect<StepOutcome> => {
  switch (step._tag) {
    case "Wait":
      return Effect.as(Effect.sleep(Duration.seconds(step.seconds)), { step, outcome: "done" as const, detail: `waited ${step.seconds}s` })
    case "RemoveDeadContainer":
    case "Renumber":
    case "Migrate":
      return Effect.map(call(binary, step.argv), (r) => ({
        step,
        outcome: r.exitCode === 0 ? "done" as const : "failed" as const,
        detail: `podman ${step.argv.join(" ")} exited ${r.exitCode}${r.stderr.trim() === "" ? "" : `: ${r.stderr.trim().slice(-500)}`}`
      }))
    case "Operator":
      return Effect.succeed({ step, outcome: "operator" as const, detail: step.command })
  }
}

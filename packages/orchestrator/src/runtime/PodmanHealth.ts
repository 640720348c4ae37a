/**
 * The podman start-up probe, pure: classifies what two cheap calls (`podman info` and `podman ps
 * -a --format json`) said into the engine's known broken states, from their real messages, and
 * plans the recovery, least destructive first. `podman system reset` is never planned: a
 * malformed database is reported to the operator.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/**
 * What one podman call returned.
 *
 * @since 0.1.0
 * @category models
 */
export interface CallResult {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

/**
 * The probe's observations: `info` and `ps` results (`ps` absent when `info` already failed
 * hard) and the process ids alive on the host (to tell a live container from a stale record).
 *
 * @since 0.1.0
 * @category models
 */
export interface Probe {
  readonly info: CallResult
  readonly ps?: CallResult
  /**
   * `podman container inspect --format json` of the suspects (records without a live process):
   * a suspect whose conmon is still alive is not dead, podman will still learn its exit.
   */
  readonly inspect?: CallResult
  readonly isAlive: (pid: number) => boolean
}

/**
 * A known broken state, with the line of podman's output that proves it.
 *
 * @since 0.1.0
 * @category models
 */
export type Finding = Data.TaggedEnum<{
  /** Another process holds podman's database (sqlite); transient. */
  DatabaseLocked: { readonly evidence: string }
  /** The state database cannot be read (bolt/sqlite corruption): operator only. */
  DatabaseMalformed: { readonly evidence: string }
  /** The rootless pause process or user namespace is gone (podman says: run `podman system migrate`). */
  PauseProcessLost: { readonly evidence: string }
  /** Lock allocation failed: every lock in `num_locks` is taken. */
  LocksExhausted: { readonly evidence: string }
  /** Locks disagree with the database (after an unclean shutdown, a refresh finds them taken). */
  LocksStale: { readonly evidence: string }
  /** The OCI runtime still holds state for a container podman no longer runs. */
  RuntimeStateStale: { readonly evidence: string }
  /** Containers recorded running or stopping whose process is gone (lost on an unclean shutdown). */
  DeadContainers: { readonly containers: ReadonlyArray<DeadContainer> }
  /** podman failed in a way this probe does not know. */
  Unrecognised: { readonly evidence: string }
}>

/**
 * @since 0.1.0
 * @category constructors
 */
export const Finding = Data.taggedEnum<Finding>()

/**
 * A container podman believes is running (or stopping) with no live process.
 *
 * @since 0.1.0
 * @category models
 */
export interface DeadContainer {
  readonly id: string
  readonly name: string
  readonly state: "running" | "stopping"
  readonly pid: number
  /** Labelled `io.archipelago.managed-by=archipelago`: only those are repaired without asking. */
  readonly managed: boolean
}

/**
 * The engine's health: `Healthy`, or the findings (none of them empty).
 *
 * @since 0.1.0
 * @category models
 */
export type Health =
  | { readonly _tag: "Healthy"; readonly containers: number }
  | { readonly _tag: "Broken"; readonly findings: ReadonlyArray<Finding> }

/**
 * The recorded wording of each state, from podman's source and real runs (see the fixtures in
 * test/runtime/fixtures/health). Matched narrowly, case-insensitive.
 *
 * @since 0.1.0
 * @category constants
 */
export const patterns = {
  databaseLocked: /database is locked/i,
  databaseMalformed:
    /database disk image is malformed|file is not a database|opening database .*: (?:invalid database|file size too small|version mismatch|checksum error)|unexpected fault address[\s\S]*go\.etcd\.io\/bbolt|panic:[\s\S]*go\.etcd\.io\/bbolt/i,
  pauseProcessLost: /invalid internal status, try resetting the pause process/i,
  locksExhausted: /allocation failed; exceeded num_locks/i,
  locksStale: /acquiring lock \d+ for (?:container|pod|volume) [0-9a-f]+: file exists|lock \d+ is already allocated/i,
  runtimeStateStale: /container with given ID already exists|container .* already exists: .*runc|crun: .*already exists/i
} as const

const evidenceLine = (text: string, pattern: RegExp): string => {
  const line = text.split("\n").find((l) => pattern.test(l))
  return (line ?? text.trim().split("\n")[0] ?? "").trim().slice(0, 500)
}

interface PsRow {
  readonly Id?: unknown
  readonly Names?: unknown
  readonly State?: unknown
  readonly Pid?: unknown
  readonly Labels?: unknown
}

const parseArray = (json: string): ReadonlyArray<unknown> => {
  try {
    const rows: unknown = JSON.parse(json === "" ? "[]" : json)
    return Array.isArray(rows) ? rows : []
  } catch {
    return []
  }
}

/**
 * The ids whose conmon is alive, from `podman container inspect --format json`.
 *
 * @since 0.1.0
 * @category utils
 */
export const liveConmons = (inspectJson: string, isAlive: (pid: number) => boolean): ReadonlySet<string> =>
  new Set(
    parseArray(inspectJson).flatMap((r) => {
      const row = r as { readonly Id?: unknown; readonly State?: { readonly ConmonPid?: unknown } }
      const conmon = row.State?.ConmonPid
      return typeof row.Id === "string" && typeof conmon === "number" && conmon > 0 && isAlive(conmon) ? [row.Id] : []
    })
  )

/**
 * The containers `ps -a --format json` records as running or stopping whose pid is not alive
 * (pid 0 counts as dead). Unparsable output yields none.
 *
 * @since 0.1.0
 * @category utils
 */
export const deadContainers = (psJson: string, isAlive: (pid: number) => boolean): ReadonlyArray<DeadContainer> =>
  (parseArray(psJson) as ReadonlyArray<PsRow>).flatMap((r): ReadonlyArray<DeadContainer> => {
    const state = typeof r.State === "string" ? r.State.toLowerCase() : ""
    if (state !== "running" && state !== "stopping") return []
    const pid = typeof r.Pid === "number" ? r.Pid : 0
    if (pid > 0 && isAlive(pid)) return []
    const names = Array.isArray(r.Names) ? r.Names.filter((n): n is string => typeof n === "string") : []
    const id = typeof r.Id === "string" ? r.Id : ""
    const labels = typeof r.Labels === "object" && r.Labels !== null ? r.Labels as Record<string, unknown> : {}
    const managed = labels["io.archipelago.managed-by"] === "archipelago"
    return [{ id, name: names[0] ?? id, state, pid, managed }]
  })

const countContainers = (psJson: string): number => {
  try {
    const rows: unknown = JSON.parse(psJson === "" ? "[]" : psJson)
    return Array.isArray(rows) ? rows.length : 0
  } catch {
    return 0
  }
}

const textFindings = (text: string): ReadonlyArray<Finding> => {
  const out: Array<Finding> = []
  if (patterns.databaseMalformed.test(text)) {
    out.push(Finding.DatabaseMalformed({ evidence: evidenceLine(text, /database|fault address|panic/i) }))
  }
  if (patterns.databaseLocked.test(text)) out.push(Finding.DatabaseLocked({ evidence: evidenceLine(text, patterns.databaseLocked) }))
  if (patterns.pauseProcessLost.test(text)) {
    out.push(Finding.PauseProcessLost({ evidence: evidenceLine(text, patterns.pauseProcessLost) }))
  }
  if (patterns.locksExhausted.test(text)) out.push(Finding.LocksExhausted({ evidence: evidenceLine(text, patterns.locksExhausted) }))
  if (patterns.locksStale.test(text)) out.push(Finding.LocksStale({ evidence: evidenceLine(text, patterns.locksStale) }))
  if (patterns.runtimeStateStale.test(text)) {
    out.push(Finding.RuntimeStateStale({ evidence: evidenceLine(text, patterns.runtimeStateStale) }))
  }
  return out
}

/**
 * Classifies a probe. Known wording anywhere in either call's stderr (a warning on a call that
 * still succeeded counts: podman logs refresh failures and goes on) is a finding; a failed call
 * with unknown wording is `Unrecognised`; records of running or stopping containers without a
 * live process are `DeadContainers`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const classify = (probe: Probe): Health => {
  const findings: Array<Finding> = []
  const seen = new Set<string>()
  const add = (fs: ReadonlyArray<Finding>) => {
    for (const f of fs) {
      if (seen.has(f._tag)) continue
      seen.add(f._tag)
      findings.push(f)
    }
  }
  add(textFindings(`${probe.info.stderr}\n${probe.info.stdout.startsWith("{") ? "" : probe.info.stdout}`))
  if (probe.ps !== undefined) add(textFindings(probe.ps.stderr))
  const failed = [probe.info, ...(probe.ps === undefined ? [] : [probe.ps])].filter((r) => r.exitCode !== 0)
  if (failed.length > 0 && findings.length === 0) {
    const text = failed.map((r) => r.stderr).join("\n")
    add([Finding.Unrecognised({ evidence: evidenceLine(text, /^Error:/) || `exit ${failed[0]!.exitCode}` })])
  }
  if (probe.ps !== undefined && probe.ps.exitCode === 0) {
    const conmons = probe.inspect === undefined ? new Set<string>() : liveConmons(probe.inspect.stdout, probe.isAlive)
    const dead = deadContainers(probe.ps.stdout, probe.isAlive).filter((c) => !conmons.has(c.id))
    if (dead.length > 0) add([Finding.DeadContainers({ containers: dead })])
  }
  if (findings.length === 0) return { _tag: "Healthy", containers: probe.ps === undefined ? 0 : countContainers(probe.ps.stdout) }
  return { _tag: "Broken", findings }
}

/**
 * One recovery step. `argv` steps run podman (without the binary): `RemoveDeadContainer` clears
 * one container's stale record and runtime files (`podman rm --force` also deletes the OCI
 * runtime's state of it), so the reconciler can create it again; `Wait` lets a transient lock
 * go; `Operator` is never run: it tells the operator what only they may do.
 *
 * @since 0.1.0
 * @category models
 */
export type Step = Data.TaggedEnum<{
  Wait: { readonly seconds: number; readonly why: string }
  RemoveDeadContainer: { readonly name: string; readonly argv: ReadonlyArray<string>; readonly why: string }
  Renumber: { readonly argv: ReadonlyArray<string>; readonly why: string }
  Migrate: { readonly argv: ReadonlyArray<string>; readonly why: string }
  Operator: { readonly command: string; readonly why: string }
}>

/**
 * @since 0.1.0
 * @category constructors
 */
export const Step = Data.taggedEnum<Step>()

/**
 * @since 0.1.0
 * @category constants
 */
export const psArgv: ReadonlyArray<string> = ["ps", "-a", "--format", "json"]

/**
 * `podman container inspect` of suspects, for their conmon pids.
 *
 * @since 0.1.0
 * @category constructors
 */
export const inspectArgv = (ids: ReadonlyArray<string>): ReadonlyArray<string> => ["container", "inspect", "--format", "json", ...ids]

/**
 * `podman rm --force <name>`: never `-v`, so no volume (named or anonymous) is removed.
 *
 * @since 0.1.0
 * @category constructors
 */
export const removeDeadArgv = (name: string): ReadonlyArray<string> => ["rm", "--force", name]

/**
 * @since 0.1.0
 * @category constants
 */
export const renumberArgv: ReadonlyArray<string> = ["system", "renumber"]

/**
 * @since 0.1.0
 * @category constants
 */
export const migrateArgv: ReadonlyArray<string> = ["system", "migrate"]

/**
 * What only the operator may run (it deletes every container, image and volume).
 *
 * @since 0.1.0
 * @category constants
 */
export const resetCommand = "podman system reset"

/**
 * How much a step can disturb, lowest first; the plan is sorted by it.
 *
 * @since 0.1.0
 * @category utils
 */
export const cost = (step: Step): number => {
  switch (step._tag) {
    case "Wait":
      return 0
    case "RemoveDeadContainer":
      return 1
    case "Renumber":
      return 3
    case "Migrate":
      return 4
    case "Operator":
      return 9
  }
}

/**
 * The recovery plan for a health verdict, least destructive first. Steps that affect every
 * container (clearing runtime state, renumbering) are planned only when no container process
 * is alive (`liveContainers` 0): with live containers the finding goes to the operator instead.
 * Stale runtime state is cleared per container: the one named in the runtime's error.
 *
 * @since 0.1.0
 * @category constructors
 */
export const plan = (health: Health, liveContainers: number): ReadonlyArray<Step> => {
  if (health._tag === "Healthy") return []
  const steps: Array<Step> = []
  const quiet = liveContainers === 0
  for (const f of health.findings) {
    switch (f._tag) {
      case "DatabaseLocked":
        steps.push(Step.Wait({ seconds: 2, why: `podman's database is locked by another process (${f.evidence})` }))
        break
      case "DeadContainers":
        for (const c of f.containers) {
          if (!c.managed) {
            steps.push(Step.Operator({
              command: `podman rm --force ${c.name}`,
              why: `${c.name} (not Archipelago's) is recorded ${c.state} but its process is gone`
            }))
            continue
          }
          steps.push(Step.RemoveDeadContainer({
            name: c.name,
            argv: removeDeadArgv(c.name),
            why: `${c.name} is recorded ${c.state} but its process${c.pid > 0 ? ` ${c.pid}` : ""} is gone; ` +
              "the reconciler recreates it, volumes kept"
          }))
        }
        break
      case "RuntimeStateStale": {
        const id = /container "?([0-9a-f]{12,64})"?/.exec(f.evidence)?.[1]
        steps.push(
          id === undefined
            ? Step.Operator({ command: "podman rm --force <the container named in the error>", why: f.evidence })
            : Step.RemoveDeadContainer({
              name: id,
              argv: removeDeadArgv(id),
              why: `the OCI runtime still holds state of ${id.slice(0, 12)} (${f.evidence}); the reconciler recreates it, volumes kept`
            })
        )
        break
      }
      case "LocksStale":
      case "LocksExhausted":
        steps.push(
          quiet
            ? Step.Renumber({ argv: renumberArgv, why: f.evidence })
            : Step.Operator({ command: "stop the apps, then podman system renumber", why: f.evidence })
        )
        if (f._tag === "LocksExhausted") {
          steps.push(Step.Operator({
            command: "raise [engine] num_locks in containers.conf, or remove containers and volumes no app uses",
            why: "if renumbering frees no lock, every lock is in use"
          }))
        }
        break
      case "PauseProcessLost":
        steps.push(Step.Migrate({ argv: migrateArgv, why: f.evidence }))
        break
      case "DatabaseMalformed":
        steps.push(Step.Operator({
          command: `${resetCommand} (deletes every container, image and volume: back up the volume folders first)`,
          why: `podman's state database is unreadable (${f.evidence})`
        }))
        break
      case "Unrecognised":
        steps.push(Step.Operator({ command: "podman info", why: `podman fails in a way the probe does not know: ${f.evidence}` }))
        break
    }
  }
  const unique = steps.filter((s, i) => steps.findIndex((t) => JSON.stringify(t) === JSON.stringify(s)) === i)
  return unique.map((s, i) => [s, i] as const).sort(([a, i], [b, j]) => cost(a) - cost(b) || i - j).map(([s]) => s)
}

/**
 * A one-line description of a step, for the log.
 *
 * @since 0.1.0
 * @category utils
 */
export const describe = (step: Step): string => {
  switch (step._tag) {
    case "Wait":
      return `wait ${step.seconds}s: ${step.why}`
    case "RemoveDeadContainer":
      return `podman ${step.argv.join(" ")}: ${step.why}`
    case "Renumber":
    case "Migrate":
      return `podman ${step.argv.join(" ")}: ${step.why}`
    case "Operator":
      return `operator action needed: ${step.command}: ${step.why}`
  }
}

/**
 * Pure checks over what the chaos matrix recorded: the `state.changed` stream against the
 * allowed transitions and the scenario's expectations, generations, podman agreement and the
 * latency summary. An oracle written from the lifecycle table of docs/background.md, not from the code
 * under test.
 */
import type { Recorded, View } from "./Serve.js"

export const appStates = [
  "not-installed", "installing", "installed", "starting", "running", "stopping", "stopped", "exited",
  "restarting", "updating", "removing", "backing-up", "creating-backup", "restoring-backup", "failed"
] as const

const transitionalOf: Readonly<Record<string, string>> = {
  install: "installing",
  start: "starting",
  stop: "stopping",
  restart: "restarting",
  update: "updating",
  remove: "removing",
  backup: "backing-up",
  restore: "restoring-backup"
}

/** Where an operation ends when it succeeds. */
export const successOf = (op: string, previous: string): string =>
  op === "stop" ? "stopped" : op === "remove" ? "not-installed" : op === "backup" || op === "restore" ? previous : "running"

/** The views of one app, in arrival order, with repeats of the same state collapsed. */
export const statesOf = (records: ReadonlyArray<Recorded>, id: string): Array<Recorded> => {
  const out: Array<Recorded> = []
  for (const r of records) {
    if (r.view.id !== id) continue
    if (out.length > 0 && out[out.length - 1]!.view.state === r.view.state) continue
    out.push(r)
  }
  return out
}

/**
 * Violations of the lifecycle in a recorded stream of one app: an unknown state, a transitional
 * state without its transition, or a transitional state followed by anything but its success or,
 * with the error recorded, the state it began from (the founding bug: Stopping… then Running).
 */
export const transitionViolations = (records: ReadonlyArray<Recorded>, id: string): Array<string> => {
  const out: Array<string> = []
  const seq = statesOf(records, id)
  for (const [i, r] of seq.entries()) {
    const v = r.view
    if (!(appStates as ReadonlyArray<string>).includes(v.state)) out.push(`unknown state ${JSON.stringify(v.state)}`)
    if (v.transition !== null && transitionalOf[v.transition.op] !== v.state) {
      out.push(`state ${v.state} carries the transition of ${v.transition.op}`)
    }
    const next = seq[i + 1]
    if (v.transition === null || next === undefined) continue
    const { op, previous } = v.transition
    // An install that does not start (the reconciler recreating an app its user stopped) ends installed.
    const ok = next.view.state === successOf(op, previous) || (op === "install" && next.view.state === "installed") ||
      (next.view.state === previous && next.view.lastError?.op === op) ||
      next.view.state === "failed"
    if (!ok) out.push(`${v.state} (${op} from ${previous}) was followed by ${next.view.state}`)
  }
  return out
}

/** Generations (once views carry them) never go back within one connection. */
export const generationViolations = (records: ReadonlyArray<Recorded>, id: string): Array<string> => {
  const out: Array<string> = []
  const last = new Map<number, number>()
  for (const r of records) {
    if (r.view.id !== id || typeof r.view.generation !== "number") continue
    const before = last.get(r.connection)
    if (before !== undefined && r.view.generation < before) {
      out.push(`generation went back from ${before} to ${r.view.generation} (seq ${r.seq})`)
    }
    last.set(r.connection, r.view.generation)
  }
  return out
}

/** The app states a podman container state is truthfully shown as. */
export const truthfulStates = (podmanState: string | undefined, userStopped: boolean): ReadonlyArray<string> => {
  if (podmanState === undefined) return ["not-installed"]
  if (podmanState === "running") return ["running"]
  if (podmanState === "paused") return ["stopped", "exited"]
  if (podmanState === "created" || podmanState === "configured") return ["installed", "stopped"]
  return userStopped ? ["stopped"] : ["exited", "stopped"]
}

/** A stable view that podman contradicts (transitional views are the orchestrator's to hold). */
export const disagreement = (view: View, podman: { state?: string; id?: string }): string | undefined => {
  if (view.transition !== null) return undefined
  const allowed = truthfulStates(podman.state, view.intent.userStopped)
  if (!allowed.includes(view.state)) {
    return `${view.id} shown ${view.state} while podman says ${podman.state ?? "no container"}`
  }
  if (podman.id !== undefined && view.containerId !== null && !podman.id.startsWith(view.containerId) && !view.containerId.startsWith(podman.id)) {
    return `${view.id} shown with container ${view.containerId} while podman has ${podman.id}`
  }
  return undefined
}

/**
 * States a scenario's window may never show (e.g. `stopped` after a crash the user did not ask
 * for), except those in `observed` when shown with no transition: podman's own state at that
 * moment (e.g. `stopping` inside a `podman rm -f`), not an operation of the server.
 */
export const forbiddenStates = (
  records: ReadonlyArray<Recorded>,
  id: string,
  forbidden: ReadonlyArray<string>,
  observed: ReadonlyArray<string> = []
): Array<string> =>
  statesOf(records, id)
    .filter((r) => forbidden.includes(r.view.state) && !(observed.includes(r.view.state) && r.view.transition === null))
    .map((r) => `showed ${r.view.state}${r.view.transition === null ? "" : ` (${r.view.transition.op})`} (seq ${r.seq})`)

export interface LatencySummary {
  readonly n: number
  readonly p50: number
  readonly p99: number
  readonly max: number
}

export const summarize = (samples: ReadonlyArray<number>): LatencySummary => {
  const s = [...samples].sort((a, b) => a - b)
  const at = (q: number) => (s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.floor(q * s.length))]!)
  const round = (x: number) => Math.round(x * 10) / 10
  return { n: s.length, p50: round(at(0.5)), p99: round(at(0.99)), max: round(s.length === 0 ? 0 : s[s.length - 1]!) }
}

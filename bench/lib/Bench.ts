/**
 * What every benchmark shares: summary statistics, the row format `bench/run.ts` collects into
 * `bench/results/<date>.json` and `docs/benchmarks.md`, and the `--quick` switch.
 *
 * A benchmark prints its own table for a person, then one `BENCH_RESULT {...}` line per row
 * (and `BENCH_SERIES {...}` lines for growth curves) for the runner. Benchmarks are not tests:
 * a missed target is reported, never thrown.
 */
import * as os from "node:os"

/** True under `npm run bench -- --quick` (the runner sets BENCH_QUICK=1): fewer, shorter runs. */
export const quick: boolean = process.env.BENCH_QUICK === "1" || process.argv.includes("--quick")

/** A summary of repeated measurements, in `unit`. */
export interface Sample {
  readonly unit: string
  readonly n: number
  readonly median: number
  readonly p99: number
  readonly min: number
  readonly max: number
  /** Interquartile range: the spread that noise leaves. */
  readonly iqr: number
  /** Every measurement, when there are at most 100. */
  readonly values: ReadonlyArray<number>
}

const round = (x: number): number => (Math.abs(x) >= 100 ? Math.round(x) : Math.round(x * 100) / 100)

const quantile = (sorted: ReadonlyArray<number>, q: number): number => {
  if (sorted.length === 0) return Number.NaN
  const pos = (sorted.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo)
}

/** Summarises measurements (NaN values, failed runs, are dropped and counted out of `n`). */
export const summarize = (values: ReadonlyArray<number>, unit = "ms"): Sample => {
  const ok = values.filter((v) => Number.isFinite(v))
  const s = [...ok].sort((a, b) => a - b)
  return {
    unit,
    n: ok.length,
    median: round(quantile(s, 0.5)),
    p99: round(quantile(s, 0.99)),
    min: round(s[0] ?? Number.NaN),
    max: round(s[s.length - 1] ?? Number.NaN),
    iqr: round(quantile(s, 0.75) - quantile(s, 0.25)),
    // Long series (thousands of answers) keep only their summary.
    values: ok.length <= 100 ? ok.map(round) : []
  }
}

/**
 * A target: `max` bounds our own figure (a statistic of it); `ratio-max` bounds ours / anchor
 * (medians); `speedup-min` asks anchor / ours to be at least `value`; `info` is a row reported
 * for comparison, with no target.
 */
export type Target =
  | { readonly kind: "max"; readonly stat: "median" | "p99" | "max"; readonly value: number }
  | { readonly kind: "info" }
  | { readonly kind: "ratio-max"; readonly value: number }
  | { readonly kind: "speedup-min"; readonly value: number }

/** One row of docs/benchmarks.md. */
export interface Row {
  /** Stable key, e.g. `restart-overhead`. */
  readonly id: string
  /** What is measured, as the issue's table says it. */
  readonly measure: string
  readonly ours: Sample
  readonly anchor?: { readonly what: string; readonly sample: Sample }
  readonly target: Target
  /** Anything a reader needs to interpret the figure (engine, sizes, what "ours" includes). */
  readonly note?: string
  /** The machine's 1-minute load average when the row was emitted (set by `emit`). */
  readonly load?: number
  /** Set by the runner on rows of a repeated bench (`--again`): 2 for the second pass. */
  readonly pass?: number
}

const rawRatio = (row: Row): number | undefined =>
  row.anchor === undefined ? undefined : row.ours.median / row.anchor.sample.median

/** Three significant digits: a ratio far below 1 (a speed-up) must not round to 0. */
const significant = (x: number): number => (Number.isFinite(x) && x !== 0 ? Number(x.toPrecision(3)) : x)

/** ours / anchor (medians), when there is an anchor. */
export const ratio = (row: Row): number | undefined => {
  const r = rawRatio(row)
  return r === undefined ? undefined : significant(r)
}

/** anchor / ours (medians): how many times faster ours is, when there is an anchor. */
export const speedup = (row: Row): number | undefined => {
  const r = rawRatio(row)
  return r === undefined || !Number.isFinite(r) || r === 0 ? undefined : significant(1 / r)
}

/** Whether the row meets its target; undefined when it could not be measured. */
export const met = (row: Row): boolean | undefined => {
  const t = row.target
  if (row.ours.n === 0) return undefined
  switch (t.kind) {
    case "info":
      return undefined
    case "max":
      return row.ours[t.stat] <= t.value
    case "ratio-max": {
      const r = rawRatio(row)
      return r === undefined || !Number.isFinite(r) ? undefined : r <= t.value
    }
    case "speedup-min": {
      const s = speedup(row)
      return s === undefined ? undefined : s >= t.value
    }
  }
}

/** The target as a person reads it. */
export const targetText = (t: Target, unit: string): string => {
  switch (t.kind) {
    case "info":
      return "none (informational)"
    case "max":
      return `${t.stat} ≤ ${t.value} ${unit}`
    case "ratio-max":
      return `≤ ${t.value}×`
    case "speedup-min":
      return `≥ ${t.value}× faster`
  }
}

/** A growth curve: y (ms) against x (apps), one per named line. */
export interface Series {
  readonly id: string
  readonly title: string
  readonly x: string
  readonly y: string
  readonly lines: ReadonlyArray<{ readonly name: string; readonly points: ReadonlyArray<readonly [number, number]> }>
}

/** Prints the row for the runner (and a human line). */
export const emit = (measured: Row): void => {
  const row: Row = { ...measured, load: Math.round(os.loadavg()[0]! * 100) / 100 }
  const r = ratio(row)
  const verdict = met(row)
  console.log(
    `  ${row.measure}: ${row.ours.median} ${row.ours.unit} (p99 ${row.ours.p99}, n=${row.ours.n})` +
      (row.anchor ? ` vs ${row.anchor.what} ${row.anchor.sample.median} ${row.anchor.sample.unit} → ${r}×` : "") +
      ` [${targetText(row.target, row.ours.unit)}${row.target.kind === "info" ? "" : `: ${verdict === undefined ? "not measured" : verdict ? "met" : "MISSED"}`}]` +
      ` (load ${row.load})`
  )
  console.log(`BENCH_RESULT ${JSON.stringify(row)}`)
}

/** Prints a growth series for the runner. */
export const emitSeries = (series: Series): void => {
  console.log(`BENCH_SERIES ${JSON.stringify(series)}`)
}

/** Milliseconds since `t0` (performance.now based). */
export const since = (t0: number): number => performance.now() - t0

/** Sleeps. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Polls `check` every `everyMs` until it returns a value, or throws after `timeoutMs`. */
export const until = async <A>(
  check: () => Promise<A | undefined> | A | undefined,
  what: string,
  timeoutMs = 60_000,
  everyMs = 20
): Promise<A> => {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms: ${what}`)
    await sleep(everyMs)
  }
}

/**
 * Measures ours and the anchor `n` times each, alternating (ours first on even rounds, the
 * anchor first on odd ones), so a change in the machine's load falls on both alike rather than
 * on whichever ran second. Returns both samples in measurement order.
 */
export const interleave = async <A>(
  n: number,
  runs: { readonly ours: () => Promise<A>; readonly anchor: () => Promise<A> }
): Promise<{ readonly ours: Array<A>; readonly anchor: Array<A> }> => {
  const ours: Array<A> = []
  const anchor: Array<A> = []
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) {
      ours.push(await runs.ours())
      anchor.push(await runs.anchor())
    } else {
      anchor.push(await runs.anchor())
      ours.push(await runs.ours())
    }
  }
  return { ours, anchor }
}

/** An exponential gap (ms) between Poisson arrivals at `perSecond`: `random` is uniform in [0, 1). */
export const exponentialGapMs = (perSecond: number, random: () => number = Math.random): number =>
  (-Math.log(1 - random()) / perSecond) * 1000

/**
 * Send times (ms from the start) of Poisson arrivals at `perSecond` over `durationMs`: the
 * plan an open-loop client follows whatever the answers do.
 */
export const poissonPlan = (perSecond: number, durationMs: number, random: () => number = Math.random): Array<number> => {
  const plan: Array<number> = []
  for (let t = exponentialGapMs(perSecond, random); t < durationMs; t += exponentialGapMs(perSecond, random)) plan.push(t)
  return plan
}

/** What an open-loop run measured. */
export interface OpenLoop {
  /** Each answer's latency (ms) from its *scheduled* send time. */
  readonly latencies: Array<number>
  /** How late each request left against its plan (ms): the client's own lag, included above. */
  readonly sendLag: Array<number>
  /** Requests that failed (an error, not an answer). */
  readonly errors: number
}

/**
 * An open loop, as users load a server: `clients` clients each sending at `perSecond` with
 * Poisson arrivals for `durationMs`. Each request leaves at its planned time, never waiting for
 * an earlier answer, and its latency runs from that planned time, so a stalled server (or a
 * stalled client) is charged for every request it held up: no coordinated omission. Resolves
 * once every request sent is answered.
 */
export const openLoop = async (
  options: { readonly clients: number; readonly perSecond: number; readonly durationMs: number },
  call: () => Promise<unknown>
): Promise<OpenLoop> => {
  const latencies: Array<number> = []
  const sendLag: Array<number> = []
  let errors = 0
  const start = performance.now() + 50
  const inFlight: Array<Promise<void>> = []
  const send = (at: number) => {
    sendLag.push(performance.now() - at)
    inFlight.push(call().then(() => { latencies.push(performance.now() - at) }, () => { errors++ }))
  }
  await Promise.all(Array.from({ length: options.clients }, async () => {
    for (const t of poissonPlan(options.perSecond, options.durationMs)) {
      const at = start + t
      // a timer may fire a fraction of a millisecond early: never send before the plan says
      for (let wait = at - performance.now(); wait > 0; wait = at - performance.now()) await sleep(Math.max(1, wait))
      send(at)
    }
  }))
  await Promise.all(inFlight)
  return { latencies, sendLag, errors }
}

/**
 * Pure rendering of a benchmark run: the markdown of docs/benchmarks.md and the growth plot SVG.
 */
import { met, ratio, speedup, targetText, type Row, type Series } from "./Bench.js"

export interface Environment {
  readonly date: string
  readonly cpus: number
  readonly cpuModel: string
  readonly memoryGiB: number
  readonly node: string
  readonly podman: string
  /** 1, 5 and 15-minute load averages when the run started. */
  readonly loadAverage: ReadonlyArray<number>
  /** The same when it ended. */
  readonly loadAverageEnd?: ReadonlyArray<number>
  readonly benchFinished?: string
  readonly quick: boolean
}

export interface Run {
  readonly environment: Environment
  readonly rows: ReadonlyArray<Row>
  readonly series: ReadonlyArray<Series>
  readonly failed: ReadonlyArray<string>
  /** The bench files this run ran. */
  readonly ran?: ReadonlyArray<string>
}

/**
 * Whether a figure measured at this 1-minute load average on `cpus` cores may stand as a
 * release figure: not above a load of 1 per core, where every process starts waiting for one.
 */
export const quiet = (load: number | undefined, cpus: number): boolean =>
  load === undefined || !Number.isFinite(load) || load / Math.max(1, cpus) <= 1

/** The mark beside a row's load when it is not a release figure. */
export const busyMark = "†"

const loads = (l: ReadonlyArray<number>): string => l.map((x) => x.toFixed(2)).join(" / ")

const fmt = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? "—" : String(n))

/** Growth exponent between the first and last point: ≤ 1 is linear or better. */
export const growthExponent = (points: ReadonlyArray<readonly [number, number]>): number | undefined => {
  if (points.length < 2) return undefined
  const [x0, y0] = points[0]!
  const [x1, y1] = points[points.length - 1]!
  if (x0 <= 0 || y0 <= 0 || x1 <= x0 || y1 <= 0) return undefined
  return Math.round((Math.log(y1 / y0) / Math.log(x1 / x0)) * 100) / 100
}

/** The ends of the run (`start`, `end`) at which the machine was above a load of 1 per core. */
export const busyEnds = (e: Environment): ReadonlyArray<string> => [
  ...(quiet(e.loadAverage[0], e.cpus) ? [] : ["start"]),
  ...(e.loadAverageEnd === undefined || quiet(e.loadAverageEnd[0], e.cpus) ? [] : ["end"])
]

/** The load column: the 1-minute load, marked when above 1 per core. */
export const loadCell = (load: number | undefined, cpus: number): string =>
  `${fmt(load)}${quiet(load, cpus) ? "" : ` ${busyMark}`}`

/** docs/benchmarks.md for a run. */
export const markdown = (run: Run, plotPath: string | undefined, resultFile: string, analysis?: string): string => {
  const e = run.environment
  const lines: Array<string> = [
    "# Benchmarks",
    "",
    "Written by `npm run bench` (`bench/run.ts`) from its last full run; the raw figures are in",
    `\`${resultFile}\`. Each ratio is ours ÷ the anchor, both measured in the same run on`,
    "the same machine; figures are medians unless the target names another statistic. Benchmarks are",
    "not tests: a missed target is reported here, never asserted.",
    "",
    `Environment: ${e.cpus} CPUs (${e.cpuModel}), ${e.memoryGiB} GiB, Node ${e.node}, podman ${e.podman}` +
      `${e.quick ? ", `--quick` run" : ""}, from ${e.date}${e.benchFinished === undefined ? "" : ` to ${e.benchFinished}`}.`,
    `Load average (1 / 5 / 15 min) at the start ${loads(e.loadAverage)}` +
      `${e.loadAverageEnd === undefined ? "" : `, at the end ${loads(e.loadAverageEnd)}`}` +
      `; the load column is the 1-minute figure when each row was measured. With a load above the CPU count` +
      ` every process waits for a core, so absolute times (and the rows without an anchor most) are inflated by it.` +
      `${busyEnds(e).length === 0 ? "" : ` The machine was busy (1-minute load above 1 per core) at the ${busyEnds(e).join(" and at the ")} of this run: its figures are not release figures.`}`,
    `Rows marked ${busyMark} in the load column were measured above a load of 1 per core (1-minute load ÷ ${e.cpus} CPUs > 1):` +
      ` they are not release figures; measure them again on a quiet machine (the ratios to anchors measured in the same run suffer less).`,
    "",
    "| measure | ours | spread (IQR, n) | anchor | anchor figure | ratio | target | met | load |",
    "|---|---|---|---|---|---|---|---|---|"
  ]
  for (const row of run.rows) {
    const m = met(row)
    const stat = row.target.kind === "max" ? row.target.stat : "median"
    lines.push(
      `| ${row.measure}${row.pass !== undefined && row.pass > 1 ? ` (again, pass ${row.pass})` : ""} | ${fmt(row.ours[stat])} ${row.ours.unit}${stat === "median" ? "" : ` (${stat})`} | ${fmt(row.ours.iqr)}, n=${row.ours.n} | ` +
        `${row.anchor?.what ?? "—"} | ${row.anchor ? `${fmt(row.anchor.sample.median)} ${row.anchor.sample.unit}` : "—"} | ` +
        `${row.anchor ? `${fmt(ratio(row))}×${row.target.kind === "speedup-min" ? ` (${fmt(speedup(row))}× faster)` : ""}` : "—"} | ${targetText(row.target, row.ours.unit)} | ${row.target.kind === "info" ? "—" : m === undefined ? "not measured" : m ? "yes" : "**no**"} | ${loadCell(row.load, e.cpus)} |`
    )
  }
  const notes = run.rows.filter((r) => r.note !== undefined && (r.pass === undefined || r.pass === 1))
  if (notes.length > 0) {
    lines.push("", "Notes:", "")
    for (const r of notes) lines.push(`- ${r.measure}: ${r.note}`)
  }
  if (analysis !== undefined) lines.push("", analysis.trim())
  for (const s of run.series) {
    lines.push("", `## ${s.title}`, "")
    if (plotPath !== undefined) lines.push(`![${s.title}](${plotPath})`, "")
    lines.push(`| ${s.x} | ${s.lines.map((l) => l.name).join(" | ")} |`, `|---|${s.lines.map(() => "---").join("|")}|`)
    const xs = [...new Set(s.lines.flatMap((l) => l.points.map(([x]) => x)))].sort((a, b) => a - b)
    for (const x of xs) {
      lines.push(`| ${x} | ${s.lines.map((l) => fmt(l.points.find(([px]) => px === x)?.[1])).join(" | ")} |`)
    }
    lines.push(
      "",
      "Growth exponent from the smallest to the largest node (cost ∝ apps^k; k ≤ 1 is linear or better): " +
        s.lines.map((l) => `${l.name} k = ${fmt(growthExponent(l.points))}`).join("; ") + "."
    )
  }
  if (run.failed.length > 0) lines.push("", `Benchmarks that failed in this run: ${run.failed.join(", ")}.`)
  return `${lines.join("\n")}\n`
}

const palette = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c"]

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

/** A plain line chart of a series, as standalone SVG. */
export const svg = (s: Series): string => {
  const W = 720
  const H = 420
  const m = { l: 64, r: 24, t: 40, b: 120 }
  const pts = s.lines.flatMap((l) => l.points)
  const xMax = Math.max(1, ...pts.map(([x]) => x))
  const yMax = Math.max(1, ...pts.map(([, y]) => y)) * 1.1
  const X = (x: number) => m.l + (x / xMax) * (W - m.l - m.r)
  const Y = (y: number) => H - m.b - (y / yMax) * (H - m.t - m.b)
  const ticks = 5
  const out: Array<string> = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${esc(s.title)}</text>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#333"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#333"/>`
  ]
  for (let i = 0; i <= ticks; i++) {
    const y = (yMax / ticks) * i
    out.push(`<line x1="${m.l - 4}" y1="${Y(y)}" x2="${W - m.r}" y2="${Y(y)}" stroke="#eee"/>`)
    out.push(`<text x="${m.l - 8}" y="${Y(y) + 4}" text-anchor="end">${Math.round(y)}</text>`)
  }
  for (const x of [...new Set(pts.map(([px]) => px))]) {
    out.push(`<text x="${X(x)}" y="${H - m.b + 18}" text-anchor="middle">${x}</text>`)
  }
  out.push(`<text x="${(W + m.l) / 2}" y="${H - m.b + 38}" text-anchor="middle">${esc(s.x)}</text>`)
  out.push(`<text x="16" y="${(H - m.b + m.t) / 2}" transform="rotate(-90 16 ${(H - m.b + m.t) / 2})" text-anchor="middle">${esc(s.y)}</text>`)
  s.lines.forEach((l, i) => {
    const color = palette[i % palette.length]!
    const d = l.points.map(([x, y], k) => `${k === 0 ? "M" : "L"}${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(" ")
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`)
    for (const [x, y] of l.points) out.push(`<circle cx="${X(x).toFixed(1)}" cy="${Y(y).toFixed(1)}" r="3" fill="${color}"/>`)
    const ly = H - m.b + 58 + i * 18
    out.push(`<rect x="${m.l}" y="${ly - 9}" width="14" height="4" fill="${color}"/>`)
    out.push(`<text x="${m.l + 20}" y="${ly - 4}">${esc(l.name)}</text>`)
  })
  out.push("</svg>")
  return `${out.join("\n")}\n`
}

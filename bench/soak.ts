/**
 * The server's memory over time: the real `archipelago serve` on podman with 50 installed apps
 * and 1 s scans, its resident set size sampled every 5 s for 10 minutes (1 minute with --quick).
 * Two servers run side by side, each with its own 50 apps, data dir and port: one as the
 * systemd unit starts it (`Unit.nodeFlags`, the row with the target), one as a plain
 * `node cli.js serve` (informational: what the unit's V8 flags buy). Reports the samples, the
 * peak, the slope of a least-squares line (MiB per minute) over the second half, where a leak
 * would show as a steady climb, where the memory lies at the end (smaps: anonymous, i.e. heaps,
 * against file-backed code) and the server CPU each spent per minute.
 *
 * Run: `npm run bench -- soak` (needs podman and `npm run build`).
 */
import { nodeFlags } from "../packages/daemon/src/Unit.js"
import { emit, quick, sleep, summarize, type Target } from "./lib/Bench.js"
import { allRunning, cleanup, cpuMs, ensureBaseImage, hasPodman, rssMiB, serve, smaps, tag, writeCatalog } from "./lib/Node.js"

if (!hasPodman()) {
  console.error("podman is not available: nothing to measure (run scripts/setup-host.sh)")
  process.exit(1)
}

const apps = 50
const durationMs = Number(process.env.BENCH_SOAK_MS ?? (quick ? 60_000 : 600_000))
const everyMs = 5_000

const slope = (points: ReadonlyArray<readonly [number, number]>): number => {
  const n = points.length
  if (n < 2) return Number.NaN
  const mx = points.reduce((a, [x]) => a + x, 0) / n
  const my = points.reduce((a, [, y]) => a + y, 0) / n
  const num = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0)
  const den = points.reduce((a, [x]) => a + (x - mx) ** 2, 0)
  return num / den
}

interface Variant {
  readonly id: string
  readonly measure: string
  readonly unitFlags: boolean
  readonly target: Target
  readonly ids: ReadonlyArray<string>
}

const variants: ReadonlyArray<Variant> = [
  {
    id: "rss-50-apps",
    measure: `server RSS with 50 apps after ${durationMs / 60_000} minutes of 1 s scans, as the systemd unit runs it (\`${nodeFlags.join(" ")}\`)`,
    unitFlags: true,
    target: { kind: "max", stat: "max", value: 80 },
    ids: Array.from({ length: apps }, (_, i) => `${tag}-s${String(i).padStart(2, "0")}`)
  },
  {
    id: "rss-50-apps-plain",
    measure: `server RSS with 50 apps after ${durationMs / 60_000} minutes of 1 s scans, plain \`node cli.js serve\` (no V8 flags)`,
    unitFlags: false,
    target: { kind: "info" },
    ids: Array.from({ length: apps }, (_, i) => `${tag}-p${String(i).padStart(2, "0")}`)
  }
]

ensureBaseImage()
cleanup()
const nodes = await Promise.all(variants.map((v) =>
  serve({ apps: writeCatalog(v.ids.map((id) => ({ id }))), scanInterval: "1s", reconcileInterval: "30s", unitFlags: v.unitFlags })
))
try {
  await Promise.all(variants.map(async (v, k) => {
    for (let i = 0; i < v.ids.length; i += 10) {
      await Promise.all(v.ids.slice(i, i + 10).map((id) => nodes[k]!.call("container-install", { appId: id })))
    }
    await allRunning(nodes[k]!, v.ids, 600_000)
  }))
  console.log(`  2 × ${apps} apps running; sampling RSS every ${everyMs / 1000} s for ${durationMs / 60_000} min`)
  const t0 = Date.now()
  const cpu0 = nodes.map((n) => cpuMs(n.pid))
  const samples = variants.map(() => [] as Array<readonly [number, number]>)
  while (Date.now() - t0 <= durationMs) {
    nodes.forEach((n, k) => samples[k]!.push([(Date.now() - t0) / 60_000, rssMiB(n.pid)]))
    await sleep(everyMs)
  }
  const minutes = (Date.now() - t0) / 60_000
  variants.forEach((v, k) => {
    const s = samples[k]!
    const perMinute = Math.round(slope(s.slice(Math.floor(s.length / 2))) * 100) / 100
    const cpuPerMinute = Math.round((cpuMs(nodes[k]!.pid) - cpu0[k]!) / minutes)
    const m = smaps(nodes[k]!.pid)
    console.log(`  ${v.id}: RSS ${s[0]![1]} → ${s[s.length - 1]![1]} MiB, slope over the second half ${perMinute} MiB/min`)
    emit({
      id: v.id,
      measure: v.measure,
      ours: summarize(s.map(([, y]) => y), "MiB"),
      target: v.target,
      note: `first ${s[0]![1]} MiB, last ${s[s.length - 1]![1]} MiB, second-half slope ${perMinute} MiB/min (flat: |slope| < 0.5); ` +
        `at the end ${m.anonymous} MiB anonymous (heaps), ${m.file} MiB file-backed (code); server CPU ${cpuPerMinute} ms per minute; ` +
        `the two servers ran side by side, so each scan's \`podman ps -a\` listed both sets (100 containers)`
    })
  })
} finally {
  await Promise.all(nodes.map((n) => n.stop()))
  cleanup()
}

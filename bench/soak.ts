/**
 * The server's memory over time: the real `archipelago serve` on podman with 50 installed apps
 * and 1 s scans, its resident set size sampled every 5 s for 10 minutes (1 minute with --quick).
 * Reports the samples, the peak, and the slope of a least-squares line (MiB per minute) over the
 * second half, where a leak would show as a steady climb.
 *
 * Run: `npm run bench -- soak` (needs podman and `npm run build`).
 */
import { emit, quick, sleep, summarize } from "./lib/Bench.js"
import { allRunning, cleanup, ensureBaseImage, hasPodman, rssMiB, serve, tag, writeCatalog } from "./lib/Node.js"

if (!hasPodman()) {
  console.error("podman is not available: nothing to measure (run scripts/setup-host.sh)")
  process.exit(1)
}

const apps = 50
const durationMs = quick ? 60_000 : 600_000
const everyMs = 5_000
const ids = Array.from({ length: apps }, (_, i) => `${tag}-s${String(i).padStart(2, "0")}`)

const slope = (points: ReadonlyArray<readonly [number, number]>): number => {
  const n = points.length
  if (n < 2) return Number.NaN
  const mx = points.reduce((a, [x]) => a + x, 0) / n
  const my = points.reduce((a, [, y]) => a + y, 0) / n
  const num = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0)
  const den = points.reduce((a, [x]) => a + (x - mx) ** 2, 0)
  return num / den
}

ensureBaseImage()
cleanup()
const node = await serve({ apps: writeCatalog(ids.map((id) => ({ id }))), scanInterval: "1s", reconcileInterval: "30s" })
try {
  for (let i = 0; i < ids.length; i += 10) {
    await Promise.all(ids.slice(i, i + 10).map((id) => node.call("container-install", { appId: id })))
  }
  await allRunning(node, ids, 600_000)
  console.log(`  ${apps} apps running; sampling RSS every ${everyMs / 1000} s for ${durationMs / 60_000} min`)
  const t0 = Date.now()
  const samples: Array<readonly [number, number]> = []
  while (Date.now() - t0 <= durationMs) {
    samples.push([(Date.now() - t0) / 60_000, rssMiB(node.pid)])
    await sleep(everyMs)
  }
  const secondHalf = samples.slice(Math.floor(samples.length / 2))
  const perMinute = Math.round(slope(secondHalf) * 100) / 100
  console.log(`  RSS ${samples[0]![1]} → ${samples[samples.length - 1]![1]} MiB, slope over the second half ${perMinute} MiB/min`)
  emit({
    id: "rss-50-apps",
    measure: `server RSS with 50 apps after ${durationMs / 60_000} minutes of 1 s scans`,
    ours: summarize(samples.map(([, y]) => y), "MiB"),
    target: { kind: "max", stat: "max", value: 100 },
    note: `first ${samples[0]![1]} MiB, last ${samples[samples.length - 1]![1]} MiB, second-half slope ${perMinute} MiB/min (flat: |slope| < 0.5)`
  })
} finally {
  await node.stop()
  cleanup()
}

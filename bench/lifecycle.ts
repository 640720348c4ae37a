/**
 * Lifecycle costs seen through the real `archipelago serve` process on podman, the way a user
 * reaches it (HTTP JSON-RPC and the WebSocket), each against its anchor measured in the same run:
 *
 * - `container-stop` answered while the app takes 10 s to stop, 50 clients asking at 10/s each
 *   (an open loop, Poisson arrivals: the latency a user waits), and the same under a closed loop
 *   (50 clients asking again at once: throughput), each interleaved with `server.version`;
 * - `container-restart` of an app with a 2 s graceful stop, request → `running` pushed, against
 *   `podman restart` of an identical container;
 * - a change made in podman behind the server's back (kill -9) → `state.changed` on a client.
 *
 * Run: `npm run bench -- lifecycle` (or `--quick`). Needs podman and a build (`npm run build`).
 * `npm run bench -- lifecycle --only=podman-change-to-push` measures the last row alone.
 */
import { emit, interleave, openLoop, quick, since, sleep, summarize, until, type OpenLoop } from "./lib/Bench.js"
import {
  allRunning, appScript, baseImage, cleanup, cpuMs, ensureBaseImage, hasPodman, list, podman, serve, tag, watch, writeCatalog
} from "./lib/Node.js"

if (!hasPodman()) {
  console.error("podman is not available: nothing to measure (run scripts/setup-host.sh)")
  process.exit(1)
}

const slow = `${tag}-slow`
const restarting = `${tag}-restart`
const watched = Array.from({ length: quick ? 5 : 10 }, (_, i) => `${tag}-kill-${i}`)
const anchor = `${tag}-anchor`
const restartRuns = quick ? 3 : 7
// `BENCH_ONLY=podman-change-to-push` (the runner's `--only=`): the push row alone.
const pushOnly = process.env.BENCH_ONLY === "podman-change-to-push"

ensureBaseImage()
cleanup()
const apps = writeCatalog([
  { id: slow, stopDelaySec: 10 },
  { id: restarting, stopDelaySec: 2 },
  ...watched.map((id) => ({ id, restart: "no" as const }))
])
const node = await serve({ apps, scanInterval: "30s", reconcileInterval: "30s" })
try {
  const ids = pushOnly ? watched : [slow, restarting, ...watched]
  await Promise.all(ids.map((id) => node.call("container-install", { appId: id })))
  await allRunning(node, ids)
  const ws = await watch(node)

  if (!pushOnly) {
    // 1a. Stop answered as users load the server: an open loop, 50 clients each asking at 10/s
    // with Poisson arrivals on a plan made beforehand (an answer arriving late never delays the
    // next request), latency from each request's *scheduled* send time (no coordinated
    // omission), during a 10 s graceful stop. The anchor is the same load of `server.version`
    // (no work), interleaved with ours round by round. A warm-up round, unmeasured, first.
    const load = { clients: 50, perSecond: 10, durationMs: 8_000 }
    const cpuDuring = async <A>(run: () => Promise<A>): Promise<{ readonly result: A; readonly cpu: number }> => {
      const cpu0 = cpuMs(node.pid)
      const result = await run()
      return { result, cpu: cpuMs(node.pid) - cpu0 }
    }
    const perAnswer = (cpu: number, answers: number) => Math.round((cpu / Math.max(1, answers)) * 100) / 100
    const stopped = (id: string) => until(async () => ((await list(node)).get(id)?.state === "stopped" && !(await list(node)).get(id)?.transition ? true : undefined), `${id} stopped`, 60_000, 100)
    const restarted = async (id: string) => {
      await node.call("container-start", { appId: id })
      await allRunning(node, [id])
    }
    await openLoop({ ...load, durationMs: quick ? 2_000 : 4_000 }, () => node.call("server.version"))
    const open = await interleave(quick ? 1 : 3, {
      ours: async () => {
        await node.call("container-stop", { appId: slow })
        const r = await cpuDuring(() => openLoop(load, () => node.call("container-stop", { appId: slow })))
        await stopped(slow)
        await restarted(slow)
        return r
      },
      anchor: () => cpuDuring(() => openLoop(load, () => node.call("server.version")))
    })
    const flat = (runs: ReadonlyArray<{ readonly result: OpenLoop; readonly cpu: number }>) => ({
      latencies: runs.flatMap((r) => r.result.latencies),
      lag: summarize(runs.flatMap((r) => r.result.sendLag)),
      errors: runs.reduce((a, r) => a + r.result.errors, 0),
      cpu: perAnswer(runs.reduce((a, r) => a + r.cpu, 0), runs.reduce((a, r) => a + r.result.latencies.length, 0))
    })
    const openOurs = flat(open.ours)
    const openAnchor = flat(open.anchor)
    emit({
      id: "stop-answer-open-loop",
      measure: "`container-stop` answered over HTTP while the app takes 10 s to stop, 50 clients at 10/s each (open loop, Poisson)",
      ours: summarize(openOurs.latencies),
      anchor: { what: "`server.version` (no work) at the same open-loop load, interleaved", sample: summarize(openAnchor.latencies) },
      target: { kind: "max", stat: "p99", value: 50 },
      note: `${open.ours.length} graceful stop(s) of 10 s, each with ${load.durationMs / 1000} s of 50 × 10/s Poisson arrivals (500/s) planned beforehand, ` +
        `latency from the scheduled send time (coordinated omission avoided); the bench's own send lag p99 ${openOurs.lag.p99} ms (stop) / ${openAnchor.lag.p99} ms (anchor); ` +
        `${openOurs.errors + openAnchor.errors} errors; server CPU per answer ${openOurs.cpu} ms (stop) and ${openAnchor.cpu} ms (\`server.version\`)`
    })

    // 1b. The same stop under a closed loop (50 clients each asking again the moment they are
    // answered): the server saturated, so what it measures is throughput, answers per second,
    // against `server.version` under the same closed loop, interleaved.
    const hammer = async (ms: number, method: string, params?: unknown, stopWhen?: (r: any) => boolean) => {
      const answers: Array<number> = []
      const cpu0 = cpuMs(node.pid)
      const t0 = performance.now()
      const ends = Date.now() + ms
      await Promise.all(Array.from({ length: 50 }, async () => {
        while (Date.now() < ends) {
          const t = performance.now()
          const r = await node.call(method, params)
          answers.push(since(t))
          if (stopWhen?.(r) === true) break
        }
      }))
      const seconds = since(t0) / 1000
      return { perSecond: answers.length / seconds, latency: summarize(answers), cpu: perAnswer(cpuMs(node.pid) - cpu0, answers.length) }
    }
    await hammer(quick ? 2_000 : 4_000, "server.version")
    const closed = await interleave(quick ? 1 : 2, {
      ours: async () => {
        await node.call("container-stop", { appId: slow })
        const r = await hammer(8_000, "container-stop", { appId: slow }, (r) => r?.status !== undefined && r.status !== "stopping")
        await stopped(slow)
        await restarted(slow)
        return r
      },
      anchor: () => hammer(quick ? 4_000 : 8_000, "server.version")
    })
    emit({
      id: "stop-throughput-50-clients",
      measure: "`container-stop` answers per second while the app takes 10 s to stop, 50 clients in a closed loop",
      ours: summarize(closed.ours.map((r) => r.perSecond), "answers/s"),
      anchor: { what: "`server.version` (no work) asked by the same 50 clients, interleaved", sample: summarize(closed.anchor.map((r) => r.perSecond), "answers/s") },
      target: { kind: "info" },
      note: `each client asks again the moment it is answered (saturation, not what a user waits: see the open-loop row); ` +
        `latency under it p99 ${closed.ours.map((r) => r.latency.p99).join(", ")} ms (stop) / ${closed.anchor.map((r) => r.latency.p99).join(", ")} ms (\`server.version\`); ` +
        `server CPU per answer ${closed.ours.map((r) => r.cpu).join(", ")} ms (stop) and ${closed.anchor.map((r) => r.cpu).join(", ")} ms (\`server.version\`)`
    })

    // 2. Restart overhead against `podman restart` of an identical container.
    podman(
      "run", "--detach", "--name", anchor, "--memory", "32m", "--stop-timeout", "30", "--env", "STOP_DELAY=2",
      baseImage, "/bin/sh", "-c", appScript
    )
    const restarts = await interleave(restartRuns, {
      ours: async () => {
        const before = (await list(node)).get(restarting)
        const from = ws.changes.length
        const t0 = performance.now()
        const done = ws.next(
          (v) => v.id === restarting && v.state === "running" && !v.transition && v.startedAt !== before?.startedAt,
          from,
          120_000
        )
        await node.call("container-restart", { appId: restarting })
        const took = (await done) - t0
        await sleep(500)
        return took
      },
      anchor: async () => {
        const t1 = performance.now()
        const r = podman("restart", "--time", "30", anchor)
        if (r.status !== 0) throw new Error(r.stderr)
        const took = since(t1)
        await sleep(500)
        return took
      }
    })
    emit({
      id: "restart-overhead",
      measure: "`container-restart` of an app with a 2 s graceful stop, request → `running` pushed",
      ours: summarize(restarts.ours),
      anchor: { what: "`podman restart` of an identical container, interleaved", sample: summarize(restarts.anchor) },
      target: { kind: "ratio-max", value: 1.15 }
    })
  }

  // 3. A change in podman → state.changed on a WebSocket client.
  const pushed: Array<number> = []
  for (const id of watched) {
    const pid = Number(podman("inspect", "--format", "{{.State.Pid}}", id).stdout)
    const from = ws.changes.length
    const seen = ws.next((v) => v.id === id && v.state !== "running", from, 60_000)
    const t0 = performance.now()
    process.kill(pid, "SIGKILL")
    pushed.push((await seen.catch(() => Number.NaN)) - t0)
    // past the reconciler's follow-up look (2 s after each event-triggered pass): with kills
    // closer together, that look of the previous kill caught some of the next ones before their
    // event did, and the row measured the follow-up's timing rather than the event path
    await sleep(2500)
  }
  emit({
    id: "podman-change-to-push",
    measure: "a change in podman (kill -9 behind the server's back) → `state.changed` on a WebSocket client",
    ours: summarize(pushed),
    target: { kind: "max", stat: "median", value: 400 },
    note: "event-driven: podman's events file (inotify) → debounce → scan → push"
  })
  ws.close()
} finally {
  await node.stop()
  cleanup()
}

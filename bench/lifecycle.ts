/**
 * Lifecycle costs seen through the real `archipelago serve` process on podman, the way a user
 * reaches it (HTTP JSON-RPC and the WebSocket), each against its anchor measured in the same run:
 *
 * - `container-stop` answered while the app takes 10 s to stop, 50 concurrent clients asking;
 * - `container-restart` of an app with a 2 s graceful stop, request → `running` pushed, against
 *   `podman restart` of an identical container;
 * - a change made in podman behind the server's back (kill -9) → `state.changed` on a client.
 *
 * Run: `npm run bench -- lifecycle` (or `--quick`). Needs podman and a build (`npm run build`).
 * `npm run bench -- lifecycle --only=podman-change-to-push` measures the last row alone.
 */
import { emit, quick, since, sleep, summarize } from "./lib/Bench.js"
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
    // 1. Stop answered under 50 concurrent clients while a 10 s graceful stop runs. Each client
    // asks again as soon as it is answered (a closed loop), so the answer time is the queue behind
    // the other 49: the anchor is the same 50 clients asking `server.version`, which does no work,
    // in the same run. The first round warms the server's code and connections up, unmeasured.
    const hammer = async (ms: number, method: string, params?: unknown, until?: (r: any) => boolean) => {
      const answers: Array<number> = []
      const cpu0 = cpuMs(node.pid)
      const ends = Date.now() + ms
      await Promise.all(Array.from({ length: 50 }, async () => {
        while (Date.now() < ends) {
          const t0 = performance.now()
          const r = await node.call(method, params)
          answers.push(since(t0))
          if (until?.(r) === true) break
        }
      }))
      return { answers, serverCpuMsPerAnswer: Math.round(((cpuMs(node.pid) - cpu0) / Math.max(1, answers.length)) * 100) / 100 }
    }
    await hammer(quick ? 2_000 : 4_000, "server.version")
    const idle = await hammer(quick ? 3_000 : 6_000, "server.version")
    await node.call("container-stop", { appId: slow })
    const stopping = await hammer(9_000, "container-stop", { appId: slow }, (r) => r?.status !== undefined && r.status !== "stopping")
    emit({
      id: "stop-answer-50-clients",
      measure: "`container-stop` answered over HTTP while the app takes 10 s to stop, 50 concurrent clients",
      ours: summarize(stopping.answers),
      anchor: { what: "`server.version` (no work) asked by the same 50 clients", sample: summarize(idle.answers) },
      target: { kind: "max", stat: "p99", value: 50 },
      note: `${stopping.answers.length} answers during one 10 s graceful stop, each client asking again at once; ` +
        `server CPU per answer ${stopping.serverCpuMsPerAnswer} ms (stop) and ${idle.serverCpuMsPerAnswer} ms (\`server.version\`)`
    })

    // 2. Restart overhead against `podman restart` of an identical container.
    podman(
      "run", "--detach", "--name", anchor, "--memory", "32m", "--stop-timeout", "30", "--env", "STOP_DELAY=2",
      baseImage, "/bin/sh", "-c", appScript
    )
    const ours: Array<number> = []
    const theirs: Array<number> = []
    for (let i = 0; i < restartRuns; i++) {
      const before = (await list(node)).get(restarting)
      const from = ws.changes.length
      const t0 = performance.now()
      const done = ws.next(
        (v) => v.id === restarting && v.state === "running" && !v.transition && v.startedAt !== before?.startedAt,
        from,
        120_000
      )
      await node.call("container-restart", { appId: restarting })
      ours.push((await done) - t0)
      const t1 = performance.now()
      const r = podman("restart", "--time", "30", anchor)
      if (r.status !== 0) throw new Error(r.stderr)
      theirs.push(since(t1))
      await sleep(500)
    }
    emit({
      id: "restart-overhead",
      measure: "`container-restart` of an app with a 2 s graceful stop, request → `running` pushed",
      ours: summarize(ours),
      anchor: { what: "`podman restart` of an identical container", sample: summarize(theirs) },
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

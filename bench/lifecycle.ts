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
 */
import { emit, quick, since, sleep, summarize } from "./lib/Bench.js"
import {
  allRunning, appScript, baseImage, cleanup, ensureBaseImage, hasPodman, list, podman, serve, tag, watch, writeCatalog
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

ensureBaseImage()
cleanup()
const apps = writeCatalog([
  { id: slow, stopDelaySec: 10 },
  { id: restarting, stopDelaySec: 2 },
  ...watched.map((id) => ({ id, restart: "no" as const }))
])
const node = await serve({ apps, scanInterval: "30s", reconcileInterval: "30s" })
try {
  const ids = [slow, restarting, ...watched]
  await Promise.all(ids.map((id) => node.call("container-install", { appId: id })))
  await allRunning(node, ids)
  const ws = await watch(node)

  // 1. Stop answered under 50 concurrent clients while a 10 s graceful stop runs.
  const answers: Array<number> = []
  await node.call("container-stop", { appId: slow })
  const stopEnds = Date.now() + 9_000
  await Promise.all(Array.from({ length: 50 }, async () => {
    while (Date.now() < stopEnds) {
      const t0 = performance.now()
      const r = await node.call("container-stop", { appId: slow })
      answers.push(since(t0))
      if (r?.status !== undefined && r.status !== "stopping") break
    }
  }))
  emit({
    id: "stop-answer-50-clients",
    measure: "`container-stop` answered over HTTP while the app takes 10 s to stop, 50 concurrent clients",
    ours: summarize(answers),
    target: { kind: "max", stat: "p99", value: 50 },
    note: `${answers.length} answers during one 10 s graceful stop`
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

  // 3. A change in podman → state.changed on a WebSocket client.
  const pushed: Array<number> = []
  for (const id of watched) {
    const pid = Number(podman("inspect", "--format", "{{.State.Pid}}", id).stdout)
    const from = ws.changes.length
    const seen = ws.next((v) => v.id === id && v.state !== "running", from, 60_000)
    const t0 = performance.now()
    process.kill(pid, "SIGKILL")
    pushed.push((await seen.catch(() => Number.NaN)) - t0)
    await sleep(300)
  }
  emit({
    id: "podman-change-to-push",
    measure: "a change in podman (kill -9 behind the server's back) → `state.changed` on a WebSocket client",
    ours: summarize(pushed),
    target: { kind: "max", stat: "median", value: 400 },
    note: "event-driven: podman events → debounce → scan → push"
  })
  ws.close()
} finally {
  await node.stop()
  cleanup()
}

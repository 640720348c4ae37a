import { execFileSync } from "node:child_process"
import { afterEach, describe, expect, it } from "vitest"
import { contentionWorkersFromEnv, startContention, type Contention } from "../../../../test-support/contention.js"

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const busyChildren = (): Array<number> =>
  execFileSync("ps", ["-o", "pid=", "--ppid", String(process.pid)], { encoding: "utf8" })
    .split("\n").map((l) => Number.parseInt(l.trim(), 10)).filter((n) => Number.isFinite(n) && n !== process.pid)

describe("CPU contention helper", () => {
  let running: Contention | undefined
  afterEach(async () => { await running?.stop() })

  it("keeps the asked number of busy workers alive until stopped, then none", async () => {
    running = startContention({ workers: 3, maxMs: 60_000 })
    await new Promise((r) => setTimeout(r, 200))
    const pids = busyChildren()
    expect(pids.length).toBeGreaterThanOrEqual(3)
    await running.stop()
    running = undefined
    expect(pids.filter(alive).length).toBe(0)
  })

  it("bounds each worker's life by itself", async () => {
    running = startContention({ workers: 1, maxMs: 300 })
    await new Promise((r) => setTimeout(r, 150))
    const pids = busyChildren()
    expect(pids.length).toBeGreaterThanOrEqual(1)
    await new Promise((r) => setTimeout(r, 1_500))
    expect(pids.filter(alive).length).toBe(0)
  })

  it("reads ARCHY_CONTENTION", () => {
    expect(contentionWorkersFromEnv({})).toBe(0)
    expect(contentionWorkersFromEnv({ ARCHY_CONTENTION: "4" })).toBe(4)
    expect(contentionWorkersFromEnv({ ARCHY_CONTENTION: "x" })).toBe(0)
  })
})

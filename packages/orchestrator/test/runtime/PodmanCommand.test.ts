import { readdirSync, readFileSync } from "node:fs"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Result, Fiber } from "effect"
import * as PodmanCommand from "../../src/runtime/PodmanCommand.js"

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const root = fileURLToPath(new URL("../../../..", import.meta.url))
const sources = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []
  )

describe("PodmanCommand", () => {
  it.effect("runs to an exit code with stdout, stderr and interleaved lines", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const r = yield* PodmanCommand.run("sh", ["-c", "printf 'a\\nb\\n'; sleep 0.1; echo oops >&2; exit 3"], { onLine: (l) => lines.push(l) })
      assert.strictEqual(r.exitCode, 3)
      assert.strictEqual(r.stdout, "a\nb")
      assert.strictEqual(r.stderr, "oops")
      assert.deepStrictEqual([...lines].sort(), ["a", "b", "oops"])
    }))

  it.effect("a missing binary is EngineUnavailable naming it, with the install hint", () =>
    Effect.gen(function*() {
      const r = yield* Effect.result(PodmanCommand.run("archy-no-such-podman", ["version"]))
      assert.isTrue(Result.isFailure(r))
      const e = Result.getFailure(r).pipe((o) => (o._tag === "Some" ? o.value : undefined))!
      assert.strictEqual(e.reason, "archy-no-such-podman: not found on PATH")
      assert.include(e.hint, "apt-get install")
    }))

  it.effect("a command past its timeout is killed and reported, not awaited forever", () =>
    Effect.gen(function*() {
      const r = yield* Effect.result(PodmanCommand.run("sleep", ["30"], { timeoutMs: 200 }))
      assert.isTrue(Result.isFailure(r))
    }))

  it.live("onInterrupt: sees the running process, stops it, and the interruption waits for it; a run that ends is untouched", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const lines: Array<string> = []
      const onInterrupt = (running: PodmanCommand.Running) =>
        Effect.gen(function*() {
          seen.push(`alive ${alive(running.pid!)}`)
          yield* running.stop
          yield* Effect.sleep("50 millis")
          seen.push(`after stop alive ${alive(running.pid!)}`)
        })
      const fiber = yield* Effect.forkChild(PodmanCommand.run("sh", ["-c", "echo started; trap 'echo late; exit 0' TERM; sleep 30 & wait"], { onLine: (l) => lines.push(l), onInterrupt }))
      while (lines.length === 0) yield* Effect.sleep("20 millis")
      yield* Fiber.interrupt(fiber)
      // awaited: both steps ran before the interruption returned; no line after it
      assert.deepStrictEqual(seen, ["alive true", "after stop alive false"])
      assert.deepStrictEqual(lines, ["started"])
      const done = yield* PodmanCommand.run("sh", ["-c", "exit 4"], { onInterrupt })
      assert.strictEqual(done.exitCode, 4)
      assert.strictEqual(seen.length, 2)
    }))

  it("is the only way the packages launch podman: nothing else imports execa or node:child_process", () => {
    // systemctl is not podman: Systemctl.ts launches it with execa on its own
    const launchers = ["runtime/internal/Launch.ts", "systemd/Systemctl.ts"]
    const offenders = sources(join(root, "packages"))
      .filter((f) => f.includes("/src/") && !launchers.some((l) => f.endsWith(l)))
      .filter((f) => /from\s+"(execa|node:child_process|child_process)"/.test(readFileSync(f, "utf8")))
      .map((f) => relative(root, f))
    assert.deepStrictEqual(offenders, [])
  })
})

import { appendFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Queue, Stream } from "effect"
import * as EventsTail from "../../src/runtime/internal/EventsTail.js"

// The file side of the events watcher, on plain files written the way podman 4.3.1 writes its
// events file (one line per write; rotation = a new file with the old one's second half, the
// event that rotated it and a log-rotation line, renamed over the path).
const work = mkdtempSync(join(tmpdir(), "archy-events-tail-"))
afterAll(() => rmSync(work, { recursive: true, force: true }))
let n = 0
const freshPath = () => join(work, `d${n++}`, "events.log")

const line = (i: number) => `{"ID":"${i}","Name":"c${i}","Status":"start","Time":"${new Date(1.8e12 + i * 1000).toISOString()}","Type":"container"}`
const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => `${line(from + k)}\n`).join("")
const rotation = '{"Name":"events.log","Status":"log-rotation","Time":"2027-01-01T00:00:00Z","Type":"system","Attributes":null}'

/** Podman's rotation: keeps lines [keepFrom, upTo) of the old file, then `next`, then the marker. */
const rotate = (path: string, keepFrom: number, upTo: number, next: number) => {
  writeFileSync(`${path}.tmp`, `${lines(keepFrom, upTo)}${line(next)}\n${rotation}\n`)
  renameSync(`${path}.tmp`, path)
}

/** Follows `path` into a queue; with a long poll, only inotify can deliver in time. */
const follow = (path: string, start: EventsTail.Start, options: Partial<EventsTail.Options> = {}) =>
  Effect.gen(function* () {
    const queue = yield* Queue.unbounded<string>()
    const positions: Array<EventsTail.Position> = []
    const fiber = yield* EventsTail.tail(path, start, { pollMs: 60_000, onPosition: (p) => positions.push(p), ...options }).pipe(
      Stream.runForEach((l) => Queue.offer(queue, l)),
      Effect.forkScoped
    )
    // the watch is armed before the first read, which reports a position when the file exists:
    // lines appended before that read would count as already there (a tail starts at the end)
    if (existsSync(path)) {
      for (let i = 0; i < 500 && positions.length === 0; i++) yield* Effect.sleep("10 millis")
      assert.isAbove(positions.length, 0, "the tail never read the file")
    } else yield* Effect.sleep("50 millis")
    const take = (count: number) =>
      Effect.gen(function* () {
        const got: Array<string> = []
        while (got.length < count) got.push(yield* Queue.take(queue))
        return got
      }).pipe(Effect.timeoutOrElse({ duration: "5 seconds", orElse: () => Effect.fail(`fewer than ${count} lines arrived`) }))
    const nothingMore = Effect.gen(function* () {
      yield* Effect.sleep("300 millis")
      return yield* Queue.clear(queue)
    })
    return { take, nothingMore, fiber, positions }
  })

const idOf = (l: string) => /"ID":"([^"]+)"/.exec(l)?.[1] ?? l

describe("EventsTail.tail", () => {
  it.live("from the end: old lines are not read, each append arrives through inotify (no poll for a minute)", () =>
    Effect.gen(function* () {
      const path = freshPath()
      mkdirSync(join(path, ".."))
      writeFileSync(path, lines(0, 5))
      const t = yield* follow(path, { _tag: "End" })
      appendFileSync(path, lines(5, 6))
      assert.deepStrictEqual((yield* t.take(1)).map(idOf), ["5"])
      appendFileSync(path, lines(6, 9))
      assert.deepStrictEqual((yield* t.take(3)).map(idOf), ["6", "7", "8"])
      assert.deepStrictEqual(yield* t.nothingMore, [])
    })
  )

  it.live("only whole lines: a line written in two parts arrives once, complete", () =>
    Effect.gen(function* () {
      const path = freshPath()
      mkdirSync(join(path, ".."))
      // the tail starts while the last line is half written: it is read once finished
      writeFileSync(path, `${lines(0, 2)}${line(2).slice(0, 20)}`)
      const t = yield* follow(path, { _tag: "End" })
      assert.deepStrictEqual(yield* t.nothingMore, [])
      appendFileSync(path, `${line(2).slice(20)}\n${line(3).slice(0, 30)}`)
      assert.deepStrictEqual(yield* t.take(1), [line(2)])
      assert.deepStrictEqual(yield* t.nothingMore, [])
      appendFileSync(path, `${line(3).slice(30)}\n`)
      assert.deepStrictEqual(yield* t.take(1), [line(3)])
    })
  )

  it.live("a file (and directory) that does not exist yet: all of its lines once it is created", () =>
    Effect.gen(function* () {
      const path = freshPath()
      const t = yield* follow(path, { _tag: "End" }, { pollMs: 100 })
      assert.deepStrictEqual(yield* t.nothingMore, [])
      mkdirSync(join(path, ".."))
      writeFileSync(path, lines(0, 2))
      assert.deepStrictEqual((yield* t.take(2)).map(idOf), ["0", "1"])
      appendFileSync(path, lines(2, 3))
      assert.deepStrictEqual((yield* t.take(1)).map(idOf), ["2"])
    })
  )

  it.live("podman's rotation: the old file's last lines, then only the new file's new lines", () =>
    Effect.gen(function* () {
      const path = freshPath()
      mkdirSync(join(path, ".."))
      writeFileSync(path, lines(0, 10))
      const t = yield* follow(path, { _tag: "End" })
      appendFileSync(path, lines(10, 12))
      assert.deepStrictEqual((yield* t.take(2)).map(idOf), ["10", "11"])
      // lines 12-19 reach the old file and the rotation, keeping only 16-19, follows before the
      // tail reads again: 12-15 are only in the old file
      appendFileSync(path, lines(12, 20))
      rotate(path, 16, 20, 20)
      assert.deepStrictEqual((yield* t.take(10)).map(idOf), ["12", "13", "14", "15", "16", "17", "18", "19", "20", rotation])
      appendFileSync(path, lines(21, 22))
      assert.deepStrictEqual((yield* t.take(1)).map(idOf), ["21"])
      assert.deepStrictEqual(yield* t.nothingMore, [])
    })
  )

  it.live("truncated in place: read again from the start", () =>
    Effect.gen(function* () {
      const path = freshPath()
      mkdirSync(join(path, ".."))
      writeFileSync(path, lines(0, 10))
      const t = yield* follow(path, { _tag: "End" })
      truncateSync(path, 0)
      appendFileSync(path, lines(20, 22))
      assert.deepStrictEqual((yield* t.take(2)).map(idOf), ["20", "21"])
    })
  )

  it.live("a restart at the last position loses nothing, in the same file or across a rotation", () =>
    Effect.gen(function* () {
      const path = freshPath()
      mkdirSync(join(path, ".."))
      writeFileSync(path, lines(0, 4))
      const first = yield* follow(path, { _tag: "End" })
      appendFileSync(path, lines(4, 6))
      yield* first.take(2)
      yield* Fiber.interrupt(first.fiber)
      const at = first.positions[first.positions.length - 1]!
      assert.strictEqual(at.lastLine, line(5))
      appendFileSync(path, lines(6, 8))
      const same = yield* follow(path, { _tag: "At", position: at })
      assert.deepStrictEqual((yield* same.take(2)).map(idOf), ["6", "7"])
      yield* Fiber.interrupt(same.fiber)
      const later = same.positions[same.positions.length - 1]!
      appendFileSync(path, lines(8, 10))
      rotate(path, 5, 10, 10)
      const rotated = yield* follow(path, { _tag: "At", position: later })
      assert.deepStrictEqual((yield* rotated.take(4)).map(idOf), ["8", "9", "10", rotation])
      assert.deepStrictEqual(yield* rotated.nothingMore, [])
    })
  )

  it.live("since a time: the file's lines stamped since then", () =>
    Effect.gen(function* () {
      const path = freshPath()
      mkdirSync(join(path, ".."))
      writeFileSync(path, lines(0, 6))
      const t = yield* follow(path, { _tag: "Since", at: 1.8e12 + 4000 })
      assert.deepStrictEqual((yield* t.take(2)).map(idOf), ["4", "5"])
    })
  )

  it.live("a path that cannot be watched fails the stream with EventsFileError naming it", () =>
    Effect.gen(function* () {
      const notADir = join(work, `file${n++}`)
      writeFileSync(notADir, "")
      const e = yield* Effect.flip(
        EventsTail.tail(join(notADir, "events.log"), { _tag: "End" }, { pollMs: 60_000 }).pipe(
          Stream.runDrain,
          Effect.timeoutOrElse({ duration: "5 seconds", orElse: () => Effect.fail("no failure") })
        )
      )
      assert.strictEqual(typeof e === "string" ? e : e._tag, "EventsFileError")
      assert.strictEqual(typeof e === "string" ? e : e.path, join(notADir, "events.log"))
      assert.include(typeof e === "string" ? e : e.reason, "ENOTDIR")
    })
  )
})

import { readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import * as fc from "fast-check"
import * as EventsFile from "../../src/runtime/PodmanEventsFile.js"
import * as Json from "../../src/runtime/PodmanJson.js"
import { prop } from "../../../../test-support/prop.js"

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8")
// Real lines of podman 4.3.1's events file on this host (container, image, volume, network and
// system events; died with 137 and with 0 omitted; a label with quotes and a non-ASCII letter).
const fileLines = fixture("events-file-4.3.1.jsonl").split("\n").filter((l) => l !== "")

const right = <A>(e: Result.Result<A, string>): A => {
  if (Result.isFailure(e)) assert.fail(e.failure)
  return (e as Result.Success<A, string>).success
}

describe("PodmanEventsFile.backendOf", () => {
  it("reads the backend, tmp dir and merged configs from podman 4.3.1's debug log", () => {
    assert.deepStrictEqual(EventsFile.backendOf(fixture("version-debug-4.3.1.txt")), {
      logger: "file",
      tmpDir: "/run/libpod",
      configs: ["/usr/share/containers/containers.conf", "/etc/containers/containers.conf"]
    })
  })

  it("journald, none, or no debug log at all (another podman, a fake) are reported as such", () => {
    assert.strictEqual(EventsFile.backendOf('time="t" level=debug msg="Initializing event backend journald"').logger, "journald")
    assert.deepStrictEqual(EventsFile.backendOf("Error: something\n"), { logger: undefined, tmpDir: undefined, configs: [] })
  })
})

describe("PodmanEventsFile.configuredPath and eventsFilePath", () => {
  const backend = { logger: "file", tmpDir: "/run/libpod", configs: [] }

  it("the default is <tmp dir>/events/events.log", () => {
    assert.deepStrictEqual(EventsFile.eventsFilePath(backend, []), Result.succeed("/run/libpod/events/events.log"))
    // this host's /etc/containers/containers.conf (scripts/setup-host.sh)
    const host = '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
    assert.deepStrictEqual(EventsFile.eventsFilePath(backend, [{ path: "/etc/containers/containers.conf", text: host }]), Result.succeed("/run/libpod/events/events.log"))
  })

  it("events_logfile_path in [engine] wins, the last merged file last; elsewhere or commented it is ignored", () => {
    const conf = (path: string) => `[containers]\nevents_logfile_path = "/not/engine"\n[engine]\n# events_logfile_path = "/commented"\nevents_logfile_path = "${path}" # mine\n`
    assert.deepStrictEqual(
      EventsFile.eventsFilePath(backend, [
        { path: "/a", text: conf("/var/log/a.log") },
        { path: "/b", text: "[engine]\nevents_logger = 'file'\n" },
        { path: "/c", text: "[engine]\nevents_logfile_path='/var/log/c.log'\n" }
      ]),
      Result.succeed("/var/log/c.log")
    )
    assert.deepStrictEqual(EventsFile.configuredPath(conf("/x")), { _tag: "Set", path: "/x" })
    assert.deepStrictEqual(EventsFile.configuredPath('[engine]\nevents_logger = "file"\n'), { _tag: "Unset" })
  })

  it("never guesses: another logger, an unreadable config, a value it cannot read, a relative path", () => {
    const left = (e: Result.Result<string, string>) => (Result.isFailure(e) ? e.failure : assert.fail(`expected a reason, got ${e.success}`))
    assert.include(left(EventsFile.eventsFilePath({ ...backend, logger: "journald" }, [])), "journald")
    assert.include(left(EventsFile.eventsFilePath({ ...backend, logger: undefined }, [])), "not reported")
    assert.include(left(EventsFile.eventsFilePath({ ...backend, tmpDir: undefined }, [])), "tmp dir")
    assert.include(left(EventsFile.eventsFilePath(backend, [{ path: "/etc/x.conf", text: undefined }])), "/etc/x.conf")
    assert.include(
      left(EventsFile.eventsFilePath(backend, [{ path: "/etc/x.conf", text: '[engine]\n\nevents_logfile_path = """\n/x"""\n' }])),
      "/etc/x.conf:3"
    )
    assert.include(left(EventsFile.eventsFilePath(backend, [{ path: "/c", text: '[engine]\nevents_logfile_path = "rel.log"\n' }])), "rel.log")
  })
})

const bytes = (s: string) => new TextEncoder().encode(s)

describe("PodmanEventsFile.wholeLines", () => {
  it("keeps an unfinished line for later and drops blank ones", () => {
    const first = EventsFile.wholeLines(new Uint8Array(0), bytes('{"a":1}\n\n{"b":'))
    assert.deepStrictEqual(first.lines, ['{"a":1}'])
    const second = EventsFile.wholeLines(first.rest, bytes('2}\r\n'))
    assert.deepStrictEqual(second.lines, ['{"b":2}'])
    assert.strictEqual(second.rest.length, 0)
  })

  prop(
    "however the bytes are cut into chunks (even inside a character), the same whole lines come out",
    [fc.array(fc.string({ unit: "grapheme", maxLength: 12 }).filter((s) => !s.includes("\n") && !s.includes("\r")), { maxLength: 12 }), fc.boolean(), fc.array(fc.nat(400), { maxLength: 8 })],
    ([lines, unfinished, cuts]) => {
      const text = lines.map((l) => `${l}\n`).join("") + (unfinished ? "tail" : "")
      const all = bytes(text)
      const points = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b)
      let pending: Uint8Array = new Uint8Array(0)
      const out: Array<string> = []
      let at = 0
      for (const p of [...points, all.length]) {
        const r = EventsFile.wholeLines(pending, all.subarray(at, p))
        out.push(...r.lines)
        pending = r.rest
        at = p
      }
      assert.deepStrictEqual(out, lines.filter((l) => l.trim() !== ""))
      assert.strictEqual(new TextDecoder().decode(pending), unfinished ? "tail" : "")
    }
  )
})

const line = (i: number) => `{"ID":"${i}","Name":"c${i}","Status":"start","Time":"${new Date(1.8e12 + i * 1000).toISOString()}","Type":"container"}`

describe("PodmanEventsFile.newAfterRotation", () => {
  prop(
    "podman's rotation (the old file's second half, then the new lines): exactly the lines not read yet",
    [fc.integer({ min: 1, max: 40 }), fc.nat(40), fc.nat(40), fc.integer({ min: 0, max: 5 })],
    ([n, readUpTo, cutAt, added]) => {
      const old = Array.from({ length: n }, (_, i) => line(i))
      const read = Math.min(readUpTo, n)
      const cut = Math.min(cutAt, read === 0 ? 0 : read - 1)
      const fresh = Array.from({ length: added }, (_, i) => line(n + i))
      const rotated = [...old.slice(cut), ...fresh]
      const seen = read === 0 ? { lastLine: undefined, lastAt: undefined } : { lastLine: old[read - 1], lastAt: EventsFile.timeOfLine(old[read - 1]!) }
      assert.deepStrictEqual(EventsFile.newAfterRotation(rotated, seen), [...old.slice(read), ...fresh])
    }
  )

  it("when the last line read is gone (rotated twice), lines from the slack before its time on: seen twice rather than lost", () => {
    const seen = { lastLine: line(100), lastAt: EventsFile.timeOfLine(line(100)) }
    const rotated = [line(80), line(95), line(101), line(102)]
    assert.deepStrictEqual(EventsFile.newAfterRotation(rotated, seen), [line(95), line(101), line(102)])
    assert.deepStrictEqual(EventsFile.newAfterRotation(rotated, { lastLine: undefined, lastAt: undefined }), rotated)
  })

  it("since keeps lines at or after a time, and lines without a readable time", () => {
    const at = EventsFile.timeOfLine(line(5))!
    assert.deepStrictEqual(EventsFile.since([line(4), line(5), "garbage", line(6)], at), [line(5), "garbage", line(6)])
  })
})

describe("PodmanJson.decodeEventFileLine (podman 4.3.1's events file)", () => {
  it("decodes every captured line: container events to their kinds, other types skipped", () => {
    const decoded = fileLines.map((l) => right(Json.decodeEventFileLine(l)))
    assert.deepStrictEqual(
      decoded.map((e) => e?.kind),
      // create init start health_status exec_died died cleanup restart stop kill remove (containers),
      // untag remove pull (images), then a volume, a network and podman's log-rotation, skipped
      ["create", "other", "start", "other", "other", "died", "other", "restart", "stop", "kill", "remove", "other", "image-remove", undefined, undefined, undefined, "other", "died"]
    )
    const died = decoded[5]!
    assert.strictEqual(died.exitCode, 137)
    assert.strictEqual(died.name, "archy-t-chaos-e79678-i3-demo-ui")
    assert.strictEqual(died.id, "968a001dcefab90af922828a2ae3311b8021f48d5d279728b87325044dca7694")
    assert.strictEqual(died.at, Date.parse("2026-11-29T13:20:21.507Z"))
    assert.strictEqual(died.raw, fileLines[5])
    const diedZero = decoded[decoded.length - 1]!
    assert.strictEqual(diedZero.kind, "died")
    assert.strictEqual(diedZero.exitCode, 0)
    assert.strictEqual(diedZero.name, "t-evx-zero")
  })

  it("odd lines are a Failure naming what is wrong, never a throw", () => {
    const left = (l: string) => {
      const r = Json.decodeEventFileLine(l)
      return Result.isFailure(r) ? r.failure : assert.fail(`expected a Failure for ${l}`)
    }
    assert.include(left("{not json"), "not JSON")
    assert.include(left('{"Status":"start","Type":"container"}'), "Time")
    assert.include(left('{"ID":"x","Status":"start","Type":"container","Time":"yesterday"}'), "yesterday")
    assert.include(left('{"Status":"start","Type":"container","Time":"2026-11-29T13:40:00Z"}'), "without an ID")
    assert.include(left('{"ID":"x","Status":"died","Type":"container","Time":"2026-11-29T13:40:00Z","ContainerExitCode":"1"}'), "ContainerExitCode")
  })

  prop("any line decodes to an event, nothing, or a reason: never a throw", [fc.oneof(fc.string(), fc.json())], ([l]) => {
    const r = Json.decodeEventFileLine(l)
    assert.isTrue(Result.isFailure(r) || r.success === undefined || typeof r.success.kind === "string")
  })

  prop(
    "a well-formed container line keeps its name, id, time and exit code",
    [fc.string(), fc.hexaString({ minLength: 1, maxLength: 64 }), fc.date({ min: new Date(1e12), max: new Date(4e12), noInvalidDate: true }), fc.option(fc.integer({ min: 1, max: 255 }), { nil: undefined }), fc.constantFrom("died", "start", "create", "remove")],
    ([name, id, date, code, status]) => {
      const l = JSON.stringify({ ...(code !== undefined ? { ContainerExitCode: code } : {}), ID: id, Name: name, Status: status, Time: date.toISOString(), Type: "container", Attributes: { a: "b" } })
      const e = right(Json.decodeEventFileLine(l))!
      assert.deepStrictEqual(
        { kind: e.kind, name: e.name, id: e.id, at: e.at, exitCode: e.exitCode },
        { kind: status as "died", name, id, at: date.getTime(), exitCode: status === "died" ? (code ?? 0) : code }
      )
    }
  )
})

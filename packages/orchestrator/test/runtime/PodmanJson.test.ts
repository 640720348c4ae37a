import { readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import * as Failure from "../../src/runtime/PodmanFailure.js"
import * as Json from "../../src/runtime/PodmanJson.js"

// Real output of podman 4.3.1 on this host: a created, a running (ports incl. a range, a
// read-only bind, a starting health check) and an exited (code 3) container.
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8")
const ps = fixture("ps-4.3.1.json")
const inspect = fixture("inspect-4.3.1.json")

const right = <A>(e: Result.Result<A, string>): A => {
  if (Result.isFailure(e)) assert.fail(e.failure)
  return e.success
}

describe("PodmanJson.decodeStats (podman 4.3.1)", () => {
  it("decodes the running containers' use; a created one (0B / 0B) is left out", () => {
    assert.deepStrictEqual(right(Json.decodeStats(fixture("stats-4.3.1.json"))), [
      { id: "6fe1d04df14c", name: "t-rt-fx-running", cpuPercent: 1.77, memoryBytes: 720_900, memoryLimitBytes: 67_110_000 }
    ])
  })

  it("empty output is an empty list", () => {
    assert.deepStrictEqual(right(Json.decodeStats("")), [])
    assert.deepStrictEqual(right(Json.decodeStats("[]")), [])
  })

  it("an unreadable field fails loudly, naming it", () => {
    const bad = JSON.stringify([{ id: "a", name: "b", cpu_percent: "lots", mem_usage: "1kB / 2kB" }])
    const e = Json.decodeStats(bad)
    assert.isTrue(Result.isFailure(e))
    if (Result.isFailure(e)) {
      assert.include(e.failure, "cpu_percent")
      assert.include(e.failure, `"lots"`)
    }
  })

  it("sizes in podman's decimal units and percentages", () => {
    assert.strictEqual(Json.parseSize("0B"), 0)
    assert.strictEqual(Json.parseSize("720.9kB"), 720_900)
    assert.strictEqual(Json.parseSize("1.5GB"), 1_500_000_000)
    assert.strictEqual(Json.parseSize("64MiB"), 64 * 1024 * 1024)
    assert.strictEqual(Json.parseSize("--"), 0)
    assert.isUndefined(Json.parseSize("12 apples"))
    assert.strictEqual(Json.parsePercent("103.25%"), 103.25)
    assert.isUndefined(Json.parsePercent("3"))
  })
})

describe("PodmanJson.decodePs (podman 4.3.1)", () => {
  const list = right(Json.decodePs(ps))
  const byName = (n: string) => list.find((c) => c.name === n)!

  it("decodes every container", () => {
    assert.deepStrictEqual(list.map((c) => c.name).sort(), ["t-rt-fx-created", "t-rt-fx-exited", "t-rt-fx-running"])
  })

  it("a created container: null Ports, Pid 0, never started (-62135596800)", () => {
    const c = byName("t-rt-fx-created")
    assert.strictEqual(c.state, "created")
    assert.deepStrictEqual(c.ports, [])
    assert.isUndefined(c.pid)
    assert.isUndefined(c.startedAt)
    assert.isUndefined(c.exitedAt)
    assert.isUndefined(c.exitCode)
    assert.match(c.id, /^[0-9a-f]{64}$/)
  })

  it("a running container: labels, a port range expanded, udp, pid, start time in ms, health from Status", () => {
    const c = byName("t-rt-fx-running")
    assert.strictEqual(c.state, "running")
    assert.strictEqual(c.labels["io.archipelago.app"], "demo")
    assert.deepStrictEqual(c.ports, [
      { host: 28480, container: 80, protocol: "tcp" },
      { host: 28481, container: 81, protocol: "tcp" },
      { host: 28482, container: 53, protocol: "udp" }
    ])
    assert.isTrue((c.pid ?? 0) > 0)
    assert.strictEqual(c.startedAt, 1795724237000)
    assert.isUndefined(c.exitCode)
    assert.strictEqual(c.health, "starting")
    assert.strictEqual(c.image, "localhost/archipelago/base:latest")
  })

  it("an exited container keeps its exit code and times", () => {
    const c = byName("t-rt-fx-exited")
    assert.strictEqual(c.state, "exited")
    assert.strictEqual(c.exitCode, 3)
    assert.strictEqual(c.exitedAt, 1795724238000)
    assert.isUndefined(c.pid)
  })

  it("null Labels decode to {}; a missing ExitCode of an exited container is 0", () => {
    const entry = {
      Id: "a".repeat(64),
      Names: ["x"],
      Image: "i",
      State: "exited",
      StartedAt: 1,
      ExitedAt: 2,
      Labels: null,
      Ports: null,
      Pid: 0
    }
    const [c] = right(Json.decodePs(JSON.stringify([entry])))
    assert.deepStrictEqual(c!.labels, {})
    assert.strictEqual(c!.exitCode, 0)
  })

  it("empty output is an empty list", () => {
    assert.deepStrictEqual(right(Json.decodePs("")), [])
    assert.deepStrictEqual(right(Json.decodePs("[]\n")), [])
  })

  it("a changed field fails loudly, naming it", () => {
    const broken = JSON.parse(ps) as Array<Record<string, unknown>>
    broken[0]!["Names"] = "not-an-array"
    const e = Json.decodePs(JSON.stringify(broken))
    assert.isTrue(Result.isFailure(e))
    if (Result.isFailure(e)) assert.include(e.failure, "Names")
    const unknownState = Json.decodePs(JSON.stringify([{ ...JSON.parse(ps)[0], State: "hibernating" }]))
    assert.isTrue(Result.isFailure(unknownState))
    assert.isTrue(Result.isFailure(Json.decodePs("Up 18 seconds ago")))
  })

  it("configured/initialized count as created", () => {
    assert.strictEqual(Json.normaliseState("configured"), "created")
    assert.strictEqual(Json.normaliseState("initialized"), "created")
    assert.strictEqual(Json.normaliseState("stopping"), "stopping")
  })

  it("health comes only from the Status suffix", () => {
    assert.strictEqual(Json.healthFromStatus("Up 5 seconds ago (healthy)"), "healthy")
    assert.strictEqual(Json.healthFromStatus("Up 5 seconds ago (unhealthy)"), "unhealthy")
    assert.isUndefined(Json.healthFromStatus("Up 5 seconds ago"))
    assert.isUndefined(Json.healthFromStatus(undefined))
  })
})

describe("PodmanJson.decodeInspect (podman 4.3.1)", () => {
  const list = right(Json.decodeInspect(inspect))
  const byName = (n: string) => list.find((c) => c.name === n)!

  it("keeps podman's order of the names asked for", () => {
    assert.deepStrictEqual(
      list.map((c) => c.name),
      ["t-rt-fx-created", "t-rt-fx-running", "t-rt-fx-exited"]
    )
  })

  it("a running container: ports, ip, mounts, restart count, no OOM, start time", () => {
    const c = byName("t-rt-fx-running")
    assert.strictEqual(c.state, "running")
    assert.deepStrictEqual(c.ports, [
      { host: 28482, container: 53, protocol: "udp" },
      { host: 28480, container: 80, protocol: "tcp" },
      { host: 28481, container: 81, protocol: "tcp" }
    ])
    assert.match(c.ipAddress ?? "", /^10\.88\.\d+\.\d+$/)
    assert.deepStrictEqual(c.mounts, [{ source: "/tmp", target: "/data" }])
    assert.strictEqual(c.restartCount, 0)
    assert.isFalse(c.oomKilled)
    assert.strictEqual(c.health, "starting")
    assert.isTrue((c.startedAt ?? 0) > 1.7e12)
    assert.isUndefined(c.exitedAt)
    assert.strictEqual(c.labels["io.archipelago.app"], "demo")
  })

  it("a created container: zero times are undefined; an empty health status is no health", () => {
    const c = byName("t-rt-fx-created")
    assert.isUndefined(c.startedAt)
    assert.isUndefined(c.exitedAt)
    assert.isUndefined(c.health)
    assert.isUndefined(c.pid)
    assert.isUndefined(c.ipAddress)
  })

  it("an exited container: exit code 3 and a finish time", () => {
    const c = byName("t-rt-fx-exited")
    assert.strictEqual(c.exitCode, 3)
    assert.isTrue((c.exitedAt ?? 0) > 1.7e12)
  })
})

describe("PodmanJson.decodeEvent", () => {
  const died =
    '{"ContainerExitCode":137,"ID":"0183bfd09b996c9201fe088a3bbd0615d0b99f4fd523e184f811b6a54708b622","Image":"localhost/archipelago/setup-probe:latest","Name":"t-rt-explore","Status":"died","Time":"2026-11-26T20:09:19.784010527Z","Type":"container","Attributes":{"a":"b"}}'

  it("died with its exit code and a millisecond time", () => {
    const e = right(Json.decodeEvent(died))!
    assert.strictEqual(e.kind, "died")
    assert.strictEqual(e.exitCode, 137)
    assert.strictEqual(e.name, "t-rt-explore")
    assert.strictEqual(e.id, "0183bfd09b996c9201fe088a3bbd0615d0b99f4fd523e184f811b6a54708b622")
    assert.strictEqual(e.at, Date.parse("2026-11-26T20:09:19.784Z"))
    assert.strictEqual(e.raw, died)
  })

  it("exit code 0 is omitted by podman and restored for died", () => {
    const e = right(Json.decodeEvent('{"ID":"x","Name":"n","Status":"died","Time":"2026-11-26T20:09:20.195599083Z","Type":"container"}'))!
    assert.strictEqual(e.exitCode, 0)
    const start = right(Json.decodeEvent('{"ID":"x","Name":"n","Status":"start","Time":"2026-11-26T20:09:20Z","Type":"container"}'))!
    assert.strictEqual(start.kind, "start")
    assert.isUndefined(start.exitCode)
  })

  it("maps container kinds, image removals, and other statuses", () => {
    const kind = (type: string, status: string) =>
      right(Json.decodeEvent(JSON.stringify({ ID: "x", Name: "n", Status: status, Type: type, Time: "2026-11-26T20:09:20Z" })))?.kind
    for (const k of ["create", "start", "stop", "died", "kill", "remove", "restart", "oom"]) assert.strictEqual(kind("container", k), k)
    assert.strictEqual(kind("container", "cleanup"), "other")
    assert.strictEqual(kind("container", "init"), "other")
    assert.strictEqual(kind("image", "remove"), "image-remove")
    assert.strictEqual(kind("image", "untag"), "other")
    assert.isUndefined(kind("pod", "create"))
    assert.isUndefined(kind("volume", "remove"))
  })

  it("podman 5's timeNano wins over Time", () => {
    const e = right(Json.decodeEvent('{"ID":"x","Name":"n","Status":"start","Type":"container","Time":"2000-01-01T00:00:00Z","timeNano":1795723759749748666}'))!
    assert.strictEqual(e.at, 1795723759749)
  })

  it("blank lines are skipped; garbage is a Failure, never a throw", () => {
    assert.isUndefined(right(Json.decodeEvent("   ")))
    assert.isTrue(Result.isFailure(Json.decodeEvent("{not json")))
    assert.isTrue(Result.isFailure(Json.decodeEvent('{"Status": 3}')))
  })
})

describe("PodmanJson.decodeVersion and decodeGateway", () => {
  it("reads the client version and derives host-gateway support", () => {
    const v = right(
      Json.decodeVersion('{"Client":{"APIVersion":"4.3.1","Version":"4.3.1","GoVersion":"go1.19.8","OsArch":"linux/amd64","Os":"linux"}}')
    )
    assert.deepStrictEqual(v, { name: "podman", version: "4.3.1", supportsHostGateway: false })
    const remote = right(Json.decodeVersion('{"Client":{"Version":"4.3.1"},"Server":{"Version":"5.1.0"}}'))
    assert.strictEqual(remote.version, "5.1.0")
    assert.isTrue(remote.supportsHostGateway)
  })

  it("finds the default bridge's gateway", () => {
    assert.strictEqual(
      right(Json.decodeGateway('[{"name":"podman","subnets":[{"subnet":"10.88.0.0/16","gateway":"10.88.0.1"}]}]')),
      "10.88.0.1"
    )
    assert.isUndefined(right(Json.decodeGateway('[{"name":"podman"}]')))
  })
})

describe("PodmanFailure.classify", () => {
  const argv = ["start", "ghost"]

  it("no such container → ContainerNotFound naming the target", () => {
    const e = Failure.classify(argv, 125, 'Error: no container with name or ID "ghost" found: no such container', { _tag: "Container", name: "ghost" })
    assert.strictEqual(e._tag, "ContainerNotFound")
    if (e._tag === "ContainerNotFound") assert.strictEqual(e.name, "ghost")
  })

  it("image not known → ImageNotFound with podman's line", () => {
    const e = Failure.classify(["create"], 125, "Error: localhost/nope:1: image not known", { _tag: "Image", ref: "localhost/nope:1" })
    assert.strictEqual(e._tag, "ImageNotFound")
    if (e._tag === "ImageNotFound") assert.deepStrictEqual(e.tried, ["localhost/nope:1: image not known"])
  })

  it("anything else is CommandFailed with the full argv, exit code and stderr", () => {
    const stderr = "Error: can only kill running containers. x is in state exited: container state improper"
    const e = Failure.classify(["kill", "x"], 125, stderr, { _tag: "Container", name: "x" })
    assert.strictEqual(e._tag, "CommandFailed")
    if (e._tag === "CommandFailed") {
      assert.deepStrictEqual(e.argv, ["podman", "kill", "x"])
      assert.strictEqual(e.exitCode, 125)
      assert.strictEqual(e.stderr, stderr)
    }
  })

  it("a broken engine is EngineUnavailable", () => {
    const e = Failure.classify(["ps"], 125, "Error: could not get runtime: error opening database /var/lib/containers/storage/libpod/bolt_state.db", { _tag: "None" })
    assert.strictEqual(e._tag, "EngineUnavailable")
    assert.strictEqual(Failure.classify(["ps"], 125, "Error: database is locked", { _tag: "None" })._tag, "CommandFailed")
  })

  it("not-found wording for the wrong target stays CommandFailed", () => {
    assert.strictEqual(Failure.classify(argv, 125, "Error: no such container", { _tag: "None" })._tag, "CommandFailed")
  })

  it("onlyMissingContainers accepts partial inspect output", () => {
    assert.isTrue(Failure.onlyMissingContainers('Error: inspecting object: no such container nonexist\n'))
    assert.isTrue(Failure.onlyMissingContainers('Error: inspecting object: no such object: "nonexist"\nError: no such container b'))
    assert.isFalse(Failure.onlyMissingContainers("Error: no such container a\nError: database is locked"))
  })

  it("isContainerLeftMidSample knows podman stats' race with a stopping container, and nothing else", () => {
    assert.isTrue(
      Failure.isContainerLeftMidSample(
        "Error: cannot get cgroup path unless container 03bacd71763b is running: container is stopped\n"
      )
    )
    assert.isTrue(Failure.isContainerLeftMidSample('Error: no container with name or ID "03bacd71763b" found: no such container'))
    assert.isFalse(Failure.isContainerLeftMidSample("Error: database is locked"))
    assert.isFalse(Failure.isContainerLeftMidSample("Error: could not get runtime: error opening database"))
  })

  it("lastErrorLine skips podman's debug and info log lines (the version call runs with --log-level=debug)", () => {
    const stderr = 'time="2026-11-29T13:40:02Z" level=debug msg="Using tmp dir /run/libpod"\nError: cannot connect\ntime="2026-11-29T13:40:02Z" level=info msg="x"\n'
    assert.strictEqual(Failure.lastErrorLine(stderr), "cannot connect")
    assert.strictEqual(Failure.lastErrorLine('time="t" level=debug msg="a"\nsegfault\n'), "segfault")
  })

  it("lastErrorLine picks the last Error: line", () => {
    assert.strictEqual(Failure.lastErrorLine("Trying to pull x...\nError: initializing source: no such host\n"), "initializing source: no such host")
    assert.strictEqual(Failure.lastErrorLine("just text\n"), "just text")
    assert.strictEqual(Failure.lastErrorLine(""), "")
  })
})

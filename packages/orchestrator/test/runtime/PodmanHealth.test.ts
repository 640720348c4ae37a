/**
 * The start-up probe's classifier and recovery plan, on podman outputs recorded on this host
 * (fixtures/health/README.md says how each was provoked) and quoted from podman's source.
 */
import fc from "fast-check"
import * as Fs from "node:fs"
import { describe, expect, it } from "vitest"
import * as Health from "../../src/runtime/PodmanHealth.js"

const fixture = (name: string): string => Fs.readFileSync(new URL(`./fixtures/health/${name}`, import.meta.url), "utf8")
const ok = (stdout = ""): Health.CallResult => ({ exitCode: 0, stdout, stderr: "" })
const fail = (stderr: string): Health.CallResult => ({ exitCode: 125, stdout: "", stderr })
const noneAlive = () => false
const infoOk = ok(fixture("info-ok.json"))

const tags = (h: Health.Health): ReadonlyArray<string> => (h._tag === "Healthy" ? [] : h.findings.map((f) => f._tag))

describe("PodmanHealth.classify", () => {
  it("a healthy engine: info works, no container without its process", () => {
    const h = Health.classify({ info: infoOk, ps: ok("[]"), isAlive: noneAlive })
    expect(h).toEqual({ _tag: "Healthy", containers: 0 })
  })

  it("live containers are healthy; the same record with its process gone is dead", () => {
    const ps = ok(fixture("ps-running-no-process.json"))
    const alive = Health.classify({ info: infoOk, ps, isAlive: () => true })
    expect(alive).toEqual({ _tag: "Healthy", containers: 7 })
    const dead = Health.classify({ info: infoOk, ps, isAlive: noneAlive })
    expect(tags(dead)).toEqual(["DeadContainers"])
    if (dead._tag === "Broken" && dead.findings[0]!._tag === "DeadContainers") {
      expect(dead.findings[0]!.containers).toEqual([
        expect.objectContaining({ name: "qh-run", state: "running" })
      ])
    }
  })

  it("a record whose conmon still lives is not lost: podman will learn the exit", () => {
    const ps = ok(fixture("ps-running-no-process.json"))
    const id = (JSON.parse(ps.stdout) as ReadonlyArray<{ Id: string; State: string }>).find((r) => r.State === "running")!.Id
    const inspect = ok(JSON.stringify([{ Id: id, State: { Pid: 0, ConmonPid: 4242 } }]))
    expect(Health.classify({ info: infoOk, ps, inspect, isAlive: (pid) => pid === 4242 })._tag).toBe("Healthy")
    expect(tags(Health.classify({ info: infoOk, ps, inspect, isAlive: noneAlive }))).toEqual(["DeadContainers"])
  })

  it("a container stuck in stopping with no live process", () => {
    const h = Health.classify({ info: infoOk, ps: ok(fixture("ps-stopping-no-process.json")), isAlive: noneAlive })
    expect(tags(h)).toEqual(["DeadContainers"])
    expect(JSON.stringify(h)).toContain("\"state\":\"stopping\"")
  })

  const cases: ReadonlyArray<readonly [string, string, "info" | "ps", string]> = [
    ["malformed bolt database (random bytes)", "info-bolt-file-size-too-small.txt", "info", "DatabaseMalformed"],
    ["malformed bolt database (zeroed)", "info-bolt-invalid-database.txt", "info", "DatabaseMalformed"],
    ["malformed bolt pages (a bbolt fault)", "ps-bolt-fault.txt", "ps", "DatabaseMalformed"],
    ["malformed sqlite database", "ps-sqlite-malformed.txt", "ps", "DatabaseMalformed"],
    ["sqlite database locked", "ps-sqlite-locked.txt", "ps", "DatabaseLocked"],
    ["exhausted locks", "create-exceeded-num-locks.txt", "ps", "LocksExhausted"],
    ["locks stale after an unclean shutdown", "ps-refresh-lock-file-exists.txt", "ps", "LocksStale"],
    ["runtime state stale after an unclean shutdown", "start-runc-already-exists.txt", "ps", "RuntimeStateStale"],
    ["lost pause process", "info-pause-process.txt", "info", "PauseProcessLost"]
  ]
  for (const [what, file, where, tag] of cases) {
    it(`recognises ${what} from its recorded output`, () => {
      const text = fixture(file)
      const probe: Health.Probe = where === "info"
        ? { info: fail(text), isAlive: noneAlive }
        : { info: infoOk, ps: fail(text), isAlive: noneAlive }
      const h = Health.classify(probe)
      expect(tags(h)).toContain(tag)
      expect(tags(h)).not.toContain("Unrecognised")
    })
  }

  it("a refresh warning on a call that still succeeded counts (podman logs it and goes on)", () => {
    const ps: Health.CallResult = { exitCode: 0, stdout: "[]", stderr: fixture("ps-refresh-lock-file-exists.txt") }
    expect(tags(Health.classify({ info: infoOk, ps, isAlive: noneAlive }))).toEqual(["LocksStale"])
  })

  it("unknown failures are Unrecognised, never Healthy; unknown noise on success is ignored", () => {
    expect(tags(Health.classify({ info: fail("Error: something new"), isAlive: noneAlive }))).toEqual(["Unrecognised"])
    const noisy: Health.CallResult = { exitCode: 0, stdout: "[]", stderr: "time=x level=warning msg=\"Error validating CNI config file\"" }
    expect(Health.classify({ info: infoOk, ps: noisy, isAlive: noneAlive })._tag).toBe("Healthy")
  })

  it("never crashes and never calls an engine that failed healthy (property)", () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 255 }), fc.string(), (stderr, code, stdout) => {
        const h = Health.classify({ info: { exitCode: code, stdout, stderr }, isAlive: noneAlive })
        expect(h._tag).toBe("Broken")
      })
    )
  })
})

describe("PodmanHealth.plan", () => {
  const broken = (findings: ReadonlyArray<Health.Finding>): Health.Health => ({ _tag: "Broken", findings })

  it("nothing to do on a healthy engine", () => {
    expect(Health.plan({ _tag: "Healthy", containers: 3 }, 3)).toEqual([])
  })

  it("orders steps least destructive first and never runs reset", () => {
    const all = broken([
      Health.Finding.DatabaseMalformed({ evidence: "x" }),
      Health.Finding.PauseProcessLost({ evidence: "x" }),
      Health.Finding.LocksStale({ evidence: "x" }),
      Health.Finding.DeadContainers({ containers: [{ id: "1", name: "lnd", state: "stopping", pid: 9, managed: true }] }),
      Health.Finding.DatabaseLocked({ evidence: "x" })
    ])
    const steps = Health.plan(all, 0)
    expect(steps.map((s) => s._tag)).toEqual(["Wait", "RemoveDeadContainer", "Renumber", "Migrate", "Operator"])
    const costs = steps.map(Health.cost)
    expect([...costs].sort((a, b) => a - b)).toEqual(costs)
    const argvs = steps.flatMap((s) => ("argv" in s ? [s.argv.join(" ")] : []))
    expect(argvs).toEqual(["rm --force lnd", "system renumber", "system migrate"])
    for (const a of argvs) expect(a).not.toMatch(/reset|-v\b|--volumes|prune/)
    const operator = steps.find((s) => s._tag === "Operator")!
    expect(operator._tag === "Operator" && operator.command.startsWith("podman system reset")).toBe(true)
  })

  it("a lost container that is not Archipelago's is left to the operator", () => {
    const steps = Health.plan(
      broken([Health.Finding.DeadContainers({ containers: [{ id: "1", name: "theirs", state: "running", pid: 0, managed: false }] })]),
      0
    )
    expect(steps).toEqual([expect.objectContaining({ _tag: "Operator", command: "podman rm --force theirs" })])
  })

  it("with live containers, store-wide steps go to the operator instead", () => {
    const steps = Health.plan(broken([Health.Finding.LocksStale({ evidence: "x" }), Health.Finding.PauseProcessLost({ evidence: "y" })]), 2)
    expect(steps.map((s) => s._tag)).toEqual(["Migrate", "Operator"])
  })

  it("stale runtime state: the container the runtime names is removed (podman rm also clears the runtime's state)", () => {
    const h = Health.classify({ info: infoOk, ps: fail(fixture("start-runc-already-exists.txt")), isAlive: noneAlive })
    const steps = Health.plan(h, 3)
    expect(steps.map((s) => ("argv" in s ? s.argv.join(" ") : s._tag))).toEqual([
      "rm --force 3809496c682b0c90b781e81e88a7258457d65f61f252339ee499dadc26a7a9f0"
    ])
  })

  it("exhausted locks: renumber, then tell the operator what frees locks", () => {
    const steps = Health.plan(broken([Health.Finding.LocksExhausted({ evidence: "x" })]), 0)
    expect(steps.map((s) => s._tag)).toEqual(["Renumber", "Operator"])
  })

  it("every planned step is described for the log", () => {
    const steps = Health.plan(broken([Health.Finding.DeadContainers({ containers: [{ id: "1", name: "a", state: "running", pid: 0, managed: true }] })]), 0)
    expect(steps.map(Health.describe)).toEqual(["podman rm --force a: a is recorded running but its process is gone; the reconciler recreates it, volumes kept"])
  })
})

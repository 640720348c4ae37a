import { spawnSync } from "node:child_process"
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Layer, Option, Queue, Stream } from "effect"
import * as BaseImage from "../../src/runtime/BaseImage.js"
import { ContainerRuntime, type RuntimeEvent } from "../../src/runtime/ContainerRuntime.js"
import * as PodmanRuntime from "../../src/runtime/PodmanRuntime.js"
import { Fixtures } from "../../src/testing/index.js"
import { hasPodman, removeByPrefix, runTag } from "./podman.js"

const prefix = `t-rt-p-${runTag}-`

if (!hasPodman) console.warn("skipping PodmanRuntime tests: podman is not installed (run scripts/setup-host.sh)")

const podmanPath = hasPodman ? spawnSync("sh", ["-c", "command -v podman"], { encoding: "utf8" }).stdout.trim() : "podman"
const work = mkdtempSync(join(tmpdir(), "archy-rt-podman-"))
const callsFile = join(work, "calls")
const raceFile = join(work, "stats-race")
const brokenFile = join(work, "stats-broken")
const noFileEvents = join(work, "no-file-events")
/**
 * A podman that records each invocation and whose `events` exits after 2 s; while
 * `noFileEvents` exists, its `version` reports the events backend `none` (as a podman logging
 * events to journald reports `journald`), so the runtime reads events through `podman events`.
 */
const wrapper = join(work, "podman")
writeFileSync(
  wrapper,
  `#!/bin/sh
echo "$*" >> '${callsFile}'
if [ "$1" = stats ] && [ -e '${raceFile}' ]; then
  rm -f '${raceFile}'
  echo "Error: cannot get cgroup path unless container 03bacd71763b is running: container is stopped" >&2; exit 125
fi
if [ "$1" = stats ] && [ -e '${brokenFile}' ]; then
  rm -f '${brokenFile}'; echo "Error: database is locked" >&2; exit 125
fi
if [ "$1" = events ]; then timeout 2 '${podmanPath}' "$@"; exit 0; fi
if [ "$1" = version ] && [ -e '${noFileEvents}' ]; then exec '${podmanPath}' --events-backend none "$@"; fi
exec '${podmanPath}' "$@"
`
)
chmodSync(wrapper, 0o755)

const calls = (): ReadonlyArray<string> => {
  try {
    return readFileSync(callsFile, "utf8").split("\n").filter((l) => l !== "")
  } catch {
    return []
  }
}
const resetCalls = () => writeFileSync(callsFile, "")

/** The host's default-route gateway (the LAN router), from /proc/net/route. */
const lanRouter = (): string | undefined => {
  const line = readFileSync("/proc/net/route", "utf8")
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .find((f) => f[1] === "00000000" && f[2] !== "00000000")
  const hex = line?.[2]
  return hex === undefined ? undefined : [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join(".")
}

const podmanJson = (args: ReadonlyArray<string>): unknown => JSON.parse(spawnSync(podmanPath, args, { encoding: "utf8" }).stdout)

beforeAll(async () => {
  if (hasPodman) await Effect.runPromise(BaseImage.ensure())
})
afterAll(() => {
  if (hasPodman) removeByPrefix(prefix)
  rmSync(work, { recursive: true, force: true })
})

const wrapped = PodmanRuntime.layerWith({ binary: wrapper })

const waitExited = (name: string) =>
  Effect.gen(function* () {
    const rt = yield* ContainerRuntime
    for (let i = 0; i < 100; i++) {
      const [d] = yield* rt.inspect([name])
      if (d?.state === "exited") return d
      yield* Effect.sleep("100 millis")
    }
    return yield* Effect.fail(`${name} never exited`)
  })

describe.skipIf(!hasPodman)("PodmanRuntime on real podman", () => {
  it.live("list() is exactly one podman process, inspect(names) one for many names", () =>
    Effect.gen(function* () {
      const rt = yield* ContainerRuntime
      const names = [0, 1, 2, 3].map((i) => `${prefix}count-${i}`)
      for (const name of names) yield* rt.create(Fixtures.service(name))
      resetCalls()
      yield* rt.list()
      assert.deepStrictEqual(calls(), ["ps -a --format json"])
      resetCalls()
      assert.strictEqual((yield* rt.inspect(names)).length, 4)
      assert.deepStrictEqual(calls(), [`container inspect --format json ${names.join(" ")}`])
      for (const name of names) yield* rt.remove(name, { force: true })
    }).pipe(Effect.provide(wrapped))
  )

  it.live("stats() is one podman process for every container; closing a followLogs stream kills its podman", () =>
    Effect.gen(function* () {
      const rt = yield* ContainerRuntime
      const names = [0, 1].map((i) => `${prefix}stats-${i}`)
      for (const name of names) {
        yield* rt.create(Fixtures.service(name))
        yield* rt.start(name)
      }
      resetCalls()
      const sample = yield* rt.stats()
      assert.deepStrictEqual(calls(), ["stats --no-stream --format json"])
      assert.deepStrictEqual(sample.filter((s) => names.includes(s.name)).map((s) => s.name).sort(), names)
      const followers = () => spawnSync("pgrep", ["-f", `logs --follow --tail 3 ${names[0]}`], { encoding: "utf8" }).stdout.trim()
      const first = yield* rt.followLogs(names[0]!, { tail: 3 }).pipe(Stream.take(1), Stream.runCollect)
      assert.deepStrictEqual([...first], ["started"])
      for (let i = 0; i < 50 && followers() !== ""; i++) yield* Effect.sleep("100 millis")
      assert.strictEqual(followers(), "", "the podman logs process outlived its stream")
      for (const name of names) yield* rt.remove(name, { force: true })
    }).pipe(Effect.provide(wrapped))
  )

  it.live("stats() samples again when a container stops between podman's listing and its cgroup read", () =>
    Effect.gen(function* () {
      const rt = yield* ContainerRuntime
      const name = `${prefix}stats-race`
      yield* rt.create(Fixtures.service(name))
      yield* rt.start(name)
      // the wrapper fails the next `stats` exactly as podman 4.3.1 did in CI when another
      // container stopped mid-sample
      writeFileSync(raceFile, "")
      resetCalls()
      const sample = yield* rt.stats()
      assert.deepStrictEqual(calls(), ["stats --no-stream --format json", "stats --no-stream --format json"])
      assert.include(sample.map((s) => s.name), name)
      // any other failure is not retried
      writeFileSync(brokenFile, "")
      resetCalls()
      const error = yield* Effect.flip(rt.stats())
      assert.strictEqual(error._tag, "CommandFailed")
      assert.deepStrictEqual(calls(), ["stats --no-stream --format json"])
      yield* rt.remove(name, { force: true })
    }).pipe(Effect.provide(wrapped))
  )

  it.live("host.containers.internal resolves to the bridge gateway and reaches the host", () =>
    Effect.gen(function* () {
      const token = `archy-${Date.now()}`
      const server: Server = createServer((_, res) => res.end(token))
      yield* Effect.promise(() => new Promise<void>((resolve) => server.listen(0, "0.0.0.0", () => resolve())))
      const port = (server.address() as AddressInfo).port
      yield* Effect.addFinalizer(() => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve()))))
      const rt = yield* ContainerRuntime
      const info = yield* rt.info
      const name = `${prefix}hostgw`
      yield* rt.create(
        Fixtures.service(name, {
          extraHosts: [{ host: "host.containers.internal", address: "host-gateway" }],
          // busybox-static's wget crashes here (static glibc: no NSS), so the test resolves the
          // name through /etc/hosts itself, as any libc resolver would first, and speaks HTTP with nc.
          command: [
            "/bin/sh",
            "-c",
            `grep host.containers.internal /etc/hosts; ip=$(awk '$2 == "host.containers.internal" { print $1; exit }' /etc/hosts); printf 'GET / HTTP/1.0\r\n\r\n' | nc "$ip" ${port}`
          ]
        })
      )
      yield* rt.start(name)
      const d = yield* waitExited(name)
      const logs = yield* rt.logs(name)
      yield* rt.remove(name)
      assert.strictEqual(d.exitCode, 0, logs)
      const line = logs.split("\n").find((l) => l.includes("host.containers.internal"))
      assert.isDefined(line, logs)
      const address = line!.trim().split(/\s+/)[0]
      if (info.hostGateway !== undefined) assert.strictEqual(address, info.hostGateway)
      assert.match(address!, /^10\.88\./)
      const router = lanRouter()
      if (router !== undefined) assert.notStrictEqual(address, router)
      assert.include(logs, token)
    }).pipe(Effect.provide(PodmanRuntime.layer), Effect.scoped)
  )

  it.live("env values stay out of argv and podman's recorded create command; memory is applied in bytes", () =>
    Effect.gen(function* () {
      const rt = yield* ContainerRuntime
      const name = `${prefix}env`
      resetCalls()
      yield* rt.create(Fixtures.service(name, { env: { RPC_PASSWORD: "correct-horse-battery" }, memoryBytes: 134217728 }))
      assert.notInclude(calls().join("\n"), "correct-horse-battery")
      const [raw] = podmanJson(["container", "inspect", "--format", "json", name]) as Array<{
        Config: { Env: Array<string>; CreateCommand: Array<string> }
        HostConfig: { Memory: number }
      }>
      assert.include(raw!.Config.Env, "RPC_PASSWORD=correct-horse-battery")
      assert.notInclude(raw!.Config.CreateCommand.join(" "), "correct-horse-battery")
      assert.strictEqual(raw!.HostConfig.Memory, 134217728)
      yield* rt.remove(name)
      const noLimit = `${prefix}nomem`
      yield* rt.create(Fixtures.service(noLimit))
      const [raw2] = podmanJson(["container", "inspect", "--format", "json", noLimit]) as Array<{ HostConfig: { Memory: number } }>
      assert.strictEqual(raw2!.HostConfig.Memory, 0)
      yield* rt.remove(noLimit)
    }).pipe(Effect.provide(wrapped))
  )

  it.live("podman runs in workDir: conmon's `oom` marker of an OOM-killed container lands there, not in the caller's folder", () =>
    Effect.gen(function* () {
      const workDir = mkdtempSync(join(tmpdir(), "archy-rt-workdir-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(workDir, { recursive: true, force: true })))
      const rt = yield* Effect.provide(ContainerRuntime, PodmanRuntime.layerWith({ workDir }))
      const name = `${prefix}oom`
      yield* rt.create(Fixtures.service(name, {
        memoryBytes: 16 * 1024 * 1024,
        // allocates far past the limit: the kernel kills the container's process
        command: ["/bin/sh", "-c", "x=$(head -c 268435456 /dev/zero | tr '\\0' x); echo survived ${#x}"]
      }))
      yield* rt.start(name)
      const exited = yield* waitExited(name).pipe(Effect.provide(Layer.succeed(ContainerRuntime, rt)))
      assert.notStrictEqual(exited.exitCode, 0, "the allocation must not survive a 16 MiB limit")
      assert.isTrue(existsSync(join(workDir, "oom")), `conmon's oom marker is in ${workDir}`)
      yield* rt.remove(name)
    }).pipe(Effect.scoped)
  )

  /** Collects the creates of `name` from `rt.events()`; `seeOne` creates and removes it until one arrives. */
  const createsOf = (name: string) =>
    Effect.gen(function* () {
      const rt = yield* ContainerRuntime
      const queue = yield* Queue.unbounded<RuntimeEvent>()
      yield* rt.events().pipe(
        Stream.filter((e) => e.name === name && e.kind === "create"),
        Stream.runForEach((e) => Queue.offer(queue, e)),
        Effect.forkScoped
      )
      const seeOne = Effect.gen(function* () {
        for (let i = 0; i < 20; i++) {
          yield* rt.create(Fixtures.service(name))
          yield* rt.remove(name)
          const got = yield* Effect.timeout(Queue.take(queue), "1 second").pipe(Effect.option)
          if (Option.isSome(got)) return got.value
        }
        return yield* Effect.fail("no create event within 20 tries")
      })
      return { queue, seeOne }
    })

  it.live("events() reads podman's events file through a wrapper that runs podman: no podman events process", () =>
    Effect.gen(function* () {
      resetCalls()
      const { seeOne } = yield* createsOf(`${prefix}ev-file`)
      const e = yield* seeOne
      assert.strictEqual(e.id.length, 64)
      assert.deepStrictEqual(calls().filter((c) => c.startsWith("events")), [])
    }).pipe(Effect.provide(wrapped), Effect.scoped)
  )

  it.live("events() falls back to podman events when podman does not log events to a file", () =>
    Effect.gen(function* () {
      writeFileSync(noFileEvents, "")
      const layer = PodmanRuntime.layerWith({ binary: wrapper })
      const rt = yield* Effect.provide(ContainerRuntime, layer).pipe(Effect.ensuring(Effect.sync(() => rmSync(noFileEvents, { force: true }))))
      resetCalls()
      const { seeOne } = yield* Effect.provideService(createsOf(`${prefix}ev-nofile`), ContainerRuntime, rt)
      yield* seeOne
      assert.isAtLeast(calls().filter((c) => c.startsWith("events")).length, 1)
    }).pipe(Effect.scoped)
  )

  it.live("events() keeps flowing after the podman events process exits", () =>
    Effect.gen(function* () {
      const rt = yield* ContainerRuntime
      const name = `${prefix}ev-restart`
      const queue = yield* Queue.unbounded<RuntimeEvent>()
      yield* rt.events().pipe(
        Stream.filter((e) => e.name === name && e.kind === "create"),
        Stream.runForEach((e) => Queue.offer(queue, e)),
        Effect.forkScoped
      )
      /** Creates and removes the container until the watcher reports a create. */
      const seeOne = Effect.gen(function* () {
        for (let i = 0; i < 20; i++) {
          yield* rt.create(Fixtures.service(name))
          yield* rt.remove(name)
          const got = yield* Effect.timeout(Queue.take(queue), "1 second").pipe(Effect.option)
          if (Option.isSome(got)) return got.value
        }
        return yield* Effect.fail("no create event within 20 tries")
      })
      resetCalls()
      yield* seeOne
      // The wrapper's events process lives 2 s: by now it has exited, so this event comes from a restart.
      yield* Effect.sleep("3 seconds")
      yield* Queue.clear(queue)
      yield* seeOne
      assert.isAtLeast(calls().filter((c) => c.startsWith("events")).length, 2)
    }).pipe(Effect.provide(PodmanRuntime.layerWith({ binary: wrapper, events: "process" })), Effect.scoped)
  )

  it.live("a missing podman is EngineUnavailable with the install command", () =>
    Effect.gen(function* () {
      const e = yield* Effect.flip(Layer.build(PodmanRuntime.layerWith({ binary: join(work, "no-such-podman") })))
      assert.strictEqual(e._tag, "EngineUnavailable")
      assert.include(e.message, "apt-get install -y podman")
    }).pipe(Effect.scoped)
  )

  it.live("BaseImage.ensure builds once, then is a no-op for the same busybox", () =>
    Effect.gen(function* () {
      const ref = `localhost/${prefix}base:test`
      const first = yield* BaseImage.ensure({ ref })
      assert.isTrue(first.built)
      const second = yield* BaseImage.ensure({ ref })
      assert.isFalse(second.built)
      assert.strictEqual(second.hash, first.hash)
      assert.strictEqual(yield* BaseImage.currentHash(ref), first.hash)
      const out = spawnSync(podmanPath, ["run", "--rm", ref, "sh", "-c", "stat -c %a /tmp; id -u nobody; ls -d /var/www; ls /bin | wc -l"], {
        encoding: "utf8"
      })
      spawnSync(podmanPath, ["rmi", ref])
      const [tmpMode, nobody, www, applets] = out.stdout.trim().split("\n")
      assert.strictEqual(tmpMode, "1777")
      assert.strictEqual(nobody, "65534")
      assert.strictEqual(www, "/var/www")
      assert.isTrue(Number(applets) > 100)
    })
  )

  it.live("the shell script and BaseImage.ensure agree on the hash", () =>
    Effect.gen(function* () {
      const script = new URL("../../../../scripts/build-base-image.sh", import.meta.url).pathname
      const r = spawnSync("bash", [script], { encoding: "utf8" })
      assert.strictEqual(r.status, 0, r.stderr)
      const result = yield* BaseImage.ensure()
      assert.isFalse(result.built)
      assert.strictEqual(Option.fromNullishOr(yield* BaseImage.currentHash(BaseImage.ref)).pipe(Option.getOrNull), result.hash)
    })
  )
})

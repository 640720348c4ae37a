import { spawnSync } from "node:child_process"
import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import type { EngineInfo } from "../../src/runtime/ContainerRuntime.js"
import type { ContainerSpec } from "../../src/runtime/ContainerSpec.js"
import * as Argv from "../../src/runtime/PodmanArgv.js"
import { prop } from "../../../../test-support/prop.js"

const podman43: EngineInfo = { name: "podman", version: "4.3.1", supportsHostGateway: false, hostGateway: "10.88.0.1" }
const podman5: EngineInfo = { name: "podman", version: "5.2.0", supportsHostGateway: true }

const minimal: ContainerSpec = {
  name: "lnd",
  image: "localhost/lnd:0.18",
  labels: {},
  ports: [],
  volumes: [],
  env: {},
  extraHosts: [],
  stopTimeoutSec: 330,
  restart: "always"
}

/** The values following each occurrence of `flag`. */
const values = (argv: ReadonlyArray<string>, flag: string): ReadonlyArray<string> =>
  argv.flatMap((a, i) => (a === flag ? [argv[i + 1] ?? "<missing>"] : []))

describe("PodmanArgv.createCommand", () => {
  it("a minimal spec: never pulls, name, restart, stop timeout, image last", () => {
    const { argv, envFile } = Argv.createCommand(minimal, podman43)
    assert.deepStrictEqual(argv, [
      "create",
      "--pull=never",
      "--name",
      "lnd",
      "--restart",
      "always",
      "--stop-timeout",
      "330",
      "localhost/lnd:0.18"
    ])
    assert.isUndefined(envFile)
  })

  it("labels are sorted --label k=v", () => {
    const { argv } = Argv.createCommand({ ...minimal, labels: { "io.archipelago.spec-hash": "abc", "io.archipelago.app": "lnd" } }, podman43)
    assert.deepStrictEqual(values(argv, "--label"), ["io.archipelago.app=lnd", "io.archipelago.spec-hash=abc"])
  })

  it("ports: host:container/proto, with host IPs (IPv6 bracketed)", () => {
    const { argv } = Argv.createCommand(
      {
        ...minimal,
        ports: [
          { host: 8080, container: 80, protocol: "tcp" },
          { host: 5353, container: 53, protocol: "udp", hostIp: "127.0.0.1" },
          { host: 9735, container: 9735, protocol: "tcp", hostIp: "::1" },
          { host: 10009, container: 10009, protocol: "tcp", hostIp: "" }
        ]
      },
      podman43
    )
    assert.deepStrictEqual(values(argv, "-p"), ["8080:80/tcp", "127.0.0.1:5353:53/udp", "[::1]:9735:9735/tcp", "10009:10009/tcp"])
  })

  it("volumes: source:target with :ro when read-only", () => {
    const { argv } = Argv.createCommand(
      {
        ...minimal,
        volumes: [
          { source: "/var/lib/archipelago/lnd", target: "/root/.lnd", readOnly: false },
          { source: "/var/lib/archipelago/bitcoin-ui/nginx.conf", target: "/etc/nginx/nginx.conf", readOnly: true },
          { source: "lnd-data", target: "/data", readOnly: false }
        ]
      },
      podman43
    )
    assert.deepStrictEqual(values(argv, "-v"), [
      "/var/lib/archipelago/lnd:/root/.lnd",
      "/var/lib/archipelago/bitcoin-ui/nginx.conf:/etc/nginx/nginx.conf:ro",
      "lnd-data:/data"
    ])
  })

  it("env goes to an env-file, never into argv", () => {
    const { argv, envFile } = Argv.createCommand({ ...minimal, env: { RPC_PASSWORD: "hunter2", A: "x=y z" } }, podman43)
    assert.deepStrictEqual(values(argv, "--env-file"), [Argv.envFilePlaceholder])
    assert.notInclude(argv.join(" "), "hunter2")
    assert.isFalse(argv.includes("--env") || argv.includes("-e"))
    assert.strictEqual(envFile, "A=x=y z\nRPC_PASSWORD=hunter2\n")
  })

  it("env values never reach argv (property)", () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,10}$/),
          fc.string({ maxLength: 20 }).filter((v) => !/[\r\n\0]/.test(v)).map((v) => `SECRET-${v}`)
        ),
        (env) => {
          const { argv, envFile } = Argv.createCommand({ ...minimal, env }, podman43)
          assert.isFalse(argv.some((a) => a.includes("SECRET-")))
          if (Object.keys(env).length > 0) assert.strictEqual(envFile, Argv.envFileContent(env))
          else assert.isUndefined(envFile)
        }
      )
    )
  })

  it("invalidEnv reports keys an env-file cannot carry", () => {
    assert.deepStrictEqual(Argv.invalidEnv({ GOOD: "v", "#X": "v", "A B": "v", MULTI: "a\nb", "": "v" }), ["", "#X", "A B", "MULTI"])
    assert.deepStrictEqual(Argv.invalidEnv({ PATH: "/bin", "lower.case-ok": "1" }), [])
  })

  it("host-gateway: passed through on podman >= 4.4", () => {
    const { argv } = Argv.createCommand(
      { ...minimal, extraHosts: [{ host: "host.containers.internal", address: "host-gateway" }, { host: "db", address: "10.0.0.5" }] },
      podman5
    )
    assert.deepStrictEqual(values(argv, "--add-host"), ["host.containers.internal:host-gateway", "db:10.0.0.5"])
  })

  it("host-gateway on podman 4.3: host.containers.internal is left to podman, other names get the gateway", () => {
    const { argv } = Argv.createCommand(
      {
        ...minimal,
        extraHosts: [
          { host: "host.containers.internal", address: "host-gateway" },
          { host: "bitcoind.host", address: "host-gateway" },
          { host: "db", address: "10.0.0.5" }
        ]
      },
      podman43
    )
    assert.deepStrictEqual(values(argv, "--add-host"), ["bitcoind.host:10.88.0.1", "db:10.0.0.5"])
    assert.notInclude(argv.join(" "), "host-gateway")
  })

  it("host-gateway on podman 4.3 without a known gateway: dropped, never the literal", () => {
    const { name, version, supportsHostGateway } = podman43
    const { argv } = Argv.createCommand(
      { ...minimal, extraHosts: [{ host: "bitcoind.host", address: "host-gateway" }] },
      { name, version, supportsHostGateway }
    )
    assert.deepStrictEqual(values(argv, "--add-host"), [])
  })

  it("memory: emitted in bytes when valid, omitted when absent, zero, negative or fractional", () => {
    assert.deepStrictEqual(values(Argv.createCommand({ ...minimal, memoryBytes: 134217728 }, podman43).argv, "--memory"), ["134217728"])
    assert.deepStrictEqual(values(Argv.createCommand(minimal, podman43).argv, "--memory"), [])
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.deepStrictEqual(values(Argv.createCommand({ ...minimal, memoryBytes: bad }, podman43).argv, "--memory"), [], String(bad))
    }
  })

  it("memory is never 0 (property)", () => {
    fc.assert(
      fc.property(fc.option(fc.double(), { nil: undefined }), (memoryBytes) => {
        const spec: ContainerSpec = memoryBytes === undefined ? minimal : { ...minimal, memoryBytes }
        for (const v of values(Argv.createCommand(spec, podman43).argv, "--memory")) {
          assert.isTrue(Number.isSafeInteger(Number(v)) && Number(v) > 0, v)
        }
      })
    )
  })

  it("restart policies, with on-failure retries", () => {
    const restart = (spec: ContainerSpec) => values(Argv.createCommand(spec, podman43).argv, "--restart")
    assert.deepStrictEqual(restart({ ...minimal, restart: "no" }), ["no"])
    assert.deepStrictEqual(restart({ ...minimal, restart: "unless-stopped" }), ["unless-stopped"])
    assert.deepStrictEqual(restart({ ...minimal, restart: "on-failure" }), ["on-failure"])
    assert.deepStrictEqual(restart({ ...minimal, restart: "on-failure", restartRetries: 5 }), ["on-failure:5"])
    assert.deepStrictEqual(restart({ ...minimal, restart: "always", restartRetries: 5 }), ["always"])
  })

  it("stop timeout is a whole number of seconds, never negative", () => {
    assert.deepStrictEqual(values(Argv.createCommand({ ...minimal, stopTimeoutSec: 600 }, podman43).argv, "--stop-timeout"), ["600"])
    assert.deepStrictEqual(values(Argv.createCommand({ ...minimal, stopTimeoutSec: -3 }, podman43).argv, "--stop-timeout"), ["0"])
  })

  it("user, workdir, entrypoint (JSON form) and command after the image", () => {
    const { argv } = Argv.createCommand(
      { ...minimal, user: "1000:1000", workdir: "/data", entrypoint: ["/bin/sh", "-c"], command: ["exec lnd", "--x=1"] },
      podman43
    )
    assert.deepStrictEqual(values(argv, "--user"), ["1000:1000"])
    assert.deepStrictEqual(values(argv, "--workdir"), ["/data"])
    assert.deepStrictEqual(values(argv, "--entrypoint"), ['["/bin/sh","-c"]'])
    assert.deepStrictEqual(argv.slice(-3), ["localhost/lnd:0.18", "exec lnd", "--x=1"])
  })

  it("shell quoting keeps words intact", () => {
    assert.strictEqual(Argv.shellCommand(["sh", "-c", "echo 'hi' && true", "a b"]), `sh -c 'echo '\\''hi'\\'' && true' 'a b'`)
    assert.strictEqual(Argv.shellCommand(["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/status"]), "wget -q -O /dev/null http://127.0.0.1:8080/status")
  })

  prop("/bin/sh reads a quoted command back word for word", [fc.array(fc.string({ minLength: 1 }).filter((a) => !a.includes("\0")), { minLength: 1, maxLength: 5 })], ([args]) => {
    const out = spawnSync("/bin/sh", ["-c", `printf '%s\\0' ${Argv.shellCommand(args)}`], { encoding: "utf8" }).stdout
    assert.deepStrictEqual(out.split("\0").slice(0, -1), args)
  }, { fastCheck: { numRuns: 60 } })

  it("health check: shell form (podman 4.3 mangles the JSON exec form) and durations in seconds", () => {
    const { argv } = Argv.createCommand(
      { ...minimal, healthCheck: { command: ["wget", "-q", "http://localhost/"], intervalSec: 30, timeoutSec: 5, retries: 3, startPeriodSec: 10 } },
      podman43
    )
    assert.deepStrictEqual(values(argv, "--health-cmd"), ["wget -q http://localhost/"])
    assert.deepStrictEqual(values(argv, "--health-interval"), ["30s"])
    assert.deepStrictEqual(values(argv, "--health-timeout"), ["5s"])
    assert.deepStrictEqual(values(argv, "--health-retries"), ["3"])
    assert.deepStrictEqual(values(argv, "--health-start-period"), ["10s"])
  })

  it("every option lands before the image (property: the image is the first non-flag after the options)", () => {
    fc.assert(
      fc.property(
        fc.record({
          labels: fc.dictionary(fc.stringMatching(/^[a-z.]{1,8}$/), fc.string({ maxLength: 5 })),
          command: fc.option(fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }), { nil: undefined })
        }),
        ({ labels, command }) => {
          const spec: ContainerSpec = command === undefined ? { ...minimal, labels } : { ...minimal, labels, command }
          const { argv } = Argv.createCommand(spec, podman43)
          const at = argv.lastIndexOf(minimal.image)
          assert.deepStrictEqual(argv.slice(at + 1), command ?? [])
        }
      )
    )
  })
})

describe("PodmanArgv: other commands", () => {
  it("list is ONE ps -a with JSON output", () => {
    assert.deepStrictEqual(Argv.listArgv, ["ps", "-a", "--format", "json"])
  })

  it("inspect takes every name in one process", () => {
    assert.deepStrictEqual(Argv.inspectArgv(["a", "b", "c"]), ["container", "inspect", "--format", "json", "a", "b", "c"])
  })

  it("start, stop and restart with its window, rm with and without force, logs with tail", () => {
    assert.deepStrictEqual(Argv.startArgv("lnd"), ["start", "lnd"])
    assert.deepStrictEqual(Argv.stopArgv("lnd", 330), ["stop", "--time", "330", "lnd"])
    assert.deepStrictEqual(Argv.stopArgv("lnd", 1.6), ["stop", "--time", "2", "lnd"])
    assert.deepStrictEqual(Argv.restartArgv("lnd", 330), ["restart", "--time", "330", "lnd"])
    assert.deepStrictEqual(Argv.restartArgv("lnd", -1), ["restart", "--time", "0", "lnd"])
    assert.deepStrictEqual(Argv.removeArgv("lnd", false), ["rm", "lnd"])
    assert.deepStrictEqual(Argv.removeArgv("lnd", true), ["rm", "--force", "lnd"])
    assert.deepStrictEqual(Argv.logsArgv("lnd", undefined), ["logs", "lnd"])
    assert.deepStrictEqual(Argv.logsArgv("lnd", 50), ["logs", "--tail", "50", "lnd"])
    assert.deepStrictEqual(Argv.followLogsArgv("lnd", undefined), ["logs", "--follow", "lnd"])
    assert.deepStrictEqual(Argv.followLogsArgv("lnd", 20.7), ["logs", "--follow", "--tail", "20", "lnd"])
  })

  it("stats: one process for every running container, never streaming", () => {
    assert.deepStrictEqual(Argv.statsArgv, ["stats", "--no-stream", "--format", "json"])
  })

  it("images: exists, rmi, pull", () => {
    assert.deepStrictEqual(Argv.imageExistsArgv("x:1"), ["image", "exists", "x:1"])
    assert.deepStrictEqual(Argv.removeImageArgv("x:1"), ["rmi", "x:1"])
    assert.deepStrictEqual(Argv.pullArgv({ ref: "docker.io/library/x:1", insecure: false }), ["pull", "docker.io/library/x:1"])
    assert.deepStrictEqual(Argv.pullArgv({ ref: "127.0.0.1:5000/library/x:1", insecure: true }), [
      "pull",
      "--tls-verify=false",
      "127.0.0.1:5000/library/x:1"
    ])
    assert.deepStrictEqual(Argv.pullArgv({ ref: "r.lan/x:1", insecure: true, authFile: "/etc/archipelago/auth.json" }), [
      "pull",
      "--tls-verify=false",
      "--authfile",
      "/etc/archipelago/auth.json",
      "r.lan/x:1"
    ])
    assert.deepStrictEqual(Argv.tagArgv("m/library/x:1", "docker.io/library/x:1"), ["tag", "m/library/x:1", "docker.io/library/x:1"])
  })

  it("build: never pulls the local base, sorted labels and build args, context last", () => {
    assert.deepStrictEqual(
      Argv.buildArgv({
        tag: "localhost/archipelago/demo-web:1",
        context: "/apps/demo-web",
        containerfile: "Containerfile",
        args: { VERSION: "1", BASE: "localhost/archipelago/base:latest" },
        labels: { "io.archipelago.app": "demo-web", "io.archipelago.managed-by": "archipelago" }
      }),
      [
        "build",
        "--pull=never",
        "--tag",
        "localhost/archipelago/demo-web:1",
        "--file",
        "Containerfile",
        "--label",
        "io.archipelago.app=demo-web",
        "--label",
        "io.archipelago.managed-by=archipelago",
        "--build-arg",
        "BASE=localhost/archipelago/base:latest",
        "--build-arg",
        "VERSION=1",
        "/apps/demo-web"
      ]
    )
    assert.deepStrictEqual(Argv.buildArgv({ tag: "t", context: "/c", args: {}, labels: {} }), ["build", "--pull=never", "--tag", "t", "/c"])
  })

  it("events and version use JSON", () => {
    assert.deepStrictEqual(Argv.eventsArgv, ["events", "--format", "json"])
    assert.deepStrictEqual(Argv.versionArgv, ["version", "--format", "json", "--log-level=debug"])
  })
})

describe("PodmanArgv.supportsHostGateway", () => {
  it("4.4 and later accept the literal; 4.3 does not", () => {
    assert.isFalse(Argv.supportsHostGateway("4.3.1"))
    assert.isTrue(Argv.supportsHostGateway("4.4.0"))
    assert.isTrue(Argv.supportsHostGateway("4.9.3"))
    assert.isTrue(Argv.supportsHostGateway("5.0.0-dev"))
    assert.isFalse(Argv.supportsHostGateway("3.4.4"))
    assert.isFalse(Argv.supportsHostGateway("garbage"))
  })
})

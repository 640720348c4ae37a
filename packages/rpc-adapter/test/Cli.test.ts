import { execFile, spawn } from "node:child_process"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Either } from "effect"
import * as Cli from "../src/Cli.js"
import { tempDir } from "./fixtures.js"

const root = fileURLToPath(new URL("../../..", import.meta.url))
const main = join(root, "packages/rpc-adapter/src/main.ts")

const run = (args: Array<string>) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ["--import", "tsx", main, ...args], { cwd: root, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stdout, stderr })
    })
  })

describe("Cli.parse", () => {
  it("--help and --version win wherever they appear", () => {
    expect(Cli.parse(["--help"])).toStrictEqual(Either.right({ _tag: "Help" }))
    expect(Cli.parse(["serve", "--port", "1", "-h"])).toStrictEqual(Either.right({ _tag: "Help" }))
    expect(Cli.parse(["--version"])).toStrictEqual(Either.right({ _tag: "Version" }))
    expect(Cli.parse(["serve", "--version"])).toStrictEqual(Either.right({ _tag: "Version" }))
  })

  it("--install takes comma lists, repeats, and refuses ids that are not app ids", () => {
    const parsed = Cli.parse(["serve", "--install", "demo-node,demo-ui", "--install=demo-indexer"])
    expect(Either.isRight(parsed) && parsed.right._tag === "Serve" && parsed.right.options.install).toStrictEqual([
      "demo-node",
      "demo-ui",
      "demo-indexer"
    ])
    const bad = Cli.parse(["serve", "--install", "../x"])
    expect(Either.isLeft(bad) && bad.left.reason).toBe('invalid --install "../x": expected app ids like demo-node')
  })

  it("serve takes defaults, then flags in both spellings, and ARCHIPELAGO_DATA", () => {
    expect(Cli.parse(["serve"])).toStrictEqual(Either.right({
      _tag: "Serve",
      options: {
        apps: "apps",
        data: "/var/lib/archipelago",
        host: "127.0.0.1",
        port: 7420,
        engine: "auto",
        scanInterval: Duration.seconds(30),
        reconcileInterval: Duration.seconds(30),
        allowOrigins: [],
        install: []
      }
    }))
    expect(Cli.parse([
      "serve",
      "--apps=x",
      "--data",
      "d",
      "--host",
      "0.0.0.0",
      "--port=0",
      "--engine",
      "sim",
      "--scan-interval",
      "500ms",
      "--reconcile-interval=5m",
      "--password-file",
      "pw",
      "--allow-origin",
      "https://node.example",
      "--allow-origin=http://a.b:8080"
    ], { ARCHIPELAGO_DATA: "/env" })).toStrictEqual(Either.right({
      _tag: "Serve",
      options: {
        apps: "x",
        data: "d",
        host: "0.0.0.0",
        port: 0,
        engine: "sim",
        scanInterval: Duration.millis(500),
        reconcileInterval: Duration.minutes(5),
        allowOrigins: ["https://node.example", "http://a.b:8080"],
        install: [],
        passwordFile: "pw"
      }
    }))
    const fromEnv = Cli.parse(["serve"], { ARCHIPELAGO_DATA: "/env" })
    expect(Either.isRight(fromEnv) && fromEnv.right._tag === "Serve" && fromEnv.right.options.data).toBe("/env")
  })

  it("refuses what makes no sense, saying what", () => {
    const reason = (argv: Array<string>) => Either.match(Cli.parse(argv), { onLeft: (e) => e.reason, onRight: () => "ok" })
    expect(reason([])).toBe("missing command: serve or validate")
    expect(reason(["launch"])).toBe("unknown command: launch")
    expect(reason(["serve", "--prot", "1"])).toBe("unknown option: --prot")
    expect(reason(["serve", "--port"])).toBe("--port needs a value")
    expect(reason(["serve", "--port", "70000"])).toBe("invalid --port \"70000\": expected 0-65535")
    expect(reason(["serve", "--engine", "docker"])).toBe("invalid --engine \"docker\": expected auto, podman or sim")
    expect(reason(["serve", "--scan-interval", "0s"])).toBe("--scan-interval: invalid duration \"0s\": must be more than zero")
    expect(reason(["serve", "--reconcile-interval", "soon"])).toBe(
      "--reconcile-interval: invalid duration \"soon\": expected e.g. 500ms, 1s, 30s, 5m"
    )
    expect(reason(["serve", "stray"])).toBe("unexpected argument: stray")
    expect(reason(["validate"])).toBe("usage: archipelago validate DIR")
    expect(reason(["serve", "--allow-origin", "evil"])).toBe("invalid --allow-origin \"evil\": expected e.g. https://node.example")
  })

  it("parses durations", () => {
    expect(Cli.parseDuration("1s")).toStrictEqual(Either.right(Duration.seconds(1)))
    expect(Cli.parseDuration("1h")).toStrictEqual(Either.right(Duration.hours(1)))
    expect(Either.isLeft(Cli.parseDuration("1.5s"))).toBe(true)
  })
})

describe("archipelago as a child process", () => {
  it("--version prints and exits 0 without starting anything", async () => {
    expect(await run(["--version"])).toStrictEqual({ code: 0, stdout: "archipelago 0.1.0\n", stderr: "" })
  })

  it("--help prints usage and exits 0", async () => {
    const r = await run(["--help"])
    expect([r.code, r.stdout]).toStrictEqual([0, Cli.usage])
  })

  it("a usage error exits 2 on stderr", async () => {
    const r = await run(["serve", "--engine", "docker"])
    expect([r.code, r.stdout, r.stderr]).toStrictEqual([
      2,
      "",
      "invalid --engine \"docker\": expected auto, podman or sim\nRun `archipelago --help` for usage.\n"
    ])
  })

  it("validate prints a one-line summary for the repo's catalog", async () => {
    const r = await run(["validate", join(root, "apps")])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^ok: \d+ apps in .*apps: [a-z0-9, -]+\n$/)
    expect(r.stdout).toContain("lnd")
  })

  it("validate prints every manifest error and exits 1", async () => {
    const dir = tempDir("rpc-validate-")
    mkdirSync(join(dir, "one"))
    writeFileSync(join(dir, "one", "manifest.yml"), "id: one\nname: One\nversion: 1\nimage: busybox\nportz: []\n")
    mkdirSync(join(dir, "two"))
    writeFileSync(join(dir, "two", "manifest.yml"), "id: two\nname: Two\nversion: '1'\n")
    const r = await run(["validate", dir])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("one/manifest.yml")
    expect(r.stderr).toContain("two/manifest.yml")
    expect(r.stderr).toMatch(/portz/)
  })

  it("serve prints the dashboard URL with the token, serves, and exits 0 on SIGTERM", async () => {
    const data = tempDir("rpc-serve-")
    const child = spawn(
      process.execPath,
      ["--import", "tsx", main, "serve", "--apps", join(root, "apps"), "--data", data, "--engine", "sim", "--port", "0"],
      { cwd: root, stdio: ["ignore", "pipe", "pipe"] }
    )
    let stdout = ""
    let stderr = ""
    child.stderr.on("data", (d) => (stderr += d))
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))
    const loginUrl = await new Promise<string>((resolve) => {
      child.stdout.on("data", (d) => {
        stdout += d
        const m = /Dashboard: (http:\/\/127\.0\.0\.1:\d+\/login\?token=[A-Za-z0-9_-]+)\n/.exec(stdout)
        if (m !== null) resolve(m[1]!)
      })
    })
    const token = new URL(loginUrl).searchParams.get("token")!
    expect(readFileSync(join(data, "rpc-token"), "utf8").trim()).toBe(token)
    const res = await fetch(new URL("/rpc", loginUrl), {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "server.version" })
    })
    expect((await res.json()).result.engine).toBe("simulated")
    expect(stdout).toContain("SIMULATED ENGINE")
    child.kill("SIGTERM")
    expect(await exited).toBe(0)
    expect([stdout, stderr]).toEqual([expect.stringContaining("state written to"), ""])
  })
})

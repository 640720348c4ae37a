import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as ServerInfo from "../../rpc-adapter/src/ServerInfo.js"
import * as Cli from "../src/Cli.js"
import * as Help from "../src/internal/help.js"
import { tempDir } from "../../rpc-adapter/test/fixtures.js"
import { cleanEnv, root, run, serve } from "./cliProcess.js"

const golden = (name: string) => join(root, "packages/daemon/test/golden", name)

describe("archipelago: help, version, usage errors", { timeout: 120_000 }, () => {
  it("--version prints and exits 0 without starting anything", async () => {
    expect(await run(["--version"])).toStrictEqual({ code: 0, stdout: `archipelago ${ServerInfo.version}\n`, stderr: "" })
  })

  for (const [args, file] of [[["--help"], "help.txt"], [["serve", "--help"], "serve-help.txt"], [["status", "--help"], "status-help.txt"], [["service", "unit", "--help"], "service-unit-help.txt"], [["backup", "create", "--help"], "backup-create-help.txt"]] as const) {
    it(`golden: ${args.join(" ")}`, async () => {
      const r = await run([...args])
      expect(r.code).toBe(0)
      // the version is the package's (a release bumps it), so the goldens hold a placeholder
      expect(r.stdout).not.toContain("\u001b[")
      const text = r.stdout.replace(`archipelago ${ServerInfo.version}:`, "archipelago <version>:")
      if (process.env["UPDATE_GOLDEN"] === "1") writeFileSync(golden(file), text)
      expect(text).toBe(readFileSync(golden(file), "utf8"))
    })
  }

  it("serve --help lists serve's options only", async () => {
    const text = (await run(["serve", "--help"])).stdout
    expect(text).toContain("--scan-interval")
    expect(text).toContain("ARCHIPELAGO_PORT")
    expect(text).not.toContain("--json")
  })

  it("a misspelt flag gets a did-you-mean, on stderr, exit 2", async () => {
    expect(await run(["serve", "--prot", "1"])).toStrictEqual({
      code: 2,
      stdout: "",
      stderr: "archipelago serve: unknown option --prot: did you mean --port?\n"
    })
    expect(Cli.unknownFlag(["status", "--jsn"])).toStrictEqual({ flag: "--jsn", suggestion: "--json" })
    expect(Cli.unknownFlag(["serve", "--port", "1", "--log-level", "debug"])).toBeUndefined()
  })

  it("a bad value says where it came from, exit 2", async () => {
    const r = await run(["serve", "--engine", "docker"])
    expect([r.code, r.stdout, r.stderr]).toStrictEqual([2, "", "archipelago serve: --engine: invalid engine \"docker\": expected auto, podman or sim\n"])
    const env = await run(["serve"], { ...cleanEnv, ARCHIPELAGO_PORT: "http" })
    expect([env.code, env.stderr]).toStrictEqual([2, "archipelago serve: ARCHIPELAGO_PORT: invalid port \"http\": expected 0-65535\n"])
  })

  it("a bad config file is reported located, every problem, exit 2", async () => {
    const dir = tempDir("rpc-cfg-")
    writeFileSync(join(dir, "config.yml"), "port: 99999\nhots: 0.0.0.0\n")
    const r = await run(["serve", "--config", join(dir, "config.yml")])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(
      `archipelago serve: ${join(dir, "config.yml")}:1:7 port: expected a whole number from 0 to 65535, got 99999\n` +
        `${join(dir, "config.yml")}:2:1 hots: unknown setting (did you mean host?)\n`
    )
    writeFileSync(join(dir, "config.yml"), "port: 99999\n")
    const r2 = await run(["serve", "--config", join(dir, "config.yml")])
    expect(r2.stderr).toMatch(new RegExp(`^archipelago serve: ${join(dir, "config.yml")}:1:7 port: .*65535`))
    const missing = await run(["serve", "--config", join(dir, "nope.yml")])
    expect([missing.code, missing.stderr]).toStrictEqual([2, `archipelago serve: cannot read the config file ${join(dir, "nope.yml")}: ENOENT\n`])
  })

  it("shell completions for bash name the commands and serve's flags", async () => {
    const r = await run(["--completions", "bash"])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain("complete -F")
    for (const word of ["serve", "status", "login-url", "takeover", "--scan-interval"]) expect(r.stdout).toContain(word)
  })

  it("validate prints a one-line summary for the repo's catalog", async () => {
    const r = await run(["validate", join(root, "apps")])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^ok: \d+ apps in .*apps: [a-z0-9, -]+\n$/)
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

  it("without podman, --engine podman is one line saying what to do, never a stack trace", async () => {
    const r = await run(["serve", "--engine", "podman", "--data", tempDir("rpc-nopod-"), "--port", "0"], { ...cleanEnv, PATH: "/nonexistent" })
    expect(r.code).toBe(1)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr).toMatch(/^archipelago: .*podman.*install podman/)
    expect(r.stderr).not.toMatch(/\s+at /)
  })
})

// what the CLI library writes when a description is missing, and its notes under every option:
// @effect/cli's (Effect 3), then effect/cli's (Effect 4: its built-in flags' descriptions, its choice notes)
const libraryDefaults = [
  "A user-defined piece of text", "A true or false value", "An integer", "This setting is optional", "One of the following",
  "Show help information", "Sets the minimum log level", "(choices:"
]

describe("archipelago help and usage errors for an operator (issue 27)", { timeout: 180_000 }, () => {
  it("every command's --help, piped: plain text, its full path in USAGE, every option described in its own words, no --wizard", async () => {
    const paths = Object.keys(Cli.knownFlags())
    expect(paths).toContain("service unit")
    for (const path of paths) {
      const r = await run([...path.split(" "), "--help"])
      expect([path, r.code, r.stderr]).toStrictEqual([path, 0, ""])
      expect(r.stdout).not.toContain("\u001b[")
      expect(r.stdout).not.toContain("wizard")
      expect(r.stdout).toContain(`USAGE\n  archipelago ${path} `)
      for (const d of libraryDefaults) expect(r.stdout).not.toContain(d)
      const options = r.stdout.split("\n\nOPTIONS\n")[1]?.split("\n\n")[0] ?? ""
      // the "did you mean" knows exactly the options the help shows
      const shown = [...options.matchAll(/^  --([a-z-]+)/gm)].map((m) => m[1]!)
      expect([path, [...shown].sort()]).toStrictEqual([path, [...Cli.knownFlags()[path]!].sort()])
      for (const flag of Cli.knownFlags()[path]!) {
        // the flag's line, then its description, indented under it
        expect(options, `${path} --${flag}`).toMatch(new RegExp(`^  --${flag}( .*)?\n {6}\\S`, "m"))
      }
    }
  })

  it("the top-level help is a table of commands, one line each, with the nested ones", async () => {
    const r = await run(["--help"])
    const commands = r.stdout.split("\n\nCOMMANDS\n")[1]!.split("\n\n")[0]!
    expect(commands).toMatch(/^  serve +run the orchestrator/m)
    expect(commands).toMatch(/^  service unit +print the systemd unit/m)
    expect(commands).toMatch(/^  backup create +back up an app's data/m)
    expect(commands).not.toContain("--data")
    // a group without its subcommand prints its own help
    const service = await run(["service"])
    expect([service.code, service.stdout]).toStrictEqual([0, expect.stringContaining("USAGE\n  archipelago service <command> [options]\n")])
  })

  it("headings are bold only for a terminal", () => {
    const entry: Help.Entry = { path: ["x"], description: "does x", config: {}, children: [] }
    expect(Help.render("archipelago", "1.0.0", [entry], entry, true)).toContain("\u001b[1mUSAGE\u001b[0m")
    expect(Help.render("archipelago", "1.0.0", [entry], entry, false)).not.toContain("\u001b[")
  })

  it("a misspelt command gets a did-you-mean, top-level and nested, on stderr, exit 2", async () => {
    expect(await run(["serv"])).toStrictEqual({
      code: 2,
      stdout: "",
      stderr: "archipelago: unknown command serv: did you mean serve? (archipelago --help lists them)\n"
    })
    expect(await run(["backup", "creat", "lnd"])).toStrictEqual({
      code: 2,
      stdout: "",
      stderr: "archipelago backup: unknown command creat: did you mean create? (archipelago backup --help lists them)\n"
    })
    expect(await run(["service", "instal"])).toStrictEqual({
      code: 2,
      stdout: "",
      stderr: "archipelago service: unknown command instal: did you mean install? (archipelago service --help lists them)\n"
    })
  })

  it("a missing or bad argument names the program and the command, exit 2", async () => {
    expect(await run(["validate"])).toStrictEqual({
      code: 2,
      stdout: "",
      stderr: "archipelago validate: missing argument <DIR> (the app catalog folder to check)\n"
    })
    expect(await run(["serve", "--port", "http"])).toStrictEqual({ code: 2, stdout: "", stderr: "archipelago serve: --port: expected a whole number, got \"http\"\n" })
    expect(await run(["logs", "lnd", "--tail=many"])).toStrictEqual({ code: 2, stdout: "", stderr: "archipelago logs: --tail: expected a whole number, got \"many\"\n" })
    expect(await run(["validate", "a", "b"])).toStrictEqual({ code: 2, stdout: "", stderr: "archipelago validate: unexpected argument b\n" })
    expect(await run(["serve", "--wizard"])).toStrictEqual({ code: 2, stdout: "", stderr: "archipelago serve: unknown option --wizard\n" })
    expect(await run(["serve", "--port"])).toStrictEqual({ code: 2, stdout: "", stderr: "archipelago serve: --port: expected a value\n" })
    expect(await run(["status", "--log-format", "xml"])).toStrictEqual({
      code: 2,
      stdout: "",
      stderr: "archipelago status: --log-format: expected one of pretty, json, got \"xml\"\n"
    })
    expect(await run(["--hlep"])).toStrictEqual({ code: 2, stdout: "", stderr: "archipelago: unknown option --hlep: did you mean --help?\n" })
    expect(await run(["--log-level", "debug", "serve", "--prot", "1"])).toStrictEqual({
      code: 2,
      stdout: "",
      stderr: "archipelago serve: unknown option --prot: did you mean --port?\n"
    })
  })

  it("--log-level still works before or after the command", async () => {
    const r = await run(["--log-level", "debug", "validate", join(root, "apps")])
    expect(r.code).toBe(0)
    expect((await run(["validate", join(root, "apps"), "--log-level=error"])).code).toBe(0)
  })
})

describe("archipelago serve as a child process", { timeout: 240_000 }, () => {
  it("prints the login URL only when asked (stdout is no terminal here), serves, and exits 0 on SIGTERM", async () => {
    const data = tempDir("rpc-serve-")
    const s = serve(["--apps", join(root, "apps"), "--data", data, "--engine", "sim", "--port", "0", "--print-login-url"])
    const loginUrl = (await s.waitFor(/Dashboard: (http:\/\/127\.0\.0\.1:\d+\/login\?token=[A-Za-z0-9_-]+)\n/))[1]!
    const token = new URL(loginUrl).searchParams.get("token")!
    expect(readFileSync(join(data, "rpc-token"), "utf8").trim()).toBe(token)
    const res = await fetch(new URL("/rpc", loginUrl), {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "server.version" })
    })
    expect((await res.json()).result.engine).toBe("simulated")
    expect(s.out()).toContain("SIMULATED ENGINE")
    s.child.kill("SIGTERM")
    expect(await s.exited).toBe(0)
    expect([s.out(), s.err()]).toEqual([expect.stringContaining("state written to"), ""])
    expect(existsSync(join(data, "serve.lock"))).toBe(false)
  })

  it("one server per data dir: a second exits at once with one line naming the holder; status and login-url ask the first", async () => {
    const data = tempDir("rpc-lock-")
    const s = serve(["--apps", join(root, "apps"), "--data", data, "--engine", "sim", "--port", "0"])
    const dashboard = (await s.waitFor(/Dashboard: (http:\/\/127\.0\.0\.1:\d+) \(login token in (.*?);.*\n/))
    expect(s.out()).not.toContain("token=")
    expect(dashboard[2]).toBe(join(data, "rpc-token"))
    const second = await run(["serve", "--apps", join(root, "apps"), "--data", data, "--engine", "sim", "--port", "0"])
    expect(second.code).toBe(1)
    expect(second.stderr.trim().split("\n")).toHaveLength(1)
    expect(second.stderr).toContain(`pid ${s.child.pid}`)
    expect(second.stderr).toContain(join(data, "serve.lock"))

    const login = await run(["login-url", "--data", data])
    const token = readFileSync(join(data, "rpc-token"), "utf8").trim()
    expect([login.code, login.stdout]).toStrictEqual([0, `${dashboard[1]}/login?token=${token}\n`])

    const status = await run(["status", "--data", data])
    expect(status.code).toBe(0)
    expect(status.stdout).toMatch(/^server http:\/\/127\.0\.0\.1:\d+ \(instance [0-9a-f]+\)\nAPP +STATE +ERROR\n/)
    expect(status.stdout).toMatch(/\ndemo-node +not-installed\n/)
    const asJson = JSON.parse((await run(["status", "--data", data, "--json"])).stdout)
    expect(asJson.map((v: { id: string }) => v.id)).toContain("lnd")
    s.child.kill("SIGTERM")
    expect(await s.exited).toBe(0)
  })

  it("settings from the environment and the config file; JSON log lines with full timestamps", async () => {
    const data = tempDir("rpc-json-")
    writeFileSync(join(data, "config.yml"), `engine: sim\nport: 0\napps: ${join(root, "apps")}\nprintLoginUrl: true\n`)
    const s = serve([], { ...cleanEnv, ARCHIPELAGO_CONFIG: join(data, "config.yml"), ARCHIPELAGO_DATA: data, ARCHIPELAGO_LOG_FORMAT: "json" })
    await s.waitFor(/Dashboard: http.*token=/)
    s.child.kill("SIGTERM")
    expect(await s.exited).toBe(0)
    const lines = s.out().trim().split("\n")
    expect(lines.length).toBeGreaterThan(3)
    for (const line of lines) {
      const entry = JSON.parse(line)
      expect(entry.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
      expect(typeof entry.logLevel).toBe("string")
    }
    expect(lines.some((l) => l.includes("SIMULATED ENGINE"))).toBe(true)
  })
})

import { describe, expect, it } from "@effect/vitest"
import { Duration, Result } from "effect"
import * as fc from "fast-check"
import * as Config from "../src/Config.js"
import { prop } from "../../../test-support/prop.js"

const resolveRight = (...layers: ReadonlyArray<Config.Layer>) => {
  const r = Config.resolve(...layers)
  if (Result.isFailure(r)) throw new Error(r.failure.message)
  return r.success
}

describe("Config.resolve", () => {
  it("takes the defaults when nothing is given", () => {
    expect(resolveRight()).toStrictEqual({
      apps: "apps",
      data: "/var/lib/archipelago",
      host: "127.0.0.1",
      port: 7420,
      engine: "auto",
      scanInterval: Duration.seconds(30),
      reconcileInterval: Duration.seconds(30),
      allowOrigins: [],
      install: [],
      mirrors: [],
      allowedBindRoots: [],
      registries: [],
      offline: false,
      logLevel: "info",
      logFormat: "pretty",
      printLoginUrl: false
    })
  })

  prop(
    "flag > environment > file > default, for every setting",
    [fc.boolean(), fc.boolean(), fc.boolean(), fc.constantFrom(...Config.settings)],
    ([inFlag, inEnv, inFile, s]) => {
      const sample = (source: string): string => {
        switch (s.key) {
          case "port":
            return source === "flag" ? "1001" : source === "env" ? "1002" : "1003"
          case "engine":
            return source === "flag" ? "sim" : source === "env" ? "podman" : "auto"
          case "scanInterval":
          case "reconcileInterval":
            return source === "flag" ? "1s" : source === "env" ? "2s" : "3s"
          case "logLevel":
            return source === "flag" ? "debug" : source === "env" ? "warning" : "error"
          case "logFormat":
            return source === "flag" ? "json" : source === "env" ? "pretty" : "json"
          case "allowOrigins":
            return `https://${source}.example`
          case "allowedBindRoots":
            return `/${source}`
          case "mirrors":
            return `${source}.local:5000`
          case "registries":
            return `http://${source}.lan:5000`
          case "install":
            return `app-${source}`
          case "printLoginUrl":
            return "true"
          case "backupKeep":
            return source === "flag" ? "7" : source === "env" ? "8" : "9"
          default:
            return `/${source}`
        }
      }
      const value = (source: string): Config.Raw => s.kind === "list" ? [sample(source)] : s.kind === "bool" ? true : sample(source)
      const flags = inFlag ? Config.fromFlags({ [s.key]: value("flag") }) : {}
      const env = inEnv ? Config.fromEnv({ [s.env]: s.kind === "bool" ? "true" : sample("env") }) : {}
      const file: Config.Layer = inFile ? { [s.key]: { value: value("file"), where: "config.yml:1:1" } } : {}
      const resolved = resolveRight(flags, env, file)
      const defaults = resolveRight()
      const expected = inFlag ? "flag" : inEnv ? "env" : inFile ? "file" : undefined
      const got = resolved[s.key]
      if (expected === undefined) expect(got).toStrictEqual(defaults[s.key])
      else if (s.kind === "bool") expect(got).toBe(true)
      else {
        const want = resolveRight({ [s.key]: { value: value(expected), where: "x" } })[s.key]
        expect(got).toStrictEqual(want)
      }
    }
  )

  it("names where a bad value came from", () => {
    const reason = (...layers: ReadonlyArray<Config.Layer>) =>
      Result.match(Config.resolve(...layers), { onFailure: (e) => e.message, onSuccess: () => "ok" })
    expect(reason(Config.fromFlags({ port: "70000" }))).toBe("--port: invalid port \"70000\": expected 0-65535")
    expect(reason(Config.fromEnv({ ARCHIPELAGO_ENGINE: "docker" }))).toBe("ARCHIPELAGO_ENGINE: invalid engine \"docker\": expected auto, podman or sim")
    expect(reason(Config.fromFlags({ scanInterval: "0s" }))).toBe("--scan-interval: invalid duration \"0s\": must be more than zero")
    expect(reason(Config.fromEnv({ ARCHIPELAGO_ALLOW_ORIGIN: "evil" }))).toBe("ARCHIPELAGO_ALLOW_ORIGIN: invalid origin \"evil\": expected e.g. https://node.example")
    expect(reason(Config.fromFlags({ install: ["../x"] }))).toBe("--install: invalid app id \"../x\": expected app ids like demo-node")
    expect(reason(Config.fromFlags({ allowedBindRoots: ["srv"] }))).toBe("--allowed-bind-root: invalid bind root \"srv\": expected an absolute path")
    expect(reason(Config.fromFlags({ backupDir: "usb" }))).toBe("--backup-dir: invalid backup dir \"usb\": expected an absolute path")
    expect(reason(Config.fromEnv({ ARCHIPELAGO_BACKUP_KEEP: "0" }))).toBe("ARCHIPELAGO_BACKUP_KEEP: invalid backup keep \"0\": expected a number of archives, 1-1000")
    // a bad value that loses to a better source is never looked at
    expect(reason(Config.fromFlags({ port: "8080" }), Config.fromEnv({ ARCHIPELAGO_PORT: "http" }))).toBe("ok")
  })

  it("reads comma lists and booleans from the environment; empty variables are unset", () => {
    const r = resolveRight(Config.fromEnv({
      ARCHIPELAGO_MIRROR: "a.local:5000, b.local",
      ARCHIPELAGO_PRINT_LOGIN_URL: "yes",
      ARCHIPELAGO_HOST: ""
    }))
    expect([r.mirrors, r.printLoginUrl, r.host]).toStrictEqual([["a.local:5000", "b.local"], true, "127.0.0.1"])
  })
})

describe("Config.parseFile", () => {
  it("reads every setting, each located for later errors", () => {
    const text = [
      "host: 0.0.0.0",
      "port: 8080",
      "mirrors: [registry.local:5000]",
      "allowedBindRoots:",
      "  - /srv/bitcoin",
      "allowOrigins: [https://node.example]",
      "scanInterval: 10s",
      "passwordFile: /etc/archipelago/password",
      ""
    ].join("\n")
    const layer = Result.getOrThrow(Config.parseFile(text, "/etc/archipelago/config.yml"))
    const r = resolveRight(layer)
    expect([r.host, r.port, r.mirrors, r.allowedBindRoots, r.allowOrigins, r.scanInterval, r.passwordFile]).toStrictEqual([
      "0.0.0.0",
      8080,
      ["registry.local:5000"],
      ["/srv/bitcoin"],
      ["https://node.example"],
      Duration.seconds(10),
      "/etc/archipelago/password"
    ])
    expect(layer.port?.where).toBe("/etc/archipelago/config.yml:2:7 port")
    const bad = Config.resolve(Result.getOrThrow(Config.parseFile("scanInterval: soon\n", "c.yml")))
    expect(Result.isFailure(bad) && bad.failure.message).toBe("c.yml:1:15 scanInterval: invalid duration \"soon\": expected e.g. 500ms, 1s, 30s, 5m")
  })

  it("reports every problem located: unknown keys with a suggestion, types, YAML syntax", () => {
    expect(Config.parseFile("hots: x\nprot: 1\n", "c.yml")).toStrictEqual(Result.fail([
      "c.yml:1:1 hots: unknown setting (did you mean host?)",
      "c.yml:2:1 prot: unknown setting (did you mean port?)"
    ]))
    const types = Config.parseFile("port: high\nmirrors: nope\n", "c.yml")
    expect(Result.isFailure(types) && types.failure.map((l) => l.split(": ")[0])).toStrictEqual(["c.yml:1:7 port", "c.yml:2:10 mirrors"])
    const syntax = Config.parseFile("port: [1\n", "c.yml")
    expect(Result.isFailure(syntax) && syntax.failure[0]).toMatch(/^c\.yml:\d+:\d+: YAML syntax/)
    expect(Config.parseFile("", "c.yml")).toStrictEqual(Result.succeed({}))
    expect(Config.parseFile("- a\n", "c.yml")).toStrictEqual(Result.fail(["c.yml:1:1: expected a map of settings"]))
  })

  prop("never throws on arbitrary text", [fc.string()], ([text]) => {
    const r = Config.parseFile(text, "c.yml")
    if (Result.isFailure(r)) for (const line of r.failure) expect(line.startsWith("c.yml")).toBe(true)
  })

  it("picks the config file: --config, ARCHIPELAGO_CONFIG, then the default (optional)", () => {
    expect(Config.configFileOf("/a.yml", { ARCHIPELAGO_CONFIG: "/b.yml" })).toStrictEqual({ path: "/a.yml", required: true })
    expect(Config.configFileOf(undefined, { ARCHIPELAGO_CONFIG: "/b.yml" })).toStrictEqual({ path: "/b.yml", required: true })
    expect(Config.configFileOf(undefined, {})).toStrictEqual({ path: "/etc/archipelago/config.yml", required: false })
  })
})

describe("Config.mirrorOf", () => {
  it("an http:// mirror is insecure (no TLS); others are pulled with TLS", () => {
    expect(Config.mirrorOf("http://127.0.0.1:5000")).toStrictEqual({ location: "127.0.0.1:5000", insecure: true })
    expect(Config.mirrorOf("registry.local:5000")).toBe("registry.local:5000")
    const r = resolveRight(Config.fromEnv({ ARCHIPELAGO_MIRROR: "http://127.0.0.1:5000, registry.local" }))
    expect(r.mirrors.map(Config.mirrorOf)).toStrictEqual([{ location: "127.0.0.1:5000", insecure: true }, "registry.local"])
    expect(Result.isFailure(Config.resolve(Config.fromEnv({ ARCHIPELAGO_MIRROR: "ftp://x" })))).toBe(true)
  })
})

describe("docs/operations.md", () => {
  it("lists every setting with its flag, variable and config file key", async () => {
    const { readFileSync } = await import("node:fs")
    const docs = readFileSync(new URL("../../../docs/operations.md", import.meta.url), "utf8")
    for (const s of Config.settings) {
      const row = docs.split("\n").find((l) => l.startsWith(`| \`${s.key}\` |`))
      expect(row, s.key).toBeDefined()
      expect(row).toContain(`\`--${s.flag}\``)
      expect(row).toContain(`\`${s.env}\``)
    }
  })
})

describe("Config.parseFile: one located message per bad value, in an operator's words", () => {
  it("golden: a union says its alternatives once; a number, a list element", () => {
    const r = Config.parseFile("logFormat: yaml\nport: abc\ninstall: [lnd, 3]\n", "/etc/archipelago/config.yml")
    expect(r).toStrictEqual(Result.fail([
      `/etc/archipelago/config.yml:1:12 logFormat: expected one of pretty, json, got "yaml"`,
      `/etc/archipelago/config.yml:2:7 port: expected a whole number from 0 to 65535, got "abc"`,
      `/etc/archipelago/config.yml:3:16 install[1]: expected text, got 3`
    ]))
  })
})

describe("Config: registries and offline (issue 27)", () => {
  const file = "/etc/archipelago/config.yml"
  it("reads both forms of a registry: text (http:// for no TLS) and { location, insecure, authFile }", () => {
    const r = Config.parseFile(
      "registries:\n  - http://127.0.0.1:5000/\n  - registry.lan:5000/team\n  - { location: r.lan, authFile: /etc/archipelago/auth.json }\n  - { location: 10.0.0.2:5000, insecure: true }\noffline: true\n",
      file
    )
    const options = resolveRight(Result.getOrThrow(r))
    expect(options.registries).toStrictEqual([
      { location: "127.0.0.1:5000", insecure: true },
      { location: "registry.lan:5000/team", insecure: false },
      { location: "r.lan", insecure: false, authFile: "/etc/archipelago/auth.json" },
      { location: "10.0.0.2:5000", insecure: true }
    ])
    expect(options.offline).toBe(true)
    expect(resolveRight(Config.fromFlags({ registries: ["http://127.0.0.1:5000"], offline: true }))).toMatchObject({
      registries: [{ location: "127.0.0.1:5000", insecure: true }],
      offline: true
    })
  })

  it("golden: every bad registry field located (file, line, column, field), unknown keys with a did-you-mean", () => {
    const r = Config.parseFile(
      [
        "registries:",
        "  - location: 127.0.0.1:6000",
        "    insecur: true",
        "  - insecure: true",
        "  - location: bad host",
        "    authFile: relative.json",
        "    insecure: \"yes\"",
        "  - 42",
        "offline: maybe",
        ""
      ].join("\n"),
      file
    )
    expect(r).toStrictEqual(Result.fail([
      `${file}:3:5 registries[0].insecur: unknown setting (did you mean insecure?)`,
      `${file}:4:5 registries[1].location: expected a registry location such as 127.0.0.1:5000 or registry.lan:5000/team, got nothing`,
      `${file}:5:15 registries[2].location: expected a registry location such as 127.0.0.1:5000 or registry.lan:5000/team, got "bad host"`,
      `${file}:6:15 registries[2].authFile: expected an absolute file path, got "relative.json"`,
      `${file}:7:15 registries[2].insecure: expected true or false, got "yes"`,
      `${file}:8:5 registries[3]: expected a registry: host[:port][/path], http://host[:port] for one without TLS, or { location, insecure, authFile }, got 42`,
      `${file}:9:10 offline: expected true or false, got "maybe"`
    ]))
    const env = Config.resolve(Config.fromEnv({ ARCHIPELAGO_REGISTRY: "http://127.0.0.1:5000,bad host" }))
    expect(Result.isFailure(env) && env.failure.message).toBe(
      `ARCHIPELAGO_REGISTRY: invalid registry "bad host": expected a registry like registry.lan:5000 (http://127.0.0.1:5000 for one without TLS)`
    )
  })
})

describe("Config file StrictModes (issue 26)", () => {
  const dir = (path: string, mode: number, uid = 0): Config.FileFacts => ({ path, uid, mode: 0o040000 | mode, isDirectory: true })
  const file = (mode: number, uid = 0): Config.FileFacts => ({ path: "/etc/archipelago/config.yml", uid, mode: 0o100000 | mode, isDirectory: false })
  const up = [dir("/etc/archipelago", 0o755), dir("/etc", 0o755), dir("/", 0o755)]

  it("accepts a file owned by root or the running user, written only by its owner, in such folders", () => {
    expect(Config.insecureConfig(file(0o644), up, 0)).toBe(undefined)
    expect(Config.insecureConfig(file(0o600, 1000), up, 1000)).toBe(undefined)
    expect(Config.insecureConfig(file(0o600), [dir("/tmp/x", 0o700), dir("/tmp", 0o1777), dir("/", 0o755)], 0)).toBe(undefined)
  })

  it("refuses another user's file, a group- or world-writable file or folder, naming the path and the fix", () => {
    expect(Config.insecureConfig(file(0o644, 1000), up, 0)).toBe(
      "refusing /etc/archipelago/config.yml: the config file is owned by uid 1000, not by root or the user running archipelago (uid 0); fix: chown root /etc/archipelago/config.yml"
    )
    expect(Config.insecureConfig(file(0o666), up, 0)).toBe(
      "refusing /etc/archipelago/config.yml: the config file is writable by everyone (mode 0666); fix: chmod go-w /etc/archipelago/config.yml"
    )
    expect(Config.insecureConfig(file(0o664), up, 0)).toContain("writable by its group (mode 0664)")
    expect(Config.insecureConfig(file(0o644), [dir("/etc/archipelago", 0o777), ...up.slice(1)], 0)).toContain(
      "the config file's folder /etc/archipelago is writable by everyone (mode 0777); fix: chmod go-w /etc/archipelago"
    )
    expect(Config.insecureConfig(file(0o644), [dir("/etc/archipelago", 0o755, 65534), ...up.slice(1)], 0)).toContain(
      "folder /etc/archipelago is owned by uid 65534"
    )
  })
})

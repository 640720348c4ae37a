import { readFileSync, writeFileSync, mkdirSync, mkdtempSync, symlinkSync, lstatSync } from "node:fs"
import { spawnSync } from "node:child_process"
import { writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { vi } from "vitest"
import * as Cli from "../src/Cli.js"
import * as Config from "../src/Config.js"
import * as Unit from "../src/Unit.js"

// `serve` records the settings it was started with instead of starting
const served = vi.hoisted(() => [] as Array<import("../src/Config.js").ServeOptions>)
vi.mock("../src/Serve.js", async () => {
  const { Effect } = await import("effect")
  return { run: (o: import("../src/Config.js").ServeOptions) => Effect.sync(() => void served.push(o)) }
})

const options = (user?: string): Unit.UnitOptions => ({
  node: "/usr/bin/node",
  cli: "/opt/archipelago/cli.js",
  configFile: "/etc/archipelago/config.yml",
  ...(user === undefined ? {} : { user })
})
const freshRoot = () => mkdtempSync(join(tmpdir(), "archy-unit-"))
const unitPath = (root: string) => join(root, Unit.unitDir, Unit.unitName)
const configPath = (root: string) => join(root, "etc/archipelago/config.yml")

describe("Unit.install", () => {
  it.effect("writes the unit and a first config; a second install of the same unit changes nothing", () =>
    Effect.gen(function*() {
      const root = freshRoot()
      const unit = Unit.render(options())
      assert.strictEqual((yield* Unit.install(unit, root)).unit.path, unitPath(root))
      assert.strictEqual(readFileSync(unitPath(root), "utf8"), unit)
      assert.strictEqual(readFileSync(configPath(root), "utf8"), Unit.configTemplate)
      assert.strictEqual(lstatSync(unitPath(root)).mode & 0o777, 0o644)
      assert.strictEqual((yield* Unit.install(unit, root)).unit.path, unitPath(root))
      assert.strictEqual(readFileSync(unitPath(root), "utf8"), unit)
    }))

  it.effect("a re-install with nothing changed says unchanged for each file and rewrites neither (mtime stays); a changed file says wrote", () =>
    Effect.gen(function*() {
      const root = freshRoot()
      const unit = Unit.render(options())
      const values = { ...Unit.serviceValues, data: "/srv/node/data", apps: "/srv/node/apps" }
      const first = yield* Unit.install(unit, root, "/etc/archipelago/config.yml", { values })
      assert.deepStrictEqual(first, { unit: { path: unitPath(root), status: "wrote" }, config: { path: configPath(root), status: "wrote" } })
      assert.deepStrictEqual(Unit.report(first), [
        `wrote ${unitPath(root)}`,
        `wrote ${configPath(root)}`,
        "now: systemctl daemon-reload && systemctl enable --now archipelago.service"
      ])
      // mtimes set in the past: a rewrite would move them
      const past = new Date("2020-01-01T00:00:00Z")
      NodeFs.utimesSync(unitPath(root), past, past)
      NodeFs.utimesSync(configPath(root), past, past)
      for (const force of [false, true]) {
        const again = yield* Unit.install(unit, root, "/etc/archipelago/config.yml", { values, force })
        assert.deepStrictEqual(Unit.report(again), [`unchanged ${unitPath(root)}`, `unchanged ${configPath(root)}`])
        assert.strictEqual(lstatSync(unitPath(root)).mtimeMs, past.getTime())
        assert.strictEqual(lstatSync(configPath(root)).mtimeMs, past.getTime())
      }
      // a changed unit (--force) is written; a config the operator edited is kept, untouched
      writeFileSync(configPath(root), readFileSync(configPath(root), "utf8").replace("logFormat: json", "logFormat: pretty"))
      NodeFs.utimesSync(configPath(root), past, past)
      const changed = yield* Unit.install(Unit.render(options("archy")), root, "/etc/archipelago/config.yml", { values, force: true })
      assert.deepStrictEqual(Unit.report(changed), [
        `wrote ${unitPath(root)}`,
        `kept ${configPath(root)} (edited: never rewritten; the service reads every setting from it)`,
        "now: systemctl daemon-reload && systemctl enable --now archipelago.service"
      ])
      assert.strictEqual(lstatSync(configPath(root)).mtimeMs, past.getTime())
      assert.include(readFileSync(configPath(root), "utf8"), "logFormat: pretty")
      // a missing config is written again
      NodeFs.rmSync(configPath(root))
      assert.deepStrictEqual((yield* Unit.install(Unit.render(options("archy")), root, "/etc/archipelago/config.yml", { values })).config.status, "wrote")
    }))

  it.effect("an existing config that disagrees with the install's flags: refused before anything is written, naming each difference", () =>
    Effect.gen(function*() {
      const root = freshRoot()
      mkdirSync(dirname(configPath(root)), { recursive: true })
      writeFileSync(configPath(root), "data: /srv/edited\nport: 7000\n")
      const asked = { data: "/srv/flag", port: 7000, host: "127.0.0.1" }
      const error = yield* Effect.flip(Unit.install(Unit.render(options()), root, "/etc/archipelago/config.yml", { values: asked, asked }))
      expect(error.message).toBe(
        `cannot write ${configPath(root)}: it exists and the service reads every setting from it, but it says data: /srv/edited, --data says /srv/flag: ` +
          "edit the file (it is never rewritten), or leave those flags out"
      )
      assert.isFalse(NodeFs.existsSync(unitPath(root)))
      // flags that agree with it are fine, and it is kept as it is
      const ok = yield* Unit.install(Unit.render(options()), root, "/etc/archipelago/config.yml", { asked: { data: "/srv/edited", port: 7000 } })
      assert.strictEqual(ok.config.status, "kept")
      assert.strictEqual(readFileSync(configPath(root), "utf8"), "data: /srv/edited\nport: 7000\n")
    }))

  it.effect("writes the first config at the path the unit reads (--config), under the root", () =>
    Effect.gen(function*() {
      const root = freshRoot()
      const unit = Unit.render({ ...options(), configFile: "/opt/node/archipelago.yml" })
      yield* Unit.install(unit, root, "/opt/node/archipelago.yml")
      assert.strictEqual(readFileSync(join(root, "opt/node/archipelago.yml"), "utf8"), Unit.configTemplateFor("/opt/node/archipelago.yml"))
      assert.match(readFileSync(join(root, "opt/node/archipelago.yml"), "utf8"), /^# \/opt\/node\/archipelago\.yml: the settings of `archipelago serve`/)
      assert.throws(() => readFileSync(configPath(root)), /ENOENT/)
    }))

  it.effect("never overwrites a unit with other content (the user's own, a symlink to one): an error names the path; --force replaces it", () =>
    Effect.gen(function*() {
      const root = freshRoot()
      mkdirSync(dirname(unitPath(root)), { recursive: true })
      writeFileSync(unitPath(root), "# my own unit\n")
      const error = yield* Effect.flip(Unit.install(Unit.render(options()), root))
      assert.strictEqual(error._tag, "UnitError")
      expect(error.message).toBe(`cannot write ${unitPath(root)}: it exists with other content (your own unit, or one an older install wrote): not overwritten; compare it with \`archipelago service unit\`, then remove it or install with --force`)
      assert.strictEqual(readFileSync(unitPath(root), "utf8"), "# my own unit\n")
      // a linked unit (`systemctl link`) is kept as a link
      const linked = freshRoot()
      mkdirSync(dirname(unitPath(linked)), { recursive: true })
      symlinkSync(join(root, Unit.unitDir, Unit.unitName), unitPath(linked))
      assert.strictEqual((yield* Effect.flip(Unit.install(Unit.render(options()), linked)))._tag, "UnitError")
      assert.isTrue(lstatSync(unitPath(linked)).isSymbolicLink())
      // --force: replaced whole
      assert.strictEqual((yield* Unit.install(Unit.render(options()), root, "/etc/archipelago/config.yml", { force: true })).unit.status, "wrote")
      assert.strictEqual(readFileSync(unitPath(root), "utf8"), Unit.render(options()))
    }))

  it.live("installs racing with different units: exactly one writes its unit whole, the others are refused naming the path", () =>
    Effect.gen(function*() {
      for (let round = 0; round < 10; round++) {
        const root = freshRoot()
        const units = Array.from({ length: 8 }, (_, i) => Unit.render(options(`user${i}`)))
        const results = yield* Effect.all(units.map((u) => Effect.result(Unit.install(u, root))), { concurrency: "unbounded" })
        const won = results.flatMap((r, i) => (r._tag === "Success" ? [i] : []))
        assert.strictEqual(won.length, 1, `round ${round}: ${won.length} installs wrote the unit`)
        assert.strictEqual(readFileSync(unitPath(root), "utf8"), units[won[0]!])
        for (const r of results) if (r._tag === "Failure") expect(r.failure.message).toContain(`cannot write ${unitPath(root)}: it exists with other content`)
      }
    }))

  it.live("a config the user creates while an install runs is never overwritten", () =>
    Effect.gen(function*() {
      let userWon = 0
      for (let round = 0; round < 100; round++) {
        const root = freshRoot()
        mkdirSync(dirname(configPath(root)), { recursive: true })
        const [, user] = yield* Effect.all([
          Unit.install(Unit.render(options()), root),
          // the user's own create lands at a random moment of the install
          Effect.promise(() =>
            new Promise((resolve) => setTimeout(resolve, Math.random() * 15)).then(() =>
              writeFile(configPath(root), "port: 1\n", { flag: "wx" }).then(() => true, () => false)
            )
          )
        ], { concurrency: "unbounded" })
        const config = readFileSync(configPath(root), "utf8")
        if (user) {
          userWon++
          assert.strictEqual(config, "port: 1\n", `round ${round}: the user's config was overwritten`)
        } else assert.strictEqual(config, Unit.configTemplate)
      }
      console.info(`config race: the user created it first in ${userWon} of 100 rounds`)
      // both orders happened, or the race proved nothing
      expect(userWon).toBeGreaterThan(0)
      expect(userWon).toBeLessThan(100)
    }))
})

describe("Unit.checkProgram (issue 26)", () => {
  it.effect("refuses a CLI script in a folder others can write, or owned by another user, naming the path and the fix", () =>
    Effect.gen(function*() {
      const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "unit-program-"))
      const cli = NodePath.join(dir, "cli.js")
      NodeFs.writeFileSync(cli, "// cli\n", { mode: 0o755 })
      yield* Unit.checkProgram([cli, process.execPath])
      NodeFs.chmodSync(dir, 0o777)
      const open = yield* Effect.flip(Unit.checkProgram([cli]))
      expect(open.message).toBe(
        `cannot write /etc/systemd/system/archipelago.service: refusing ${cli}: the program's folder ${dir} is writable by everyone (mode 0777); fix: chmod go-w ${dir}`
      )
      NodeFs.chmodSync(dir, 0o700)
      if (process.getuid?.() === 0) {
        NodeFs.chownSync(cli, 65534, 65534)
        expect((yield* Effect.flip(Unit.checkProgram([cli]))).message).toBe(
          `cannot write /etc/systemd/system/archipelago.service: refusing ${cli}: the program is owned by uid 65534, not by root (the unit runs it as root); fix: chown root ${cli}`
        )
      }
    }))
})

describe("Unit.configTemplateFor (issue 27)", () => {
  const keys = Object.keys(Config.FileSchema.fields)

  it("lists every key the config supports, each with its meaning and default, and every example is a valid setting", () => {
    const text = Unit.configTemplate
    for (const key of keys) {
      expect(text, key).toMatch(new RegExp(`\\n# [^\\n]+ \\[default: [^\\n]+\\]\\n# ${key}: `))
    }
    // nothing set: the commented template reads as no setting at all
    expect(Config.parseFile(text, "config.yml")).toStrictEqual(Result.succeed({}))
    // every example uncommented is accepted by the same parser serve uses
    const uncommented = text.split("\n").map((l) => keys.some((k) => l.startsWith(`# ${k}: `)) ? l.slice(2) : l).join("\n")
    const parsed = Config.parseFile(uncommented, "config.yml")
    assert.isTrue(Result.isSuccess(parsed), JSON.stringify(parsed))
    assert.deepStrictEqual(Object.keys(Result.getOrThrow(parsed)).sort(), [...keys].sort())
    assert.isTrue(Result.isSuccess(Config.resolve(Result.getOrThrow(parsed))))
  })

  it("writes the given values as settings, the rest as comments", () => {
    const text = Unit.configTemplateFor("/etc/archipelago/config.yml", { ...Unit.serviceValues, data: "/srv/my data", apps: "/srv/apps", port: 8000 })
    const options = Result.getOrThrow(Config.resolve(Result.getOrThrow(Config.parseFile(text, "config.yml"))))
    expect([options.data, options.apps, options.port, options.engine, options.logFormat, options.host]).toStrictEqual([
      "/srv/my data",
      "/srv/apps",
      8000,
      "podman",
      "json",
      "127.0.0.1"
    ])
  })
})

describe("the unit's node flags (bench/soak.ts measured the server's memory with exactly these)", () => {
  it("ExecStart runs node with Unit.nodeFlags before the CLI, and every flag is one node accepts", () => {
    const line = Unit.render(options()).split("\n").find((l) => l.startsWith("ExecStart="))!
    const argv = line.slice("ExecStart=".length).split(" ")
    expect(argv.slice(0, 1 + Unit.nodeFlags.length + 1)).toStrictEqual(["/usr/bin/node", ...Unit.nodeFlags, "/opt/archipelago/cli.js"])
    // a misspelt V8 flag only warns: node must start, run, and not say "bad option" or "unknown flag"
    const r = spawnSync(process.execPath, [...Unit.nodeFlags, "-e", "process.stdout.write('ok')"], { encoding: "utf8" })
    assert.strictEqual(r.status, 0)
    assert.strictEqual(r.stdout, "ok")
    assert.notMatch(r.stderr, /bad option|unknown|Error/i)
  })

  it("npm start (scripts/start.mjs) runs the server with the same flags", () => {
    const source = readFileSync(new URL("../../../scripts/start.mjs", import.meta.url), "utf8")
    const copy = /^const nodeFlags = (\[.*\])$/m.exec(source)
    assert.isNotNull(copy, "scripts/start.mjs declares `const nodeFlags = [...]` on one line")
    expect(JSON.parse(copy![1]!)).toStrictEqual(Unit.nodeFlags)
  })
})

describe("the unit's command line reads every setting from the config file (issue 27)", () => {
  it("ExecStart is `serve --config <file>` only; edits of data, apps and logFormat in the file are what serve runs with", async () => {
    const root = freshRoot()
    const unit = Unit.render(options())
    await Effect.runPromise(Unit.install(unit, root, "/etc/archipelago/config.yml", {
      values: { ...Unit.serviceValues, data: "/var/lib/archipelago", apps: "/opt/archipelago/apps" }
    }))
    const line = unit.split("\n").find((l) => l.startsWith("ExecStart="))!
    const argv = line.slice("ExecStart=".length).split(" ")
    const serve = argv.slice(argv.indexOf("/opt/archipelago/cli.js") + 1)
    expect(serve).toStrictEqual(["serve", "--config", "/etc/archipelago/config.yml"])
    // the operator edits the file the unit names
    const edited = readFileSync(configPath(root), "utf8")
      .replace("data: /var/lib/archipelago", "data: /srv/edited-data")
      .replace("apps: /opt/archipelago/apps", "apps: /srv/edited-apps")
      .replace("logFormat: json", "logFormat: pretty")
    writeFileSync(configPath(root), edited)
    // the unit's own argv through the CLI serve runs (its config path under this test's root)
    const chrooted = serve.map((a) => a === "/etc/archipelago/config.yml" ? configPath(root) : a)
    served.length = 0
    const env = { ...process.env }
    for (const k of Object.keys(process.env)) if (k.startsWith("ARCHIPELAGO_")) delete process.env[k]
    process.env["ARCHIPELAGO_CONFIG"] = configPath(root)
    try {
      await Effect.runPromise(Effect.provide(Cli.run(chrooted), NodeServices.layer))
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in env)) delete process.env[k]
      Object.assign(process.env, env)
    }
    expect(served.length).toBe(1)
    const o = served[0]!
    expect([o.data, o.apps, o.logFormat, o.engine]).toStrictEqual(["/srv/edited-data", "/srv/edited-apps", "pretty", "podman"])
  })
})

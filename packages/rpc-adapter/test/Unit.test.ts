import { readFileSync, writeFileSync, mkdirSync, mkdtempSync, symlinkSync, lstatSync } from "node:fs"
import { writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { assert, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import * as Unit from "../src/Unit.js"

const options = (user?: string): Unit.UnitOptions => ({
  node: "/usr/bin/node",
  cli: "/opt/archipelago/cli.js",
  configFile: "/etc/archipelago/config.yml",
  dataDir: "/var/lib/archipelago",
  appsDir: "/opt/archipelago/apps",
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
      assert.strictEqual(yield* Unit.install(unit, root), unitPath(root))
      assert.strictEqual(readFileSync(unitPath(root), "utf8"), unit)
      assert.strictEqual(readFileSync(configPath(root), "utf8"), Unit.configTemplate)
      assert.strictEqual(lstatSync(unitPath(root)).mode & 0o777, 0o644)
      assert.strictEqual(yield* Unit.install(unit, root), unitPath(root))
      assert.strictEqual(readFileSync(unitPath(root), "utf8"), unit)
    }))

  it.effect("writes the first config at the path the unit reads (--config), under the root", () =>
    Effect.gen(function*() {
      const root = freshRoot()
      const unit = Unit.render({ ...options(), configFile: "/opt/node/archipelago.yml" })
      yield* Unit.install(unit, root, "/opt/node/archipelago.yml")
      assert.strictEqual(readFileSync(join(root, "opt/node/archipelago.yml"), "utf8"), Unit.configTemplateFor("/opt/node/archipelago.yml"))
      assert.match(readFileSync(join(root, "opt/node/archipelago.yml"), "utf8"), /^# \/opt\/node\/archipelago\.yml: read by/)
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
      assert.strictEqual(yield* Unit.install(Unit.render(options()), root, "/etc/archipelago/config.yml", { force: true }), unitPath(root))
      assert.strictEqual(readFileSync(unitPath(root), "utf8"), Unit.render(options()))
    }))

  it.live("installs racing with different units: exactly one writes its unit whole, the others are refused naming the path", () =>
    Effect.gen(function*() {
      for (let round = 0; round < 10; round++) {
        const root = freshRoot()
        const units = Array.from({ length: 8 }, (_, i) => Unit.render(options(`user${i}`)))
        const results = yield* Effect.all(units.map((u) => Effect.either(Unit.install(u, root))), { concurrency: "unbounded" })
        const won = results.flatMap((r, i) => (r._tag === "Right" ? [i] : []))
        assert.strictEqual(won.length, 1, `round ${round}: ${won.length} installs wrote the unit`)
        assert.strictEqual(readFileSync(unitPath(root), "utf8"), units[won[0]!])
        for (const r of results) if (r._tag === "Left") expect(r.left.message).toContain(`cannot write ${unitPath(root)}: it exists with other content`)
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

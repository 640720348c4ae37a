// The config file is refused, naming it and the fix, when someone else could have written it
// (issue 26: `allowedBindRoots: [/]` and `host: 0.0.0.0` in a world-writable file were accepted).
import { chmodSync, chownSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import * as Cli from "../src/Cli.js"
import { tempDir } from "../../rpc-adapter/test/fixtures.js"

const hostile = "host: 0.0.0.0\nallowedBindRoots: [/]\n"
const root = process.getuid?.() === 0

describe("Cli.loadOptions on an insecure config file", () => {
  it.effect("refuses a world-writable file and a file of another user; accepts it once fixed", () =>
    Effect.gen(function*() {
      const dir = tempDir("config-modes-")
      const path = join(dir, "config.yml")
      writeFileSync(path, hostile, { mode: 0o644 })
      chmodSync(path, 0o666)
      const open = yield* Effect.result(Cli.loadOptions({}, path, {}))
      expect(Result.isFailure(open) && open.failure.reason).toBe(
        `refusing ${path}: the config file is writable by everyone (mode 0666); fix: chmod go-w ${path}`
      )
      chmodSync(path, 0o644)
      if (root) {
        chownSync(path, 65534, 65534)
        const theirs = yield* Effect.result(Cli.loadOptions({}, path, {}))
        expect(Result.isFailure(theirs) && theirs.failure.reason).toContain(`the config file is owned by uid 65534`)
        chownSync(path, 0, 0)
      }
      const ok = yield* Cli.loadOptions({}, path, {})
      expect(ok.host).toBe("0.0.0.0")
    }))
})

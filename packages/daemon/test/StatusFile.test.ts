import { assert, describe, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Auth } from "../../rpc-adapter/src/index.js"
import { Status } from "../src/index.js"

describe("server.json (what `serve` records for `status` and `login-url`)", () => {
  it.live("a status asked while serve rewrites it always finds the server, never a malformed file", () =>
    // serve wrote it with a plain writeFile (truncate, then write): a status reading it in
    // between read an empty or partial file and told the operator to restart the server.
    Effect.gen(function*() {
      const dataDir = mkdtempSync(join(tmpdir(), "archy-status-file-"))
      writeFileSync(Auth.tokenPath(dataDir), "t0ken\n", { mode: 0o600 })
      const url = (i: number) => `http://127.0.0.1:${40_000 + i}`
      yield* Status.record(dataDir, { url: url(0), pid: 1, instance: "inst0" })
      let done = false
      const writer = Effect.gen(function*() {
        for (let i = 1; i <= 60; i++) yield* Status.record(dataDir, { url: url(i), pid: i, instance: "inst0" })
      }).pipe(Effect.ensuring(Effect.sync(() => (done = true))))
      const reader = Effect.gen(function*() {
        let reads = 0
        while (!done || reads === 0) {
          const found = yield* Effect.result(Status.locate(dataDir))
          assert.isTrue(Result.isSuccess(found), `read ${reads}: ${Result.isFailure(found) ? found.failure.message : ""}`)
          if (Result.isSuccess(found)) assert.match(found.success.url, /^http:\/\/127\.0\.0\.1:4\d{4}$/)
          reads++
        }
        return reads
      })
      const [, reads] = yield* Effect.all([writer, reader], { concurrency: 2 })
      assert.isAbove(reads, 0)
      const last = yield* Status.locate(dataDir)
      assert.deepStrictEqual(last, { url: url(60), token: "t0ken", instance: "inst0" })
    }))
})

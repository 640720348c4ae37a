// The move of app folders from <data>/<id> to <data>/apps/<id>, on a data dir laid out as the
// release before it wrote one (issue 26).
import { assert, describe, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as NodePath from "node:path"
import * as AppFolders from "../../src/services/AppFolders.js"

// What 0.1.0 wrote: the orchestrator's files and folders and every app folder side by side.
const legacy: Record<string, { readonly content: string; readonly mode: number }> = {
  "instance-id": { content: "0123456789abcdef\n", mode: 0o644 },
  "rpc-token": { content: "t".repeat(64), mode: 0o600 },
  "state.json": { content: "{\"version\":3,\"intents\":{}}", mode: 0o600 },
  "sessions.json": { content: "{}", mode: 0o600 },
  "secrets/bitcoin-rpc-password": { content: "hunter2", mode: 0o600 },
  "backups/lnd/lnd-20261201T000000Z.tar": { content: "archive", mode: 0o600 },
  "bitcoin-core/bitcoin.conf": { content: "rpcauth=archipelago:00$11\n", mode: 0o600 },
  "bitcoin-ui/nginx.conf": { content: "server {}\n", mode: 0o600 },
  "lnd/lnd.conf": { content: "[Application Options]\n", mode: 0o600 },
  "lnd/data/chain/bitcoin/mainnet/channel.backup": { content: "scb", mode: 0o600 },
  "demo/www/index.html": { content: "<h1>demo</h1>", mode: 0o644 }
}

const layOut = (dir: string) =>
  Effect.promise(async () => {
    await Fs.chmod(dir, 0o755)
    await Fs.mkdir(NodePath.join(dir, "demo"), { mode: 0o755 })
    await Fs.chmod(NodePath.join(dir, "demo"), 0o755)
    for (const [rel, f] of Object.entries(legacy)) {
      await Fs.mkdir(NodePath.dirname(NodePath.join(dir, rel)), { recursive: true, mode: 0o700 })
      await Fs.writeFile(NodePath.join(dir, rel), f.content, { mode: f.mode })
    }
  })

const scratch = Effect.acquireRelease(
  Effect.promise(() => Fs.mkdtemp(NodePath.join(Os.tmpdir(), "app-folders-"))),
  (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
)

const ids = ["bitcoin-core", "bitcoin-ui", "lnd", "lnd-ui", "demo", "secrets", "backups"]

describe("AppFolders.step", () => {
  it("moves a real folder to a free place, keeps reserved names, links and absent folders, refuses two folders", () => {
    assert.strictEqual(AppFolders.step("lnd", "directory", "absent")._tag, "Move")
    assert.strictEqual(AppFolders.step("lnd", "symlink", "directory")._tag, "Keep")
    assert.strictEqual(AppFolders.step("lnd", "absent", "absent")._tag, "Keep")
    assert.strictEqual(AppFolders.step("secrets", "directory", "absent")._tag, "Keep")
    assert.strictEqual(AppFolders.step("backups", "directory", "absent")._tag, "Keep")
    assert.strictEqual(AppFolders.step("lnd", "directory", "directory")._tag, "Conflict")
  })
})

describe("AppFolders.migrate", () => {
  it.effect("moves every app folder of a 0.1.0 data dir to apps/<id>, content and modes kept, the orchestrator's own untouched", () =>
    Effect.gen(function*() {
      const dir = yield* scratch
      yield* layOut(dir)
      const before = yield* Effect.promise(() => Fs.stat(NodePath.join(dir, "lnd/data/chain/bitcoin/mainnet/channel.backup")))
      const moved = yield* AppFolders.migrate(dir, ids)
      assert.deepStrictEqual([...moved].sort(), ["bitcoin-core", "bitcoin-ui", "demo", "lnd"])
      for (const [rel, f] of Object.entries(legacy)) {
        const top = rel.split("/")[0]!
        const at = ids.includes(top) && top !== "secrets" && top !== "backups" ? NodePath.join(dir, "apps", rel) : NodePath.join(dir, rel)
        const st = yield* Effect.promise(() => Fs.stat(at))
        assert.strictEqual(st.mode & 0o777, f.mode, at)
        assert.strictEqual(yield* Effect.promise(() => Fs.readFile(at, "utf8")), f.content, at)
      }
      // the same inode: renamed, never copied (LND's channel.backup is never rewritten by the move)
      const after = yield* Effect.promise(() => Fs.stat(NodePath.join(dir, "apps/lnd/data/chain/bitcoin/mainnet/channel.backup")))
      assert.strictEqual(after.ino, before.ino)
      assert.strictEqual((yield* Effect.promise(() => Fs.stat(NodePath.join(dir, "apps")))).mode & 0o777, 0o700)
      // 0.1.0 made folders 0755: a moved app folder and the data dir are the owner's alone now
      assert.strictEqual((yield* Effect.promise(() => Fs.stat(NodePath.join(dir, "apps", "demo")))).mode & 0o777, 0o700)
      assert.strictEqual((yield* Effect.promise(() => Fs.stat(dir))).mode & 0o777, 0o700)
      // a container created before the move still finds its bind source through the old name
      assert.strictEqual(yield* Effect.promise(() => Fs.readlink(NodePath.join(dir, "lnd"))), "apps/lnd")
      assert.strictEqual(yield* Effect.promise(() => Fs.readFile(NodePath.join(dir, "lnd/lnd.conf"), "utf8")), legacy["lnd/lnd.conf"]!.content)
      // secrets and backups stay the orchestrator's
      assert.isTrue((yield* Effect.promise(() => Fs.lstat(NodePath.join(dir, "secrets")))).isDirectory())
      assert.isTrue((yield* Effect.promise(() => Fs.lstat(NodePath.join(dir, "backups")))).isDirectory())
      // idempotent
      assert.deepStrictEqual(yield* AppFolders.migrate(dir, ids), [])
    }))

  it.effect("refuses, naming both paths, when the old and the new folder both exist", () =>
    Effect.gen(function*() {
      const dir = yield* scratch
      yield* layOut(dir)
      yield* Effect.promise(() => Fs.mkdir(NodePath.join(dir, "apps/lnd"), { recursive: true }))
      const result = yield* Effect.result(AppFolders.migrate(dir, ["lnd"]))
      assert.isTrue(Result.isFailure(result))
      if (Result.isFailure(result)) {
        assert.strictEqual(result.failure._tag, "AppFolderError")
        assert.include(result.failure.message, NodePath.join(dir, "lnd"))
        assert.include(result.failure.message, NodePath.join(dir, "apps/lnd"))
      }
      assert.isTrue((yield* Effect.promise(() => Fs.lstat(NodePath.join(dir, "lnd")))).isDirectory())
    }))
})

/**
 * Archives encrypted at rest (age): written encrypted, verified only with the right key, refused
 * naming why when the key is wrong or missing or a byte changed; the backup target keeps no
 * plaintext secrets once a key is set; a plaintext archive is refused for restore then.
 */
import { randomBytes } from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterEach, assert, describe, it } from "@effect/vitest"
import * as Age from "age-encryption"
import { Cause, Effect, Result, Exit, Option } from "effect"
import * as fc from "fast-check"
import * as Archive from "../../src/backup/Archive.js"
import * as ArchiveFile from "../../src/backup/ArchiveFile.js"
import * as Backups from "../../src/services/Backups.js"
import { defsOf, serviceManifest, tempDir } from "../services/harness.js"
import { prop } from "../../../../test-support/prop.js"

const cleanups: Array<() => void> = []
afterEach(() => {
  for (const f of cleanups.splice(0)) f()
})
const dirOf = (prefix: string) => {
  const d = tempDir(prefix)
  cleanups.push(() => Fs.rmSync(d, { recursive: true, force: true }))
  return d
}

const secret = "rpcpassword=TOPSECRET-of-bitcoin"

const identity = (): Effect.Effect<Archive.Encryption> =>
  Effect.map(Effect.promise(() => Age.generateX25519Identity()), (identity) => ({ _tag: "Identity", identity }))

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  assert(Exit.isFailure(exit), "expected a failure")
  const f = Cause.findErrorOption(exit.cause)
  assert(Option.isSome(f), `expected a typed failure, got ${Cause.pretty(exit.cause)}`)
  return f.value
}

const writeOne = (target: string, encryption?: Archive.Encryption) =>
  Effect.gen(function*() {
    const src = dirOf("enc-src-")
    Fs.writeFileSync(Path.join(src, "bitcoin.conf"), `${secret}\n`, { mode: 0o600 })
    Fs.mkdirSync(Path.join(src, "wallets"))
    // larger than the writer's 1 MiB read buffer, which it reuses while the age stream still holds chunks
    Fs.writeFileSync(Path.join(src, "wallets", "w.dat"), randomBytes(3 * 1024 * 1024 + 123))
    return yield* ArchiveFile.write({
      target,
      sources: [{ root: { kind: "data", prefix: "data" }, dir: src }],
      exclude: [],
      encryption,
      meta: { appId: "web", version: "1.0.0", createdAt: 1, live: false }
    })
  })

describe("backup keys (pure)", () => {
  it("reads an age identity (comments skipped) or a one-line passphrase, and says why not", () => {
    const id = "AGE-SECRET-KEY-18KGLLRFZXZRVPQLSCXQVTU2PEAU2FF9MHJNSUCN6ZLJ9JKKES2JSM2PUKS"
    assert.deepStrictEqual(Archive.parseKey(`# created: today\n# public key: age1x\n${id}\n`), Result.succeed({ _tag: "Identity", identity: id }))
    assert.deepStrictEqual(Archive.parseKey("correct horse battery staple\n"), Result.succeed({ _tag: "Passphrase", passphrase: "correct horse battery staple" }))
    assert.deepStrictEqual(Archive.parseKey("short\n"), Result.fail(`holds a passphrase shorter than ${Archive.minPassphraseLength} characters`))
    assert(Result.isFailure(Archive.parseKey("")))
    assert(Result.isFailure(Archive.parseKey(`${id}\n${id}\n`)))
    assert(Result.isFailure(Archive.parseKey("AGE-SECRET-KEY-1abc\n")))
    assert(Result.isFailure(Archive.parseKey("line one is long enough\nline two\n")))
  })

  prop("never quotes the key file in its reason", [fc.string({ minLength: 6, maxLength: 40 }).filter((s) => /^[a-z]+$/.test(s.trim()))], ([text]) => {
    const parsed = Archive.parseKey(text)
    if (Result.isFailure(parsed)) assert.notInclude(parsed.failure, text.trim())
  })
})

describe("the backup key file", () => {
  it.live("is read without following a link, refused when others may read it, and never quoted", () =>
    Effect.gen(function*() {
      const dir = dirOf("enc-key-")
      const key = Path.join(dir, "backup.key")
      Fs.writeFileSync(key, "correct horse battery staple\n", { mode: 0o600 })
      assert.deepStrictEqual(yield* ArchiveFile.loadKey(key), { _tag: "Passphrase", passphrase: "correct horse battery staple" })
      Fs.chmodSync(key, 0o640)
      const loose = failureOf(yield* Effect.exit(ArchiveFile.loadKey(key)))
      assert.strictEqual(loose.message, `backup key file ${key}: readable by group or others (mode 640): chmod 600 it`)
      Fs.chmodSync(key, 0o600)
      const link = Path.join(dir, "link.key")
      Fs.symlinkSync(key, link)
      assert.include(failureOf(yield* Effect.exit(ArchiveFile.loadKey(link))).message, "missing (or not a regular file)")
      assert.include(failureOf(yield* Effect.exit(ArchiveFile.loadKey(Path.join(dir, "none.key")))).message, "missing")
      Fs.writeFileSync(Path.join(dir, "short.key"), "hunter2\n", { mode: 0o600 })
      const short = failureOf(yield* Effect.exit(ArchiveFile.loadKey(Path.join(dir, "short.key"))))
      assert.strictEqual(short._tag, "BackupKeyInvalid")
      assert.notInclude(short.message, "hunter2")
    }))
})

describe("encrypted archives", () => {
  it.live("an encrypted archive holds no plaintext, verifies with its key and only with it", () =>
    Effect.gen(function*() {
      const key = yield* identity()
      const other = yield* identity()
      const target = Path.join(dirOf("enc-target-"), Archive.fileName("web", 1, true))
      yield* writeOne(target, key)
      const bytes = Fs.readFileSync(target)
      assert.strictEqual(bytes.subarray(0, Archive.ageMagic.length).toString(), Archive.ageMagic)
      assert.notInclude(bytes.toString("latin1"), "TOPSECRET")
      assert.notInclude(bytes.toString("latin1"), "archive.json")
      const manifest = yield* ArchiveFile.verify(target, "web", { key })
      assert.strictEqual(manifest.entries.length, 4)
      assert.strictEqual(failureOf(yield* Effect.exit(ArchiveFile.verify(target, "web", { key: other })))._tag, "ArchiveWrongKey")
      const missing = failureOf(yield* Effect.exit(ArchiveFile.verify(target, "web")))
      assert.strictEqual(missing._tag, "ArchiveKeyMissing")
      assert.include(missing.message, target)
    }))

  it.live("a changed byte anywhere (header, content, last chunk) or a cut tail is refused as tampered, never as another key", () =>
    Effect.gen(function*() {
      const key = yield* identity()
      const folder = dirOf("enc-tamper-")
      const good = Path.join(folder, "good.tar.age")
      yield* writeOne(good, key)
      const bytes = Fs.readFileSync(good)
      const headerEnd = bytes.indexOf("\n---") + 4
      const at = [headerEnd + 2, headerEnd + 30, Math.floor(bytes.length / 2), bytes.length - 1]
      for (const i of at) {
        const bad = Buffer.from(bytes)
        bad[i] = bad[i]! ^ 0x01
        const path = Path.join(folder, `flip-${i}.tar.age`)
        Fs.writeFileSync(path, bad)
        const error = failureOf(yield* Effect.exit(ArchiveFile.verify(path, "web", { key })))
        assert.strictEqual(error._tag, "ArchiveTampered", `byte ${i} of ${bytes.length}: ${error.message}`)
      }
      // the header's MAC
      const mac = Buffer.from(bytes)
      mac[headerEnd + 1] = mac[headerEnd + 1] === 0x41 ? 0x42 : 0x41
      Fs.writeFileSync(Path.join(folder, "mac.tar.age"), mac)
      assert.strictEqual(failureOf(yield* Effect.exit(ArchiveFile.verify(Path.join(folder, "mac.tar.age"), "web", { key })))._tag, "ArchiveTampered")
      // a whole last chunk cut off
      Fs.writeFileSync(Path.join(folder, "cut.tar.age"), bytes.subarray(0, bytes.length - 1000))
      assert.strictEqual(failureOf(yield* Effect.exit(ArchiveFile.verify(Path.join(folder, "cut.tar.age"), "web", { key })))._tag, "ArchiveTampered")
    }))

  it.live("an encrypted write that fails midway fails at once with a typed error and leaves no file", () =>
    Effect.gen(function*() {
      const key = yield* identity()
      const folder = dirOf("enc-fail-")
      const src = dirOf("enc-fail-src-")
      Fs.writeFileSync(Path.join(src, "a"), randomBytes(2 * 1024 * 1024))
      const notAFolder = Path.join(folder, "plain-file")
      Fs.writeFileSync(notAFolder, "x")
      const exit = yield* Effect.exit(ArchiveFile.write({
        target: Path.join(folder, "out", "x.tar.age"),
        sources: [{ root: { kind: "data", prefix: "data" }, dir: src }, { root: { kind: "volume", name: "v", prefix: "volumes/v" }, dir: notAFolder }],
        exclude: [],
        encryption: key,
        meta: { appId: "web", version: "1.0.0", createdAt: 1, live: false }
      }).pipe(Effect.timeoutOrElse({ duration: "20 seconds", orElse: () => Effect.fail("hung" as const) })))
      const error = failureOf(exit)
      assert.notStrictEqual(error, "hung")
      assert.strictEqual((error as ArchiveFile.ArchiveIoError)._tag, "ArchiveIoError")
      assert.include((error as ArchiveFile.ArchiveIoError).message, "is not a folder")
      assert.deepStrictEqual(Fs.readdirSync(Path.join(folder, "out")), [])
    }))

  it.live("a passphrase encrypts and decrypts too; another passphrase is the wrong key", () =>
    Effect.gen(function*() {
      const target = Path.join(dirOf("enc-pass-"), "p.tar.age")
      yield* writeOne(target, { _tag: "Passphrase", passphrase: "correct horse battery staple" })
      yield* ArchiveFile.verify(target, "web", { key: { _tag: "Passphrase", passphrase: "correct horse battery staple" } })
      const error = failureOf(yield* Effect.exit(ArchiveFile.verify(target, "web", { key: { _tag: "Passphrase", passphrase: "incorrect horse battery" } })))
      assert.strictEqual(error._tag, "ArchiveWrongKey")
    }), 120_000)

  it.live("with a key, the target holds only encrypted archives and secrets; a planted plaintext archive is refused for restore", () =>
    Effect.gen(function*() {
      const key = yield* identity()
      const dataDir = dirOf("enc-data-")
      const backupDir = dirOf("enc-backups-")
      const def = defsOf([serviceManifest("web")], dataDir)[0]!
      Fs.mkdirSync(def.dataDir, { recursive: true })
      Fs.writeFileSync(Path.join(def.dataDir, "app.db"), "state-1\n")
      Fs.mkdirSync(Path.join(dataDir, "secrets"), { mode: 0o700 })
      Fs.writeFileSync(Path.join(dataDir, "secrets", "bitcoin-rpc"), secret, { mode: 0o600 })
      // a plaintext secrets.tar from before the key was set
      Fs.writeFileSync(Path.join(backupDir, "secrets.tar"), secret)
      const backups = yield* Backups.make({ dir: backupDir, dataDir, encryption: key, volumePath: () => Effect.die("no volumes") })
      const made = yield* backups.create(def, { live: false, exclude: [] })
      assert(made.file.endsWith(".tar.age"), made.file)
      const secrets = yield* backups.secrets
      assert.deepStrictEqual(secrets, Option.some(Path.join(backupDir, "secrets.tar.age")))
      assert.deepStrictEqual(Fs.readdirSync(backupDir).sort(), ["secrets.tar.age", "web"])
      const everything = Fs.readdirSync(backupDir, { recursive: true }).map((n) => Path.join(backupDir, String(n))).filter((p) => Fs.statSync(p).isFile())
      for (const p of everything) assert.notInclude(Fs.readFileSync(p).toString("latin1"), "TOPSECRET", p)
      yield* ArchiveFile.verify(Path.join(backupDir, "secrets.tar.age"), "secrets", { key })
      assert.deepStrictEqual((yield* backups.list("web")).map((a) => [a.file, a.encrypted]), [[made.file, true]])
      // restores the encrypted one
      const staged = yield* backups.stage(def, yield* backups.locate("web"), [])
      assert.strictEqual(Fs.readFileSync(Path.join(staged.swaps[0]!.fresh, "app.db"), "utf8"), "state-1\n")
      yield* backups.discard(staged)
      // a plaintext archive (planted, or made before the key) is refused, naming it
      const plain = Path.join(backupDir, "web", Archive.fileName("web", Date.now() + 60_000))
      yield* ArchiveFile.write({ target: plain, sources: [{ root: { kind: "data", prefix: "data" }, dir: def.dataDir }], exclude: [], meta: { appId: "web", version: "1.0.0", createdAt: 2, live: false } })
      assert.strictEqual(yield* backups.locate("web"), plain)
      const refused = failureOf(yield* Effect.exit(backups.stage(def, plain, [])))
      assert.strictEqual(refused._tag, "ArchiveNotEncrypted")
      assert.include(refused.message, plain)
      assert.deepStrictEqual(Fs.readdirSync(dataDir).filter((n) => n.includes(".restore-") || n.startsWith(".archive-copy")), [])
    }), 60_000)
})

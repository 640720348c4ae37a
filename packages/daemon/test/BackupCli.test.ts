import { execFile } from "node:child_process"
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Archive, ArchiveFile } from "@archipelago/orchestrator"
import { tempDir } from "../../rpc-adapter/test/fixtures.js"

const root = fileURLToPath(new URL("../../..", import.meta.url))
const main = join(root, "packages/daemon/dist/cli.js")
if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`)
const cleanEnv = { ...process.env, ARCHIPELAGO_CONFIG: join(root, "packages/daemon/test/golden/empty.yml") }

const run = (args: Array<string>) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [main, ...args], { cwd: root, timeout: 60_000, env: cleanEnv }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stdout, stderr })
    })
  })

const archiveOf = async (target: string, encryption?: Archive.Encryption) => {
  const data = tempDir("rpc-backup-data-")
  mkdirSync(join(data, "db"), { recursive: true })
  writeFileSync(join(data, "db", "wallet.db"), "balance=21\n", { mode: 0o600 })
  const createdAt = Date.parse("2026-11-29T04:18:00.000Z")
  const path = join(target, "lnd", Archive.fileName("lnd", createdAt, encryption !== undefined))
  mkdirSync(join(target, "lnd"), { recursive: true })
  await Effect.runPromise(ArchiveFile.write({
    target: path,
    sources: [{ root: { kind: "data", prefix: "data" }, dir: data }],
    exclude: [],
    encryption,
    meta: { appId: "lnd", version: "0.18.4-beta", createdAt, live: false }
  }))
  return path
}

describe("archipelago backup", () => {
  it("verify says what a sound archive holds (exit 0) and names the entry of a tampered one (exit 1)", async () => {
    const target = tempDir("rpc-backup-target-")
    const path = await archiveOf(target)
    const ok = await run(["backup", "verify", path])
    expect(ok.stderr).toBe("")
    expect(ok.code).toBe(0)
    expect(ok.stdout).toMatch(/^ok: .*lnd-20261129T041800000Z\.tar: lnd 0\.18\.4-beta, made 2026-11-29T04:18:00\.000Z; 3 entries \(1 file, 11 B\) from data folder, every sha256 matches\n$/)

    const wrongApp = await run(["backup", "verify", "--app", "bitcoin-core", path])
    expect(wrongApp.code).toBe(1)
    expect(wrongApp.stderr).toBe(`archipelago: ${path} is a backup of lnd, not of bitcoin-core\n`)

    const bytes = readFileSync(path)
    bytes[bytes.indexOf("balance=21")] = "B".charCodeAt(0)
    const bad = join(target, "bad.tar")
    writeFileSync(bad, bytes)
    const refused = await run(["backup", "verify", bad])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/^archipelago: .*bad\.tar does not match its manifest: data\/db\/wallet\.db: sha256 [0-9a-f]{64} does not match the manifest's [0-9a-f]{64}\n$/)
  }, 120_000)

  it("verify --key-file authenticates an encrypted archive and names a wrong key, a tampered byte, a missing key and a plaintext archive", async () => {
    const target = tempDir("rpc-backup-enc-")
    // test keys, made with age-keygen's format
    const identity = "AGE-SECRET-KEY-18KGLLRFZXZRVPQLSCXQVTU2PEAU2FF9MHJNSUCN6ZLJ9JKKES2JSM2PUKS"
    const keyFile = join(target, "backup.key")
    writeFileSync(keyFile, `# public key: age15w9upyxt2mz22u3e39cpzwg2s5mk9ncpds0h3d5me27tsjfze33q3kyep0\n${identity}\n`, { mode: 0o600 })
    const otherKey = join(target, "other.key")
    writeFileSync(otherKey, "AGE-SECRET-KEY-1U4S92XX0EZ2TDYGP05UF839S9MVL03MEL63FV4SFY4F3RMAF7A2Q3AE848\n", { mode: 0o600 })
    const path = await archiveOf(target, { _tag: "Identity", identity })
    const ok = await run(["backup", "verify", "--key-file", keyFile, path])
    expect(ok.stderr).toBe("")
    expect(ok.stdout).toMatch(/^ok: .*lnd-20261129T041800000Z\.tar\.age: lnd 0\.18\.4-beta, .* every sha256 matches; encrypted, authenticated with the backup key\n$/)
    const wrong = await run(["backup", "verify", "--key-file", otherKey, path])
    expect([wrong.code, wrong.stderr]).toStrictEqual([1, `archipelago: ${path}: the backup key does not open this archive (it was encrypted with another passphrase or key file)\n`])
    const missing = await run(["backup", "verify", path])
    expect([missing.code, missing.stderr]).toStrictEqual([1, `archipelago: ${path}: the archive is encrypted and no backup key is configured\n`])
    const bytes = readFileSync(path)
    bytes[bytes.length - 20] = bytes[bytes.length - 20]! ^ 1
    const bad = join(target, "bad.tar.age")
    writeFileSync(bad, bytes)
    const tampered = await run(["backup", "verify", "--key-file", keyFile, bad])
    expect(tampered.code).toBe(1)
    expect(tampered.stderr).toMatch(/^archipelago: .*bad\.tar\.age: tampered with or damaged, refused: /)
    const plain = await archiveOf(tempDir("rpc-backup-plain-"))
    const refused = await run(["backup", "verify", "--key-file", keyFile, plain])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain("not encrypted, refused")
    writeFileSync(otherKey, "correct horse battery staple\n")
    chmodSync(otherKey, 0o644)
    const loose = await run(["backup", "verify", "--key-file", otherKey, path])
    expect([loose.code, loose.stderr]).toStrictEqual([1, `archipelago: backup key file ${otherKey}: readable by group or others (mode 644): chmod 600 it\n`])
  }, 120_000)

  it("serve refuses to start with an unusable backup key file, naming it and why, never its content", async () => {
    const dir = tempDir("rpc-backup-key-")
    const key = join(dir, "backup.key")
    writeFileSync(key, "hunter2\n", { mode: 0o600 })
    const r = await run(["serve", "--engine", "sim", "--data", join(dir, "data"), "--apps", join(root, "apps"), "--port", "0", "--backup-key-file", key])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`archipelago: backup key file ${key}: holds a passphrase shorter than 12 characters`)
    expect(r.stdout + r.stderr).not.toContain("hunter2")
  }, 120_000)

  it("list prints the target's archives", async () => {
    const target = tempDir("rpc-backup-list-")
    const path = await archiveOf(target)
    const r = await run(["backup", "list", "--backup-dir", target])
    expect(r.stderr).toBe("")
    expect(r.stdout).toBe(`lnd\t2026-11-29T04:18:00.000Z\t${Math.round(readFileSync(path).length / 102.4) / 10} KiB\t${path}\n`)
  }, 120_000)
})

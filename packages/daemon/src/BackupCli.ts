/**
 * `archipelago backup verify ARCHIVE` (read a whole archive, check every entry against its
 * manifest, restore nothing) and `archipelago backup list` (the archives in the backup target).
 *
 * @since 0.1.0
 */
import * as Fs from "node:fs/promises"
import * as NodePath from "node:path"
import { Effect } from "effect"
import { Archive, ArchiveFile } from "@archipelago/orchestrator"

const bytes = (n: number): string =>
  n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : n < 1024 ** 3 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : `${(n / 1024 ** 3).toFixed(2)} GiB`

/**
 * Verifies an archive; answers one line saying what it holds, or fails naming the archive and
 * the entry that differs. With a key file, the archive must be encrypted with that key (age
 * authenticates it; a wrong key or a changed byte is refused, naming which).
 *
 * @since 0.1.0
 * @category constructors
 */
export const verify = (
  archive: string,
  appId?: string,
  keyFile?: string
): Effect.Effect<string, ArchiveFile.ReadError | ArchiveFile.BackupKeyInvalid> =>
  Effect.flatMap(
    keyFile === undefined ? Effect.succeed(undefined) : ArchiveFile.loadKey(keyFile),
    (key) => ArchiveFile.verify(NodePath.resolve(archive), appId, { key })
  ).pipe(Effect.map((m) => {
    const files = m.entries.filter((e) => e.type === "file").length
    const roots = m.roots.map((r) => (r.kind === "data" ? "data folder" : `volume ${r.name}`)).join(", ")
    return `ok: ${archive}: ${m.appId} ${m.version}, made ${new Date(m.createdAt).toISOString()}${m.live ? " (live)" : ""}; ` +
      `${m.entries.length} entries (${files} file${files === 1 ? "" : "s"}, ${bytes(m.bytes)}) from ${roots || "nothing"}, every sha256 matches` +
      (m.excluded.length === 0 ? "" : `; left out: ${m.excluded.join(", ")}`) +
      (keyFile === undefined ? "" : "; encrypted, authenticated with the backup key")
  }))

/**
 * Lists the archives of the backup target, one line each (newest last per app), from the
 * file names alone (run `verify` to check one).
 *
 * @since 0.1.0
 * @category constructors
 */
export const list = (dir: string): Effect.Effect<string, ArchiveFile.ArchiveIoError> =>
  Effect.tryPromise({
    try: async () => {
      const root = NodePath.resolve(dir)
      const apps = (await Fs.readdir(root, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => (e.code === "ENOENT" ? [] : Promise.reject(e))))
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
        .sort()
      const lines: Array<string> = []
      for (const app of apps) {
        for (const file of (await Fs.readdir(NodePath.join(root, app))).sort()) {
          const parsed = Archive.parseFileName(file)
          if (parsed === undefined || parsed.appId !== app || !Archive.isArchiveName(file)) continue
          const st = await Fs.stat(NodePath.join(root, app, file))
          lines.push(`${app}\t${new Date(parsed.createdAt).toISOString()}\t${bytes(st.size)}\t${NodePath.join(root, app, file)}`)
        }
      }
      return lines.length === 0 ? `no archives in ${root}` : lines.join("\n")
    },
    catch: (e) => new ArchiveFile.ArchiveIoError({ path: dir, reason: (e as NodeJS.ErrnoException).code ?? String(e) })
  })

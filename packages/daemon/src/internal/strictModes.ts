/**
 * The file-system side of `Config.strictModes`: the facts of a file (links resolved) and of each
 * folder up to `/`.
 */
import { realpath, stat } from "node:fs/promises"
import { dirname } from "node:path"
import * as Config from "../Config.js"

const facts = async (p: string): Promise<Config.FileFacts> => {
  const st = await stat(p)
  return { path: p, uid: st.uid, mode: st.mode, isDirectory: st.isDirectory() }
}

/** The first StrictModes problem of `path` (see `Config.strictModes`), or undefined. */
export const check = async (
  what: string,
  path: string,
  owners: ReadonlyArray<number>,
  ownerText: string
): Promise<string | undefined> => {
  const full = await realpath(path)
  const folders: Array<Config.FileFacts> = []
  for (let dir = dirname(full); ; dir = dirname(dir)) {
    folders.push(await facts(dir))
    if (dir === dirname(dir)) break
  }
  return Config.strictModes(what, await facts(full), folders, owners, ownerText)
}

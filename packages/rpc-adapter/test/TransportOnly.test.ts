/**
 * The rpc-adapter holds the transport and its authentication, nothing of the program that
 * assembles the node (decision 0041): no command line, no config file, no service unit. Those
 * are `@archipelago/daemon`, which depends on this package, never the reverse.
 */
import { readdirSync, readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"

const src = new URL("../src/", import.meta.url)
const files = readdirSync(src, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"))
const daemonModules = ["AppCommands", "BackupCli", "Cli", "Config", "Journal", "Serve", "Status", "Takeover", "Unit", "Validate", "main", "internal/help", "internal/strictModes"]

describe("rpc-adapter is the transport only", () => {
  it("holds none of the daemon's modules", () => {
    expect(files.filter((f) => daemonModules.includes(f.replace(/\.ts$/, "")))).toEqual([])
  })

  it("imports no command-line or config-file library, and nothing of the daemon", () => {
    const offenders = files.filter((f) => /from\s+"(@effect\/cli(\/[^"]*)?|effect\/(cli|unstable\/cli)(\/[^"]*)?|yaml|@archipelago\/daemon(\/[^"]*)?)"/.test(readFileSync(new URL(f, src), "utf8")))
    expect(offenders).toEqual([])
  })

  it("ships no binary and depends on neither @effect/cli nor the daemon", () => {
    const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))
    expect(manifest.bin).toBeUndefined()
    expect(Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies })).not.toContain("@effect/cli")
    expect(Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies })).not.toContain("@archipelago/daemon")
  })
})

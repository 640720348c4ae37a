/**
 * The transport as a library user installs it: an empty project, `npm install` of the packed
 * `@archipelago/rpc-adapter` tarball (its @archipelago dependencies from their own packed
 * tarballs, the rest from the npm cache), then an import of the installed package from both
 * module systems. The `archipelago` program is `@archipelago/daemon` (its own PackedInstall
 * test): this install brings no binary and no command-line library.
 * Nothing here reaches into the workspace's sources or node_modules.
 */
import { existsSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { exec, packageNames, usePackedInstall } from "../../../test-support/packing.js"

const transport = ["Auth", "Dashboard", "Dispatch", "JsonRpc", "Methods", "Push", "RateLimit", "Resources", "RpcError", "Server", "ServerInfo", "Sessions", "Subscriptions"]

describe("a project installing the packed rpc-adapter", { timeout: 300_000 }, () => {
  const installed = usePackedInstall("rpc-install", packageNames, "rpc-adapter")

  it("brings every package the transport imports or serves, and no command line", () => {
    for (const name of ["@archipelago/orchestrator", "@archipelago/hooks", "@archipelago/web-components", "effect", "@effect/platform-node"]) {
      expect(installed.packages).toContain(name)
    }
    expect(installed.packages).not.toContain("@archipelago/daemon")
    expect(installed.packages).not.toContain("@effect/cli")
    expect(existsSync(join(installed.app, "node_modules", ".bin", "archipelago"))).toBe(false)
  })

  it("exports the transport's modules, and none of the daemon's, to import and require", async () => {
    const esm = await exec(process.execPath, ["--input-type=module", "-e", "const m = await import('@archipelago/rpc-adapter'); console.log(JSON.stringify(Object.keys(m).sort()))"], { cwd: installed.app })
    expect(JSON.parse(esm.stdout), esm.stderr).toEqual(transport)
    // A file, not `node -e`: there `__filename` is "[eval]", which @effect/platform-node's
    // `createRequire(typeof __filename === "string" ? __filename : import.meta.url)` cannot take.
    const script = join(installed.app, "require-rpc-adapter.cjs")
    writeFileSync(script, "console.log(JSON.stringify(Object.keys(require('@archipelago/rpc-adapter')).sort()))\n")
    const cjs = await exec(process.execPath, [script], { cwd: installed.app })
    expect(JSON.parse(cjs.stdout), cjs.stderr).toEqual(transport)
  })
})

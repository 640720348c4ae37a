/**
 * A browser project as a user starts one: an empty folder, `npm install` of the packed
 * `@archipelago/web-components` tarball, and esbuild bundling a page's script that imports the
 * components and the client. The install holds nothing Node-only and the bundle imports no Node
 * builtin (docs/decisions/0020-package-dependencies.md); `effect`, an optional peer (types of
 * the protocol's messages), is not installed, and the whole install stays under 5 MB.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { bundleForBrowser, exec, megabytes, nodeImportsIn, nodeOnly, root, sizeOf, usePackedInstall } from "../../../test-support/packing.js"

describe("a browser project installing the packed web components", { timeout: 300_000 }, () => {
  const installed = usePackedInstall("browser-install", ["web-components"], "web-components")

  it("installs lit and nothing Node-only; effect (an optional peer) is not installed, and the install is at most 5 MB", () => {
    expect(installed.packages).toContain("@archipelago/web-components")
    expect(installed.packages).toContain("lit")
    expect(installed.packages).not.toContain("effect")
    expect(installed.packages.filter((p) => nodeOnly.includes(p))).toEqual([])
    const bytes = sizeOf(join(installed.app, "node_modules"))
    console.log(`web components alone: ${megabytes(bytes)} (${bytes} bytes) in node_modules: ${installed.packages.join(", ")}`)
    expect(bytes).toBeLessThanOrEqual(5_000_000)
  })

  it("imports in Node without effect: the client is there for a script", async () => {
    writeFileSync(
      join(installed.app, "node.mjs"),
      [
        `import { ArchyClient, OperationError, OperationTimeoutError } from "@archipelago/web-components"`,
        `const client = new ArchyClient({ url: "http://127.0.0.1:1", token: "t" })`,
        `const error = await client.stop("lnd", { wait: true }).then(() => undefined, (e) => e)`,
        `console.log(JSON.stringify([typeof OperationError, typeof OperationTimeoutError, error?.name, client.connection]))`
      ].join("\n")
    )
    const run = await exec(process.execPath, ["node.mjs"], { cwd: installed.app, timeoutMs: 60_000 })
    expect(run.stderr).toBe("")
    expect(JSON.parse(run.stdout)).toEqual(["function", "function", "TransportError", "idle"])
  })

  it("a TypeScript project without effect reads the operations' answers typed (not any)", async () => {
    writeFileSync(
      join(installed.app, "typed.ts"),
      [
        `import { ArchyClient } from "@archipelago/web-components"`,
        `const client = new ArchyClient({ url: "http://127.0.0.1:7420", token: "t" })`,
        `export const run = async () => {`,
        `  const accepted = await client.stop("lnd")`,
        `  const settled = await client.stop("lnd", { wait: true })`,
        `  const generation: number = accepted.generation + settled.accepted.generation`,
        `  const state: string = settled.app.state`,
        `  // @ts-expect-error an answer is not a number (were it any, this line would be accepted)`,
        `  const wrong: number = accepted`,
        `  return [generation, state, wrong, (await client.version()).engine] as const`,
        `}`
      ].join("\n")
    )
    writeFileSync(
      join(installed.app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, skipLibCheck: true, lib: ["ES2022", "DOM"], types: [] },
        files: ["typed.ts"]
      })
    )
    const tsc = await exec(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], { cwd: installed.app, timeoutMs: 240_000 })
    expect(tsc.stdout + tsc.stderr).toBe("")
    expect(tsc.code).toBe(0)
  }, 300_000)

  it("bundles for the browser with esbuild: no Node builtin, no orchestrator, the domain inlined", async () => {
    writeFileSync(
      join(installed.app, "main.js"),
      [
        `import { ArchyClient, AppStore } from "@archipelago/web-components"`,
        `const client = new ArchyClient({ url: location.origin })`,
        `document.body.append(Object.assign(document.createElement("archy-dashboard"), { client }))`,
        `console.log(AppStore)`
      ].join("\n")
    )
    const out = await bundleForBrowser({ absWorkingDir: installed.app, entryPoints: ["main.js"] })
    const inputs = Object.keys(out.metafile.inputs)
    expect(inputs.filter((i) => /^node:|(^|\/)node_modules\/(@archipelago\/orchestrator|execa|ws|undici|@effect\/platform)/.test(i))).toEqual([])
    expect(inputs.some((i) => i.startsWith("node_modules/@archipelago/web-components/dist/"))).toBe(true)
    const code = out.outputFiles[0]!.text
    expect(nodeImportsIn(code)).toEqual([])
    // the domain's dashboard table travels inside the package's bundle
    expect(code).toContain("Stopping")
  })

  it("its module imports lit alone at run time: effect (a peer, for types) is never loaded", () => {
    const dist = readFileSync(join(installed.app, "node_modules/@archipelago/web-components/dist/index.js"), "utf8")
    const imported = [...dist.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm)]
      .map((m) => m[1] ?? m[2]!)
    expect(imported.length).toBeGreaterThan(0)
    expect(imported.filter((spec) => !/^lit(\/|$)/.test(spec))).toEqual([])
  })
})

/**
 * A browser project as a user starts one: an empty folder, `npm install` of the packed
 * `@archipelago/web-components` tarball, and esbuild bundling a page's script that imports the
 * components and the client. The install holds nothing Node-only and the bundle imports no Node
 * builtin (docs/decisions/0020-package-dependencies.md).
 */
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { bundleForBrowser, nodeImportsIn, nodeOnly, usePackedInstall } from "../../../test-support/packing.js"

describe("a browser project installing the packed web components", { timeout: 300_000 }, () => {
  const installed = usePackedInstall("browser-install", ["web-components"], "web-components")

  it("installs lit and effect (its peer) and nothing Node-only", () => {
    expect(installed.packages).toContain("@archipelago/web-components")
    expect(installed.packages).toContain("lit")
    expect(installed.packages).toContain("effect")
    expect(installed.packages.filter((p) => nodeOnly.includes(p))).toEqual([])
  })

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

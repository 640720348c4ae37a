/**
 * A browser project as a user starts one: an empty folder, `npm install` of the packed
 * `@archipelago/web-components` tarball, and esbuild bundling a page's script that imports the
 * components and the client. The install holds nothing Node-only and the bundle imports no Node
 * builtin (docs/decisions/0020-package-dependencies.md).
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { build } from "esbuild"
import { install, installedPackages, megabytes, nodeOnly, pack, sizeOf, tempProject } from "../../../test-support/packing.js"

describe("a browser project installing the packed web components", { timeout: 300_000 }, () => {
  const project = tempProject("browser-install")
  let packages: Array<string> = []

  beforeAll(async () => {
    const tarballs = await pack(["web-components"], join(project.dir, "tarballs"))
    const app = join(project.dir, "app")
    mkdirSync(app)
    await install(app, { tarballs, dependencies: ["@archipelago/web-components"] })
    packages = installedPackages(app)
    console.log(`packed install of @archipelago/web-components: ${megabytes(sizeOf(join(app, "node_modules")))} in node_modules, ${packages.length} packages`)
  }, 300_000)
  afterAll(() => project.remove())

  it("installs lit and effect (its peer) and nothing Node-only", () => {
    expect(packages).toContain("@archipelago/web-components")
    expect(packages).toContain("lit")
    expect(packages).toContain("effect")
    expect(packages.filter((p) => nodeOnly.includes(p))).toEqual([])
  })

  it("bundles for the browser with esbuild: no Node builtin, no orchestrator, the domain inlined", async () => {
    const app = join(project.dir, "app")
    writeFileSync(
      join(app, "main.js"),
      [
        `import { ArchyClient, AppStore } from "@archipelago/web-components"`,
        `const client = new ArchyClient({ url: location.origin })`,
        `document.body.append(Object.assign(document.createElement("archy-dashboard"), { client }))`,
        `console.log(AppStore)`
      ].join("\n")
    )
    const out = await build({
      absWorkingDir: app,
      entryPoints: ["main.js"],
      bundle: true,
      platform: "browser",
      format: "esm",
      minify: true,
      write: false,
      metafile: true,
      logLevel: "silent"
    })
    const inputs = Object.keys(out.metafile.inputs)
    expect(inputs.filter((i) => /^node:|(^|\/)node_modules\/(@archipelago\/orchestrator|execa|ws|undici|@effect\/platform)/.test(i))).toEqual([])
    expect(inputs.some((i) => i.startsWith("node_modules/@archipelago/web-components/dist/"))).toBe(true)
    const code = out.outputFiles[0]!.text
    expect(code).not.toMatch(/\bfrom\s*["']node:|\brequire\(["']/)
    // the domain's dashboard table travels inside the package's bundle
    expect(code).toContain("Stopping")
  })
})

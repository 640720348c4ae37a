import { readdirSync, readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { pathToFileURL } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { bundleForBrowser, exec, nodeImportsIn, packageDir, packageNames, requireBuilt, root } from "../../../test-support/packing.js"

const pkg = packageDir
const domainDist = `${pkg("orchestrator")}/dist/domain/index`
const requireDomain = () => requireBuilt(`${domainDist}.js`)

describe("packaging", () => {
  it("the domain subpath bundles for the browser platform with no Node imports", async () => {
    const out = await bundleForBrowser({ entryPoints: [`${pkg("orchestrator")}/src/domain/index.ts`], minify: false })
    const code = out.outputFiles[0]!.text
    expect(nodeImportsIn(code)).toEqual([])
    expect(code).toContain("Stopping")
  })

  it("the namespaces a dashboard uses bundle without effect/Schema (no module-level Schema values)", async () => {
    const out = await bundleForBrowser({
      stdin: {
        contents: [
          `import { AppEntry, AppState, AppView, Intent, MemoryLimit, Merge, Op, VisualState } from "./src/domain/index.ts"`,
          `console.log(AppEntry, AppState, AppView, Intent, MemoryLimit, Merge, Op, VisualState)`
        ].join("\n"),
        resolveDir: pkg("orchestrator"),
        loader: "ts"
      }
    })
    const bundled = Object.entries(Object.values(out.metafile.outputs)[0]!.inputs)
      .filter(([, v]) => v.bytesInOutput > 0)
      .map(([k]) => k)
    expect(bundled.some((i) => i.includes("src/domain/VisualState.ts"))).toBe(true)
    expect(bundled.filter((i) => /effect\/dist\/(Schema[A-Za-z]*|schema\/.+)\.js$/.test(i))).toEqual([])
    expect(out.outputFiles[0]!.text.length).toBeLessThan(20_000)
  })

  it("the protocol modules a dashboard reads (Methods, Errors, Guards) bundle without effect/Schema", async () => {
    const out = await bundleForBrowser({
      stdin: {
        contents: [
          `import * as Errors from "./src/protocol/Errors.ts"`,
          `import * as Guards from "./src/protocol/Guards.ts"`,
          `import * as Methods from "./src/protocol/Methods.ts"`,
          `console.log(Errors, Guards, Methods)`
        ].join("\n"),
        resolveDir: pkg("orchestrator"),
        loader: "ts"
      }
    })
    const bundled = Object.entries(Object.values(out.metafile.outputs)[0]!.inputs)
      .filter(([, v]) => v.bytesInOutput > 0)
      .map(([k]) => k)
    expect(bundled.some((i) => i.includes("src/protocol/Guards.ts"))).toBe(true)
    expect(bundled.filter((i) => /effect\/dist\/(Schema[A-Za-z]*|schema\/.+)\.js$/.test(i))).toEqual([])
    expect(nodeImportsIn(out.outputFiles[0]!.text)).toEqual([])
  })

  it("the protocol's index and its modules import from plain Node ESM and CJS, internal/ hidden", async () => {
    requireDomain()
    const esm = await exec(process.execPath, ["--input-type=module", "-e", [
      `import { Methods, Guards } from "@archipelago/orchestrator/protocol"`,
      `import * as Views from "@archipelago/orchestrator/protocol/Views"`,
      `console.log(Methods.subprotocol, Guards.decode("Accepted", 1)._tag, typeof Views.AppView)`
    ].join("\n")], { cwd: root })
    expect(esm.stdout.trim()).toBe("archipelago.v1 Invalid function")
    const cjs = await exec(process.execPath, ["-e", [
      `console.log(require("@archipelago/orchestrator/protocol/Errors").codes.limit)`,
      `try { require("@archipelago/orchestrator/protocol/internal/Literals") } catch (e) { console.log(e.code) }`
    ].join("\n")], { cwd: root })
    expect(cjs.stdout.trim()).toBe("-32005\nERR_PACKAGE_PATH_NOT_EXPORTED")
  })

  it("the built domain imports from plain Node ESM and CJS", async () => {
    requireDomain()
    const esm = await import(pathToFileURL(`${domainDist}.js`).href)
    expect(esm.VisualState.primaryButton("stopping").label).toBe("Stopping…")
    const cjs = createRequire(import.meta.url)(`${domainDist}.cjs`)
    expect(cjs.MemoryLimit.parseMemoryLimit("128Mi")).toBe(134217728)
    const viaExports = await exec(
      process.execPath,
      ["-e", "console.log(require('@archipelago/orchestrator/domain').AppState.isTransitional('stopping'))"],
      { cwd: root }
    )
    expect(viaExports.stdout.trim()).toBe("true")
  })

  it("the built declarations type-check a consumer's ESM and CommonJS code, namespace values included", async () => {
    requireDomain()
    const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
    // asynchronously: a synchronous tsc of over 60 s failed the run (see `exec`)
    const out = await exec(process.execPath, [tsc, "-p", `${pkg("orchestrator")}/test/fixtures/consumer/tsconfig.json`], { cwd: root })
    expect(out.stdout).toBe("")
    expect(out.code).toBe(0)
  }, 180_000) // tsc over the built declarations takes ~40 s idle, over a minute on a loaded machine

  it.each(packageNames)(
    "npm pack of %s ships dist, README and LICENSE and no tests",
    async (name) => {
      requireDomain()
      const packed = await exec("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: pkg(name) })
      expect(packed.code, packed.stderr).toBe(0)
      const out = packed.stdout
      const files: Array<string> = JSON.parse(out)[0].files.map((f: { path: string }) => f.path)
      expect(files).toContain("README.md")
      expect(files).toContain("LICENSE")
      expect(files).toContain("package.json")
      expect(files.some((f) => f.startsWith("dist/") && f.endsWith(".js"))).toBe(true)
      expect(files.some((f) => f.startsWith("dist/") && f.endsWith(".d.ts"))).toBe(true)
      expect(files.filter((f) => /(^|\/)test\/|\.test\.[cm]?[jt]s$/.test(f))).toEqual([])
      expect(files.filter((f) => f.startsWith("src/"))).toEqual([])
    }
  )

  it("production code takes nothing from the testing subpath (the simulator is in the main entry)", () => {
    const offenders = packageNames.flatMap((name) =>
      readdirSync(`${pkg(name)}/src`, { recursive: true, encoding: "utf8" })
        .filter((f) => f.endsWith(".ts"))
        .filter((f) => !f.startsWith("testing/"))
        .filter((f) => /from\s+"(@archipelago\/orchestrator\/testing|(\.\.\/)+testing\/[^"]*)"/.test(readFileSync(`${pkg(name)}/src/${f}`, "utf8")))
        .map((f) => `${name}/src/${f}`)
    )
    expect(offenders).toEqual([])
  })

  describe.each(packageNames)("%s on the registry's page", (name) => {
    const manifest = JSON.parse(readFileSync(`${pkg(name)}/package.json`, "utf8"))
    const readme = readFileSync(`${pkg(name)}/README.md`, "utf8")
    const repo = manifest.repository?.url?.replace(/^git\+/, "").replace(/\.git$/, "")

    it("has complete metadata: repository, homepage, bugs, keywords, license, files, exports, engines", () => {
      expect(manifest.repository).toStrictEqual({ type: "git", url: expect.stringMatching(/^git\+https:\/\/.+\.git$/), directory: `packages/${name}` })
      expect(manifest.homepage).toBe(`${repo}/tree/main/packages/${name}#readme`)
      expect(manifest.bugs).toStrictEqual({ url: `${repo}/issues` })
      expect(manifest.keywords.length).toBeGreaterThanOrEqual(3)
      expect(manifest.license).toBe("MIT")
      expect(manifest.files).toContain("dist")
      expect(Object.keys(manifest.exports)).toContain(".")
      expect(manifest.engines.node).toMatch(/^>=\d/)
      expect(manifest.publishConfig).toStrictEqual({ access: "public" })
    })

    it("has a real version from the changesets (never 0.0.0), a CHANGELOG, and its @archipelago dependencies at the same version", () => {
      expect(manifest.version).toMatch(/^\d+\.\d+\.\d+$/)
      expect(manifest.version).not.toBe("0.0.0")
      expect(readFileSync(`${pkg(name)}/CHANGELOG.md`, "utf8")).toContain(`## ${manifest.version}`)
      const internal = Object.entries({ ...manifest.dependencies, ...manifest.devDependencies, ...manifest.peerDependencies }).filter(([n]) => n.startsWith("@archipelago/"))
      for (const [, range] of internal) expect(range).toBe(manifest.version)
    })

    it("effect is never a dependency (one copy per application): a peer where the code imports it, optional where only a library entry beside a bundled program does, none in the browser's package", () => {
      expect(manifest.dependencies?.effect).toBeUndefined()
      expect(manifest.dependencies?.["@effect/platform"]).toBeUndefined()
      const optional = manifest.peerDependenciesMeta?.effect?.optional === true
      if (name === "web-components") {
        // lit alone at run time; the orchestrator domain's types are inlined into its d.ts
        expect(manifest.peerDependencies?.effect === undefined || optional).toBe(true)
      } else {
        expect(manifest.peerDependencies.effect).toMatch(/^\^4\./)
        expect(optional).toBe(name === "daemon")
      }
    })

    it("the README stands alone: an npm install line, and only absolute links", () => {
      expect(readme).toContain(`npm install @archipelago/${name}`)
      const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!)
      expect(links.filter((l) => !/^https:\/\//.test(l))).toEqual([])
      const toRepo = links.filter((l) => l.includes("github"))
      expect(toRepo.filter((l) => !l.startsWith(repo) && !l.startsWith(repo.replace("https://github.com/", "https://raw.githubusercontent.com/")))).toEqual([])
    })
  })
})

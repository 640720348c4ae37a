/**
 * The node matrix's selection (scripts/node-matrix.sh, test-support/selection.ts) by rule: what
 * a file reaches through its imports decides whether it runs on Node 22/24, so a new podman or
 * Chromium test stays out with nothing to add to a list, and a test that skips on a missing
 * podman or Chromium without the rule noticing fails here.
 */
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import {
  classify,
  hasRandomizedName,
  packageTestFiles,
  type Read,
  readUnder,
  type Selected,
  usesDirectly
} from "../../../../test-support/selection.js"

const root = fileURLToPath(new URL("../../../../", import.meta.url))
const read = readUnder(root)
const files = packageTestFiles(root)
const selected = new Map(classify(files, read).map((s) => [s.file, s]))
const runs = (file: string) => selected.get(file)!.excluded.length === 0

/** The repo, plus files that do not exist yet. */
const withFiles = (extra: Record<string, string>): Read => (file) => extra[file] ?? read(file)
const one = (file: string, text: string): Selected => classify([file], withFiles({ [file]: text }))[0]!

describe("the node matrix's selection", () => {
  it("recognises the project's podman and Chromium helpers by what they do", () => {
    for (const helper of ["packages/orchestrator/test/runtime/podman.ts", "test-support/podman.ts", "test-support/chaos/Serve.ts", "packages/web-components/test/support/RealServer.ts"]) {
      expect([helper, usesDirectly(helper, read(helper)!)]).toEqual([helper, ["podman"]])
    }
    expect(usesDirectly("packages/web-components/test/support/Browser.ts", read("packages/web-components/test/support/Browser.ts")!)).toEqual(["chromium"])
    // a test passing `--engine podman` to prove the error without podman is not a podman test
    expect(usesDirectly("x.test.ts", `run(["serve", "--engine", "podman"], { PATH: "/nonexistent" })`)).toEqual([])
  })

  it("places a new test file by what it imports, at any depth, with no list to update", () => {
    const svc = "packages/orchestrator/test/services/NewPodman.test.ts"
    expect(one(svc, `import { podmanOrchestrator } from "./podmanFixture.js"\n`).excluded).toEqual(["podman"])
    // registry.ts runs podman only through test-support/podman.ts
    expect(one(svc, `import { startRegistry } from "../../../../test-support/registry.js"\n`)).toMatchObject({
      excluded: ["podman"],
      via: { podman: "test-support/podman.ts" }
    })
    // (spelled in pieces: this file's own text must not read as spawning podman)
    const spawnsPodman = ["spawnSync(", "\"podman\"", ", [\"ps\"])"].join("")
    expect(one(svc, `import { spawnSync } from "node:child_process"\n${spawnsPodman}\n`).excluded).toEqual(["podman"])
    const web = "packages/web-components/test/NewPage.test.ts"
    expect(one(web, `import { launch } from "./support/Browser.js"\n`).excluded).toEqual(["chromium"])
    expect(one(web, `import { startServe } from "../../../test-support/chaos/Serve.js"\n`).excluded).toEqual(["podman"])
    // type-only imports bring in no code
    expect(one(web, `import type { Page } from "playwright-core"\nimport type { Browser } from "./support/Browser.js"\n`).excluded).toEqual([])
    expect(one(svc, `import { serviceManifest, withSimulated } from "./harness.js"\nimport { makeAppsDir } from "./demoApps.js"\n`).excluded).toEqual([])
    expect(one("packages/hooks/test/NewFuzz.test.ts", `import * as fc from "fast-check"\n`).excluded).toEqual(["randomized"])
  })

  it("keeps a packaging test in the matrix even when it shows the installed server in Chromium, never when it needs podman", () => {
    const file = "packages/rpc-adapter/test/NewInstall.test.ts"
    const packing = `import { installPacked } from "../../../test-support/packing.js"\n`
    expect(one(file, `${packing}import { launch } from "../../web-components/test/support/Browser.js"\n`)).toMatchObject({ excluded: [], packaging: true })
    expect(one(file, `${packing}import { runTag } from "../../orchestrator/test/runtime/podman.js"\n`).excluded).toEqual(["podman"])
  })

  it("leaves out every test that guards on podman or Chromium (the skip a missing tool needs)", () => {
    const podmanGuarded = files.filter((f) => /\bhasPodman\b/.test(read(f)!))
    const chromiumGuarded = files.filter((f) => /\bhasChromium\b/.test(read(f)!))
    expect(podmanGuarded.length).toBeGreaterThan(10)
    expect(chromiumGuarded.length).toBeGreaterThan(3)
    expect(podmanGuarded.filter((f) => !selected.get(f)!.excluded.includes("podman"))).toEqual([])
    expect(chromiumGuarded.filter((f) => !selected.get(f)!.excluded.includes("chromium") && !selected.get(f)!.packaging)).toEqual([])
  })

  it("knows the randomized runs by their names", () => {
    expect(files.filter(hasRandomizedName)).toEqual(expect.arrayContaining([
      "packages/orchestrator/test/manifest/ManifestFuzz.test.ts",
      "packages/orchestrator/test/runtime/SimulatedRuntime.model.test.ts",
      "packages/orchestrator/test/services/Model.test.ts",
      "packages/rpc-adapter/test/RpcFuzz.test.ts"
    ]))
    expect(hasRandomizedName("packages/x/test/ModelView.test.ts")).toBe(false)
  })

  it("runs the unit and packaging tests and none of the podman, Chromium, chaos or randomized ones", () => {
    for (const f of [
      "packages/orchestrator/test/Merge.test.ts",
      "packages/orchestrator/test/Packaging.test.ts",
      "packages/orchestrator/test/PackedInstall.test.ts",
      "packages/rpc-adapter/test/PackedInstall.test.ts",
      "packages/web-components/test/PackedInstall.test.ts",
      "packages/daemon/test/Cli.test.ts",
      "packages/orchestrator/test/services/Archipelago.test.ts",
      "packages/orchestrator/test/support/NodeMatrix.test.ts"
    ]) expect([f, runs(f)]).toEqual([f, true])
    for (const f of [
      "packages/daemon/test/chaos/ChaosMatrix.test.ts",
      "packages/daemon/test/Updates.test.ts",
      "packages/web-components/test/ServerUpdate.test.ts",
      "packages/web-components/test/ServerBackup.test.ts",
      "packages/orchestrator/test/services/BackupPodman.test.ts",
      "packages/hooks/test/Capability.podman.test.ts",
      "packages/web-components/test/Dashboard.test.ts",
      "packages/orchestrator/test/services/Model.test.ts",
      "packages/rpc-adapter/test/RpcFuzz.test.ts"
    ]) expect([f, runs(f)]).toEqual([f, false])
  })

  it("the script lists the same selection node-matrix.sh excludes", () => {
    const out = execFileSync(process.execPath, ["--import", "tsx", "scripts/node-matrix-select.ts", "--excluded"], { cwd: root, encoding: "utf8" })
    expect(out.trim().split("\n")).toEqual(files.filter((f) => !runs(f)))
  })
})

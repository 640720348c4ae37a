/**
 * The library as a user installs it: an empty project, `npm install` of the packed
 * `@archipelago/orchestrator` tarball alone, then Node importing it (ESM and CommonJS). Its
 * peer (`effect`, which holds the platform modules since effect 4) comes along; the Node
 * platform, which only its tests use, does not.
 */
import { describe, expect, it } from "@effect/vitest"
import { exec, usePackedInstall } from "../../../test-support/packing.js"

describe("a project installing the packed orchestrator alone", { timeout: 300_000 }, () => {
  const installed = usePackedInstall("orchestrator-install", ["orchestrator"], "orchestrator")

  it("installs its peers and not the Node platform", () => {
    expect(installed.packages).toEqual(expect.arrayContaining(["effect", "execa", "yaml"]))
    expect(installed.packages.filter((p) => p.startsWith("@effect/platform-node") || p === "ws" || p === "undici")).toEqual([])
  })

  it("imports from Node as ESM and as CommonJS", async () => {
    const esm = await exec(
      process.execPath,
      ["--input-type=module", "-e", `import { Manifest } from "@archipelago/orchestrator"; import { VisualState } from "@archipelago/orchestrator/domain"; console.log(typeof Manifest, VisualState.primaryButton("stopping").label)`],
      { cwd: installed.app }
    )
    expect(esm.stdout.trim(), esm.stderr).toBe("object Stopping…")
    const cjs = await exec(
      process.execPath,
      ["-e", `const o = require("@archipelago/orchestrator"); const t = require("@archipelago/orchestrator/testing"); console.log(typeof o.PodmanRuntime.layerWith, typeof t.SimulatedRuntime.layer)`],
      { cwd: installed.app }
    )
    expect(cjs.stdout.trim(), cjs.stderr).toBe("function function")
  })
})

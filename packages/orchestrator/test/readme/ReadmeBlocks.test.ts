/**
 * The README block reader the README examples test relies on: what it calls the install line, an
 * example (and how it runs) or reference, and what a page's code names that a bundle lacks.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { packageDir, packageNames } from "../../../../test-support/packing.js"
import * as ReadmeBlocks from "./ReadmeBlocks.js"

const readme = [
  "# x",
  "```sh",
  "npm install @archipelago/daemon effect   # or --global",
  "```",
  "",
  "<!-- readme-test: serves \"Dashboard:\" -->",
  "```sh",
  "npx archipelago serve --engine sim",
  "```",
  "```sh",
  "archipelago status   # a table",
  "```",
  "```ts",
  "import { Effect } from \"effect\"",
  "```",
  "```js",
  "import { ArchyClient, Nope } from \"/assets/archipelago.js\"",
  "document.querySelector(\"archy-dashboard\")",
  "```",
  "```html",
  "<archy-app-card app-id=\"lnd\"></archy-app-card>",
  "```",
  "```text",
  "output",
  "```"
].join("\n")

describe("ReadmeBlocks", () => {
  const blocks = ReadmeBlocks.parse(readme)

  it("finds the install line with npm's arguments and the packages it names, without its comment", () => {
    expect(blocks.install?.line.args).toEqual(["install", "@archipelago/daemon", "effect"])
    expect(blocks.install?.line.packages).toEqual(["@archipelago/daemon", "effect"])
    expect(blocks.install?.at).toBe(3)
  })

  it("sorts the blocks: a marked shell block serves, a ts block runs, page code is checked against the bundle, the rest is reference", () => {
    expect(blocks.examples.map((e) => [e.lang, e.line, e.mode.kind])).toEqual([
      ["sh", 8, "serves"],
      ["ts", 14, "runs"],
      ["js", 17, "browser"],
      ["html", 21, "browser"]
    ])
    expect(blocks.examples[0]!.mode).toEqual({ kind: "serves", text: "Dashboard:" })
    expect(blocks.reference).toEqual([11, 24])
  })

  it("names what a page imports or uses that the bundle does not have", () => {
    const bundle = `customElements.define("archy-dashboard",X);export{a as ArchyClient,b as AppStore};`
    expect(ReadmeBlocks.missingFromBundle(blocks.examples[2]!.code, bundle)).toEqual(["Nope"])
    expect(ReadmeBlocks.missingFromBundle(blocks.examples[3]!.code, bundle)).toEqual(["archy-app-card"])
  })

  it.each(packageNames)("the %s README has an install line", (name) => {
    expect(ReadmeBlocks.parse(readFileSync(join(packageDir(name), "README.md"), "utf8")).install).toBeDefined()
  })
})

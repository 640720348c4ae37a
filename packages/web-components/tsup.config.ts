import { fileURLToPath } from "node:url"
import { defineConfig } from "tsup"

// The orchestrator's browser-safe domain is bundled into this package (see
// docs/decisions/0020-package-dependencies.md), so installing the web components pulls none of
// the orchestrator's Node dependencies; `effect` stays external as a peer dependency.
const domain = fileURLToPath(new URL("../orchestrator/src/domain/index.ts", import.meta.url))
// The wire protocol is imported by its own subpath (not through the domain's deprecated `Wire`
// namespace, where a bundler keeps every export, the Schemas the client never reads included).
// a folder: `protocol` resolves to its index, `protocol/Guards` to the module
const protocol = fileURLToPath(new URL("../orchestrator/src/protocol", import.meta.url))
const wire = fileURLToPath(new URL("../orchestrator/src/domain/Wire.ts", import.meta.url))

export default defineConfig({
  entry: { index: "src/index.ts" },
  format: ["esm"],
  dts: false,
  clean: true,
  sourcemap: true,
  target: "es2022",
  platform: "browser",
  external: ["lit", /^lit\//, "effect", /^effect\//],
  noExternal: ["@archipelago/orchestrator/domain", /^@archipelago\/orchestrator\/protocol(\/|$)/, "@archipelago/orchestrator/wire"],
  // effect is external and free of side effects (its package.json says so, but an external
  // package's is not read): an import nothing uses (the protocol's Schemas, which the client
  // never reads) is dropped instead of loading effect/Schema at run time
  treeshake: { moduleSideEffects: (id, external) => !(external && /^effect(\/|$)/.test(id)) },
  esbuildOptions(options) {
    options.alias = {
      ...options.alias,
      "@archipelago/orchestrator/domain": domain,
      "@archipelago/orchestrator/protocol": protocol,
      "@archipelago/orchestrator/wire": wire
    }
  }
})

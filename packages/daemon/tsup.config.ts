import { defineConfig } from "tsup"

export default defineConfig([
  {
    entry: { index: "src/index.ts" },
    format: ["esm", "cjs"],
    // the workspace's packages are installed beside the library entry (the README's line), not
    // declared: keep them out of it like its peers
    external: [/^@archipelago\//],
    dts: false,
    clean: true,
    sourcemap: true,
    shims: true,
    target: "node22"
  },
  {
    // The executable is one file with its dependencies in it: Node then reads one module instead
    // of resolving and evaluating the files of effect (its CLI, effect/cli, among them) and
    // @effect/platform-node: under Effect 3 (~1,500 files, with @effect/platform and @effect/cli)
    // that took about 1 s of CPU on every start (and ~60 MB of the server's RSS).
    // The library entry above keeps its dependencies external.
    entry: { cli: "src/main.ts" },
    format: ["esm"],
    dts: false,
    // whitespace and syntax minified, names kept (readable stacks and CPU profiles), and no
    // source maps, so the package stays small
    sourcemap: false,
    esbuildOptions(options) {
      options.minifyWhitespace = true
      options.minifySyntax = true
    },
    target: "node22",
    platform: "node",
    noExternal: [/.*/],
    // the bundled CommonJS dependencies (ws) call require(): give the ES module one
    banner: { js: "#!/usr/bin/env node\nimport { createRequire as __archipelagoRequire } from \"node:module\"\nconst require = __archipelagoRequire(import.meta.url)" }
  }
])

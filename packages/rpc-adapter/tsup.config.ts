import { defineConfig } from "tsup"

export default defineConfig([
  {
    entry: { index: "src/index.ts" },
    format: ["esm", "cjs"],
    dts: false,
    clean: true,
    sourcemap: true,
    shims: true,
    target: "node20"
  },
  {
    entry: { cli: "src/main.ts" },
    format: ["esm"],
    dts: false,
    sourcemap: true,
    target: "node20",
    banner: { js: "#!/usr/bin/env node" }
  }
])

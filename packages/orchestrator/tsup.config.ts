import { defineConfig } from "tsup"

export default defineConfig({
  entry: {
    index: "src/index.ts",
    "domain/index": "src/domain/index.ts",
    wire: "src/domain/Wire.ts",
    "testing/index": "src/testing/index.ts"
  },
  format: ["esm", "cjs"],
  dts: false,
  clean: true,
  sourcemap: true,
  target: "node20",
  splitting: true,
  treeshake: true
})

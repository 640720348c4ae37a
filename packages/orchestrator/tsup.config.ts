import { defineConfig } from "tsup"

export default defineConfig({
  entry: {
    index: "src/index.ts",
    "domain/index": "src/domain/index.ts",
    "protocol/index": "src/protocol/index.ts",
    // one entry per module, so a browser imports `protocol/Guards` alone (through the index a
    // bundler keeps each namespace whole)
    ...Object.fromEntries(
      ["Errors", "Guards", "Messages", "Methods", "Params", "Views"].map((m) => [`protocol/${m}`, `src/protocol/${m}.ts`])
    ),
    wire: "src/domain/Wire.ts",
    "testing/index": "src/testing/index.ts"
  },
  format: ["esm", "cjs"],
  dts: false,
  clean: true,
  sourcemap: true,
  target: "node22",
  splitting: true,
  treeshake: true
})

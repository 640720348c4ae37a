import { defineConfig } from "tsup"

export default defineConfig({
  entry: { index: "src/index.ts" },
  format: ["esm"],
  dts: false,
  clean: true,
  sourcemap: true,
  target: "es2022",
  platform: "browser",
  external: ["lit", /^lit\//, "@archipelago/orchestrator/domain"]
})

import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const src = (p: string) => fileURLToPath(new URL(`./packages/${p}`, import.meta.url))

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@archipelago\/orchestrator\/domain$/, replacement: src("orchestrator/src/domain/index.ts") },
      { find: /^@archipelago\/orchestrator\/protocol\/(\w+)$/, replacement: src("orchestrator/src/protocol/$1.ts") },
      { find: /^@archipelago\/orchestrator\/protocol$/, replacement: src("orchestrator/src/protocol/index.ts") },
      { find: /^@archipelago\/orchestrator\/wire$/, replacement: src("orchestrator/src/domain/Wire.ts") },
      { find: /^@archipelago\/orchestrator\/testing$/, replacement: src("orchestrator/src/testing/index.ts") },
      { find: /^@archipelago\/orchestrator$/, replacement: src("orchestrator/src/index.ts") },
      { find: /^@archipelago\/hooks$/, replacement: src("hooks/src/index.ts") },
      { find: /^@archipelago\/rpc-adapter$/, replacement: src("rpc-adapter/src/index.ts") },
      { find: /^@archipelago\/daemon$/, replacement: src("daemon/src/index.ts") },
      { find: /^@archipelago\/web-components$/, replacement: src("web-components/src/index.ts") }
    ]
  },
  test: {
    include: ["packages/*/test/**/*.test.ts", "examples/*/test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ["default"],
    pool: "forks"
  }
})

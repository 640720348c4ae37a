import { createRequire } from "node:module"

/**
 * The version of `@archipelago/daemon`, read from its package.json by the package's own name
 * (Node resolves a package's self-reference from any of its files: `src/` under tsx and vitest,
 * the bundled `dist/cli.js`). Not `ServerInfo.version` from the rpc-adapter's index: importing
 * that index here would load the whole transport before `--version` or `--help` can answer.
 */
export const version: string = (createRequire(import.meta.url)("@archipelago/daemon/package.json") as { readonly version: string }).version

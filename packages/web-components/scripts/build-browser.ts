/**
 * Builds the self-contained dashboard bundle `dist/browser/archipelago.js`: one ES module with
 * lit and the orchestrator's domain and protocol inlined, loadable by a plain `<script type="module">`.
 *
 * Run: `tsx scripts/build-browser.ts` (part of the package's `build` script).
 */
import * as esbuild from "esbuild"
import { fileURLToPath } from "node:url"

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url))

/** The bundle's entry, and where the package build writes it. */
export const entry = here("../src/browser.ts")
export const defaultOutfile = here("../dist/browser/archipelago.js")

/**
 * Builds the bundle to `outfile` and returns esbuild's metafile.
 */
export const buildBrowser = async (
  outfile: string = defaultOutfile,
  options: { readonly minify?: boolean } = {}
): Promise<esbuild.Metafile> => {
  const result = await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: options.minify ?? true,
    sourcemap: true,
    metafile: true,
    legalComments: "eof",
    tsconfig: here("../tsconfig.json"),
    alias: {
      "@archipelago/orchestrator/domain": here("../../orchestrator/src/domain/index.ts"),
      // a folder: `protocol` resolves to its index, `protocol/Guards` to the module
      "@archipelago/orchestrator/protocol": here("../../orchestrator/src/protocol"),
      "@archipelago/orchestrator/wire": here("../../orchestrator/src/domain/Wire.ts")
    },
    logLevel: "warning"
  })
  return result.metafile
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildBrowser()
}

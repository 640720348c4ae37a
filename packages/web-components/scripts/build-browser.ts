/**
 * Builds the self-contained dashboard bundle `dist/browser/archipelago.js`: one ES module with
 * lit and the orchestrator's domain inlined, loadable by a plain `<script type="module">`.
 *
 * Run: `tsx scripts/build-browser.ts` (part of the package's `build` script).
 */
import * as esbuild from "esbuild"
import { fileURLToPath } from "node:url"

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url))

/** The bundle's entry, and where the package build writes it. */
export const entry = here("../src/browser.ts")
export const defaultOutfile = here("../dist/browser/archipelago.js")

const domainDir = here("../../orchestrator/src/domain/")

/**
 * The domain's `Op.ts` defines an Effect Schema at module level, which would drag all of
 * `effect/Schema` (~300 kB) into the bundle although the dashboard only calls plain functions.
 * Inside the domain, `effect` resolves to a stand-in that absorbs those module-level schema
 * definitions; nothing the components call reaches it.
 */
const effectStandIn: esbuild.Plugin = {
  name: "archy-effect-stand-in",
  setup(build) {
    build.onResolve({ filter: /^effect$/ }, (args) =>
      args.importer.startsWith(domainDir) ? { path: "effect", namespace: "archy-effect-stand-in" } : undefined)
    build.onLoad({ filter: /.*/, namespace: "archy-effect-stand-in" }, () => ({
      loader: "js",
      contents: [
        "const standIn = new Proxy(function () {}, {",
        "  get: (_target, key) => (key === Symbol.toPrimitive ? () => \"[effect stand-in]\" : standIn),",
        "  apply: () => standIn,",
        "  construct: () => standIn",
        "})",
        "export const Schema = standIn, Data = standIn, Either = standIn"
      ].join("\n")
    }))
  }
}

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
    alias: { "@archipelago/orchestrator/domain": here("../../orchestrator/src/domain/index.ts") },
    plugins: [effectStandIn],
    logLevel: "warning"
  })
  return result.metafile
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildBrowser()
}

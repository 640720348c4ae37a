/**
 * The dashboard page served at `/` and the location of the web components' browser bundle.
 *
 * @since 0.1.0
 */
import { existsSync, readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"

/**
 * The URL path the bundle is served at.
 *
 * @since 0.1.0
 * @category constants
 */
export const bundlePath = "/assets/archipelago.js"

/**
 * The URL path of the page's icon (also answered at `/favicon.ico`, which browsers ask for
 * when a page names none).
 *
 * @since 0.1.0
 * @category constants
 */
export const faviconPath = "/favicon.svg"

/**
 * The icon: an island on the sea, in the dashboard's accent colour.
 *
 * @since 0.1.0
 * @category constants
 */
export const favicon = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">` +
  `<rect width="64" height="64" rx="14" fill="#c2410c"/>` +
  `<path d="M14 40 L28 18 L36 30 L41 24 L50 40 Z" fill="#fff"/>` +
  `<path d="M10 47 q5.5 -4 11 0 t11 0 t11 0 t11 0" fill="none" stroke="#fff" stroke-width="3.5" stroke-linecap="round"/>` +
  `</svg>`

const escapeHtml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const bundleExport = (exportsField: unknown): string | undefined => {
  if (typeof exportsField !== "object" || exportsField === null) return undefined
  const entry = (exportsField as Record<string, unknown>)["./browser"]
  if (typeof entry === "string") return entry
  if (typeof entry === "object" && entry !== null) {
    const e = entry as Record<string, unknown>
    for (const key of ["browser", "import", "default"]) {
      const v = e[key]
      if (typeof v === "string") return v
      if (typeof v === "object" && v !== null && typeof (v as Record<string, unknown>).default === "string") {
        return (v as Record<string, string>).default
      }
    }
  }
  return undefined
}

/**
 * The file of `@archipelago/web-components/browser`, or undefined when the package or its
 * built bundle is missing.
 *
 * @since 0.1.0
 * @category getters
 */
export const resolveBundle = (): string | undefined => {
  try {
    const pkgJson = createRequire(import.meta.url).resolve("@archipelago/web-components/package.json")
    const pkg = JSON.parse(readFileSync(pkgJson, "utf8")) as { exports?: unknown }
    const file = join(dirname(pkgJson), bundleExport(pkg.exports) ?? "dist/browser/archipelago.js")
    return existsSync(file) ? file : undefined
  } catch {
    return undefined
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PageOptions {
  /** A warning shown above the dashboard, e.g. that the engine is simulated. */
  readonly banner?: string
  /** False when the bundle is not built: the page says so instead of loading it. */
  readonly bundle: boolean
}

const bannerHtml = (banner: string | undefined): string =>
  banner === undefined
    ? ""
    : `<div role="alert" class="banner">${escapeHtml(banner)}</div>\n`

const head = (title: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" type="image/svg+xml" href="${faviconPath}">
<meta name="color-scheme" content="light dark">
<style>
:root { color-scheme: light dark; }
body { font-family: system-ui, sans-serif; margin: 0; padding: 1rem; background: #f6f7f9; color: #111; }
.banner { background: #b45309; color: #fff; padding: .75rem 1rem; border-radius: .5rem; margin-bottom: 1rem; font-weight: 600; }
main.fallback { max-width: 40rem; }
code { background: #e5e7eb; padding: 0 .25rem; border-radius: .25rem; }
@media (prefers-color-scheme: dark) {
  body { background: #0f1115; color: #e8eaee; }
  code { background: #232731; }
  a { color: #f97316; }
}
</style>
</head>
`

/**
 * The dashboard page: `<archy-dashboard>` loading the bundle, or a page saying the bundle is
 * not built.
 *
 * @since 0.1.0
 * @category rendering
 */
export const page = (options: PageOptions): string =>
  options.bundle
    ? `${head("Archipelago")}<body>
${bannerHtml(options.banner)}<archy-dashboard></archy-dashboard>
<script type="module" src="${bundlePath}"></script>
</body>
</html>
`
    : `${head("Archipelago")}<body>
${bannerHtml(options.banner)}<main class="fallback">
<h1>Archipelago</h1>
<p>The dashboard bundle is not built. Run <code>npm run build</code> and reload this page.</p>
<p>The JSON-RPC API is available at <code>POST /rpc</code> and <code>/ws</code>.</p>
</main>
</body>
</html>
`

const loginHint = "<p>On the node, run <code>archipelago login-url</code> (as the server's user) and open the link it prints " +
  "(<code>/login?token=…</code>, the token from <code>&lt;data dir&gt;/rpc-token</code>).</p>"

/**
 * The login page answered to unauthenticated browsers.
 *
 * @since 0.1.0
 * @category rendering
 */
export const loginPage = (options: { readonly password: boolean; readonly failed: boolean }): string =>
  `${head("Archipelago: log in")}<body>
<main class="fallback">
<h1>Archipelago</h1>
${options.failed ? "<p role=\"alert\">That did not work. Try again.</p>\n" : ""}${loginHint}
${
    options.password
      ? `<form method="post" action="/login">
<label>Password <input type="password" name="password" autocomplete="current-password" required></label>
<button type="submit">Log in</button>
</form>
`
      : ""
  }</main>
</body>
</html>
`

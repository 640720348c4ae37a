/**
 * The static page of the demo UI companion (served by busybox httpd from a read-only bind
 * mount): the app's name, version and description. Pure and deterministic.
 *
 * @since 0.1.0
 */
import Mustache from "mustache"

/**
 * The template.
 *
 * @since 0.1.0
 * @category constants
 */
export const template = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{name}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d2330; }
main { max-width: 40rem; margin: 4rem auto; padding: 2rem; background: #fff; border-radius: 12px; }
h1 { margin-top: 0; }
dt { font-weight: 600; }
</style>
</head>
<body>
<main>
<h1>{{name}}</h1>
{{#description}}<p>{{description}}</p>
{{/description}}<dl>
<dt>App</dt><dd>{{id}}</dd>
<dt>Version</dt><dd>{{version}}</dd>
</dl>
<p>This page was rendered by the <code>demo-ui-page</code> pre-start hook.</p>
</main>
</body>
</html>
`

/**
 * @since 0.1.0
 * @category models
 */
export interface Params {
  readonly id: string
  readonly name: string
  readonly version: string
  readonly description?: string
}

const entities: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  "\"": "&quot;",
  "'": "&#39;",
  "{": "&#123;",
  "}": "&#125;"
}

/**
 * HTML-escapes a value; braces too, so no value can ever look like a template marker.
 *
 * @since 0.1.0
 * @category utils
 */
export const escapeHtml = (value: unknown): string => String(value).replace(/[&<>"'{}]/g, (c) => entities[c]!)

/**
 * Renders the page.
 *
 * @since 0.1.0
 * @category constructors
 */
export const render = (params: Params): string =>
  Mustache.render(
    template,
    {
      id: params.id,
      name: params.name,
      version: params.version,
      description: params.description !== undefined && params.description !== "" ? params.description : false
    },
    {},
    { escape: escapeHtml }
  )

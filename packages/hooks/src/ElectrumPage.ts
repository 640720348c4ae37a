/**
 * The page of the `electrs-ui` companion: how an Electrum wallet connects to this node's
 * Electrum server, with the ports taken from the server's `electrum-server` endpoints. The host
 * is the address the browser used to reach the page (filled in by a line of script), since a
 * wallet on the LAN reaches the node there. Pure and deterministic; holds no secret.
 *
 * @since 0.1.0
 */
import Mustache from "mustache"
import { escapeHtml } from "./DemoPage.js"

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
<title>Electrum server</title>
<style>
body { font-family: system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d2330; }
main { max-width: 40rem; margin: 4rem auto; padding: 2rem; background: #fff; border-radius: 12px; }
code { background: #eef0f4; padding: 0.1rem 0.3rem; border-radius: 4px; }
</style>
</head>
<body>
<main>
<h1>Connect a wallet</h1>
<p>Point Electrum (or any wallet speaking the Electrum protocol) at this node, served by {{server}}:</p>
<ul>
{{#tcp}}<li>TCP, for your own network: <code><span class="host">this-node</span>:{{tcp}}:t</code></li>
{{/tcp}}{{#ssl}}<li>SSL: <code><span class="host">this-node</span>:{{ssl}}:s</code></li>
{{/ssl}}</ul>
<p>Rendered by the <code>electrs-ui-page</code> pre-start hook from the server's manifest.</p>
</main>
<script>
for (const e of document.querySelectorAll(".host")) e.textContent = location.hostname
</script>
</body>
</html>
`

/**
 * @since 0.1.0
 * @category models
 */
export interface Params {
  /** The app serving the protocol, e.g. `electrumx`. */
  readonly server: string
  /** Host port of the plain TCP endpoint, if the server provides one. */
  readonly tcp?: number
  /** Host port of the SSL endpoint, if the server provides one. */
  readonly ssl?: number
}

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
      server: params.server,
      tcp: params.tcp === undefined ? false : String(params.tcp),
      ssl: params.ssl === undefined ? false : String(params.ssl)
    },
    {},
    { escape: escapeHtml }
  )

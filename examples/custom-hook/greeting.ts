/**
 * A custom pre-start hook in a few lines: before the `hello` app starts, render its web page
 * (public, 0644) and an env file holding an API token from the node's secrets (0600).
 *
 * @since 0.1.0
 */
import { DemoPage, PreStartHook } from "@archipelago/hooks"
import { Effect, Redacted } from "effect"

/**
 * The `greeting` hook; a manifest asks for it with `hooks: [greeting]`.
 *
 * @since 0.1.0
 * @category hooks
 */
export const greeting = PreStartHook.make({
  name: "greeting",
  // It renders a secret, so it names the only app allowed to receive it.
  secretConsumers: ["hello"],
  render: (ctx) =>
    Effect.gen(function*() {
      const token = yield* ctx.secret("hello-api-token")
      const name = DemoPage.escapeHtml(ctx.manifest.name)
      return [
        { path: `${ctx.appDataDir}/www/index.html`, content: `<!doctype html>\n<h1>Hello from ${name}</h1>\n`, mode: 0o644 },
        { path: `${ctx.appDataDir}/api.env`, content: `API_TOKEN=${Redacted.value(token)}\n`, secret: true }
      ]
    })
})

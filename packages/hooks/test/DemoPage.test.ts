import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as DemoPage from "../src/DemoPage.js"
import { prop } from "../../../test-support/prop.js"

describe("DemoPage", () => {
  it("renders the app's name, id, version and description", () => {
    const html = DemoPage.render({ id: "demo-ui", name: "Demo UI", version: "1.2.3", description: "A demo." })
    expect(html).toContain("<title>Demo UI</title>")
    expect(html).toContain("<h1>Demo UI</h1>")
    expect(html).toContain("<p>A demo.</p>\n<dl>")
    expect(html).toContain("<dt>App</dt><dd>demo-ui</dd>")
    expect(html).toContain("<dt>Version</dt><dd>1.2.3</dd>")
    expect(html.startsWith("<!doctype html>\n")).toBe(true)
  })

  it("omits the description paragraph when there is none", () => {
    const html = DemoPage.render({ id: "d", name: "D", version: "1" })
    expect(html).toContain("</h1>\n<dl>")
    expect(html).not.toContain("<p></p>")
  })

  it("escapes HTML and template braces", () => {
    const html = DemoPage.render({ id: "d", name: `<script>alert("x")</script>`, version: "{{v}}", description: "a & 'b'" })
    expect(html).toContain("<h1>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</h1>")
    expect(html).toContain("<dd>&#123;&#123;v&#125;&#125;</dd>")
    expect(html).toContain("<p>a &amp; &#39;b&#39;</p>")
  })

  const arbParams = fc.record({
    id: fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/),
    name: fc.string(),
    version: fc.string(),
    description: fc.option(fc.string(), { nil: undefined })
  }).map(({ description, ...rest }) => (description === undefined ? rest : { ...rest, description }))

  prop("deterministic and never containing a template marker or a raw tag from the input", [arbParams], ([p]) => {
    const html = DemoPage.render(p)
    expect(DemoPage.render({ ...p })).toBe(html)
    expect(html).not.toContain("{{")
    expect(html).not.toContain("}}")
    expect(html.match(/<script/g)).toBeNull()
  })
})

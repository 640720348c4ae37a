import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Validate from "../src/Validate.js"
import { tempDir } from "../../rpc-adapter/test/fixtures.js"

const root = fileURLToPath(new URL("../../..", import.meta.url))

describe("archipelago validate: secret-bound hooks", () => {
  it.effect("an unrelated app naming secret hooks (with a '.' volume) is refused at hooks[i], located", () =>
    Effect.gen(function*() {
      const dir = tempDir("rpc-validate-secret-")
      mkdirSync(join(dir, "evil"))
      writeFileSync(
        join(dir, "evil", "manifest.yml"),
        [
          "id: evil",
          "name: Evil",
          "version: \"1.0.0\"",
          "image: docker.io/library/busybox:1.36",
          "hooks: [lnd-conf, bitcoin-ui-nginx, demo-ui-page]",
          "volumes:",
          "  - source: .",
          "    target: /data",
          ""
        ].join("\n")
      )
      const error = yield* Effect.flip(Validate.run(dir))
      const shown = error.errors.map((e) => ({ file: e.file, line: e.line, column: e.column, path: e.path, rule: e.rule, detail: e.detail }))
      expect(shown).toEqual([
        {
          file: join(dir, "evil", "manifest.yml"),
          line: 5,
          column: 9,
          path: "hooks[0]",
          rule: "hook-consumer",
          detail: "hook \"lnd-conf\" renders a secret for lnd only; \"evil\" may not run it"
        },
        {
          file: join(dir, "evil", "manifest.yml"),
          line: 5,
          column: 19,
          path: "hooks[1]",
          rule: "hook-consumer",
          detail: "hook \"bitcoin-ui-nginx\" renders a secret for bitcoin-ui only; \"evil\" may not run it"
        }
      ])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("the repo's catalog, where each secret hook is named by its own app, validates", () =>
    Effect.gen(function*() {
      const summary = yield* Validate.run(join(root, "apps"))
      expect(summary).toMatch(/^ok: /)
      for (const id of ["bitcoin-core", "bitcoin-knots", "bitcoin-ui", "lnd"]) expect(summary).toContain(id)
    }).pipe(Effect.provide(NodeServices.layer)))
})

describe("archipelago validate: capabilities", () => {
  it.effect("a catalog where lnd needs bitcoin-node and no app provides it fails, naming the capability", () =>
    Effect.gen(function*() {
      const dir = tempDir("rpc-validate-capability-")
      for (const id of ["lnd", "bitcoin-knots"]) mkdirSync(join(dir, id))
      writeFileSync(
        join(dir, "lnd", "manifest.yml"),
        ["id: lnd", "name: LND", "version: \"1\"", "image: docker.io/library/busybox:1.36", "dependsOn: [bitcoin-node]", ""].join("\n")
      )
      // knots publishes its RPC port but forgot to declare the capability
      writeFileSync(
        join(dir, "bitcoin-knots", "manifest.yml"),
        ["id: bitcoin-knots", "name: Knots", "version: \"1\"", "image: docker.io/library/busybox:1.36", "ports:", "  - {host: 8332, container: 8332}", ""].join("\n")
      )
      const error = yield* Effect.flip(Validate.run(dir))
      expect(error.errors.map((e) => `${e.path} [${e.rule}] ${e.line}:${e.column} ${e.detail}`)).toEqual([
        "dependsOn[0] [depends-on] 5:13 no app is called \"bitcoin-node\" and no app provides it as a capability"
      ])
      // once knots provides it, the same catalog validates
      writeFileSync(
        join(dir, "bitcoin-knots", "manifest.yml"),
        [
          "id: bitcoin-knots",
          "name: Knots",
          "version: \"1\"",
          "image: docker.io/library/busybox:1.36",
          "ports:",
          "  - {host: 8332, container: 8332}",
          "provides:",
          "  - capability: bitcoin-node",
          "    endpoints: {rpc: 8332}",
          ""
        ].join("\n")
      )
      expect(yield* Validate.run(dir)).toMatch(/^ok: /)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("the real lnd-ui needs lightning-node: without an app providing it, validate names the capability and where", () =>
    Effect.gen(function*() {
      const dir = tempDir("rpc-validate-lightning-")
      for (const id of ["lnd-ui", "lnd"]) mkdirSync(join(dir, id))
      writeFileSync(join(dir, "lnd-ui", "manifest.yml"), readFileSync(join(root, "apps", "lnd-ui", "manifest.yml")))
      // an lnd that forgot its provides: (and has no bitcoin node to depend on here)
      const lnd = readFileSync(join(root, "apps", "lnd", "manifest.yml"), "utf8")
      const withoutProvides = lnd.replace(/\nprovides:\n(?: {2}.*\n)+/, "\n").replace("dependsOn: [bitcoin-node]\n", "")
      expect(withoutProvides).not.toContain("lightning-node\n")
      writeFileSync(join(dir, "lnd", "manifest.yml"), withoutProvides)
      const error = yield* Effect.flip(Validate.run(dir))
      expect(error.errors.map((e) => `${e.file.replace(dir, "apps")} ${e.path} [${e.rule}] ${e.detail}`)).toEqual([
        "apps/lnd-ui/manifest.yml dependsOn[0] [depends-on] no app is called \"lightning-node\" and no app provides it as a capability"
      ])
      writeFileSync(join(dir, "lnd", "manifest.yml"), lnd.replace("dependsOn: [bitcoin-node]\n", ""))
      expect(yield* Validate.run(dir)).toMatch(/^ok: /)
    }).pipe(Effect.provide(NodeServices.layer)))
})

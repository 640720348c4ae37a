// An app's folder never names one of the orchestrator's own (issue 26: an app with `id: secrets`
// and a `.` volume mounted <data>/secrets, bitcoind's RPC password in clear).
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import * as fc from "fast-check"
import { pattern } from "../../src/domain/AppId.js"
import * as Loader from "../../src/manifest/Loader.js"
import * as Settings from "../../src/manifest/Settings.js"
import * as Spec from "../../src/manifest/Spec.js"

const settings = Settings.make({ dataDir: "/var/lib/archipelago" })

const manifest = (id: string) => `id: ${id}
name: Hostile
version: "1"
image: busybox:1.36
volumes: [{source: ., target: /steal}]
`

const rules = (id: string): ReadonlyArray<string> =>
  Result.match(Loader.parseManifest(manifest(id), `apps/${id}/manifest.yml`, { expectedId: id, settings }), {
    onFailure: (es) => es.map((e) => e.rule),
    onSuccess: () => []
  })

const orchestratorOwn = ["secrets", "backups", "engine", "rpc-token", "apps", "state.json", "sessions.json", "server.json"]

describe("an app's folder", () => {
  it("is <data>/apps/<id>", () => {
    assert.strictEqual(Spec.appDataDir(settings, "lnd"), "/var/lib/archipelago/apps/lnd")
    assert.strictEqual(Spec.volumeSource(settings, "lnd", "."), "/var/lib/archipelago/apps/lnd")
    assert.strictEqual(Spec.volumeSource(settings, "lnd", "./data"), "/var/lib/archipelago/apps/lnd/data")
  })

  it("refuses the orchestrator's names as app ids (rule reserved-id), naming the id", () => {
    for (const id of ["secrets", "backups", "engine", "rpc-token", "apps"]) {
      assert.include(rules(id), "reserved-id", id)
    }
    const message = Result.match(Loader.parseManifest(manifest("secrets"), "apps/secrets/manifest.yml", { settings }), {
      onFailure: (es) => es.map((e) => e.message).join("\n"),
      onSuccess: () => ""
    })
    assert.match(message, /apps\/secrets\/manifest\.yml:1:\d+.*"secrets" is a name the orchestrator keeps/)
    assert.deepStrictEqual(rules("lnd"), [])
  })

  it("never is, holds or lies inside one of the orchestrator's own folders or files, for any id", () => {
    const ids = fc.stringMatching(new RegExp(pattern)).filter((id) => id.length <= 63)
    fc.assert(
      fc.property(ids, fc.constantFrom(".", "./", "./x", "./data/y"), (id, source) => {
        const mount = Spec.volumeSource(settings, id, source)
        for (const own of orchestratorOwn) {
          const path = `${settings.dataDir}/${own}`
          if (own === "apps") {
            assert.isTrue(mount.startsWith(`${path}/`) && mount !== path, mount)
          } else {
            assert.isFalse(mount === path || mount.startsWith(`${path}/`) || path.startsWith(`${mount}/`), `${id} ${source} → ${mount}`)
          }
        }
      }),
      { numRuns: 500 }
    )
  })
})

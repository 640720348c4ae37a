import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import * as Loader from "../../src/manifest/Loader.js"

const file = "apps/demo/manifest.yml"
const base = `id: demo
name: Demo
version: "1"
image: busybox:1.36
backup:
  watch:
    - path: ./data/chain/channel.backup
`
const messages = (text: string): ReadonlyArray<string> =>
  Result.match(Loader.parseManifest(text, file, { expectedId: "demo" }), { onFailure: (es) => es.map((e) => e.message), onSuccess: () => [] })

describe("the manifest's backup section", () => {
  it("decodes exclude, channelState and schedule", () => {
    const m = Result.getOrThrow(Loader.parseManifest(`${base}  exclude: [./blocks, ./*/chainstate]
  channelState:
    files: [./data/graph]
    recovery:
      from: ./data/chain/channel.backup
      to: ./recovery/channel.backup
      command: [lncli, restorechanbackup, --multi_file=/root/.lnd/recovery/channel.backup]
  schedule:
    everyHours: 24
    keep: 7
`, file, { expectedId: "demo" }))
    assert.deepStrictEqual(m.backup?.exclude, ["./blocks", "./*/chainstate"])
    assert.deepStrictEqual(m.backup?.channelState?.files, ["./data/graph"])
    assert.deepStrictEqual(m.backup?.schedule, { everyHours: 24, keep: 7 })
  })

  it("a recovery must start from one of the watched files, named where it is", () => {
    const errors = messages(`${base}  channelState:
    files: [./data/graph]
    recovery:
      from: ./data/chain/other.backup
      to: ./recovery/channel.backup
      command: [lncli]
`)
    assert.strictEqual(errors.length, 1)
    assert.match(errors[0]!, /backup\.channelState\.recovery\.from/)
    assert.match(errors[0]!, /one of backup\.watch's paths/)
  })

  it("refuses paths leaving the data folder, an empty channel state and a zero schedule", () => {
    for (const bad of [
      "  exclude: [../etc]",
      "  exclude: [/etc]",
      "  channelState:\n    files: []\n    recovery:\n      from: ./data/chain/channel.backup\n      to: ./r\n      command: [x]",
      "  channelState:\n    files: [./data/../graph]\n    recovery:\n      from: ./data/chain/channel.backup\n      to: ./r\n      command: [x]",
      "  channelState:\n    files: [./g]\n    recovery:\n      from: ./data/chain/channel.backup\n      to: ./r/*\n      command: [x]",
      "  schedule:\n    everyHours: 0"
    ]) {
      assert.isAbove(messages(`${base}${bad}\n`).length, 0, bad)
    }
  })
})

import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as BuildLeftovers from "../../src/runtime/BuildLeftovers.js"

const layer = "71c1b9265176c919084987c8ee280a5109f15a70ca0ecdb6abd6b159f7d5a69c"

describe("BuildLeftovers", () => {
  it("descendants: children, grandchildren, never the root, its parent or a sibling", () => {
    const parents = new Map([[10, 1], [11, 10], [12, 11], [13, 1], [14, 13], [1, 0], [15, 12]])
    assert.deepStrictEqual(BuildLeftovers.descendants(10, parents), [11, 12, 15])
    assert.deepStrictEqual(BuildLeftovers.descendants(13, parents), [14])
    assert.deepStrictEqual(BuildLeftovers.descendants(99, parents), [])
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 40 }))), fc.integer({ min: 1, max: 40 }), (pairs, root) => {
      const table = new Map(pairs)
      const found = BuildLeftovers.descendants(root, table)
      // each found pid's parent chain reaches the root
      return !found.includes(root) && found.every((pid) => {
        const seen = new Set<number>()
        for (let p = table.get(pid); p !== undefined && !seen.has(p); p = table.get(p)) {
          if (p === root) return true
          seen.add(p)
        }
        return false
      })
    }))
  })

  it("parentOf: the field after the state, whatever the command name holds", () => {
    assert.strictEqual(BuildLeftovers.parentOf("10704 (sleep) S 10681 10704 10704 0 -1 4194560"), 10681)
    assert.strictEqual(BuildLeftovers.parentOf("42 (a) b (c) R 7 42 42"), 7)
    assert.strictEqual(BuildLeftovers.parentOf(""), undefined)
  })

  it("rootLayer: the overlay upperdir of the mount at /, nothing for another root", () => {
    const mountinfo = [
      "1 0 8:1 / / rw - ext4 /dev/vda rw",
      `247 209 0:77 / / rw,relatime - overlay overlay rw,lowerdir=/var/lib/containers/storage/overlay/l/4QSD,upperdir=/var/lib/containers/storage/overlay/${layer}/diff,workdir=/var/lib/containers/storage/overlay/${layer}/work`,
      "248 247 0:78 / /proc rw - proc proc rw"
    ].join("\n")
    assert.strictEqual(BuildLeftovers.rootLayer(mountinfo), layer)
    assert.strictEqual(BuildLeftovers.rootLayer("1 0 8:1 / / rw - ext4 /dev/vda rw\n"), undefined)
    assert.strictEqual(BuildLeftovers.rootLayer(`2 1 0:7 / /mnt rw - overlay overlay rw,upperdir=/x/overlay/${layer}/diff\n`), undefined)
  })

  it("containersOfLayers: the ids of the containers on those layers; bad JSON names none", () => {
    const json = JSON.stringify([
      { id: "a".repeat(64), names: ["base-working-container"], layer },
      { id: "b".repeat(64), names: ["base-working-container-1"], layer: "c".repeat(64) },
      { id: 3, layer }
    ])
    assert.deepStrictEqual(BuildLeftovers.containersOfLayers(json, [layer]), ["a".repeat(64)])
    assert.deepStrictEqual(BuildLeftovers.containersOfLayers("{", [layer]), [])
    assert.deepStrictEqual(BuildLeftovers.containersOfLayers("{}", [layer]), [])
  })
})

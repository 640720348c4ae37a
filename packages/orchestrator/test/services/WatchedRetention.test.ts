import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as ChannelState from "../../src/services/ChannelState.js"
import * as WatchedRetention from "../../src/services/WatchedRetention.js"
import { prop } from "../../../../test-support/prop.js"

const copies = fc.array(fc.nat({ max: 8192 }), { maxLength: 40 }).map((sizes) =>
  sizes.map((bytes, i): WatchedRetention.Copy => ({ name: `c-${String(i).padStart(3, "0")}.copy`, createdAt: i * 1000, bytes }))
)

describe("WatchedRetention.plan", () => {
  it("the issue's sequence: one 4 KiB copy, then 12 of 64 bytes: the 4 KiB copy stays, and the plan says it shrank", () => {
    const seq = [4096, ...Array.from({ length: 12 }, () => 64)].map((bytes, i) => ({ name: `c${i}`, createdAt: i, bytes }))
    const plan = WatchedRetention.plan(seq, 10)
    assert.strictEqual(plan.newestGood?.name, "c0")
    assert.isTrue(plan.keep.some((c) => c.name === "c0"))
    assert.strictEqual(plan.keep.length, 11)
    assert.deepStrictEqual(plan.shrank, { from: 4096, to: 64 })
  })

  it("a copy that grows again is good: the emptied ones before it go, the warning too", () => {
    const seq = [4096, 64, 64, 5000].map((bytes, i) => ({ name: `c${i}`, createdAt: i, bytes }))
    const plan = WatchedRetention.plan(seq, 10)
    assert.deepStrictEqual(plan.keep.map((c) => c.name), ["c0", "c3"])
    assert.isUndefined(plan.shrank)
  })

  prop("the newest copy and the newest good copy are always kept; at most keep of each kind", [copies, fc.integer({ min: 1, max: 12 })], ([cs, keep]) => {
    const plan = WatchedRetention.plan(cs, keep)
    assert.strictEqual(plan.keep.length + plan.prune.length, cs.length)
    if (cs.length > 0) {
      assert.isTrue(plan.keep.includes(cs.at(-1)!))
      assert.isTrue(plan.keep.includes(plan.newestGood!))
    }
    assert.isAtMost(plan.keep.length, 2 * keep)
    // a pruned copy is older than every kept good copy, or an emptied one older than the kept ones
    const keptGood = plan.keep.filter((c) => !plan.keep.includes(c) || c.createdAt <= plan.newestGood!.createdAt)
    for (const p of plan.prune) assert.isBelow(p.createdAt, Math.max(...keptGood.map((c) => c.createdAt), plan.keep.at(-1)!.createdAt))
  })

  prop("pruning is stable: planning the kept copies again prunes nothing and keeps the same good copy", [copies, fc.integer({ min: 1, max: 12 })], ([cs, keep]) => {
    const plan = WatchedRetention.plan(cs, keep)
    const again = WatchedRetention.plan(plan.keep, keep)
    assert.deepStrictEqual(again.prune, [])
    assert.strictEqual(again.newestGood, plan.newestGood)
    assert.deepStrictEqual(again.shrank, plan.shrank)
  })
})

describe("ChannelState patterns", () => {
  it("a folder covers everything below it; * matches within one segment", () => {
    const lnd = ["./data/graph", "./data/*/wt/*.db"]
    assert.isTrue(ChannelState.covers(lnd, "data/graph"))
    assert.isTrue(ChannelState.covers(lnd, "data/graph/mainnet/channel.db"))
    assert.isTrue(ChannelState.covers(lnd, "data/x/wt/client.db"))
    assert.isFalse(ChannelState.covers(lnd, "data/x/wt/client.log"))
    assert.isFalse(ChannelState.covers(lnd, "data/chain/bitcoin/mainnet/channel.backup"))
    assert.isFalse(ChannelState.covers(lnd, "data/graphs"))
    assert.isTrue(ChannelState.mayHold(lnd, "data"))
    assert.isTrue(ChannelState.mayHold(lnd, "data/x/wt"))
    assert.isFalse(ChannelState.mayHold(lnd, "tls"))
    assert.isFalse(ChannelState.covers(["./data/a.b"], "data/aXb"), "a dot is literal")
  })

  it("decide: nothing declared, keep the live files, or recover", () => {
    const spec = { files: ["./data/graph"], recovery: { from: "./scb", to: "./r", command: ["x"] } }
    assert.deepStrictEqual(ChannelState.decide(undefined, []), { _tag: "None" })
    assert.deepStrictEqual(ChannelState.decide(spec, ["/d/data/graph/channel.db"]), { _tag: "KeepLive", files: ["/d/data/graph/channel.db"] })
    assert.deepStrictEqual(ChannelState.decide(spec, []), { _tag: "Recover" })
  })
})

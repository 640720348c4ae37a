import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import * as Methods from "../src/Methods.js"
import { prop } from "../../../test-support/prop.js"

const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => ({ seq: from + i }))
const seqs = (ls: ReadonlyArray<{ seq: number }>) => ls.map((l) => l.seq)

describe("Methods.page", () => {
  const log = lines(101, 600) // 500 kept lines; the first 100 were dropped

  it("answers the newest page by default, oldest first", () => {
    expect(seqs(Methods.page(log, {}))).toStrictEqual(seqs(lines(501, 600)))
    expect(seqs(Methods.page(log, { limit: 3 }))).toStrictEqual([598, 599, 600])
  })

  it("pages back with before and forward with after", () => {
    expect(seqs(Methods.page(log, { before: 501, limit: 2 }))).toStrictEqual([499, 500])
    expect(seqs(Methods.page(log, { before: 102 }))).toStrictEqual([101])
    expect(seqs(Methods.page(log, { before: 101 }))).toStrictEqual([])
    expect(seqs(Methods.page(log, { after: 0, limit: 2 }))).toStrictEqual([101, 102])
    expect(seqs(Methods.page(log, { after: 598 }))).toStrictEqual([599, 600])
    expect(seqs(Methods.page(log, { after: 600 }))).toStrictEqual([])
    expect(seqs(Methods.page(log, { after: 200, before: 203 }))).toStrictEqual([201, 202])
  })

  prop("paging back from the newest page visits every line once", [fc.integer({ min: 1, max: 500 }), fc.integer({ min: 0, max: 700 })], ([limit, n]) => {
    const all = lines(1, n)
    const seen: Array<number> = []
    let p = Methods.page(all, { limit })
    while (p.length > 0) {
      expect(p.length).toBeLessThanOrEqual(limit)
      seen.unshift(...seqs(p))
      p = Methods.page(all, { before: p[0]!.seq, limit })
    }
    expect(seen).toStrictEqual(seqs(all))
  })
})

describe("Methods.tailBytes", () => {
  it("keeps a short text whole", () => {
    expect(Methods.tailBytes("a\nb\n", 10)).toStrictEqual({ text: "a\nb\n", truncated: false })
  })

  it("keeps the newest whole lines within the budget", () => {
    expect(Methods.tailBytes("line one\nline two\nline three\n", 16)).toStrictEqual({ text: "line three\n", truncated: true })
  })

  prop("never exceeds the budget and is a suffix", [fc.string({ unit: "binary", maxLength: 300 }), fc.integer({ min: 1, max: 100 })], ([text, max]) => {
    const r = Methods.tailBytes(text, max)
    expect(Buffer.byteLength(r.text)).toBeLessThanOrEqual(max)
    expect(text.endsWith(r.text) || r.truncated).toBe(true)
  })
})

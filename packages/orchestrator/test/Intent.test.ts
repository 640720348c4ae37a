import { describe, expect } from "@effect/vitest"
import * as fc from "fast-check"
import { Intent, Op } from "../src/domain/index.js"
import { prop } from "../../../test-support/prop.js"

const arbIntent = fc.record({
  installed: fc.boolean(),
  wantRunning: fc.boolean(),
  userStopped: fc.boolean(),
  updatedAt: fc.nat()
})

describe("Intent", () => {
  prop("a stop is remembered as the user's and a start clears it", [arbIntent, fc.nat()], ([intent, now]) => {
    const stopped = Intent.request(intent, "stop", now)
    expect(stopped).toEqual({ installed: true, wantRunning: false, userStopped: true, updatedAt: now })
    expect(Intent.request(stopped, "start", now + 1).userStopped).toBe(false)
  })

  prop("backups and restores leave intent alone", [arbIntent, fc.nat()], ([intent, now]) => {
    expect(Intent.request(intent, "backup", now)).toBe(intent)
    expect(Intent.request(intent, "restore", now)).toBe(intent)
  })

  const consistent = arbIntent.filter((i) => (!i.userStopped || !i.wantRunning) && (!i.wantRunning || i.installed))

  prop("every op keeps an intent consistent", [consistent, fc.constantFrom(...Op.all), fc.nat()], ([intent, op, now]) => {
    const next = Intent.request(intent, op, now)
    if (next.userStopped) expect(next.wantRunning).toBe(false)
    if (next.wantRunning) expect(next.installed).toBe(true)
  })
})

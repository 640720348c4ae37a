/**
 * `container-restore` of the catalog's real LND (apps/lnd/manifest.yml): while its channel state
 * is there the restore is accepted as it is (the live channel state is kept); once it is gone a
 * restore is a channel recovery, refused with -32602 naming `closeChannels` and saying in plain
 * words what will happen, and accepted with `closeChannels: true`, which reaches the operation.
 * `backup-list` says the same (`recovery`).
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Apps, Backups, Catalog, ChannelState, Lifecycle, Settings } from "@archipelago/orchestrator"
import type { Request } from "@archipelago/orchestrator"
import * as Dispatch from "../src/Dispatch.js"
import { makeFake, tempDir, view } from "./fixtures.js"

const appsDir = fileURLToPath(new URL("../../../apps", import.meta.url))

const setup = async () => {
  const dataDir = tempDir("rpc-restore-data-")
  const catalog = await Effect.runPromise(Catalog.load(appsDir).pipe(Effect.provide(NodeServices.layer)))
  const settings = Settings.make({ dataDir })
  const defs = catalog.apps.filter((a) => a.manifest.id === "lnd").map((a) => Apps.defOf(a, settings))
  const requests: Array<{ readonly op: string; readonly appId: string; readonly options: Request.RequestOptions | undefined }> = []
  const recording = Layer.succeed(Lifecycle.Lifecycle, {
    request: (op, appId, options) =>
      Effect.sync(() => {
        requests.push({ op, appId, options })
        return { appId, op, status: "restoring-backup" as const, generation: 2 }
      })
  })
  const layer = Layer.mergeAll(
    makeFake([view("lnd", "running")]).layer,
    Apps.layer(defs),
    recording,
    Backups.layer({ dir: tempDir("rpc-restore-target-"), dataDir })
  )
  return { dataDir, layer, requests, lndDir: defs[0]!.dataDir }
}

const call = (layer: Layer.Layer<any>, method: string, params: unknown) =>
  Dispatch.body(JSON.stringify({ jsonrpc: "2.0", id: 1, method, params })).pipe(Effect.provide(layer))

describe("container-restore of LND", () => {
  it.live("needs closeChannels: true exactly when the restore is a channel recovery", () =>
    Effect.gen(function*() {
      const { layer, lndDir, requests } = yield* Effect.promise(setup)
      const channelDb = join(lndDir, "data", "graph", "mainnet", "channel.db")
      mkdirSync(join(channelDb, ".."), { recursive: true })
      writeFileSync(channelDb, "channels\n")

      const kept: any = yield* call(layer, "container-restore", { appId: "lnd" })
      expect(kept.result?.status).toBe("restoring-backup")
      const listed: any = yield* call(layer, "backup-list", { appId: "lnd" })
      expect(listed.result.apps[0].recovery).toBeNull()
      expect(listed.result.apps[0].schedule).toMatchObject({ everyHours: 24, lastAt: null })

      rmSync(join(lndDir, "data", "graph"), { recursive: true })
      const refused: any = yield* call(layer, "container-restore", { appId: "lnd" })
      expect(refused.error.code).toBe(-32602)
      expect(refused.error.data?.field ?? refused.error.message).toContain("closeChannels")
      expect(JSON.stringify(refused.error)).toContain("channels will be closed; funds return to your on-chain wallet")
      const refusedFalse: any = yield* call(layer, "container-restore", { appId: "lnd", closeChannels: false })
      expect(refusedFalse.error.code).toBe(-32602)
      const notBoolean: any = yield* call(layer, "container-restore", { appId: "lnd", closeChannels: "yes" })
      expect(notBoolean.error.code).toBe(-32602)
      expect(JSON.stringify(notBoolean.error)).toContain("closeChannels")
      expect(requests.length).toBe(1)

      const listedGone: any = yield* call(layer, "backup-list", { appId: "lnd" })
      expect(listedGone.result.apps[0].recovery).toBe(ChannelState.recoveryWarning)

      const confirmed: any = yield* call(layer, "container-restore", { appId: "lnd", closeChannels: true })
      expect(confirmed.result?.status).toBe("restoring-backup")
      expect(requests.map((r) => [r.op, r.appId, r.options])).toEqual([
        ["restore", "lnd", {}],
        ["restore", "lnd", { closeChannels: true }]
      ])
    }))
})

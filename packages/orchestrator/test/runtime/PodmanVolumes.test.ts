import { assert, describe, it } from "@effect/vitest"
import * as PodmanVolumes from "../../src/runtime/PodmanVolumes.js"

const info = (extra: Partial<PodmanVolumes.Info> = {}): PodmanVolumes.Info => ({
  name: "v",
  driver: "local",
  mountpoint: "/var/lib/containers/storage/volumes/v/_data",
  options: {},
  ...extra
})

describe("PodmanVolumes.access", () => {
  it("a plain local volume is read through its host folder", () => {
    assert.deepStrictEqual(PodmanVolumes.access(info()), { _tag: "Folder", path: "/var/lib/containers/storage/volumes/v/_data" })
  })

  it("another driver, local with mount options, or no mountpoint goes through export/import streams", () => {
    for (const v of [
      info({ driver: "nfs-plugin" }),
      info({ options: { type: "none", o: "bind", device: "/mnt/usb/lnd" } }),
      info({ options: { type: "tmpfs", device: "tmpfs" } }),
      info({ mountpoint: "" })
    ]) assert.deepStrictEqual(PodmanVolumes.access(v), { _tag: "Stream" }, JSON.stringify(v))
  })
})

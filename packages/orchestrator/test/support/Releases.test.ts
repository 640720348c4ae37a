import { describe, expect, it } from "vitest"
import { releaseContainerfile, releaseManifest, releaseOkCheck } from "../../../../test-support/releases.js"
import { decodeManifest } from "../services/harness.js"

const release = (version: string, volumes?: ReadonlyArray<{ source: string; target: string }>) =>
  decodeManifest(JSON.parse(releaseManifest({
    id: "t-upd",
    host: "127.0.0.1:5000",
    repo: "archy-upd/app",
    version,
    ...(volumes === undefined ? {} : { volumes }),
    health: { command: releaseOkCheck, interval: 2, timeout: 3, retries: 4, startPeriod: 5 }
  })))

describe("the update tests' release builder", () => {
  it("builds a manifest the catalog accepts: the release's image and version, the health check it was given", () => {
    const m = release("1.1.0", [{ source: "./data", target: "/data" }])
    expect(m.version).toBe("1.1.0")
    expect(m.image).toBe("127.0.0.1:5000/archy-upd/app:1.1.0")
    expect(m.health).toEqual({ type: "cmd", command: releaseOkCheck, interval: 2, timeout: 3, retries: 4, startPeriod: 5 })
    expect(m.volumes.map((v) => [v.source, v.target])).toEqual([["./data", "/data"]])
    expect(m.stopTimeout).toBe(2)
  })

  it("leaves volumes out unless asked", () => {
    expect(release("1.0.0").volumes).toEqual([])
  })

  it("bakes a release's env into its image: the broken release's check reads RELEASE_OK=no", () => {
    expect(releaseContainerfile("localhost/base:latest", "1.1.0", { RELEASE_OK: "no" }))
      .toBe("FROM localhost/base:latest\nENV RELEASE_OK=no\nLABEL x.release=1.1.0\n")
    expect(releaseContainerfile("localhost/base:latest", "1.2.0")).toBe("FROM localhost/base:latest\nLABEL x.release=1.2.0\n")
  })
})

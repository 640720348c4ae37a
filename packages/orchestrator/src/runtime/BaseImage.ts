/**
 * The offline base image every demo app builds on: `localhost/archipelago/base:latest`, made
 * from the host's static busybox with `podman import`, no registry needed. The same recipe as
 * `scripts/build-base-image.sh`; both stamp the same content hash, so either one's image
 * satisfies the other and a re-run is a no-op.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Result, Schema } from "effect"
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "../fs/internal/Files.js"
import * as Command from "./PodmanCommand.js"
import { CommandFailed, EngineUnavailable } from "./RuntimeError.js"

/**
 * @since 0.1.0
 * @category constants
 */
export const ref = "localhost/archipelago/base:latest"

/**
 * The label holding the hash of the image's inputs.
 *
 * @since 0.1.0
 * @category constants
 */
export const hashLabel = "io.archipelago.base-hash"

/**
 * Bumped whenever the image's layout changes, so existing images are rebuilt.
 *
 * @since 0.1.0
 * @category constants
 */
export const recipe = "archipelago-base-v1"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly ref?: string
  readonly busybox?: string
  readonly podman?: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Result {
  readonly ref: string
  readonly hash: string
  /** False when an image with the same hash already existed. */
  readonly built: boolean
}

/**
 * The content hash: sha256 of the busybox binary followed by the recipe name.
 *
 * @since 0.1.0
 * @category utils
 */
export const contentHash = (busybox: Uint8Array): string => createHash("sha256").update(busybox).update(recipe).digest("hex")

const passwd = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
const group = "root:x:0:\nnogroup:x:65534:\n"

const ImageLabels = Schema.Array(
  Schema.Struct({ Config: Schema.optional(Schema.Struct({ Labels: Schema.optional(Schema.NullOr(Schema.Record(Schema.String, Schema.String))) })) })
)

const exec = (file: string, args: ReadonlyArray<string>) => Command.run(file, args)

const must = (file: string, args: ReadonlyArray<string>) =>
  exec(file, args).pipe(
    Effect.filterOrFail(
      (r) => r.exitCode === 0,
      (r) => new CommandFailed({ argv: [file, ...args], exitCode: r.exitCode, stderr: r.stderr })
    )
  )

const fsStep = <A>(what: string, f: () => Promise<A>) =>
  Effect.tryPromise({ try: f, catch: (e) => new CommandFailed({ argv: [what], exitCode: -1, stderr: String(e) }) })

/**
 * The hash label of an existing image, or undefined when it is missing or unlabelled.
 *
 * @since 0.1.0
 * @category utils
 */
export const currentHash = Effect.fn("BaseImage.currentHash")(function* (image: string, podman = "podman") {
  const r = yield* exec(podman, ["image", "inspect", "--format", "json", image])
  if (r.exitCode !== 0) return undefined
  const decoded = Schema.decodeUnknownResult(Schema.fromJsonString(ImageLabels))(r.stdout)
  return Result.isSuccess(decoded) ? decoded.success[0]?.Config?.Labels?.[hashLabel] : undefined
})

/**
 * Builds the base image unless an image with the same content hash exists.
 *
 * @since 0.1.0
 * @category constructors
 */
export const ensure = Effect.fn("BaseImage.ensure")(function* (options: Options = {}) {
  const image = options.ref ?? ref
  const podman = options.podman ?? "podman"
  const busyboxPath = options.busybox ?? "/bin/busybox"
  const busybox = yield* fsStep(`read ${busyboxPath}`, () => readFile(busyboxPath)).pipe(
    Effect.mapError(
      () => new EngineUnavailable({ reason: `${busyboxPath} is missing`, hint: "apt-get install -y busybox-static" })
    )
  )
  const hash = contentHash(busybox)
  if ((yield* currentHash(image, podman)) === hash) return { ref: image, hash, built: false } satisfies Result
  const applets = (yield* must(busyboxPath, ["--list"])).stdout.split("\n").map((a) => a.trim()).filter((a) => a !== "" && a !== "busybox" && !a.includes("/"))
  yield* Effect.acquireUseRelease(
    fsStep("mkdtemp", () => mkdtemp(join(tmpdir(), "archipelago-base-"))),
    (dir) =>
      Effect.gen(function* () {
        const root = join(dir, "rootfs")
        yield* fsStep("write rootfs", async () => {
          for (const d of ["bin", "etc", "tmp", "var/www", "root"]) await mkdir(join(root, d), { recursive: true })
          await chmod(join(root, "tmp"), 0o1777)
          await writeFile(join(root, "bin/busybox"), busybox, { mode: 0o755 })
          for (const a of applets) await symlink("busybox", join(root, "bin", a))
          await writeFile(join(root, "etc/passwd"), passwd)
          await writeFile(join(root, "etc/group"), group)
        })
        const tar = join(dir, "rootfs.tar")
        yield* must("tar", ["--numeric-owner", "--owner=0", "--group=0", "-C", root, "-cf", tar, "."])
        yield* must(podman, [
          "import",
          "--quiet",
          "--change",
          `LABEL ${hashLabel}=${hash}`,
          "--change",
          "ENV PATH=/bin",
          "--change",
          'CMD ["/bin/sh"]',
          tar,
          image
        ])
      }),
    (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
  )
  yield* Effect.logInfo("built base image", { ref: image, hash })
  return { ref: image, hash, built: true } satisfies Result
})

/**
 * The hook registry: implements the orchestrator's `HookRegistry` port. It runs the hooks a
 * manifest names, in order, writes every rendered file atomically under the data dir, and
 * reports `changed` when any file changed on disk, which makes the orchestrator restart the app.
 * Rendering on every reconcile is the drift repair: an untouched file is not even rewritten.
 *
 * @example
 * ```ts
 * import { Builtins, Hooks } from "@archipelago/hooks"
 * const hooks = Hooks.layer([...Builtins.builtins, myHook], { dataDir: "/var/lib/archipelago" })
 * ```
 *
 * @since 0.1.0
 */
import * as NodePath from "node:path"
import { AppId, HookRegistry, SafeFile, Settings, Spec } from "@archipelago/orchestrator"
import { Effect, Layer, Option } from "effect"
import type { HookContext, PreStartHook, RenderedFile } from "./PreStartHook.js"
import { defaultMaxFileBytes, namePattern, ProviderFileError } from "./PreStartHook.js"
import * as Secrets from "./Secrets.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The node's data dir; every rendered file must lie under it. */
  readonly dataDir: string
  /** The node's settings, handed to hooks (default: the stock settings with this `dataDir`). */
  readonly settings?: Settings.Settings
}

const { HookFailed } = HookRegistry

/**
 * Validates a list of hooks: names must match the pattern and be unique. Returns the refusals.
 *
 * @since 0.1.0
 * @category utils
 */
export const validate = (hooks: ReadonlyArray<PreStartHook>): ReadonlyArray<string> => {
  const problems: Array<string> = []
  const seen = new Set<string>()
  for (const hook of hooks) {
    if (!namePattern.test(hook.name)) problems.push(`invalid hook name ${JSON.stringify(hook.name)}`)
    if (seen.has(hook.name)) problems.push(`hook ${JSON.stringify(hook.name)} is registered twice`)
    for (const app of hook.secretConsumers ?? []) {
      if (!AppId.pattern.test(app)) problems.push(`hook ${JSON.stringify(hook.name)}: invalid secret consumer ${JSON.stringify(app)}`)
    }
    seen.add(hook.name)
  }
  return problems
}

/**
 * The secret-bound hooks of a list: hook name → the apps allowed to run it (for
 * `Catalog.load(dir, { hookConsumers })`).
 *
 * @since 0.1.0
 * @category utils
 */
export const consumersOf = (hooks: ReadonlyArray<PreStartHook>): Readonly<Record<string, ReadonlyArray<string>>> => {
  const out: Record<string, ReadonlyArray<string>> = {}
  for (const hook of hooks) if (hook.secretConsumers !== undefined) out[hook.name] = [...hook.secretConsumers]
  return out
}

/**
 * The registry over the given hooks, using the `Secrets` service. Duplicate or invalid names
 * are a programming error (a defect).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  hooks: ReadonlyArray<PreStartHook>,
  options: Options
): Effect.Effect<HookRegistry.Service, never, Secrets.Secrets> =>
  Effect.gen(function*() {
    const problems = validate(hooks)
    if (problems.length > 0) return yield* Effect.die(new Error(`Hooks.layer: ${problems.join("; ")}`))
    const secrets = yield* Secrets.Secrets
    const dataDir = NodePath.resolve(options.dataDir)
    const byName = new Map(hooks.map((hook) => [hook.name, hook] as const))
    const settings: Settings.Settings = { ...(options.settings ?? Settings.defaults), dataDir }

    // Lexical checks here; SafeFile (rooted at the data dir) refuses a symlinked folder on the
    // way and never follows a symlink planted at the file itself.
    const checkPath = (hook: string, appId: string, path: string) =>
      Effect.gen(function*() {
        const fail = (reason: string) => new HookFailed({ hook, appId, reason })
        if (!NodePath.isAbsolute(path) || NodePath.resolve(path) !== path) {
          return yield* fail(`refused path ${JSON.stringify(path)}: it must be absolute and normalized`)
        }
        if (!SafeFile.isWithin(dataDir, path) || path === dataDir) {
          return yield* fail(`refused path ${path}: it is outside the data dir ${dataDir}`)
        }
        return path
      })

    const context = (hook: PreStartHook, request: HookRegistry.HookRun): HookContext => {
      const fail = (reason: string) => new HookFailed({ hook: hook.name, appId: request.appId, reason })
      return {
        appId: request.appId,
        manifest: request.manifest,
        settings,
        dataDir,
        appDataDir: Spec.appDataDir(settings, request.appId),
        fail,
        providers: request.providers ?? [],
        provider: (capability) => {
          const found = (request.providers ?? []).find((p) => Object.hasOwn(p.capabilities, capability))
          if (found === undefined) {
            return Effect.fail(fail(
              `no installed app provides ${JSON.stringify(capability)} to it: the manifest must name ${JSON.stringify(capability)} in dependsOn, and one of its providers must be installed`
            ))
          }
          const endpoints = found.capabilities[capability]!
          const providerDir = Spec.appDataDir(settings, found.appId)
          const readFile = (path: string, options?: { readonly maxBytes?: number }) => {
            const refuse = (reason: string) =>
              new ProviderFileError({ hook: hook.name, appId: request.appId, provider: found.appId, path, reason })
            if (hook.secretConsumers === undefined) {
              return Effect.fail(fail(`refused to read ${JSON.stringify(path)} of ${found.appId}: the hook declares no secretConsumers (the apps allowed to receive it)`))
            }
            const full = NodePath.resolve(providerDir, path)
            if (path.length === 0 || NodePath.isAbsolute(path) || path.split(/[\\/]/).includes("..") || !SafeFile.isWithin(providerDir, full) || full === providerDir) {
              return Effect.fail(refuse(`the path must be relative and stay inside ${providerDir}`))
            }
            const maxBytes = options?.maxBytes ?? defaultMaxFileBytes
            // The provider may be writing it (LND creates its macaroons and tls.cert at start):
            // only a settled read is used, never a torn one.
            return SafeFile.readSettled(full, { root: dataDir, maxBytes }).pipe(
              Effect.mapError((error) => refuse(error._tag === "SafeFileError" ? error.reason : error.message)),
              Effect.flatMap(Option.match({
                onNone: () => Effect.fail(refuse(`absent (or not a regular file) at ${full}`)),
                onSome: Effect.succeed
              }))
            )
          }
          return Effect.succeed({
            capability,
            appId: found.appId,
            manifest: found.manifest,
            endpoints,
            endpoint: (name: string) =>
              Object.hasOwn(endpoints, name)
                ? Effect.succeed(endpoints[name]!)
                : Effect.fail(fail(`${found.appId} provides ${JSON.stringify(capability)} without a published endpoint ${JSON.stringify(name)}`)),
            readFile
          })
        },
        secret: (name) =>
          hook.secretConsumers === undefined
            ? Effect.fail(fail(`refused secret ${JSON.stringify(name)}: the hook declares no secretConsumers (the apps allowed to receive it)`))
            : Effect.mapError(secrets.get(name), (error) => fail(error.message)),
        read: (path) =>
          Effect.flatMap(checkPath(hook.name, request.appId, path), (checked) =>
            SafeFile.readSettled(checked, { root: dataDir }).pipe(
              Effect.map(Option.map((bytes) => Buffer.from(bytes).toString("utf8"))),
              Effect.mapError((error) => fail(error.message))
            ))
      }
    }

    const changedRetries = 4

    const writeFile = (hook: string, bound: boolean, appId: string, file: RenderedFile) =>
      Effect.gen(function*() {
        const path = yield* checkPath(hook, appId, file.path)
        const secret = file.secret ?? false
        if (secret && !bound) {
          return yield* new HookFailed({
            hook,
            appId,
            reason: `refused ${path}: a file holding a secret needs the hook to declare secretConsumers`
          })
        }
        const mode = file.mode ?? (secret ? SafeFile.secretFileMode : 0o644)
        if (secret && (mode & 0o077) !== 0) {
          return yield* new HookFailed({
            hook,
            appId,
            reason: `refused mode ${mode.toString(8)} for ${path}: a file holding a secret must be 0600 or narrower`
          })
        }
        // the app's own folder (and <data>/apps) is the owner's alone, whatever its first file
        // holds; folders below it keep the file's audience (a non-secret page an app's httpd
        // running as nobody serves needs 0755)
        yield* SafeFile.makeDirectory(Spec.appDataDir(settings, appId), { root: dataDir, mode: SafeFile.secretDirMode }).pipe(
          Effect.mapError((error) => new HookFailed({ hook, appId, reason: error.message }))
        )
        const options = { root: dataDir, mode, ...(secret ? { dirMode: SafeFile.secretDirMode } : {}) }
        const result = yield* (file.basedOn === undefined
          ? SafeFile.write(path, file.content, options)
          : SafeFile.writeIfUnchanged(path, file.content, { ...options, expected: file.basedOn })).pipe(
            Effect.catchIf(
              (error) => error._tag !== "FileChanged",
              (error) => new HookFailed({ hook, appId, reason: error.message })
            )
          )
        yield* result.written
          ? Effect.logInfo("pre-start hook wrote a changed file")
          : Effect.logDebug("pre-start hook file already up to date")
        return { hook, path, changed: result.written, sha256: result.sha256 } satisfies HookRegistry.HookFile
      }).pipe(Effect.annotateLogs({ hook, appId, path: file.path }))

    const runOne = (name: string, request: HookRegistry.HookRun) =>
      Effect.gen(function*() {
        const hook = byName.get(name)
        if (hook === undefined) {
          return yield* new HookFailed({ hook: name, appId: request.appId, reason: "no hook of that name is registered" })
        }
        const render = hook.render(context(hook, request)).pipe(
          Effect.catchTag("ProviderFileError", (error) => new HookFailed({ hook: name, appId: request.appId, reason: error.message })),
          Effect.catchDefect((defect) =>
            new HookFailed({
              hook: name,
              appId: request.appId,
              reason: `the hook crashed (${defect instanceof Error ? defect.name : typeof defect})`
            })
          )
        )
        // A file the app rewrote between the render's read and its write (`basedOn` no longer
        // holds) is rendered again from what is there now, a few times, never overwritten.
        const attempt = Effect.gen(function*() {
          const rendered = yield* render
          const paths = rendered.map((f) => f.path)
          const dup = paths.find((p, i) => paths.indexOf(p) !== i)
          if (dup !== undefined) {
            return yield* new HookFailed({ hook: name, appId: request.appId, reason: `rendered ${dup} twice` })
          }
          return yield* Effect.forEach(rendered, (file) => writeFile(name, hook.secretConsumers !== undefined, request.appId, file))
        })
        return yield* attempt.pipe(
          Effect.tapErrorTag("FileChanged", (error) =>
            Effect.logDebug("a rendered file changed under its hook: rendering again").pipe(Effect.annotateLogs({ path: error.path }))),
          Effect.retry({ times: changedRetries - 1, while: (error) => error._tag === "FileChanged" }),
          Effect.catchTag("FileChanged", (error) =>
            new HookFailed({
              hook: name,
              appId: request.appId,
              reason: `${error.path} kept changing while the hook rendered it (${changedRetries} attempts); the next pass tries again`
            }))
        )
      })

    const run = Effect.fn("Hooks.run")(function*(request: HookRegistry.HookRun) {
      // Every binding is checked before any hook renders, so a refused run writes nothing.
      for (const name of request.hooks) {
        const allowed = byName.get(name)?.secretConsumers
        if (allowed !== undefined && !allowed.includes(request.appId)) {
          return yield* new HookRegistry.HookNotAllowed({ hook: name, appId: request.appId, allowed })
        }
      }
      const files: Array<HookRegistry.HookFile> = []
      for (const name of request.hooks) files.push(...(yield* runOne(name, request)))
      return { changed: files.some((f) => f.changed), files } satisfies HookRegistry.HookResult
    })

    return { names: hooks.map((h) => h.name), consumers: consumersOf(hooks), run }
  })

/**
 * The registry over the given hooks, with secrets read from `<dataDir>/secrets/`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (hooks: ReadonlyArray<PreStartHook>, options: Options): Layer.Layer<HookRegistry.HookRegistry> =>
  Layer.effect(HookRegistry.HookRegistry, make(hooks, options)).pipe(Layer.provide(Secrets.layer(options)))

/**
 * The registry over the given hooks, taking the `Secrets` service from the context (e.g.
 * `Secrets.layerMemory` in tests).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithSecrets = (
  hooks: ReadonlyArray<PreStartHook>,
  options: Options
): Layer.Layer<HookRegistry.HookRegistry, never, Secrets.Secrets> =>
  Layer.effect(HookRegistry.HookRegistry, make(hooks, options))

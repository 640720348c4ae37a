/**
 * `@archipelago/orchestrator`: the pure lifecycle core and the Effect services that keep podman
 * app containers in the state their owner asked for.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * from "./domain/index.js"
/** @since 0.1.0 */
export * as Manifest from "./manifest/Manifest.js"
/** @since 0.1.0 */
export * as Catalog from "./manifest/Catalog.js"
/** @since 0.1.0 */
export * as Loader from "./manifest/Loader.js"
/** @since 0.1.0 */
export * as ManifestError from "./manifest/ManifestError.js"
/** @since 0.1.0 */
export * as Resolve from "./manifest/Resolve.js"
/** @since 0.1.0 */
export * as Settings from "./manifest/Settings.js"
/** @since 0.1.0 */
export * as Spec from "./manifest/Spec.js"
/** @since 0.1.0 */
export * as ContainerRuntime from "./runtime/ContainerRuntime.js"
/** @since 0.1.0 */
export * as ContainerSpec from "./runtime/ContainerSpec.js"
/** @since 0.1.0 */
export * as RuntimeError from "./runtime/RuntimeError.js"
/** @since 0.1.0 */
export * as PodmanRuntime from "./runtime/PodmanRuntime.js"
/** @since 0.1.0 */
export * as PodmanArgv from "./runtime/PodmanArgv.js"
/** @since 0.1.0 */
export * as PodmanJson from "./runtime/PodmanJson.js"
/** @since 0.1.0 */
export * as BaseImage from "./runtime/BaseImage.js"
/** @since 0.1.0 */
export * as HookRegistry from "./services/HookRegistry.js"
/** @since 0.1.0 */
export * as AppViews from "./services/AppViews.js"
/** @since 0.1.0 */
export * as Lifecycle from "./services/Lifecycle.js"
/** @since 0.1.0 */
export * as ServiceError from "./services/ServiceError.js"

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
export * as Capability from "./manifest/Capability.js"
/** @since 0.1.0 */
export * as Catalog from "./manifest/Catalog.js"
/** @since 0.1.0 */
export * as Loader from "./manifest/Loader.js"
/** @since 0.1.0 */
export * as SchemaIssues from "./schema/SchemaIssues.js"
/** @since 0.1.0 */
export * as ManifestError from "./manifest/ManifestError.js"
/** @since 0.1.0 */
export * as Resolve from "./manifest/Resolve.js"
/** @since 0.1.0 */
export * as Rules from "./manifest/Rules.js"
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
export * as SimulatedRuntime from "./runtime/SimulatedRuntime.js"
/** @since 0.1.0 */
export * as BuildLeftovers from "./runtime/BuildLeftovers.js"
/** @since 0.1.0 */
export * as PodmanCommand from "./runtime/PodmanCommand.js"
/** @since 0.1.0 */
export * as PodmanArgv from "./runtime/PodmanArgv.js"
/** @since 0.1.0 */
export * as PodmanJson from "./runtime/PodmanJson.js"
/** @since 0.1.0 */
export * as PodmanEventsFile from "./runtime/PodmanEventsFile.js"
/** @since 0.1.0 */
export * as BaseImage from "./runtime/BaseImage.js"
/** @since 0.1.0 */
export * as SafeFile from "./fs/SafeFile.js"
/** @since 0.1.0 */
export * as HookRegistry from "./services/HookRegistry.js"
/** @since 0.1.0 */
export * as AppViews from "./services/AppViews.js"
/** @since 0.1.0 */
export * as Lifecycle from "./services/Lifecycle.js"
/** @since 0.1.0 */
export * as Request from "./domain/Request.js"
/** @since 0.1.0 */
export * as ServiceError from "./domain/ServiceError.js"
/** @since 0.1.0 */
export * as Plan from "./reconcile/Plan.js"
/** @since 0.1.0 */
export * as AppFolders from "./services/AppFolders.js"
export * as Apps from "./services/Apps.js"
/** @since 0.1.0 */
export * as AppLocks from "./services/AppLocks.js"
/** @since 0.1.0 */
export * as InstallLog from "./services/InstallLog.js"
/** @since 0.1.0 */
export * as StateStore from "./services/StateStore.js"
/** @since 0.1.0 */
export * as Observation from "./reconcile/Observation.js"
/** @since 0.1.0 */
export * as Orchestrator from "./services/Orchestrator.js"
/** @since 0.1.0 */
export * as Scanner from "./services/Scanner.js"
/** @since 0.1.0 */
export * as Reconciler from "./services/Reconciler.js"
/** @since 0.1.0 */
export * as Instance from "./services/Instance.js"
/** @since 0.1.0 */
export * as Archipelago from "./services/Archipelago.js"
/** @since 0.1.0 */
export * as Quadlet from "./systemd/Quadlet.js"
/** @since 0.1.0 */
export * as PodmanHealth from "./runtime/PodmanHealth.js"
/** @since 0.1.0 */
export * as PodmanSelfHeal from "./runtime/PodmanSelfHeal.js"
/** @since 0.1.0 */
export * as Systemctl from "./systemd/Systemctl.js"
/** @since 0.1.0 */
export * as UnitOwned from "./systemd/UnitOwned.js"
/** @since 0.1.0 */
export * as QuadletInstaller from "./systemd/QuadletInstaller.js"
/** @since 0.1.0 */
export * as HealthGate from "./services/HealthGate.js"
/** @since 0.1.0 */
export * as Archive from "./backup/Archive.js"
/** @since 0.1.0 */
export * as ArchiveFile from "./backup/ArchiveFile.js"
/** @since 0.1.0 */
export * as Backups from "./services/Backups.js"
/** @since 0.1.0 */
export * as DiskUsage from "./services/DiskUsage.js"
/** @since 0.1.0 */
export * as BackupWork from "./services/BackupWork.js"
/** @since 0.1.0 */
export * as BackupScheduler from "./services/BackupScheduler.js"
/** @since 0.1.0 */
export * as ChannelState from "./services/ChannelState.js"
/** @since 0.1.0 */
export * as WatchedRetention from "./services/WatchedRetention.js"
/** @since 0.1.0 */
export * as PreBackupHooks from "./services/PreBackupHooks.js"
/** @since 0.1.0 */
export * as PodmanVolumes from "./runtime/PodmanVolumes.js"

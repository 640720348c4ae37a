/**
 * `@archipelago/hooks`: pre-start hook plugins for Archipelago apps (bitcoin UI nginx.conf,
 * bitcoin rpcauth, lnd.conf, ElectrumX's daemon.env, ThunderHub's account config, the Electrum UI page, the demo UI page) with file-backed secrets; files are written
 * through the orchestrator's `SafeFile` (atomic, never through a symlink). `Hooks.layer` implements the orchestrator's `HookRegistry`.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Bcrypt from "./Bcrypt.js"
/** @since 0.1.0 */
export * as BitcoinConf from "./BitcoinConf.js"
/** @since 0.1.0 */
export * as Builtins from "./Builtins.js"
/** @since 0.1.0 */
export * as DemoPage from "./DemoPage.js"
/** @since 0.1.0 */
export * as ElectrumPage from "./ElectrumPage.js"
/** @since 0.1.0 */
export * as ElectrumxEnv from "./ElectrumxEnv.js"
/** @since 0.1.0 */
export * as Hooks from "./Hooks.js"
/** @since 0.1.0 */
export * as LndConf from "./LndConf.js"
/** @since 0.1.0 */
export * as NginxConf from "./NginxConf.js"
/** @since 0.1.0 */
export * as PreStartHook from "./PreStartHook.js"
/** @since 0.1.0 */
export * as RenderError from "./RenderError.js"
/** @since 0.1.0 */
export * as RpcAuth from "./RpcAuth.js"
/** @since 0.1.0 */
export * as Secrets from "./Secrets.js"
/** @since 0.1.0 */
export * as ThunderHubConf from "./ThunderHubConf.js"

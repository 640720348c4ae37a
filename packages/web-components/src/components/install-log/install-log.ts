/**
 * Defines `<archy-install-log>`.
 *
 * @since 0.1.0
 */
import { ArchyInstallLog } from "./install-log.component.js"

export { ArchyInstallLog }
export { progressOf } from "./install-log.component.js"

if (!customElements.get("archy-install-log")) customElements.define("archy-install-log", ArchyInstallLog)

declare global {
  interface HTMLElementTagNameMap {
    "archy-install-log": ArchyInstallLog
  }
}

/**
 * Defines `<archy-container-logs>`.
 *
 * @since 0.1.0
 */
import { ArchyContainerLogs } from "./container-logs.component.js"

export { ArchyContainerLogs }
export { maxLines } from "./container-logs.component.js"

if (!customElements.get("archy-container-logs")) customElements.define("archy-container-logs", ArchyContainerLogs)

declare global {
  interface HTMLElementTagNameMap {
    "archy-container-logs": ArchyContainerLogs
  }
}

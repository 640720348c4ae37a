/**
 * Defines `<archy-status-badge>`.
 *
 * @since 0.1.0
 */
import { ArchyStatusBadge } from "./status-badge.component.js"

export { ArchyStatusBadge }

if (!customElements.get("archy-status-badge")) customElements.define("archy-status-badge", ArchyStatusBadge)

declare global {
  interface HTMLElementTagNameMap {
    "archy-status-badge": ArchyStatusBadge
  }
}

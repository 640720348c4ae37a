/**
 * Defines `<archy-dashboard>`.
 *
 * @since 0.1.0
 */
import { ArchyDashboard } from "./dashboard.component.js"

export { ArchyDashboard }

if (!customElements.get("archy-dashboard")) customElements.define("archy-dashboard", ArchyDashboard)

declare global {
  interface HTMLElementTagNameMap {
    "archy-dashboard": ArchyDashboard
  }
}

/**
 * Defines `<archy-app-card>`.
 *
 * @since 0.1.0
 */
import { ArchyAppCard } from "./app-card.component.js"

export { ArchyAppCard }

if (!customElements.get("archy-app-card")) customElements.define("archy-app-card", ArchyAppCard)

declare global {
  interface HTMLElementTagNameMap {
    "archy-app-card": ArchyAppCard
  }
}

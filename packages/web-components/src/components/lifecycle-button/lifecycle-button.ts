/**
 * Defines `<archy-lifecycle-button>`.
 *
 * @since 0.1.0
 */
import { ArchyLifecycleButton } from "./lifecycle-button.component.js"
import type { LifecycleRequestEvent } from "./lifecycle-button.component.js"

export { ArchyLifecycleButton }
export type { LifecycleRequestDetail, LifecycleRequestEvent } from "./lifecycle-button.component.js"

if (!customElements.get("archy-lifecycle-button")) customElements.define("archy-lifecycle-button", ArchyLifecycleButton)

declare global {
  interface HTMLElementTagNameMap {
    "archy-lifecycle-button": ArchyLifecycleButton
  }
  interface GlobalEventHandlersEventMap {
    "archy-lifecycle-request": LifecycleRequestEvent
  }
}

/**
 * Defines `<archy-backup-panel>`.
 *
 * @since 0.1.0
 */
import { ArchyBackupPanel } from "./backup-panel.component.js"

export { ArchyBackupPanel }
export { formatAge } from "./backup-panel.component.js"

if (!customElements.get("archy-backup-panel")) customElements.define("archy-backup-panel", ArchyBackupPanel)

declare global {
  interface HTMLElementTagNameMap {
    "archy-backup-panel": ArchyBackupPanel
  }
}

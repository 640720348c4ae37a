/**
 * @since 0.1.0
 */
import { css } from "lit"
import { theme } from "../../styles/theme.js"

/**
 * @since 0.1.0
 * @category styles
 */
export const styles = [
  theme,
  css`
    :host {
      display: block;
      min-width: 0;
      font-size: 0.75rem;
    }
    [part="log"] {
      margin: 0;
      padding: 0.5rem 0.65rem;
      max-height: var(--archy-log-max-height, 12rem);
      overflow: auto;
      border-radius: calc(var(--_archy-radius) * 0.6);
      background: var(--_archy-bg);
      border: 1px solid var(--_archy-border);
      font-family: var(--archy-mono-font, ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace);
      line-height: 1.45;
      white-space: pre-wrap;
      overflow-wrap: anywhere;
    }
    [part="log"]:focus-visible {
      outline: 3px solid var(--_archy-focus);
      outline-offset: 2px;
    }
    .empty,
    [part="status"] {
      color: var(--_archy-muted);
    }
    [part="status"] {
      margin: 0.35rem 0 0;
    }
  `
]

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
      font-size: 0.8125rem;
    }
    [part="progress"] {
      display: block;
      width: 100%;
      height: 0.4rem;
      margin: 0 0 0.5rem;
      accent-color: var(--_archy-accent);
    }
    [part="lines"] {
      list-style: none;
      margin: 0;
      padding: 0.5rem 0.65rem;
      max-height: var(--archy-log-max-height, 10rem);
      overflow: auto;
      border-radius: calc(var(--_archy-radius) * 0.6);
      background: var(--_archy-bg);
      border: 1px solid var(--_archy-border);
      font-family: var(--archy-mono-font, ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace);
      line-height: 1.5;
    }
    [part="lines"]:focus-visible {
      outline: 3px solid var(--_archy-focus);
      outline-offset: 2px;
    }
    li {
      white-space: pre-wrap;
      word-break: break-word;
    }
    time {
      color: var(--_archy-muted);
      margin-right: 0.5em;
    }
    .warn {
      color: var(--_archy-warning);
    }
    .error {
      color: var(--_archy-danger);
    }
    [part="empty"] {
      color: var(--_archy-muted);
      margin: 0;
    }
  `
]

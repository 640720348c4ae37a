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
    }
    [part="card"] {
      position: relative;
      display: flex;
      flex-direction: column;
      gap: 0.75rem;
      height: 100%;
      box-sizing: border-box;
      padding: 1.1rem 1.2rem;
      border-radius: var(--_archy-radius);
      background: var(--_archy-surface);
      border: 1px solid var(--_archy-border);
      box-shadow: var(--archy-card-shadow, 0 1px 2px rgb(0 0 0 / 0.05));
    }
    [part="header"] {
      display: flex;
      flex-wrap: wrap;
      align-items: flex-start;
      justify-content: space-between;
      gap: 0.5rem 0.75rem;
    }
    .title {
      flex: 1 1 9rem;
      min-width: 0;
    }
    [part="name"] {
      margin: 0;
      font-size: 1.0625rem;
      font-weight: 650;
      line-height: 1.3;
      overflow-wrap: anywhere;
    }
    [part="meta"] {
      margin: 0.15rem 0 0;
      color: var(--_archy-muted);
      font-size: 0.8125rem;
      overflow-wrap: anywhere;
    }
    [part="details"] {
      display: grid;
      grid-template-columns: auto 1fr;
      gap: 0.3rem 0.9rem;
      margin: 0;
      font-size: 0.875rem;
    }
    dt {
      color: var(--_archy-muted);
    }
    dd {
      margin: 0;
      min-width: 0;
      overflow-wrap: anywhere;
    }
    .health-healthy {
      color: var(--_archy-success);
    }
    .health-starting {
      color: var(--_archy-warning);
    }
    .health-unhealthy {
      color: var(--_archy-danger);
    }
    a {
      color: var(--_archy-accent);
      font-weight: 600;
    }
    a:focus-visible,
    button:focus-visible,
    input:focus-visible {
      outline: 3px solid var(--_archy-focus);
      outline-offset: 2px;
    }
    [part="notice"] {
      margin: 0;
      padding: 0.5rem 0.7rem;
      border-radius: calc(var(--_archy-radius) * 0.6);
      background: color-mix(in srgb, var(--_archy-warning) 12%, transparent);
      font-size: 0.8125rem;
      overflow-wrap: anywhere;
    }
    [part="error"] {
      display: flex;
      gap: 0.5rem;
      align-items: flex-start;
      justify-content: space-between;
      margin: 0;
      padding: 0.5rem 0.7rem;
      border-radius: calc(var(--_archy-radius) * 0.6);
      background: var(--_archy-danger-bg);
      color: var(--_archy-danger);
      font-size: 0.8125rem;
    }
    /* an image hash or a path has no break opportunity: it may break anywhere, never overflow */
    [part="error"] span {
      min-width: 0;
      overflow-wrap: anywhere;
      white-space: pre-wrap;
    }
    div[part="error"] {
      flex-direction: column;
      align-items: stretch;
      min-width: 0;
    }
    .error-head {
      margin: 0;
      font-weight: 600;
      overflow-wrap: anywhere;
    }
    [part="error-details"] {
      min-width: 0;
      font-size: 0.75rem;
    }
    [part="error-details"] summary {
      cursor: pointer;
    }
    [part="error-details"] summary:focus-visible {
      outline: 3px solid var(--_archy-focus);
      outline-offset: 2px;
    }
    [part="error-details"] pre {
      margin: 0.3rem 0 0;
      max-height: 12rem;
      overflow-y: auto;
      white-space: pre-wrap;
      overflow-wrap: anywhere;
      font-family: var(--archy-mono-font, ui-monospace, SFMono-Regular, Menlo, monospace);
      color: var(--_archy-text);
    }
    [part="error"] button {
      flex: none;
      font: inherit;
      font-size: 0.75rem;
      background: transparent;
      color: inherit;
      border: 1px solid currentColor;
      border-radius: 6px;
      padding: 0.1rem 0.5rem;
      cursor: pointer;
    }
    [part="memory-bar"] {
      display: block;
      width: 100%;
      height: 0.5rem;
      margin: 0.2rem 0 0.15rem;
      appearance: none;
    }
    [part="memory-bar"]::-webkit-meter-bar {
      background: var(--_archy-neutral-bg);
      border: 1px solid var(--_archy-border);
      border-radius: 999px;
      height: 0.5rem;
    }
    [part="memory-bar"]::-webkit-meter-optimum-value {
      background: var(--_archy-success);
      border-radius: 999px;
    }
    [part="memory-bar"]::-webkit-meter-suboptimum-value {
      background: var(--_archy-warning);
      border-radius: 999px;
    }
    [part="memory-bar"]::-webkit-meter-even-less-good-value {
      background: var(--_archy-danger);
      border-radius: 999px;
    }
    [part="memory"],
    [part="cpu"] {
      font-variant-numeric: tabular-nums;
    }
    [part="logs"] summary,
    [part="backups"] summary {
      cursor: pointer;
      color: var(--_archy-muted);
      font-size: 0.8125rem;
      font-weight: 600;
    }
    [part="logs"] summary:focus-visible,
    [part="backups"] summary:focus-visible {
      outline: 3px solid var(--_archy-focus);
      outline-offset: 2px;
    }
    [part="logs"][open] summary,
    [part="backups"][open] summary {
      margin-bottom: 0.4rem;
    }
    [part="actions"] {
      margin-top: auto;
      padding-top: 0.25rem;
      display: flex;
      flex-wrap: wrap;
      gap: 0.4rem;
      align-items: center;
    }
    [part="remove-confirm"] {
      display: flex;
      flex-direction: column;
      gap: 0.5rem;
      padding: 0.6rem 0.7rem;
      border: 1px solid var(--_archy-border);
      border-radius: calc(var(--_archy-radius) * 0.6);
      font-size: 0.8125rem;
      overflow-wrap: anywhere;
    }
    [part="remove-confirm"] p {
      margin: 0;
    }
    .purge {
      display: flex;
      gap: 0.45rem;
      align-items: flex-start;
      color: var(--_archy-danger);
      font-weight: 600;
    }
    .purge.checked {
      background: var(--_archy-danger-bg);
      border-radius: 6px;
    }
    .confirm-actions {
      display: flex;
      flex-wrap: wrap;
      gap: 0.4rem;
    }
    .danger {
      background: var(--_archy-danger) !important;
      border-color: var(--_archy-danger) !important;
      color: var(--_archy-surface) !important;
    }
    [part="remove"],
    [part="remove-confirm-button"],
    [part="remove-cancel"],
    [part="update"] {
      font: inherit;
      font-size: 0.8125rem;
      padding: 0.35rem 0.7rem;
      border-radius: calc(var(--_archy-radius) * 0.6);
      border: 1px solid var(--_archy-accent, currentColor);
      background: transparent;
      color: inherit;
      cursor: pointer;
    }
  `
]

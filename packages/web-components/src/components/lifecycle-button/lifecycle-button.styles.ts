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
      display: inline-flex;
    }
    [part="base"] {
      display: inline-flex;
      gap: 0.5rem;
      flex-wrap: wrap;
    }
    button {
      display: inline-flex;
      align-items: center;
      justify-content: center;
      gap: 0.5em;
      min-width: 7.5em;
      min-height: 2.25rem;
      padding: 0.45em 1em;
      border-radius: calc(var(--_archy-radius) * 0.7);
      border: 1px solid transparent;
      font: inherit;
      font-size: 0.9375rem;
      font-weight: 600;
      cursor: pointer;
      transition: background-color 120ms, border-color 120ms, opacity 120ms;
    }
    button:focus-visible {
      outline: 3px solid var(--_archy-focus);
      outline-offset: 2px;
    }
    [part="button"] {
      background: var(--_archy-accent);
      color: var(--_archy-accent-text);
    }
    [part="button"]:hover:not([aria-disabled="true"]) {
      background: color-mix(in srgb, var(--_archy-accent) 88%, black);
    }
    [part="button"][data-action="stop"] {
      background: var(--_archy-surface);
      color: var(--_archy-text);
      border-color: var(--_archy-border);
    }
    [part="button"][data-action="stop"]:hover {
      border-color: var(--_archy-danger);
      color: var(--_archy-danger);
    }
    [part="button"][aria-disabled="true"] {
      cursor: progress;
      background: var(--_archy-neutral-bg);
      color: var(--_archy-text);
      border-color: var(--_archy-border);
    }
    [part="restart"] {
      background: transparent;
      color: var(--_archy-text);
      border-color: var(--_archy-border);
      min-width: 0;
    }
    [part="restart"]:hover {
      border-color: var(--_archy-accent);
    }
    [part="spinner"] {
      width: 0.9em;
      height: 0.9em;
      border-radius: 50%;
      border: 2px solid currentColor;
      border-right-color: transparent;
      animation: archy-spin 0.8s linear infinite;
      flex: none;
    }
    @keyframes archy-spin {
      to {
        transform: rotate(360deg);
      }
    }
    @media (prefers-reduced-motion: reduce) {
      [part="spinner"] {
        animation-duration: 2.4s;
      }
    }
  `
]

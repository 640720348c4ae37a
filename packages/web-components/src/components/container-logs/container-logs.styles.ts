/**
 * @since 0.1.0
 */
import { css } from "lit"
import { logView } from "../../styles/log.js"

/**
 * @since 0.1.0
 * @category styles
 */
export const styles = [
  ...logView,
  css`
    :host {
      min-width: 0;
      font-size: 0.75rem;
      --_archy-log-default-height: 12rem;
    }
    [part="log"] {
      line-height: 1.45;
      white-space: pre-wrap;
      overflow-wrap: anywhere;
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

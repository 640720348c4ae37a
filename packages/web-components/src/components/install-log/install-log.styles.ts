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
      font-size: 0.8125rem;
      --_archy-log-default-height: 10rem;
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
      line-height: 1.5;
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

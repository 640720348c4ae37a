/**
 * A Lit reactive controller that keeps an element in step with an `ArchyClient`: it starts the
 * client while the element is connected and re-renders the element on every change.
 *
 * @since 0.1.0
 */
import type { ReactiveController, ReactiveControllerHost } from "lit"
import type { ArchyClient } from "./ArchyClient.js"

/**
 * @example
 * class MyView extends LitElement {
 *   private archy = new ArchyController(this, client)
 *   render() { return html`${this.archy.client?.apps.length} apps` }
 * }
 *
 * @since 0.1.0
 * @category constructors
 */
export class ArchyController implements ReactiveController {
  private current: ArchyClient | undefined
  private unsubscribe: (() => void) | undefined
  private connected = false

  constructor(
    private readonly host: ReactiveControllerHost,
    client?: ArchyClient
  ) {
    this.current = client
    host.addController(this)
  }

  get client(): ArchyClient | undefined {
    return this.current
  }

  /** Switches to another client (or none), releasing the previous one. */
  set client(client: ArchyClient | undefined) {
    if (client === this.current) return
    if (this.connected) this.release()
    this.current = client
    if (this.connected) this.acquire()
    this.host.requestUpdate()
  }

  hostConnected(): void {
    this.connected = true
    this.acquire()
  }

  hostDisconnected(): void {
    this.connected = false
    this.release()
  }

  private acquire(): void {
    const c = this.current
    if (c === undefined) return
    this.unsubscribe = c.subscribe(() => this.host.requestUpdate())
    c.start()
  }

  private release(): void {
    this.unsubscribe?.()
    this.unsubscribe = undefined
    this.current?.stop()
  }
}

/** Owns the drop client and its dispatcher; swapping the proxy setting closes the old connections. */
import type { Dispatcher } from 'undici';
import { type ProxySetting, createDispatcher } from './proxyDispatcher.js';
import { DropClient } from './dropClient.js';

export class Network {
  private dispatcher: Dispatcher;
  private current: DropClient;

  constructor(private readonly timeoutMs?: number) {
    this.dispatcher = createDispatcher({ kind: 'none' });
    this.current = new DropClient({ dispatcher: this.dispatcher, timeoutMs });
  }

  get client(): DropClient {
    return this.current;
  }

  /** Routes all further drop traffic through `proxy`. @throws ApiFailure 'bad_input' */
  configure(proxy: ProxySetting): void {
    const next = createDispatcher(proxy);
    const previous = this.dispatcher;
    this.dispatcher = next;
    this.current = new DropClient({ dispatcher: next, timeoutMs: this.timeoutMs });
    void previous.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.dispatcher.close().catch(() => undefined);
  }
}

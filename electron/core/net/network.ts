/** Owns the drop client and its dispatcher; swapping the proxy setting closes the old connections. */
import type { Agent } from 'node:http';
import type { Dispatcher } from 'undici';
import { type ProxySetting, createDispatcher } from './proxyDispatcher.js';
import { DropClient } from './dropClient.js';
import { createTunnelAgent } from './tunnelAgent.js';

export class Network {
  private dispatcher: Dispatcher;
  private current: DropClient;
  private proxy: ProxySetting = { kind: 'none' };

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
    this.proxy = proxy;
    void previous.close().catch(() => undefined);
  }

  /** The agent the push WebSocket to `url` must use (undefined: connect directly). */
  webSocketAgent(url: string): Agent | undefined {
    return createTunnelAgent(this.proxy, url.startsWith('wss:'));
  }

  async close(): Promise<void> {
    await this.dispatcher.close().catch(() => undefined);
  }
}

/**
 * Owns everything drop traffic shares: the dispatcher (swapping the proxy setting closes the old
 * connections), the destination guard, the connection pool and the stalled-host breakers.
 * A server the user is about to put a drop on counts as theirs while it is probed (`asOwnServer`).
 */
import type { BlobHttp } from '../files/blobTransfer.js';
import type { Agent } from 'node:http';
import type { LookupFunction } from 'node:net';
import type { Dispatcher } from 'undici';
import { DropClient, type DropTraffic } from './dropClient.js';
import { DestinationGuard, type DestinationRules, type Resolve, httpOrigin } from './destinationGuard.js';
import { type BreakerPolicy, DEFAULT_BREAKER, ServerBreakers } from './serverBreaker.js';
import { type ProxySetting, createDispatcher } from './proxyDispatcher.js';
import { DEFAULT_GATE_LIMITS, type GateLimits, RequestGate } from './requestGate.js';
import { createTunnelAgent } from './tunnelAgent.js';

export interface NetworkOptions {
  rules: DestinationRules;
  timeoutMs?: number;
  gate?: GateLimits;
  breaker?: BreakerPolicy;
  /** DNS for the guard's checks (tests script rebinding answers). */
  resolve?: Resolve;
}

/** How one push socket connects: through the proxy's tunnel, or directly under the guard's lookup. */
export interface PushConnection {
  agent?: Agent;
  lookup?: LookupFunction;
}

export class Network {
  readonly guard: DestinationGuard;
  private readonly traffic: DropTraffic;
  private readonly connectionsPerOrigin: number;
  private dispatcher: Dispatcher;
  private current: DropClient;
  private proxy: ProxySetting = { kind: 'none' };
  /** Origins probed as a server for the user's own drop right now, with how many probes each. */
  private readonly ownServersProbed = new Map<string, number>();

  constructor(private readonly options: NetworkOptions) {
    const { rules } = options;
    this.guard = new DestinationGuard(
      {
        allowLocalNetwork: () => rules.allowLocalNetwork(),
        trustedOrigins: () => (this.ownServersProbed.size === 0 ? rules.trustedOrigins() : new Set([...rules.trustedOrigins(), ...this.ownServersProbed.keys()])),
      },
      options.resolve,
    );
    const gate = options.gate ?? DEFAULT_GATE_LIMITS;
    this.connectionsPerOrigin = gate.maxPerServer;
    this.traffic = { gate: new RequestGate(gate), breakers: new ServerBreakers(options.breaker ?? DEFAULT_BREAKER), guard: this.guard };
    this.dispatcher = this.createDispatcher(this.proxy);
    this.current = this.createClient();
  }

  get client(): DropClient {
    return this.current;
  }

  /** Routes all further drop traffic through `proxy`. @throws ApiFailure 'bad_input' */
  configure(proxy: ProxySetting): void {
    const next = this.createDispatcher(proxy);
    const previous = this.dispatcher;
    this.dispatcher = next;
    this.proxy = proxy;
    this.current = this.createClient();
    void previous.close().catch(() => undefined);
  }

  /**
   * Runs `work` with `serverUrl`'s origin trusted as one of the user's own (it will be, once their
   * drop is there). @throws TypeError for an unparsable URL
   */
  async asOwnServer<T>(serverUrl: string, work: () => Promise<T>): Promise<T> {
    const origin = httpOrigin(new URL(serverUrl));
    this.ownServersProbed.set(origin, (this.ownServersProbed.get(origin) ?? 0) + 1);
    try {
      return await work();
    } finally {
      const left = (this.ownServersProbed.get(origin) ?? 1) - 1;
      if (left === 0) this.ownServersProbed.delete(origin);
      else this.ownServersProbed.set(origin, left);
    }
  }

  /** What file transfers need: the current dispatcher (proxy included) and the destination rules. */
  blobHttp(): BlobHttp {
    return { dispatcher: this.dispatcher, checkUrl: (url) => this.guard.checkUrl(url) };
  }

  /** How the push socket to `url` connects. @throws DestinationRefusedError when the guard refuses it */
  pushConnection(url: string): PushConnection {
    this.guard.checkUrl(url);
    if (this.proxy.kind !== 'none') return { agent: createTunnelAgent(this.proxy, url.startsWith('wss:')) };
    return this.guard.restricted(httpOrigin(new URL(url))) ? { lookup: this.guard.publicOnlyLookup } : {};
  }

  async close(): Promise<void> {
    await this.dispatcher.close().catch(() => undefined);
  }

  private createDispatcher(proxy: ProxySetting): Dispatcher {
    return createDispatcher(proxy, this.guard, { connectionsPerOrigin: this.connectionsPerOrigin });
  }

  private createClient(): DropClient {
    return new DropClient({ dispatcher: this.dispatcher, timeoutMs: this.options.timeoutMs, traffic: this.traffic });
  }
}

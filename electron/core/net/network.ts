/**
 * Owns everything drop traffic shares: the dispatcher (swapping the proxy setting closes the old
 * connections), the destination guard, the connection pool and the stalled-host breakers.
 */
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

  constructor(private readonly options: NetworkOptions) {
    this.guard = new DestinationGuard(options.rules, options.resolve);
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

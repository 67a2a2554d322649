/**
 * One bounded pool for all drop traffic: at most `maxConnections` requests at once, at most
 * `maxPerHost` to one host, and a bounded queue per host. A host that stalls can hold only its own
 * share; requests to other hosts go past its queue.
 */
export interface GateLimits {
  maxConnections: number;
  maxPerHost: number;
  /** Requests waiting for one host; more are refused at once. */
  maxQueuedPerHost: number;
}

export const DEFAULT_GATE_LIMITS: GateLimits = { maxConnections: 24, maxPerHost: 4, maxQueuedPerHost: 64 };

/** The queue for a host is full, or the wait ran past its deadline. */
export class GateClosedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GateClosedError';
  }
}

interface Waiter {
  host: string;
  grant(): void;
}

export class RequestGate {
  private active = 0;
  private readonly perHost = new Map<string, number>();
  private readonly queued = new Map<string, number>();
  private readonly waiting: Waiter[] = [];

  constructor(private readonly limits: GateLimits = DEFAULT_GATE_LIMITS) {}

  /** Requests running now (all hosts, or one). */
  running(host?: string): number {
    return host === undefined ? this.active : (this.perHost.get(host) ?? 0);
  }

  /**
   * Waits for a slot for `host`; resolves with its release (call it exactly once).
   * @throws GateClosedError when the host's queue is full or `signal` aborts first
   */
  acquire(host: string, signal?: AbortSignal): Promise<() => void> {
    // Waiters are granted as soon as their host has room, so any still waiting are at a limit this
    // request does not share when it has room itself.
    if (this.hasRoom(host)) return Promise.resolve(this.take(host));
    const queued = this.queued.get(host) ?? 0;
    if (queued >= this.limits.maxQueuedPerHost) {
      return Promise.reject(new GateClosedError(`Too many requests are waiting for ${host}; try again later.`));
    }
    if (signal?.aborted) return Promise.reject(new GateClosedError(`Waited too long for a connection to ${host}.`));
    this.queued.set(host, queued + 1);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        host,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          this.unqueue(host);
          resolve(this.take(host));
        },
      };
      const onAbort = () => {
        const at = this.waiting.indexOf(waiter);
        if (at < 0) return;
        this.waiting.splice(at, 1);
        this.unqueue(host);
        reject(new GateClosedError(`Waited too long for a connection to ${host}.`));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  private hasRoom(host: string): boolean {
    return this.active < this.limits.maxConnections && (this.perHost.get(host) ?? 0) < this.limits.maxPerHost;
  }

  private take(host: string): () => void {
    this.active++;
    this.perHost.set(host, (this.perHost.get(host) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      const left = (this.perHost.get(host) ?? 1) - 1;
      if (left === 0) this.perHost.delete(host);
      else this.perHost.set(host, left);
      this.grantWaiting();
    };
  }

  /** Oldest first, skipping waiters whose host is at its limit. */
  private grantWaiting(): void {
    for (let i = 0; i < this.waiting.length && this.active < this.limits.maxConnections; ) {
      const waiter = this.waiting[i]!;
      if (!this.hasRoom(waiter.host)) {
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      waiter.grant();
    }
  }

  private unqueue(host: string): void {
    const left = (this.queued.get(host) ?? 1) - 1;
    if (left === 0) this.queued.delete(host);
    else this.queued.set(host, left);
  }
}

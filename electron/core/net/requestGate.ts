/**
 * One bounded pool for all drop traffic: at most `maxConnections` requests at once, at most
 * `maxPerServer` to one server, and a bounded queue per server. A server that stalls can hold only its own
 * share; requests to other servers go past its queue. A server is an origin (scheme, host and port):
 * a stalled one does not hold up another on the same address.
 */
export interface GateLimits {
  maxConnections: number;
  maxPerServer: number;
  /** Requests waiting for one server; more are refused at once. */
  maxQueuedPerServer: number;
}

export const DEFAULT_GATE_LIMITS: GateLimits = { maxConnections: 24, maxPerServer: 4, maxQueuedPerServer: 64 };

/** The queue for a server is full, or the wait ran past its deadline. */
export class GateClosedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GateClosedError';
  }
}

interface Waiter {
  server: string;
  grant(): void;
}

export class RequestGate {
  private active = 0;
  private readonly perServer = new Map<string, number>();
  private readonly queued = new Map<string, number>();
  private readonly waiting: Waiter[] = [];

  constructor(private readonly limits: GateLimits = DEFAULT_GATE_LIMITS) {}

  /** Requests running now (all servers, or one). */
  running(server?: string): number {
    return server === undefined ? this.active : (this.perServer.get(server) ?? 0);
  }

  /**
   * Waits for a slot for `server`; resolves with its release (call it exactly once).
   * @throws GateClosedError when the server's queue is full or `signal` aborts first
   */
  acquire(server: string, signal?: AbortSignal): Promise<() => void> {
    // Waiters are granted as soon as their server has room, so any still waiting are at a limit this
    // request does not share when it has room itself.
    if (this.hasRoom(server)) return Promise.resolve(this.take(server));
    const queued = this.queued.get(server) ?? 0;
    if (queued >= this.limits.maxQueuedPerServer) {
      return Promise.reject(new GateClosedError(`Too many requests are waiting for ${server}; try again later.`));
    }
    if (signal?.aborted) return Promise.reject(new GateClosedError(`Waited too long for a connection to ${server}.`));
    this.queued.set(server, queued + 1);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        server,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          this.unqueue(server);
          resolve(this.take(server));
        },
      };
      const onAbort = () => {
        const at = this.waiting.indexOf(waiter);
        if (at < 0) return;
        this.waiting.splice(at, 1);
        this.unqueue(server);
        reject(new GateClosedError(`Waited too long for a connection to ${server}.`));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  private hasRoom(server: string): boolean {
    return this.active < this.limits.maxConnections && (this.perServer.get(server) ?? 0) < this.limits.maxPerServer;
  }

  private take(server: string): () => void {
    this.active++;
    this.perServer.set(server, (this.perServer.get(server) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      const left = (this.perServer.get(server) ?? 1) - 1;
      if (left === 0) this.perServer.delete(server);
      else this.perServer.set(server, left);
      this.grantWaiting();
    };
  }

  /** Oldest first, skipping waiters whose server is at its limit. */
  private grantWaiting(): void {
    for (let i = 0; i < this.waiting.length && this.active < this.limits.maxConnections; ) {
      const waiter = this.waiting[i]!;
      if (!this.hasRoom(waiter.server)) {
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      waiter.grant();
    }
  }

  private unqueue(server: string): void {
    const left = (this.queued.get(server) ?? 1) - 1;
    if (left === 0) this.queued.delete(server);
    else this.queued.set(server, left);
  }
}

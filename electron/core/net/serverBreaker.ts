/**
 * A circuit breaker per server for servers that stall: after `timeoutsToOpen` timeouts in a row the
 * server is left alone for `openMs` (doubling up to `maxOpenMs` while it keeps stalling); then one
 * probe request may go (half-open), and its outcome closes or reopens the circuit. A server that
 * answers at all, even with an error or a refused connection, is not stalling.
 */
export interface BreakerPolicy {
  timeoutsToOpen: number;
  openMs: number;
  maxOpenMs: number;
}

export const DEFAULT_BREAKER: BreakerPolicy = { timeoutsToOpen: 3, openMs: 30_000, maxOpenMs: 10 * 60_000 };

export type Admission = { ok: true; probe: boolean } | { ok: false; retryInMs: number };
export type Outcome = 'answered' | 'timeout';

interface ServerState {
  timeouts: number;
  /** 0 while closed. */
  openUntil: number;
  openMs: number;
  probing: boolean;
}

export class ServerBreakers {
  private readonly servers = new Map<string, ServerState>();

  constructor(
    private readonly policy: BreakerPolicy = DEFAULT_BREAKER,
    private readonly now: () => number = Date.now,
  ) {}

  /** How long `server` is left alone from now (0: a request may try, possibly as the probe). */
  blockedFor(server: string): number {
    const state = this.servers.get(server);
    if (!state || state.openUntil === 0) return 0;
    const wait = state.openUntil - this.now();
    return wait > 0 ? wait : state.probing ? state.openMs : 0;
  }

  /** May a request to `server` go now? A granted probe must be followed by `record(..., probe=true)`. */
  admit(server: string): Admission {
    const state = this.servers.get(server);
    if (!state || state.openUntil === 0) return { ok: true, probe: false };
    const wait = state.openUntil - this.now();
    if (wait > 0) return { ok: false, retryInMs: wait };
    if (state.probing) return { ok: false, retryInMs: state.openMs };
    state.probing = true;
    return { ok: true, probe: true };
  }

  record(server: string, outcome: Outcome, probe: boolean): void {
    const state = this.servers.get(server);
    if (outcome === 'answered') {
      // An answer from before the circuit opened does not close it; only the probe's answer does.
      if (state && (state.openUntil === 0 || probe)) this.servers.delete(server);
      return;
    }
    const current = state ?? { timeouts: 0, openUntil: 0, openMs: 0, probing: false };
    this.servers.set(server, current);
    if (probe) {
      current.probing = false;
      current.openMs = Math.min(current.openMs * 2, this.policy.maxOpenMs);
      current.openUntil = this.now() + current.openMs;
      return;
    }
    if (current.openUntil !== 0) return;
    current.timeouts++;
    if (current.timeouts >= this.policy.timeoutsToOpen) {
      current.openMs = this.policy.openMs;
      current.openUntil = this.now() + current.openMs;
    }
  }

  /** Hosts whose circuit is open or half-open now. */
  openServers(): string[] {
    return [...this.servers].filter(([, state]) => state.openUntil !== 0).map(([server]) => server);
  }
}

/**
 * Health of drop servers as our own posts found them (PROTOCOL-V1.md 2c): an EWMA of POST outcomes
 * and of the latency of accepted POSTs, per server (origin), kept in the state file. It is learned
 * only from posts we make anyway: no probing request ever goes to a contact's server, since a probe
 * would tell that server we are about to write to one of its drops.
 *
 * A score moves toward 1 with every accepted POST and toward 0 with every failed one, and decays back
 * to the neutral value with time (half-life `halfLifeMs`): a server that failed an hour ago is not
 * held against for days, so a recovered server is chosen again, and with it the evidence renews.
 */
import type { ServerHealth } from '../state/stateSchema.js';
import { httpOrigin } from '../net/destinationGuard.js';

export interface HealthPolicy {
  /** Weight of the newest outcome in the EWMA. */
  alpha: number;
  /** Where a score starts, and where it returns to without news. */
  neutral: number;
  /** Time for a score's distance from neutral to halve. */
  halfLifeMs: number;
}

export const DEFAULT_HEALTH: HealthPolicy = { alpha: 0.3, neutral: 0.7, halfLifeMs: 30 * 60_000 };

/** Latency above this counts as this much (a slow server is not worse than a failing one). */
const LATENCY_CAP_MS = 10_000;
/** How much the latency can cost in the ranking: a tenth of the score range at LATENCY_CAP_MS. */
const LATENCY_WEIGHT = 0.1;

/** Where the book keeps its entries (the state store, or a map in tests). */
export interface HealthStore {
  serverHealth(): Record<string, ServerHealth>;
  setServerHealth(origin: string, health: ServerHealth): Promise<void>;
}

export class ServerHealthBook {
  constructor(
    private readonly store: HealthStore,
    private readonly now: () => number,
    private readonly policy: HealthPolicy = DEFAULT_HEALTH,
  ) {}

  /** The score of `origin` now, in [0, 1] (neutral when never seen). */
  score(origin: string): number {
    const entry = this.store.serverHealth()[origin];
    return entry ? this.decayed(entry) : this.policy.neutral;
  }

  /** Notes the outcome of one POST to `dropUrl`; the latency counts only for accepted ones. */
  record(dropUrl: string, ok: boolean, latencyMs: number): void {
    const origin = originOf(dropUrl);
    const entry = this.store.serverHealth()[origin];
    const score = entry ? this.decayed(entry) : this.policy.neutral;
    const target = ok ? 1 : 0;
    const next: ServerHealth = {
      score: clamp(score + this.policy.alpha * (target - score)),
      latencyMs: ok ? (entry ? entry.latencyMs + this.policy.alpha * (latencyMs - entry.latencyMs) : latencyMs) : (entry?.latencyMs ?? 0),
      at: this.now(),
    };
    void this.store.setServerHealth(origin, next).catch(() => undefined);
  }

  /**
   * `dropUrls` best first: by score less a small latency cost (which fades like the score), to two
   * decimals; equal ones keep the recipient's order. So once old evidence has faded, every server is
   * neutral again and the recipient's own order decides, a recovered server included.
   */
  rank(dropUrls: readonly string[]): string[] {
    const all = this.store.serverHealth();
    const value = (url: string) => {
      const entry = all[originOf(url)];
      if (!entry) return Math.round(this.policy.neutral * 100);
      const latencyCost = (Math.min(entry.latencyMs, LATENCY_CAP_MS) / LATENCY_CAP_MS) * LATENCY_WEIGHT * this.fading(entry);
      return Math.round((this.decayed(entry) - latencyCost) * 100);
    };
    return dropUrls
      .map((url, index) => ({ url, index, value: value(url) }))
      .sort((a, b) => b.value - a.value || a.index - b.index)
      .map((entry) => entry.url);
  }

  private decayed(entry: ServerHealth): number {
    return this.policy.neutral + (entry.score - this.policy.neutral) * this.fading(entry);
  }

  /** How much of an entry's evidence still counts (1 now, a half after `halfLifeMs`). */
  private fading(entry: ServerHealth): number {
    const age = Math.max(0, this.now() - entry.at);
    return 2 ** (-age / this.policy.halfLifeMs);
  }
}

/**
 * The recipient's drops one per distinct server (origin: scheme, host and port, the unit the
 * connection pool, the breaker and the retry budget use too), in the recipient's order. Copies of one
 * message go to distinct servers so that one server's outage or loss takes at most one copy.
 */
export function distinctServers(dropUrls: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const url of dropUrls) {
    const origin = originOf(url);
    if (seen.has(origin)) continue;
    seen.add(origin);
    out.push(url);
  }
  return out;
}

/** A URL's server; a string that is no URL stands for itself (its POST fails as before). */
export function originOf(url: string): string {
  try {
    return httpOrigin(new URL(url));
  } catch {
    return url;
  }
}

function clamp(x: number): number {
  return Math.min(1, Math.max(0, x));
}

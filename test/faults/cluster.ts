/**
 * Three (or n) real drop servers in this process (real HTTP, SQLite in memory, the real expiry sweep),
 * each behind its own FaultProxy, all on one simulated clock: a sweep after the clock moved deletes
 * what the TTL says is gone, so days pass in milliseconds.
 */
import { startDropServer, type RunningDropServer } from '../../server/index.js';
import { FaultProxy, type ProxyStats } from './faultProxy.js';
import type { Random } from './random.js';

/** A clock the test moves by hand; engines and servers read it. */
export class SimClock {
  constructor(private t: number) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface Cluster {
  servers: RunningDropServer[];
  proxies: FaultProxy[];
  /** The proxies' URLs: what engines use as the servers' addresses. */
  urls: string[];
  /** Runs every server's expiry sweep now (after the clock moved). */
  sweep(): Promise<void>;
  totals(): ProxyStats;
  close(): Promise<void>;
}

export async function startCluster(options: { n?: number; clock: SimClock; random: Random; ttlSeconds?: number; capture?: boolean }): Promise<Cluster> {
  const n = options.n ?? 3;
  const servers: RunningDropServer[] = [];
  const proxies: FaultProxy[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const server = await startDropServer({
        host: '127.0.0.1',
        port: 0,
        db: 'sqlite::memory:',
        logLevel: 'error',
        clock: options.clock,
        ttlSeconds: options.ttlSeconds ?? 7 * 86_400,
        // The harness sweeps after each step of the clock; the server's own timer stays out of the way.
        sweepIntervalMs: 86_400_000,
        // Engines poll through the proxy at high rates: no per-client caps in the way.
        maxConnectionsPerClient: 1024,
      });
      servers.push(server);
      proxies.push(await new FaultProxy({ target: server.url, random: options.random.fork(), now: () => options.clock.now(), capture: options.capture }).start());
    }
  } catch (err) {
    await Promise.all([...proxies.map((p) => p.close()), ...servers.map((s) => s.close())]);
    throw err;
  }
  return {
    servers,
    proxies,
    urls: proxies.map((p) => p.url),
    async sweep() {
      await Promise.all(servers.map((s) => s.sweepNow()));
    },
    totals() {
      const sum: ProxyStats = { requests: 0, posts: 0, gets: 0, postBytes: 0, getBytes: 0, faults: { reset: 0, lostAnswer: 0, duplicate: 0, delay: 0, reorder: 0, error: 0, lossy: 0, down: 0 } };
      for (const { stats } of proxies) {
        sum.requests += stats.requests;
        sum.posts += stats.posts;
        sum.gets += stats.gets;
        sum.postBytes += stats.postBytes;
        sum.getBytes += stats.getBytes;
        for (const kind of Object.keys(sum.faults) as (keyof ProxyStats['faults'])[]) sum.faults[kind] += stats.faults[kind];
      }
      return sum;
    },
    async close() {
      await Promise.all(proxies.map((p) => p.close()));
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}

/** Test helper: a server started in this process (for options the CLI does not expose: clock, limits). */
import { join } from 'node:path';
import { startDropServer, type DropServerOptions, type RunningDropServer } from '../../server/index.js';
import { makeDataDir, removeDataDir } from './serverProcess.js';

export interface FakeClock {
  now(): number;
  advance(ms: number): void;
}

export function createFakeClock(start = Date.UTC(2026, 0, 1)): FakeClock {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

/** Starts a server on a free loopback port with SQLite in a fresh folder; `stop` removes it all. */
export async function startTestServer(options: Partial<DropServerOptions> = {}): Promise<RunningDropServer & { stop(): Promise<void> }> {
  const dataDir = makeDataDir();
  const server = await startDropServer({
    port: 0,
    db: `sqlite:${join(dataDir, 'drops.db')}`,
    logLevel: 'warn',
    metricsToken: TEST_METRICS_TOKEN,
    // The tests play many clients from one address.
    maxConnectionsPerClient: TEST_CONNECTIONS_PER_CLIENT,
    ...options,
  });
  return {
    ...server,
    async stop() {
      await server.close();
      removeDataDir(dataDir);
    },
  };
}

/**
 * Options that keep the anti-spam pressure rules (server/spam/pressure.ts) out of a test of what lies
 * under them: fair eviction past the quota with plain POSTs, as before tickets existed. The pressure
 * rules have tests of their own (spamFlood.test.ts).
 */
export const WITHOUT_SPAM_PRESSURE = { powAbovePercent: 1000, powLoadPercent: 10_000, ticketlessCeilingPercent: 1000 } as const;

/** Tests play many clients from one address; the per-client limit has tests of its own. */
export const TEST_CONNECTIONS_PER_CLIENT = 512;

/** Test servers serve `/metrics` beside the drops to this token (in-process: by default). */
export const TEST_METRICS_TOKEN = 'metrics-token-for-tests';

export async function metricsText(baseUrl: string, headers: Record<string, string> = { Authorization: `Bearer ${TEST_METRICS_TOKEN}` }): Promise<string> {
  const res = await fetch(`${baseUrl}/metrics`, { headers });
  if (res.status !== 200) throw new Error(`metrics answered ${res.status}`);
  return res.text();
}

/** The value of one unlabelled sample in a Prometheus text body. */
export function metricValue(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  if (!line) throw new Error(`no metric ${name}`);
  return Number(line.slice(name.length + 1));
}

/**
 * Registers an `afterEach` that stops every server started through the returned function in that test
 * (plus any extra cleanups pushed), newest first.
 */
export function serversPerTest(afterEachHook: (fn: () => Promise<void>) => void) {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterEachHook(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  async function server(options: Parameters<typeof startTestServer>[0] = {}) {
    const s = await startTestServer(options);
    cleanups.push(() => s.stop());
    return s;
  }
  return { server, cleanups };
}

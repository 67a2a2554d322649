/**
 * Original Qabel clients poll with `If-Modified-Since: <the Last-Modified they saw>` (one-second
 * resolution). They must never lose a message: not one posted later in the same second, not one cut
 * off by paging. Clients echoing `X-Qabel-Latest` keep receiving every message exactly once.
 */
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deposit, fetchDrop, newDropId } from './dropClient.js';
import { createFakeClock, serversPerTest, type FakeClock } from './inProcessServer.js';
import { createTestDatabase, explainPostgresSkip, PG_URL, type TestDatabase } from './postgresDatabase.js';

explainPostgresSkip();
const { server } = serversPerTest(afterEach);
const backends = [{ name: 'SQLite', postgres: false }, ...(PG_URL ? [{ name: 'PostgreSQL', postgres: true }] : [])];
const label = (n: number): Uint8Array => new TextEncoder().encode(`m${n}`);
const text = (body: Uint8Array): string => new TextDecoder().decode(body);

/**
 * A polling client that echoes one response header as one request header and keeps what it got:
 * `Last-Modified` as `If-Modified-Since` (the original clients), or `X-Qabel-Latest` as `X-Qabel-New-Since` (ours).
 */
function echoingClient(url: string, echo: { from: string; as: string }) {
  let token: string | null = null;
  const seen: string[] = [];
  return {
    seen,
    async poll(): Promise<number> {
      const got = await fetchDrop(url, token ? { [echo.as]: token } : {});
      if (got.status === 200) {
        seen.push(...got.parts.map((p) => text(p.body)));
        token = got.response.headers.get(echo.from);
      }
      return got.status;
    },
  };
}
const ifModifiedSinceClient = (url: string) => echoingClient(url, { from: 'last-modified', as: 'If-Modified-Since' });
const cursorClient = (url: string) => echoingClient(url, { from: 'x-qabel-latest', as: 'X-Qabel-New-Since' });

/**
 * Polls until a poll brings nothing new; bounded. (An If-Modified-Since client is sent the messages
 * of the last second it saw again on every poll, as the reference server does: it deduplicates.)
 */
async function drain(client: { seen: string[]; poll(): Promise<number> }): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    const known = new Set(client.seen).size;
    if ((await client.poll()) !== 200 || new Set(client.seen).size === known) return;
  }
  throw new Error('the drop never ran dry');
}

describe.each(backends)('If-Modified-Since on $name', ({ postgres }) => {
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    database = postgres ? await createTestDatabase(PG_URL!) : undefined;
  });
  afterAll(async () => {
    await database?.drop();
  });
  const start = (clock: FakeClock, pageSize?: number) =>
    server({ clock, ...(pageSize ? { pageSize } : {}), ...(database ? { db: database.url } : {}) });

  it('returns a message posted later in the second the client last saw', async () => {
    const clock = createFakeClock(Date.UTC(2026, 0, 1, 0, 0, 42));
    const s = await start(clock);
    const url = `${s.url}/${newDropId()}`;
    const client = ifModifiedSinceClient(url);
    await deposit(url, label(1));
    expect(await client.poll()).toBe(200);
    clock.advance(300);
    await deposit(url, label(2));
    expect(await client.poll()).toBe(200);
    expect(new Set(client.seen)).toEqual(new Set(['m1', 'm2']));
  });

  it('delivers all 1,010 messages of one second through pages of 1,000', async () => {
    const clock = createFakeClock(Date.UTC(2026, 0, 1, 0, 0, 42));
    const s = await start(clock);
    const url = `${s.url}/${newDropId()}`;
    // 50 at a time: one client gets 64 connections at most.
    for (let n = 0; n < 1010; n += 50) {
      await Promise.all(Array.from({ length: Math.min(50, 1010 - n) }, (_, i) => deposit(url, label(n + i))));
    }
    const client = ifModifiedSinceClient(url);
    await drain(client);
    expect(new Set(client.seen).size).toBe(1010);
    const cursor = cursorClient(url);
    await drain(cursor);
    expect(cursor.seen).toHaveLength(1010);
    expect(new Set(cursor.seen).size).toBe(1010);
  });

  it('delivers every message at least once for any interleaving of posts and polls (and exactly once by cursor)', async () => {
    const clock = createFakeClock(Date.UTC(2026, 0, 1));
    const s = await start(clock, 3);
    const step = fc.oneof(
      fc.record({ kind: fc.constant('post' as const), count: fc.integer({ min: 1, max: 5 }), advanceMs: fc.integer({ min: 0, max: 1500 }) }),
      fc.record({ kind: fc.constant('poll' as const), advanceMs: fc.integer({ min: 0, max: 700 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
        const url = `${s.url}/${newDropId()}`;
        const original = ifModifiedSinceClient(url);
        const ours = cursorClient(url);
        const posted: string[] = [];
        for (const st of steps) {
          clock.advance(st.advanceMs);
          if (st.kind === 'poll') {
            await original.poll();
            await ours.poll();
            continue;
          }
          // Concurrent posts within one millisecond: the same Last-Modified second for all of them.
          const batch = Array.from({ length: st.count }, (_, i) => `m${posted.length + i}`);
          posted.push(...batch);
          await Promise.all(batch.map((m) => deposit(url, new TextEncoder().encode(m))));
        }
        await drain(original);
        await drain(ours);
        expect(new Set(original.seen)).toEqual(new Set(posted));
        expect([...ours.seen].sort()).toEqual([...posted].sort());
      }),
      { seed: 0x9e55, numRuns: 40 },
    );
  });
});

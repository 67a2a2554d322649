/**
 * Several server processes sharing one PostgreSQL database: the cursor guarantee under concurrent
 * posts (every reader sees every message exactly once, in one order), and push across instances.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deposit, fetchDrop, newDropId } from './dropClient.js';
import { createFakeClock, metricsText, metricValue, startTestServer } from './inProcessServer.js';
import { createTestDatabase, explainPostgresSkip, PG_URL, type TestDatabase } from './postgresDatabase.js';
import { subscribe } from './pushClient.js';
import { makeDataDir, removeDataDir, startServerProcess, type ServerProcess } from './serverProcess.js';

explainPostgresSkip();

const WRITERS = 6;
const MESSAGES_PER_WRITER = 40;
const READERS = 4;

describe.skipIf(!PG_URL)('PostgreSQL, two instances', () => {
  let database: TestDatabase;
  let dataDir: string;
  let instances: ServerProcess[] = [];

  beforeAll(async () => {
    database = await createTestDatabase(PG_URL!);
    dataDir = makeDataDir();
    instances = await Promise.all([0, 1].map(() => startServerProcess(dataDir, ['--db', database.url, '--log-level', 'warn'])));
  });
  afterAll(async () => {
    await Promise.all(instances.map((i) => i.stop()));
    await database?.drop();
    if (dataDir) removeDataDir(dataDir);
  });

  it('gives every polling reader every message exactly once, in the same order, under concurrent posts', async () => {
    const id = newDropId();
    const urls = instances.map((i) => `${i.url}/${id}`);
    let writing = true;

    const writer = async (w: number): Promise<void> => {
      for (let n = 0; n < MESSAGES_PER_WRITER; n++) {
        await deposit(urls[(w + n) % urls.length]!, new TextEncoder().encode(`w${w}:${n}`));
      }
    };
    const reader = async (r: number): Promise<string[]> => {
      const seen: string[] = [];
      let cursor: string | null = null;
      // Bounded: enough polls for the whole run, and a final pass once writing has stopped.
      for (let poll = 0; poll < 20_000; poll++) {
        const done = !writing;
        const got = await fetchDrop(urls[(r + poll) % urls.length]!, cursor ? { 'X-Qabel-New-Since': cursor } : {});
        if (got.status === 200) {
          seen.push(...got.parts.map((p) => new TextDecoder().decode(p.body)));
          cursor = got.latest;
        }
        if (done && got.status !== 200) return seen;
      }
      throw new Error('reader did not finish');
    };

    const readers = Array.from({ length: READERS }, (_, r) => reader(r));
    await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
    writing = false;
    const results = await Promise.all(readers);

    const expected = WRITERS * MESSAGES_PER_WRITER;
    const reference = (await fetchDrop(urls[0]!)).parts.map((p) => new TextDecoder().decode(p.body));
    expect(reference).toHaveLength(expected);
    for (const seen of results) {
      expect(seen).toEqual(reference);
      expect(new Set(seen).size).toBe(expected);
    }
    // Each writer waited for its 200 before posting again, so its messages keep their order.
    for (let w = 0; w < WRITERS; w++) {
      const mine = reference.filter((m) => m.startsWith(`w${w}:`)).map((m) => Number(m.split(':')[1]));
      expect(mine).toEqual(Array.from({ length: MESSAGES_PER_WRITER }, (_, n) => n));
    }
  });

  it('pushes a message posted on one instance to a subscriber on the other', async () => {
    const id = newDropId();
    const sub = await subscribe(`${instances[0]!.url}/${id}`);
    try {
      await deposit(`${instances[1]!.url}/${id}`, Uint8Array.of(1, 2, 3));
      const frame = await sub.next(10_000);
      expect(Array.from(frame.body)).toEqual([1, 2, 3]);
      expect(frame.latest).toBe((await fetchDrop(`${instances[0]!.url}/${id}`)).latest);
    } finally {
      await sub.close();
    }
  });

  it('reports healthy on /health while the database answers', async () => {
    for (const instance of instances) {
      const res = await fetch(`${instance.url}/health`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
    }
  });

  it('keeps a message that got its 200 through kill -9 of the instance', async () => {
    const id = newDropId();
    await deposit(`${instances[1]!.url}/${id}`, Uint8Array.of(9));
    await instances[1]!.kill9();
    expect((await fetchDrop(`${instances[0]!.url}/${id}`)).parts.map((p) => p.body[0])).toEqual([9]);
  });
});

describe.skipIf(!PG_URL)('PostgreSQL store: lifetime and quota', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(PG_URL!);
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('expires by TTL and deletes the globally oldest over the quota', async () => {
    const clock = createFakeClock();
    const s = await startTestServer({ db: database.url, clock, ttlSeconds: 3600, quotaBytes: 250 });
    try {
      const [a, b] = [`${s.url}/${newDropId()}`, `${s.url}/${newDropId()}`];
      await deposit(a, new Uint8Array(100).fill(1));
      clock.advance(2 * 3_600_000);
      expect((await fetchDrop(a)).status).toBe(204);
      expect(await s.sweepNow()).toEqual({ expired: 1, overQuota: 0 });
      await deposit(b, new Uint8Array(100).fill(2));
      await deposit(a, new Uint8Array(100).fill(3));
      await deposit(b, new Uint8Array(100).fill(4));
      await expect.poll(async () => metricValue(await metricsText(s.url), 'deaddrop_stored_bytes')).toBe(200);
      expect((await fetchDrop(b)).parts.map((p) => p.body[0])).toEqual([4]);
      expect((await fetchDrop(a)).parts.map((p) => p.body[0])).toEqual([3]);
    } finally {
      await s.stop();
    }
  });
});

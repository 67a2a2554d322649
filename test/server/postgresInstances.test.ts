/**
 * Several server processes sharing one PostgreSQL database: the cursor guarantee under concurrent
 * posts (every reader sees every message exactly once, in one order), per-drop caps held across
 * instances, push across instances, and polls that stay right when an instance stops hearing of
 * the other's commits.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LISTEN_APPLICATION_NAME } from '../../server/store/postgresNotifications.js';
import { deposit, fetchDrop, newDropId, postMessage } from './dropClient.js';
import { createFakeClock, metricsText, metricValue, startTestServer, WITHOUT_SPAM_PRESSURE } from './inProcessServer.js';
import { createTestDatabase, explainPostgresSkip, PG_URL, type TestDatabase } from './postgresDatabase.js';
import { subscribe } from './pushClient.js';
import { makeDataDir, removeDataDir, startServerProcess, type ServerProcess } from './serverProcess.js';

explainPostgresSkip();

const WRITERS = 6;
const MESSAGES_PER_WRITER = 40;
const READERS = 4;
const DROP_MAX_MESSAGES = 300;
const DROP_MAX_BYTES = 40_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const texts = (got: { parts: { body: Uint8Array }[] }): string[] => got.parts.map((p) => new TextDecoder().decode(p.body));

/** POSTs and returns the status (the body read, so the connection is free again). */
async function postStatus(url: string, body: Uint8Array): Promise<number> {
  const res = await postMessage(url, body);
  await res.arrayBuffer();
  return res.status;
}

describe.skipIf(!PG_URL)('PostgreSQL, two instances', () => {
  let database: TestDatabase;
  let dataDir: string;
  let instances: ServerProcess[] = [];

  beforeAll(async () => {
    database = await createTestDatabase(PG_URL!);
    dataDir = makeDataDir();
    const args = ['--db', database.url, '--log-level', 'warn'];
    const caps = ['--drop-max-messages', String(DROP_MAX_MESSAGES), '--drop-max-bytes', String(DROP_MAX_BYTES)];
    instances = await Promise.all([0, 1].map(() => startServerProcess(dataDir, [...args, ...caps])));
  });
  afterAll(async () => {
    await Promise.all(instances.map((i) => i.stop()));
    await database?.drop();
    if (dataDir) removeDataDir(dataDir);
  });

  /**
   * WRITERS post MESSAGES_PER_WRITER each, spread over `dropCount` drops and both instances, while
   * `readersPerDrop` readers per drop poll with their cursors, also through both instances.
   */
  async function postAndPollAtOnce(dropCount: number, readersPerDrop: number): Promise<void> {
    const ids = Array.from({ length: dropCount }, () => newDropId());
    const urlOf = (drop: number, instance: number): string => `${instances[instance % instances.length]!.url}/${ids[drop]}`;
    let writing = true;

    const writer = async (w: number): Promise<void> => {
      for (let n = 0; n < MESSAGES_PER_WRITER; n++) {
        await deposit(urlOf((w + n) % dropCount, w + n + Math.floor(n / dropCount)), new TextEncoder().encode(`w${w}:${n}`));
      }
    };
    const reader = async (drop: number, r: number): Promise<string[]> => {
      const seen: string[] = [];
      let cursor: string | null = null;
      // Bounded: enough polls for the whole run, and a final pass once writing has stopped.
      for (let poll = 0; poll < 20_000; poll++) {
        const done = !writing;
        const got = await fetchDrop(urlOf(drop, r + poll), cursor ? { 'X-Qabel-New-Since': cursor } : {});
        if (got.status === 200) {
          seen.push(...texts(got));
          cursor = got.latest;
        }
        if (done && got.status !== 200) return seen;
      }
      throw new Error('reader did not finish');
    };

    const readers = ids.map((_, drop) => Promise.all(Array.from({ length: readersPerDrop }, (_, r) => reader(drop, r))));
    await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
    writing = false;
    const results = await Promise.all(readers);

    const references = await Promise.all(ids.map(async (_, drop) => texts(await fetchDrop(urlOf(drop, 0)))));
    const everything = references.flat();
    expect(everything).toHaveLength(WRITERS * MESSAGES_PER_WRITER);
    expect(new Set(everything).size).toBe(everything.length);
    references.forEach((reference, drop) => {
      for (const seen of results[drop]!) expect(seen).toEqual(reference);
      // Each writer waited for its 200 before posting again, so its messages keep their order.
      for (let w = 0; w < WRITERS; w++) {
        const mine = reference.filter((m) => m.startsWith(`w${w}:`)).map((m) => Number(m.split(':')[1]));
        expect(mine).toEqual([...mine].sort((a, b) => a - b));
      }
    });
  }

  it('gives every polling reader every message exactly once, in the same order, under concurrent posts', async () => {
    await postAndPollAtOnce(1, READERS);
  });

  it('keeps the guarantee for every drop when group commits hold several drops, without deadlocks', async () => {
    await postAndPollAtOnce(3, 2);
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

  it('holds a drop to its caps while both instances take posts for it at once', async () => {
    const posting = async (id: string, writers: number, perWriter: number, size: number): Promise<number[]> => {
      const urls = instances.map((i) => `${i.url}/${id}`);
      const each = await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          const statuses: number[] = [];
          for (let n = 0; n < perWriter; n++) statuses.push(await postStatus(urls[(w + n) % urls.length]!, new Uint8Array(size).fill(w)));
          return statuses;
        }),
      );
      return each.flat();
    };
    const byCount = newDropId();
    const counted = await posting(byCount, 12, 30, 10);
    expect(counted.filter((s) => s === 200)).toHaveLength(DROP_MAX_MESSAGES);
    expect(counted.filter((s) => s !== 200).every((s) => s === 507)).toBe(true);
    expect((await fetchDrop(`${instances[1]!.url}/${byCount}`)).parts).toHaveLength(DROP_MAX_MESSAGES);

    const bySize = newDropId();
    const sized = await posting(bySize, 8, 8, 1000);
    expect(sized.filter((s) => s === 200)).toHaveLength(DROP_MAX_BYTES / 1000);
    expect((await fetchDrop(`${instances[0]!.url}/${bySize}`)).parts).toHaveLength(DROP_MAX_BYTES / 1000);
  });

  it('delivers messages posted on one instance to polls on the other after its LISTEN connection was cut, and push recovers', async () => {
    const id = newDropId();
    const [here, there] = instances.map((i) => `${i.url}/${id}`) as [string, string];
    /** Polls `here` with the cursor until something arrives, at most `polls` times. */
    const pollHere = async (cursor: string, polls = 50): Promise<Awaited<ReturnType<typeof fetchDrop>>> => {
      for (let poll = 0; poll < polls; poll++) {
        const got = await fetchDrop(here, { 'X-Qabel-New-Since': cursor });
        if (got.status === 200) return got;
        expect(got.status).toBe(304);
        await sleep(50);
      }
      throw new Error(`nothing arrived within ${polls} polls`);
    };

    await deposit(there, new TextEncoder().encode('before'));
    let cursor = (await pollHere('0')).latest!;
    // Now `here` knows the drop's newest message and answers polls from memory.
    expect((await fetchDrop(here, { 'X-Qabel-New-Since': cursor })).status).toBe(304);

    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      const cut = await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()',
        [LISTEN_APPLICATION_NAME],
      );
      expect(cut.rows).toHaveLength(2);
    } finally {
      await admin.end();
    }
    // Its notification goes to a connection that is gone, and `here` reconnects only after a
    // second: until then its polls must read the database, not the memory that missed it.
    await deposit(there, new TextEncoder().encode('while cut'));
    const missed = await pollHere(cursor, 5);
    expect(texts(missed)).toEqual(['while cut']);
    cursor = missed.latest!;

    // Push comes back once the listener has reconnected (it retries after a second).
    const sub = await subscribe(here);
    let posted = 0;
    try {
      // One waiter for the first frame, while a message is posted every second (bounded).
      const firstFrame = sub.next(15_000).then(() => true, () => false);
      let pushed = false;
      while (posted < 10 && !pushed) {
        await deposit(there, new TextEncoder().encode(`push ${posted++}`));
        pushed = await Promise.race([firstFrame, sleep(1000).then(() => false)]);
      }
      expect(pushed).toBe(true);
    } finally {
      await sub.close();
    }
    // Every message exactly once, in order, for the cursor that went through it all.
    const rest = await pollHere(cursor);
    expect(texts(rest)).toEqual(Array.from({ length: posted }, (_, n) => `push ${n}`));
    cursor = rest.latest!;

    // Polls from memory hear of the other instance's commits again.
    expect((await fetchDrop(here, { 'X-Qabel-New-Since': cursor })).status).toBe(304);
    await deposit(there, new TextEncoder().encode('after'));
    expect(texts(await pollHere(cursor))).toEqual(['after']);
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

  it('expires by TTL and, over the quota, evicts the oldest message of the drop holding the most bytes', async () => {
    const clock = createFakeClock();
    const s = await startTestServer({ db: database.url, clock, ttlSeconds: 3600, quotaBytes: 250, ...WITHOUT_SPAM_PRESSURE });
    try {
      const [a, b] = [`${s.url}/${newDropId()}`, `${s.url}/${newDropId()}`];
      await deposit(a, new Uint8Array(100).fill(1));
      clock.advance(2 * 3_600_000);
      expect((await fetchDrop(a)).status).toBe(204);
      expect(await s.sweepNow()).toEqual({ expired: 1, overQuota: 0, expiredBlobs: 0 });
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

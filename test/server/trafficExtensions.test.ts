/**
 * The traffic-budget extensions (PROTOCOL-V1 section 4c): discovery, padded pages of exactly n parts
 * whose size does not depend on how many are real, cover POSTs that are discarded, and the cursor
 * guarantee with paging on while others post (SQLite always, PostgreSQL when DEADDROP_TEST_PG_URL is set).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FILLER_BYTES, MAX_PAGE } from '../../server/http/paddedPage.js';
import { deposit, fetchDrop, newDropId, postMessage } from './dropClient.js';
import { metricValue, metricsText, serversPerTest } from './inProcessServer.js';
import { PG_URL, createTestDatabase, explainPostgresSkip, type TestDatabase } from './postgresDatabase.js';

const { server } = serversPerTest(afterEach);

const pdu = (tag: number): Uint8Array => new Uint8Array(FILLER_BYTES).fill(tag);

/** Everything a network observer could measure of a response inside TLS: status and byte counts. */
async function observable(url: string, headers: Record<string, string>) {
  const fetched = await fetchDrop(url, headers);
  const headerBytes = [...fetched.response.headers.entries()]
    .filter(([name]) => name !== 'date' && name !== 'keep-alive' && name !== 'connection')
    .reduce((n, [name, value]) => n + name.length + value.length, 0);
  return { fetched, shape: { status: fetched.status, parts: fetched.parts.length, headerBytes, bodyBytes: Number(fetched.response.headers.get('content-length')) } };
}

const realParts = (f: Awaited<ReturnType<typeof fetchDrop>>) => f.parts.filter((p) => p.headers['x-qabel-filler'] === '0');

describe('discovery', () => {
  it('GET and HEAD <base>/.well-known/deaddrop name the extensions, the largest page and the TTL', async () => {
    const s = await server({ basePath: '/tools/drop', ttlSeconds: 3600 });
    const res = await fetch(`${s.url}/.well-known/deaddrop`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      v: 1,
      features: ['page', 'cover', 'tickets', 'pow'],
      pow: { alg: 'sha256', bits: 18, window_s: 300 },
      intro_per_day: 20,
      max_page: MAX_PAGE,
      ttl_s: 3600,
    });
    expect((await fetch(`${s.url}/.well-known/deaddrop`, { method: 'HEAD' })).status).toBe(200);
    expect((await fetch(`${s.url}/.well-known/deaddrop`, { method: 'POST' })).status).toBe(405);
    const withBlobs = await server({ blobs: true });
    expect(await (await fetch(`${withBlobs.url}/.well-known/deaddrop`)).json()).toMatchObject({ features: ['page', 'cover', 'blobs', 'tickets', 'pow'] });
  });
});

describe('X-Qabel-Page', () => {
  it('answers exactly n parts whatever the drop holds, real ones first, and every answer for one n has one size', async () => {
    const s = await server();
    const url = `${s.url}/${newDropId()}`;
    const empty = await observable(url, { 'X-Qabel-Page': '4' });
    expect(empty.fetched.status).toBe(200);
    expect(empty.fetched.parts).toHaveLength(4);
    expect(realParts(empty.fetched)).toHaveLength(0);
    expect(empty.fetched.latest).toBe('0'.repeat(20));
    expect(empty.fetched.response.headers.get('x-qabel-more')).toBe('0');
    expect(empty.fetched.response.headers.get('last-modified')).toBeNull();

    for (let i = 1; i <= 10; i++) await deposit(url, pdu(i));
    const seen: number[] = [];
    const shapes = [empty.shape];
    let cursor: string | null = null;
    const mores: string[] = [];
    for (let poll = 0; poll < 4; poll++) {
      const { fetched, shape } = await observable(url, { 'X-Qabel-Page': '4', ...(cursor ? { 'X-Qabel-New-Since': cursor } : {}) });
      shapes.push(shape);
      seen.push(...realParts(fetched).map((p) => p.body[0]!));
      for (const filler of fetched.parts.filter((p) => p.headers['x-qabel-filler'] === '1')) expect(filler.body.length).toBe(FILLER_BYTES);
      mores.push(fetched.response.headers.get('x-qabel-more')!);
      cursor = fetched.latest;
      expect(cursor).toMatch(/^\d{20}$/);
    }
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(mores).toEqual(['1', '1', '0', '0']);
    // Nothing a network observer measures tells 0, 2 or 4 real messages apart.
    for (const shape of shapes) expect(shape).toEqual(shapes[0]);
  });

  it('refuses a page size it cannot honour, and without the header answers as before', async () => {
    const s = await server();
    const url = `${s.url}/${newDropId()}`;
    for (const bad of ['0', String(MAX_PAGE + 1), 'abc', '-1', '4.5']) {
      const res = await fetch(url, { headers: { 'X-Qabel-Page': bad } });
      expect(res.status, bad).toBe(400);
      expect(await res.json()).toEqual({ error: `X-Qabel-Page must be a number from 1 to ${MAX_PAGE}` });
    }
    expect((await fetch(url)).status).toBe(204);
    await deposit(url, pdu(1));
    const plain = await fetchDrop(url);
    expect(plain.parts).toHaveLength(1);
    expect(plain.parts[0]!.headers['x-qabel-filler']).toBeUndefined();
    expect(plain.response.headers.get('x-qabel-more')).toBeNull();
  });
});

describe('X-Qabel-Cover', () => {
  it('a cover POST is answered 200 like mail and stored nowhere; it still obeys authorization and size', async () => {
    const s = await server();
    const url = `${s.url}/${newDropId()}`;
    const cover = await postMessage(url, pdu(9), { Authorization: 'Client Qabel', 'X-Qabel-Cover': '1' });
    expect(cover.status).toBe(200);
    expect(await cover.text()).toBe('');
    expect((await fetch(url)).status).toBe(204);
    const text = await metricsText(s.url);
    expect(metricValue(text, 'deaddrop_cover_posts_total')).toBe(1);
    expect(metricValue(text, 'deaddrop_messages_received_total')).toBe(0);
    expect((await postMessage(url, pdu(9), { 'X-Qabel-Cover': '1' })).status).toBe(400);
    expect((await postMessage(url, new Uint8Array(3000), { Authorization: 'Client Qabel', 'X-Qabel-Cover': '1' })).status).toBe(413);
    // Any other value is mail.
    expect((await postMessage(url, pdu(3), { Authorization: 'Client Qabel', 'X-Qabel-Cover': '0' })).status).toBe(200);
    expect((await fetchDrop(url)).parts).toHaveLength(1);
  });
});

/** Writers post while one reader pages with n = 3, echoing the cursor: every message exactly once. */
async function pagedReaderUnderConcurrency(writeBase: string, readBase = writeBase): Promise<void> {
  const dropId = newDropId();
  const url = `${writeBase}/${dropId}`;
  const writers = 4;
  const perWriter = 40;
  const expected = new Set<string>();
  const writing = Array.from({ length: writers }, async (_, w) => {
    for (let i = 0; i < perWriter; i++) {
      const body = randomBytes(FILLER_BYTES);
      body[0] = w;
      expected.add(body.toString('hex'));
      await deposit(url, body);
    }
  });
  let done = false;
  const allWritten = Promise.all(writing).then(() => void (done = true));
  const received: string[] = [];
  let cursor: string | null = null;
  for (let polls = 0; polls < 2000; polls++) {
    const finished = done;
    const fetched = await fetchDrop(`${readBase}/${dropId}`, { 'X-Qabel-Page': '3', ...(cursor ? { 'X-Qabel-New-Since': cursor } : {}) });
    expect(fetched.parts).toHaveLength(3);
    received.push(...realParts(fetched).map((p) => Buffer.from(p.body).toString('hex')));
    cursor = fetched.latest;
    // Another instance may hear of the last commits a moment later: stop once all arrived (or polls run out).
    if (finished && fetched.response.headers.get('x-qabel-more') === '0' && received.length >= expected.size) break;
  }
  await allWritten;
  expect(received.length).toBe(writers * perWriter);
  expect(new Set(received)).toEqual(expected);
}

describe('the cursor guarantee with paging on', () => {
  it('SQLite: every message exactly once', async () => {
    const s = await server();
    await pagedReaderUnderConcurrency(s.url);
  });

  describe.skipIf(!PG_URL)('PostgreSQL, two instances', () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase(PG_URL!);
    });
    afterAll(async () => {
      await database?.drop();
    });
    it('every message exactly once', async () => {
      const [a, b] = [await server({ db: database.url }), await server({ db: database.url })];
      await pagedReaderUnderConcurrency(a.url, b.url);
    });
  });
});

explainPostgresSkip();

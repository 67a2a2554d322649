/** PROTOCOL.md section 2, row by row, against the server running as a child process. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHttpDate } from '../../shared/protocol/httpDate.js';
import { deposit, fetchDrop, newDropId, postMessage, QABEL_AUTH } from './dropClient.js';
import { startExpressHost } from './expressHost.js';
import { TEST_CONNECTIONS_PER_CLIENT } from './inProcessServer.js';
import { createTestDatabase, explainPostgresSkip, PG_URL, type TestDatabase } from './postgresDatabase.js';
import { makeDataDir, removeDataDir, startServerProcess, type ServerProcess } from './serverProcess.js';

explainPostgresSkip();
const backends = [
  { name: 'SQLite', postgres: false, mounted: false },
  { name: 'SQLite, mounted in an Express application', postgres: false, mounted: true },
  ...(PG_URL ? [{ name: 'PostgreSQL', postgres: true, mounted: false }] : []),
];

/** Every response: no caching, no cookies. */
function expectPrivacyHeaders(res: Response): void {
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.headers.get('set-cookie')).toBeNull();
}

async function expectJsonError(res: Response, status: number, error: string): Promise<void> {
  expect(res.status).toBe(status);
  expectPrivacyHeaders(res);
  expect(res.headers.get('content-type')).toBe('application/json');
  expect(await res.json()).toEqual({ error });
}

const INVALID_IDS = [
  'A'.repeat(42),
  'A'.repeat(44),
  'A'.repeat(42) + '=',
  'A'.repeat(42) + '+',
  'A'.repeat(42) + '%41',
];

describe.each(backends)('$name store', ({ postgres, mounted }) => {
  let server: { url: string; stop(): Promise<unknown> };
  let dataDir: string;
  let database: TestDatabase | undefined;

  beforeAll(async () => {
    dataDir = makeDataDir();
    database = postgres ? await createTestDatabase(PG_URL!) : undefined;
    // The tests play many clients from one address.
    const common = ['--max-client-connections', String(TEST_CONNECTIONS_PER_CLIENT)];
    server = mounted
      ? await startExpressHost()
      : await startServerProcess(dataDir, database ? [...common, '--db', database.url] : common);
  });
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
    removeDataDir(dataDir);
  });

  const dropUrl = (id = newDropId()): string => `${server.url}/${id}`;

  describe('POST', () => {
    it('stores a message: 200 with an empty body', async () => {
      const res = await postMessage(dropUrl(), new Uint8Array(2149).fill(7));
      expect(res.status).toBe(200);
      expectPrivacyHeaders(res);
      expect(await res.text()).toBe('');
    });

    it.each(INVALID_IDS)('refuses the invalid drop ID %s', async (id) => {
      await expectJsonError(await postMessage(`${server.url}/${id}`, new Uint8Array(10)), 400, 'Invalid drop id');
    });

    it('refuses an empty body', async () => {
      await expectJsonError(await postMessage(dropUrl(), new Uint8Array(0)), 400, 'No message provided');
    });

    it.each<Record<string, string>>([{}, { Authorization: 'Client qabel' }, { Authorization: 'Client  Qabel' }, { Authorization: 'Bearer x' }])(
      'refuses a missing or wrong Authorization header %j',
      async (headers) => {
        await expectJsonError(await postMessage(dropUrl(), new Uint8Array(10), headers), 400, 'Bad authorization');
      },
    );

    it('accepts 2573 bytes and refuses 2574 with 413', async () => {
      const url = dropUrl();
      expect((await postMessage(url, new Uint8Array(2573))).status).toBe(200);
      await expectJsonError(await postMessage(url, new Uint8Array(2574)), 413, 'Message too large');
      const { parts } = await fetchDrop(url);
      expect(parts.map((p) => p.body.length)).toEqual([2573]);
    });

    it.each(['PUT', 'DELETE', 'PATCH', 'OPTIONS'])('answers %s with 405', async (method) => {
      const res = await fetch(dropUrl(), { method, headers: QABEL_AUTH });
      await expectJsonError(res, 405, 'Method not allowed');
      expect(res.headers.get('allow')).toBe('GET, HEAD, POST');
    });
  });

  describe('GET and HEAD', () => {
    it('answers an empty drop with 204', async () => {
      const url = dropUrl();
      for (const method of ['GET', 'HEAD']) {
        const res = await fetch(url, { method });
        expect(res.status).toBe(204);
        expectPrivacyHeaders(res);
        expect(await res.text()).toBe('');
      }
    });

    it.each(INVALID_IDS)('answers the invalid drop ID %s with 400 (HEAD without body)', async (id) => {
      await expectJsonError(await fetch(`${server.url}/${id}`), 400, 'Invalid drop id');
      const head = await fetch(`${server.url}/${id}`, { method: 'HEAD' });
      expect(head.status).toBe(400);
      expect(await head.text()).toBe('');
    });

    it('returns all messages oldest first as multipart with X-Qabel-Latest and Last-Modified', async () => {
      const url = dropUrl();
      const bodies = [1, 2, 3].map((n) => new Uint8Array(100 + n).fill(n));
      const before = Math.floor(Date.now() / 1000) * 1000;
      for (const body of bodies) await deposit(url, body);
      const got = await fetchDrop(url);
      expect(got.status).toBe(200);
      expectPrivacyHeaders(got.response);
      expect(got.response.headers.get('content-type')).toMatch(/^multipart\/mixed; boundary="[^"]+"$/);
      expect(got.parts.map((p) => Array.from(p.body))).toEqual(bodies.map((b) => Array.from(b)));
      for (const part of got.parts) {
        expect(part.headers['content-type']).toBe('application/octet-stream');
        expect(parseHttpDate(part.headers.date!)!.getTime()).toBeGreaterThanOrEqual(before);
      }
      const lastModified = got.response.headers.get('last-modified')!;
      expect(lastModified).toBe(got.parts[2]!.headers.date);
      expect(got.latest).toMatch(/^\d+$/);

      const head = await fetch(url, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expectPrivacyHeaders(head);
      expect(head.headers.get('x-qabel-latest')).toBe(got.latest);
      expect(head.headers.get('last-modified')).toBe(lastModified);
      expect(await head.text()).toBe('');
    });

    it('with X-Qabel-New-Since returns only strictly newer messages, else 304', async () => {
      const url = dropUrl();
      await deposit(url, Uint8Array.of(1));
      const first = await fetchDrop(url);
      const since = { 'X-Qabel-New-Since': first.latest! };
      expect((await fetchDrop(url, since)).status).toBe(304);
      const head = await fetch(url, { method: 'HEAD', headers: since });
      expect(head.status).toBe(304);
      expectPrivacyHeaders(head);
      await deposit(url, Uint8Array.of(2));
      await deposit(url, Uint8Array.of(3));
      const newer = await fetchDrop(url, since);
      expect(newer.status).toBe(200);
      expect(newer.parts.map((p) => p.body[0])).toEqual([2, 3]);
      expect(Number(newer.latest)).toBeGreaterThan(Number(first.latest));
      expect((await fetch(url, { method: 'HEAD', headers: since })).headers.get('x-qabel-latest')).toBe(newer.latest);
      expect((await fetchDrop(url, { 'X-Qabel-New-Since': newer.latest! })).status).toBe(304);
    });

    it('answers 304 for an empty drop when a since-header is sent', async () => {
      const url = dropUrl();
      expect((await fetchDrop(url, { 'X-Qabel-New-Since': '5' })).status).toBe(304);
      const date = new Date(Date.now() - 60_000).toUTCString();
      expect((await fetch(url, { method: 'HEAD', headers: { 'If-Modified-Since': date } })).status).toBe(304);
    });

    it('with If-Modified-Since returns messages from the start of that second on', async () => {
      const url = dropUrl();
      await deposit(url, Uint8Array.of(9));
      const all = await fetchDrop(url);
      const lastModified = all.response.headers.get('last-modified')!;
      // The same second again: a message posted later in it must not be lost (the client deduplicates).
      expect((await fetchDrop(url, { 'If-Modified-Since': lastModified })).parts).toHaveLength(1);
      const nextSecond = new Date(parseHttpDate(lastModified)!.getTime() + 1000).toUTCString();
      expect((await fetchDrop(url, { 'If-Modified-Since': nextSecond })).status).toBe(304);
      const earlier = new Date(parseHttpDate(lastModified)!.getTime() - 1000).toUTCString();
      expect((await fetchDrop(url, { 'If-Modified-Since': earlier })).parts).toHaveLength(1);
      const future = new Date(Date.now() + 86_400_000).toUTCString();
      expect((await fetch(url, { method: 'HEAD', headers: { 'If-Modified-Since': future } })).status).toBe(304);
    });

    it("accepts the original server's epoch-with-fraction token", async () => {
      const url = dropUrl();
      await deposit(url, Uint8Array.of(4));
      expect((await fetchDrop(url, { 'X-Qabel-New-Since': '1451606400.123456' })).parts).toHaveLength(1);
      expect((await fetchDrop(url, { 'X-Qabel-New-Since': '99999999999.000001' })).status).toBe(304);
    });

    it('ignores both since-headers at once and unparseable values: the whole drop', async () => {
      const url = dropUrl();
      await deposit(url, Uint8Array.of(5));
      const { latest, response } = await fetchDrop(url);
      const both = { 'X-Qabel-New-Since': latest!, 'If-Modified-Since': response.headers.get('last-modified')! };
      expect((await fetchDrop(url, both)).parts).toHaveLength(1);
      for (const value of ['garbage', 'inf', 'Infinity', 'NaN', '-1', '1e309', '0x10', '', '12 34', '9'.repeat(400)]) {
        const got = await fetchDrop(url, { 'X-Qabel-New-Since': value });
        expect(got.status, value).toBe(200);
        expect(got.parts, value).toHaveLength(1);
      }
      for (const value of ['garbage', 'Sun, 31 Feb 2016 00:00:00 GMT', '1451606400']) {
        expect((await fetchDrop(url, { 'If-Modified-Since': value })).parts, value).toHaveLength(1);
      }
    });

    it('treats a cursor beyond any position as "nothing newer"', async () => {
      const url = dropUrl();
      await deposit(url, Uint8Array.of(6));
      for (const value of ['99999999999999999999', String(Number.MAX_SAFE_INTEGER)]) {
        expect((await fetchDrop(url, { 'X-Qabel-New-Since': value })).status).toBe(304);
        expect((await fetch(url, { method: 'HEAD', headers: { 'X-Qabel-New-Since': value } })).status).toBe(304);
      }
    });

    it('returns at most 1000 messages per GET; the cursor fetches the rest', async () => {
      const url = dropUrl();
      // 40 at a time: one client gets 64 connections at most.
      for (let n = 0; n < 1005; n += 40) {
        await Promise.all(Array.from({ length: Math.min(40, 1005 - n) }, (_, i) => deposit(url, new TextEncoder().encode(String(n + i)))));
      }
      const first = await fetchDrop(url);
      expect(first.parts).toHaveLength(1000);
      const second = await fetchDrop(url, { 'X-Qabel-New-Since': first.latest! });
      expect(second.parts).toHaveLength(5);
      const all = [...first.parts, ...second.parts].map((p) => Number(new TextDecoder().decode(p.body)));
      expect(new Set(all).size).toBe(1005);
      expect((await fetchDrop(url, { 'X-Qabel-New-Since': second.latest! })).status).toBe(304);
    });

    it('answers unknown paths with 404 and a plain GET on the push path with 426', async () => {
      for (const path of ['/a/b', `/${newDropId()}/x`]) {
        const res = await fetch(`${server.url}${path}`);
        // Mounted, paths that are not ours are the host application's (here Express's own 404).
        if (mounted) expect([res.status, await res.text()]).toEqual([404, expect.stringContaining('Cannot GET')]);
        else await expectJsonError(res, 404, 'Not found');
      }
      await expectJsonError(await fetch(`${dropUrl()}/ws`), 426, 'WebSocket upgrade required');
    });
  });
});

describe('service path', () => {
  let proxied: ServerProcess;
  let proxiedDir: string;
  beforeAll(async () => {
    proxiedDir = makeDataDir();
    proxied = await startServerProcess(proxiedDir, ['--base-path', '/tools/drop/']);
  });
  afterAll(async () => {
    await proxied?.stop();
    removeDataDir(proxiedDir);
  });

  it('serves drops under the service path only', async () => {
    expect(proxied.url).toBe(`http://127.0.0.1:${proxied.port}/tools/drop`);
    const id = newDropId();
    await deposit(`${proxied.url}/${id}`, Uint8Array.of(1, 2, 3));
    const got = await fetchDrop(`${proxied.url}/${id}`);
    expect(Array.from(got.parts[0]!.body)).toEqual([1, 2, 3]);
    await expectJsonError(await fetch(`http://127.0.0.1:${proxied.port}/${id}`), 404, 'Not found');
    await expectJsonError(await fetch(`http://127.0.0.1:${proxied.port}/tools/${id}`), 404, 'Not found');
  });
});

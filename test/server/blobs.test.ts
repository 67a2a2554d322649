/**
 * Optional encrypted blobs (`--blobs`): upload, whole and ranged download, resuming a cut download,
 * limits, quota, expiry, and hostile uploads that must leave nothing behind. SQLite (files) always;
 * PostgreSQL (chunk rows) when DEADDROP_TEST_PG_URL is set.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDropServer } from '../../server/index.js';
import { openPostgresBlobStore } from '../../server/store/postgresBlobStore.js';
import { deposit, newDropId, QABEL_AUTH } from './dropClient.js';
import { createFakeClock, metricValue, metricsText, serversPerTest, WITHOUT_SPAM_PRESSURE } from './inProcessServer.js';
import { PG_URL, createTestDatabase, explainPostgresSkip, type TestDatabase } from './postgresDatabase.js';
import { makeDataDir, removeDataDir } from './serverProcess.js';

const { server, cleanups } = serversPerTest(afterEach);

async function upload(baseUrl: string, body: Uint8Array, headers: Record<string, string> = QABEL_AUTH): Promise<Response> {
  return fetch(`${baseUrl}/blobs`, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream', ...headers }, body });
}

async function uploaded(baseUrl: string, body: Uint8Array): Promise<string> {
  const res = await upload(baseUrl, body);
  expect(res.status).toBe(201);
  const location = res.headers.get('location')!;
  expect(location).toMatch(/^\/blobs\/[A-Za-z0-9_-]{43}$/);
  expect(await res.json()).toEqual({ id: location.slice('/blobs/'.length), size: body.length });
  return new URL(location, baseUrl).toString();
}

/** A chunked upload (no Content-Length) of `pieces` pieces of `pieceBytes` each. */
function chunkedUpload(baseUrl: string, pieces: number, pieceBytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${baseUrl}/blobs`, { method: 'POST', headers: { ...QABEL_AUTH, 'Transfer-Encoding': 'chunked' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? resolve(-1) : reject(error)));
    let sent = 0;
    const next = (): void => {
      while (sent < pieces) {
        sent++;
        if (!req.write(randomBytes(pieceBytes))) return void req.once('drain', next);
      }
      req.end();
    };
    next();
  });
}

function blobFiles(dataDir: string): string[] {
  return readdirSync(join(dataDir, 'drops.db-blobs'));
}

describe('blobs off (the default)', () => {
  it('answers 404 with a reason and does not advertise blobs', async () => {
    const s = await server();
    const res = await upload(s.url, Uint8Array.of(1, 2, 3));
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'This server stores no blobs' });
    expect(await (await fetch(s.url)).json()).not.toHaveProperty('blobs');
    // A drop is still a drop: "blobs" is no drop ID.
    expect((await fetch(`${s.url}/${newDropId()}`)).status).toBe(204);
  });
});

describe('blobs on SQLite (files)', () => {
  it('stores an upload and serves it whole, with its size, type and an ETag; the service path advertises blobs', async () => {
    const s = await server({ blobs: true, maxBlobBytes: 5_000_000 });
    expect(await (await fetch(s.url)).json()).toMatchObject({ blobs: { maxBytes: 5_000_000 } });
    const bytes = randomBytes(3_000_000);
    const url = await uploaded(s.url, bytes);

    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('3000000');
    expect(head.headers.get('accept-ranges')).toBe('bytes');
    expect(head.headers.get('content-type')).toBe('application/octet-stream');
    expect(head.headers.get('etag')).toBe(`"${url.slice(-43)}"`);

    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('serves one byte range (a-b, a-, -n), refuses one past the end with 416, and ignores several ranges', async () => {
    const s = await server({ blobs: true });
    const bytes = randomBytes(1000);
    const url = await uploaded(s.url, bytes);
    const ranged = async (range: string) => {
      const res = await fetch(url, { headers: { Range: range } });
      return { status: res.status, contentRange: res.headers.get('content-range'), body: Buffer.from(await res.arrayBuffer()) };
    };
    expect(await ranged('bytes=10-19')).toEqual({ status: 206, contentRange: 'bytes 10-19/1000', body: bytes.subarray(10, 20) });
    expect(await ranged('bytes=990-')).toEqual({ status: 206, contentRange: 'bytes 990-999/1000', body: bytes.subarray(990) });
    expect(await ranged('bytes=-5')).toEqual({ status: 206, contentRange: 'bytes 995-999/1000', body: bytes.subarray(995) });
    expect(await ranged('bytes=900-5000')).toEqual({ status: 206, contentRange: 'bytes 900-999/1000', body: bytes.subarray(900) });
    const past = await ranged('bytes=1000-');
    expect(past.status).toBe(416);
    expect(past.contentRange).toBe('bytes */1000');
    expect((await ranged('bytes=0-1,5-6')).status).toBe(200);
    expect((await ranged('pages=1-2')).status).toBe(200);
  });

  it('a download cut in the middle resumes with a range and yields the same bytes', async () => {
    const s = await server({ blobs: true });
    const bytes = randomBytes(4_000_000);
    const url = await uploaded(s.url, bytes);
    const controller = new AbortController();
    const first = await fetch(url, { signal: controller.signal });
    const reader = first.body!.getReader();
    const received: Uint8Array[] = [];
    let have = 0;
    while (have < 1_000_000) {
      const { value } = await reader.read();
      received.push(value!);
      have += value!.length;
    }
    controller.abort();
    const rest = await fetch(url, { headers: { Range: `bytes=${have}-` } });
    expect(rest.status).toBe(206);
    const whole = Buffer.concat([...received, new Uint8Array(await rest.arrayBuffer())]);
    expect(whole.equals(bytes)).toBe(true);
  });

  it('a blob survives a restart of the server', async () => {
    const dataDir = makeDataDir();
    cleanups.push(() => removeDataDir(dataDir));
    const options = { port: 0, db: `sqlite:${join(dataDir, 'drops.db')}`, logLevel: 'warn' as const, blobs: true };
    const first = await startDropServer(options);
    const bytes = randomBytes(10_000);
    const path = new URL(await uploaded(first.url, bytes)).pathname;
    await first.close();
    const second = await startDropServer(options);
    cleanups.push(() => second.close());
    expect(Buffer.from(await (await fetch(second.url + path)).arrayBuffer()).equals(bytes)).toBe(true);
    expect(readdirSync(join(dataDir, 'drops.db-blobs')).length).toBe(1);
  });

  it('refuses a declared size over the limit before reading it, and cuts off a chunked upload that grows past it; nothing is stored', async () => {
    const dataDir = makeDataDir();
    cleanups.push(() => removeDataDir(dataDir));
    const s = await startDropServer({ port: 0, db: `sqlite:${join(dataDir, 'drops.db')}`, logLevel: 'warn', blobs: true, maxBlobBytes: 100_000 });
    cleanups.push(() => s.close());
    const res = await upload(s.url, new Uint8Array(100_001));
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: 'Blob too large' });
    expect([413, -1]).toContain(await chunkedUpload(s.url, 50, 16_384));
    expect(blobFiles(dataDir)).toEqual([]);
    // The limit itself is fine.
    await uploaded(s.url, new Uint8Array(100_000).fill(7));
    expect(blobFiles(dataDir).length).toBe(1);
  });

  it('an upload the client breaks off leaves no file behind', async () => {
    const dataDir = makeDataDir();
    cleanups.push(() => removeDataDir(dataDir));
    const s = await startDropServer({ port: 0, db: `sqlite:${join(dataDir, 'drops.db')}`, logLevel: 'warn', blobs: true });
    cleanups.push(() => s.close());
    await new Promise<void>((resolve) => {
      const req = request(`${s.url}/blobs`, { method: 'POST', headers: { ...QABEL_AUTH, 'Content-Length': '1000000' } });
      req.on('error', () => resolve());
      req.write(randomBytes(300_000), () => setTimeout(() => req.destroy(), 100));
      req.on('close', () => resolve());
    });
    await expect.poll(() => blobFiles(dataDir)).toEqual([]);
    expect((await upload(s.url, Uint8Array.of(1))).status).toBe(201);
  });

  it('an upload that stalls is cut after the socket timeout, and nothing is stored', async () => {
    const dataDir = makeDataDir();
    cleanups.push(() => removeDataDir(dataDir));
    const s = await startDropServer({ port: 0, db: `sqlite:${join(dataDir, 'drops.db')}`, logLevel: 'warn', blobs: true, socketTimeoutMs: 500 });
    cleanups.push(() => s.close());
    // The server closing the connection ends this wait (else the test times out).
    await new Promise<void>((resolve) => {
      const req = request(`${s.url}/blobs`, { method: 'POST', headers: { ...QABEL_AUTH, 'Content-Length': '100000' } });
      req.on('error', () => resolve());
      req.on('close', () => resolve());
      // 10 KB, then silence.
      req.write(randomBytes(10_000));
    });
    await expect.poll(() => blobFiles(dataDir)).toEqual([]);
  });

  it('refuses empty uploads, bad IDs, unknown IDs, other methods, and posts without the protocol authorization', async () => {
    const s = await server({ blobs: true });
    expect((await upload(s.url, new Uint8Array(0))).status).toBe(400);
    expect(await (await fetch(`${s.url}/blobs/not-an-id`)).json()).toEqual({ error: 'Invalid blob id' });
    const unknown = await fetch(`${s.url}/blobs/${newDropId()}`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: 'No such blob' });
    expect((await fetch(`${s.url}/blobs`)).status).toBe(405);
    expect((await fetch(`${s.url}/blobs/${newDropId()}`, { method: 'DELETE' })).status).toBe(405);
    expect((await fetch(`${s.url}/blobs/${newDropId()}/more`)).status).toBe(404);
    expect((await upload(s.url, Uint8Array.of(1), {})).status).toBe(400);
  });

  it('with access tokens, uploads and downloads need one', async () => {
    const token = 'a-token-of-sixteen-chars';
    const s = await server({ blobs: true, tokens: [token] });
    expect((await upload(s.url, Uint8Array.of(1), {})).status).toBe(401);
    const res = await upload(s.url, Uint8Array.of(1, 2), { Authorization: `Bearer ${token}` });
    expect(res.status).toBe(201);
    const url = new URL(res.headers.get('location')!, s.url).toString();
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  it('blobs and messages share the quota: an upload that would exceed it is refused with 507, and messages are not evicted for it', async () => {
    const s = await server({ blobs: true, quotaBytes: 10_000, ...WITHOUT_SPAM_PRESSURE });
    const drop = `${s.url}/${newDropId()}`;
    for (let i = 0; i < 20; i++) await deposit(drop, new Uint8Array(100).fill(i));
    await uploaded(s.url, new Uint8Array(6_000));
    const res = await upload(s.url, new Uint8Array(3_000));
    expect(res.status).toBe(507);
    expect(await res.json()).toEqual({ error: 'Server storage is full' });
    expect(await s.sweepNow()).toMatchObject({ overQuota: 0 });
    await uploaded(s.url, new Uint8Array(1_900));
  });

  it('an upload in progress holds its room: a second one that would not fit beside it is refused at once', async () => {
    // Its own folder, to see the first upload's part file (removed after the server has stopped).
    const dataDir = makeDataDir();
    cleanups.push(() => removeDataDir(dataDir));
    const s = await server({ blobs: true, quotaBytes: 10_000, ...WITHOUT_SPAM_PRESSURE, db: `sqlite:${join(dataDir, 'drops.db')}` });
    let firstStatus = 0;
    const first = request(`${s.url}/blobs`, { method: 'POST', headers: { ...QABEL_AUTH, 'Content-Length': '6000' } }, (res) => {
      firstStatus = res.statusCode ?? 0;
      res.resume();
    });
    const firstDone = new Promise<void>((resolve) => first.on('close', () => resolve()));
    await new Promise<void>((resolve) => first.write(new Uint8Array(1000), () => resolve()));
    // The server reserves the declared size before it opens the upload's part file: once the file is
    // there, the room is held (a fixed pause could end before a loaded server read the headers).
    await expect.poll(() => blobFiles(dataDir).filter((name) => name.endsWith('.part')), { timeout: 10_000 }).toHaveLength(1);
    const second = await upload(s.url, new Uint8Array(6000));
    expect(second.status).toBe(507);
    first.end(new Uint8Array(5000));
    await firstDone;
    expect(firstStatus).toBe(201);
  });

  it('counts stored and refused uploads and the stored blob bytes in /metrics', async () => {
    const s = await server({ blobs: true, maxBlobBytes: 5000, quotaBytes: 8000, ...WITHOUT_SPAM_PRESSURE });
    await uploaded(s.url, new Uint8Array(4000));
    expect((await upload(s.url, new Uint8Array(5001))).status).toBe(413);
    expect((await upload(s.url, new Uint8Array(4500))).status).toBe(507);
    expect((await upload(s.url, new Uint8Array(0))).status).toBe(400);
    const text = await metricsText(s.url);
    expect(metricValue(text, 'deaddrop_blob_bytes')).toBe(4000);
    expect(metricValue(text, 'deaddrop_blobs_stored_total')).toBe(1);
    for (const [reason, count] of [['too_large', 1], ['storage_full', 1], ['bad_request', 1]] as const) {
      expect(text).toContain(`deaddrop_blob_uploads_rejected_total{reason="${reason}"} ${count}`);
    }
    // Without blobs the rows are not there at all.
    expect(await metricsText((await server()).url)).not.toContain('deaddrop_blob');
  });

  it('expires with the TTL: not served after it, and deleted by the sweeper', async () => {
    const dataDir = makeDataDir();
    cleanups.push(() => removeDataDir(dataDir));
    const clock = createFakeClock(Date.now());
    const s = await startDropServer({ port: 0, db: `sqlite:${join(dataDir, 'drops.db')}`, logLevel: 'warn', blobs: true, clock, ttlSeconds: 3600 });
    cleanups.push(() => s.close());
    const url = await uploaded(s.url, Uint8Array.of(1, 2, 3));
    clock.advance(3_599_000);
    expect((await fetch(url)).status).toBe(200);
    clock.advance(2_000);
    expect((await fetch(url)).status).toBe(404);
    expect(await s.sweepNow()).toEqual({ expired: 0, overQuota: 0, expiredBlobs: 1 });
    expect(blobFiles(dataDir)).toEqual([]);
  });
});

describe.skipIf(!PG_URL)('blobs on PostgreSQL (chunk rows)', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(PG_URL!);
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('round-trips a blob across chunk boundaries, serves ranges that span chunks, and two instances serve the same blob', async () => {
    const options = { port: 0, db: database.url, logLevel: 'warn' as const, blobs: true };
    const [a, b] = [await startDropServer(options), await startDropServer(options)];
    cleanups.push(() => a.close(), () => b.close());
    const bytes = randomBytes(2 * 1024 * 1024 + 12_345);
    const path = new URL(await uploaded(a.url, bytes)).pathname;
    expect(Buffer.from(await (await fetch(b.url + path)).arrayBuffer()).equals(bytes)).toBe(true);
    const start = 1024 * 1024 - 10;
    const res = await fetch(b.url + path, { headers: { Range: `bytes=${start}-${start + 1024 * 1024 + 20}` } });
    expect(res.status).toBe(206);
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes.subarray(start, start + 1024 * 1024 + 21))).toBe(true);
  });

  it('slow uploads holding their connections keep no download waiting', async () => {
    const s = await startDropServer({ port: 0, db: database.url, logLevel: 'warn', blobs: true });
    cleanups.push(() => s.close());
    const bytes = randomBytes(5000);
    const url = await uploaded(s.url, bytes);
    // Four uploads that send a little and then nothing for now: each holds an upload connection.
    const slow = Array.from({ length: 4 }, () => {
      const req = request(`${s.url}/blobs`, { method: 'POST', headers: { ...QABEL_AUTH, 'Content-Length': '100000' } });
      req.on('error', () => undefined);
      req.write(randomBytes(1000));
      return req;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
    for (const req of slow) req.destroy();
  });

  it('a broken-off or oversized upload leaves no row; expired blobs are deleted', async () => {
    const store = await openPostgresBlobStore(database.url);
    try {
      const before = await store.storedBytes();
      async function* breaksOff() {
        yield randomBytes(1_500_000);
        throw new Error('connection lost');
      }
      await expect(store.put(newDropId(), breaksOff(), 10_000_000, 1)).rejects.toThrow('connection lost');
      async function* tooLarge() {
        for (let i = 0; i < 5; i++) yield randomBytes(500_000);
      }
      await expect(store.put(newDropId(), tooLarge(), 1_000_000, 1)).rejects.toThrow('larger than allowed');
      expect(await store.storedBytes()).toBe(before);
      const id = newDropId();
      async function* small() {
        yield Buffer.from('abc');
      }
      expect(await store.put(id, small(), 100, 5)).toBe(3);
      expect(await store.open(id)).toMatchObject({ size: 3, createdAtMs: 5 });
      expect(await store.deleteExpired(6)).toBeGreaterThanOrEqual(1);
      expect(await store.open(id)).toBeNull();
    } finally {
      await store.close();
    }
  });
});

explainPostgresSkip();

/**
 * A drop server turned hostile cannot exhaust the client: a scripted node:http server answers every
 * GET with 400 MB (one giant part, or PDU-sized junk parts) or with endless pages holding nothing
 * message-sized. The engine reads a bounded share of each answer, skips oversized parts unbuffered,
 * keeps its memory within a generous bound, stops paging through junk, and meanwhile goes on polling
 * its other drop, where a message still arrives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Server, type ServerResponse, createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { Agent } from 'undici';
import type { IdentitySummary } from '../../shared/ipc/contract.js';
import { DropClient } from '../../electron/core/net/dropClient.js';
import { generateNativeKeyPair } from '../../electron/core/state/nativeKeyPair.js';
import { craftPdu } from './helpers/craft.js';
import { type ServerProcess, startServerProcess } from './helpers/serverProcess.js';
import { type TestEngine, removeDir, startTestEngine } from './helpers/testEngine.js';
import { waitFor } from './helpers/waitFor.js';

const ANSWER_BYTES = 400 * 1024 * 1024;
const BOUNDARY = 'hostile';
const MB = 1024 * 1024;

type Mode = 'giant-part' | 'pdu-junk' | 'junk-pages';
let mode: Mode = 'giant-part';
let gets = 0;
let sentInLastAnswer = 0;
let page = 0;

/** Writes `total` bytes made by `next()` with back-pressure; stops when the client goes away. */
async function stream(res: ServerResponse, total: number, next: () => Buffer): Promise<void> {
  let sent = 0;
  while (sent < total && !res.destroyed) {
    const chunk = next();
    sent += chunk.length;
    sentInLastAnswer = sent;
    if (!res.write(chunk)) await new Promise((resolve) => (res.once('drain', resolve), res.once('close', resolve)));
  }
  res.end(`\r\n--${BOUNDARY}--\r\n`);
}

function hostileAnswer(res: ServerResponse): void {
  gets++;
  sentInLastAnswer = 0;
  const multipart = { 'content-type': `multipart/mixed; boundary=${BOUNDARY}` };
  if (mode === 'junk-pages') {
    // Every page is new (a fresh cursor) and holds nothing message-sized.
    res.writeHead(200, { ...multipart, 'x-qabel-latest': String(++page) });
    const part = Buffer.concat([Buffer.from(`--${BOUNDARY}\r\n\r\n`), randomBytes(100), Buffer.from('\r\n')]);
    res.end(Buffer.concat([part, part, Buffer.from(`--${BOUNDARY}--\r\n`)]));
    return;
  }
  res.writeHead(200, { ...multipart, 'x-qabel-latest': 'never-reached' });
  if (mode === 'giant-part') {
    res.write(`--${BOUNDARY}\r\n\r\n`);
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    void stream(res, ANSWER_BYTES, () => chunk);
    return;
  }
  // PDU-sized junk: every part looks like a message, none opens.
  const part = Buffer.concat([Buffer.from(`--${BOUNDARY}\r\n\r\n`), randomBytes(2149), Buffer.from('\r\n')]);
  part[`--${BOUNDARY}\r\n\r\n`.length] = 0;
  const chunk = Buffer.concat(Array.from({ length: 30 }, () => part));
  void stream(res, ANSWER_BYTES, () => chunk);
}

let hostile: Server;
let real: ServerProcess;
let bob: TestEngine;
let bobId: IdentitySummary;
const dispatcher = new Agent();
const raw = new DropClient({ dispatcher, timeoutMs: 5000 });
const stranger = generateNativeKeyPair();

beforeAll(async () => {
  hostile = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.endsWith('/ws')) return void res.writeHead(404).end();
    hostileAnswer(res);
  });
  await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
  real = await startServerProcess();
  bob = await startTestEngine({ autoPoll: true });
  await bob.call('settings/set', { push: false, pollIntervalMs: 3_600_000 });
  bobId = await bob.call('identities/create', { alias: 'bob', serverUrl: real.url });
  bobId = await bob.call('identities/addDrop', { identityId: bobId.id, serverUrl: `http://127.0.0.1:${(hostile.address() as { port: number }).port}` });
  await bob.engine.settled();
});

afterAll(async () => {
  await bob?.close();
  await real?.stop();
  hostile?.closeAllConnections();
  await new Promise<void>((resolve) => hostile?.close(() => resolve()));
  await dispatcher.close();
  if (bob) removeDir(bob.dataDir);
});

/** Polls every drop `rounds` times; returns the largest RSS growth seen meanwhile (MB). */
async function pollAndMeasure(rounds: number): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  try {
    for (let i = 0; i < rounds; i++) {
      await bob.call('poller/pollNow', {});
      await bob.engine.settled();
    }
  } finally {
    clearInterval(sampler);
  }
  return (Math.max(peak, process.memoryUsage().rss) - baseline) / MB;
}

const texts = () => bob.of('inbox/batch').flatMap((b) => b.messages.map((m) => m.text));

describe('a hostile drop server', { timeout: 180_000 }, () => {
  it('one 400 MB part: skipped while streaming, read only up to the per-poll bound, memory stays flat', async () => {
    mode = 'giant-part';
    const before = gets;
    const growth = await pollAndMeasure(3);
    expect(gets - before).toBe(3);
    expect(sentInLastAnswer).toBeLessThan(100 * MB);
    expect(growth).toBeLessThan(50);
  });

  it('400 MB of PDU-sized junk: opened in chunks as it streams, bounded per poll, memory stays flat', async () => {
    mode = 'pdu-junk';
    const before = gets;
    const growth = await pollAndMeasure(2);
    expect(gets - before).toBe(2);
    expect(sentInLastAnswer).toBeLessThan(100 * MB);
    expect(growth).toBeLessThan(50);
    // Nothing was read whole, so the cursor never moved to the server's claim.
    expect(bob.of('inbox/batch')).toHaveLength(0);
  });

  it('endless pages of junk: one page per poll, not a hundred', async () => {
    mode = 'junk-pages';
    const before = gets;
    await bob.call('poller/pollNow', {});
    await bob.engine.settled();
    expect(gets - before).toBe(1);
  });

  it('the other drop is polled meanwhile: a message arrives while the hostile one streams', async () => {
    mode = 'giant-part';
    await bob.call('settings/set', { pollIntervalMs: 1000 });
    await waitFor(() => gets >= 1 && sentInLastAnswer > 0, 'the hostile server streaming');
    const started = Date.now();
    await raw.post(bobId.dropUrls[0]!, await craftPdu({ from: stranger, to: bobId.publicKey, text: 'through the good drop' }));
    await waitFor(() => texts().includes('through the good drop'), 'the message on the good drop', 20_000);
    expect(Date.now() - started).toBeLessThan(20_000);
    const status = await bob.call('servers/status', {});
    expect(status.find((s) => s.serverUrl === real.url)?.reachable).toBe(true);
  });
});

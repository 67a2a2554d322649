/**
 * The server dies while a GET body is streaming: once in a scripted fake server that sends half a
 * multipart body and closes, once with the real server restarted behind a relay that cuts the
 * response halfway. Either way nothing from the broken answer is kept or acknowledged, the cursor
 * stays where it was, and the next poll delivers every message exactly once.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type IncomingHttpHeaders, type IncomingMessage, type Server, createServer } from 'node:http';
import { type Socket, connect, createServer as createTcpServer } from 'node:net';
import { join } from 'node:path';
import { Agent } from 'undici';
import { DropClient } from '../../electron/core/net/dropClient.js';
import { generateNativeKeyPair } from '../../electron/core/state/nativeKeyPair.js';
import { craftPdu, randomPdu } from './helpers/craft.js';
import { startServerProcess } from './helpers/serverProcess.js';
import { type TestEngine, removeDir, startTestEngine, tempDir } from './helpers/testEngine.js';
import { waitFor } from './helpers/waitFor.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
const dispatcher = new Agent();
afterAll(() => dispatcher.close());

const stranger = generateNativeKeyPair();
const texts = (engine: TestEngine) => engine.of('inbox/batch').flatMap((b) => b.messages.map((m) => m.text));

async function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

/** The push socket's upgrade request reaches a plain request handler too: the fake servers refuse it. */
function isNotAFetch(req: IncomingMessage): boolean {
  return req.method !== 'GET' || req.url?.endsWith('/ws') === true;
}

async function freshEngine(): Promise<TestEngine> {
  const engine = await startTestEngine();
  cleanups.push(async () => {
    await engine.close();
    removeDir(engine.dataDir);
  });
  return engine;
}

describe('server dies while a GET body is streaming', () => {
  it('drops the half-read answer and fetches everything again from the same cursor (scripted server)', async () => {
    const bob = await freshEngine();
    const requests: IncomingHttpHeaders[] = [];
    let parts: Buffer[] = [];
    const boundary = 'half-body-boundary';
    const part = (pdu: Uint8Array) =>
      Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Type: application/octet-stream\r\nDate: Thu, 26 Nov 2026 20:00:00 GMT\r\n\r\n`), pdu, Buffer.from('\r\n')]);
    const fake = createServer((req, res) => {
      if (isNotAFetch(req)) return void res.writeHead(404).end();
      requests.push(req.headers);
      if (req.headers['x-qabel-new-since'] === '2') return void res.writeHead(304).end();
      res.writeHead(200, { 'content-type': `multipart/mixed; boundary="${boundary}"`, 'x-qabel-latest': '2' });
      const body = Buffer.concat([...parts, Buffer.from(`--${boundary}--\r\n`)]);
      if (requests.length > 1) return void res.end(body);
      // First answer: the first part whole, the second cut in the middle, then the connection dies.
      res.write(body.subarray(0, parts[0]!.length + 1000), () => res.destroy());
    });
    const port = await listen(fake);
    cleanups.push(() => new Promise<void>((resolve) => fake.close(() => resolve())));
    fake.on('connection', (socket) => cleanups.push(() => void socket.destroy()));

    const bobId = await bob.call('identities/create', { alias: 'bob', serverUrl: `http://127.0.0.1:${port}` });
    parts = await Promise.all(['first', 'second'].map(async (text) => part(await craftPdu({ from: stranger, to: bobId.publicKey, text }))));
    await bob.call('poller/pollNow', {});

    const batch = await waitFor(() => bob.of('inbox/batch')[0], 'a batch after the broken answer');
    expect(requests.length).toBeGreaterThanOrEqual(2);
    // The broken answer moved nothing: the retry asked for the whole drop again.
    expect(requests[1]!['x-qabel-new-since']).toBeUndefined();
    expect(batch.messages.map((m) => m.text)).toEqual(['first', 'second']);
    expect(bob.of('inbox/batch')).toHaveLength(1);

    await bob.call('inbox/ack', { batchId: batch.batchId });
    const before = requests.length;
    await bob.call('poller/pollNow', {});
    await waitFor(() => requests.length > before, 'a poll after the acknowledgement');
    await bob.engine.settled();
    expect(requests.at(-1)!['x-qabel-new-since']).toBe('2');
    expect(texts(bob)).toEqual(['first', 'second']);
  });

  it('recovers when the real server restarts in the middle of a GET body', async () => {
    const dbDir = tempDir('deaddrop-midpoll-db-');
    const server = await startServerProcess(`sqlite:${join(dbDir, 'drops.db')}`);
    cleanups.push(async () => {
      await server.stop();
      removeDir(dbDir);
    });
    // A relay in front of the server: on the first long answer it cuts both sides after 100 kB
    // and restarts the server, so the client sees its GET body end halfway.
    let cutDone = false;
    let restarted: Promise<void> | null = null;
    const sockets = new Set<Socket>();
    const relay = createTcpServer((client) => {
      const upstream = connect(server.port, '127.0.0.1');
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream);
      let relayed = 0;
      upstream.on('data', (chunk: Buffer) => {
        if (!cutDone && relayed + chunk.length > 100_000) {
          cutDone = true;
          client.write(chunk.subarray(0, 100_000 - relayed), () => {
            client.destroy();
            upstream.destroy();
            restarted = server.restart();
          });
          return;
        }
        relayed += chunk.length;
        client.write(chunk);
      });
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
    });
    const relayPort = await listen(relay);
    cleanups.push(() => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      relay.close(() => resolve());
    }));

    const bob = await freshEngine();
    await bob.call('poller/setPaused', { paused: true });
    const bobId = await bob.call('identities/create', { alias: 'bob', serverUrl: `http://127.0.0.1:${relayPort}` });
    const directDrop = bobId.dropUrls[0]!.replace(`:${relayPort}/`, `:${server.port}/`);
    const raw = new DropClient({ dispatcher, timeoutMs: 5000 });
    // 100 foreign messages (about 220 kB of body) with ours at both ends.
    await raw.post(directDrop, await craftPdu({ from: stranger, to: bobId.publicKey, text: 'before the noise' }));
    for (let i = 0; i < 100; i++) await raw.post(directDrop, randomPdu(2149));
    await raw.post(directDrop, await craftPdu({ from: stranger, to: bobId.publicKey, text: 'after the noise' }));

    await bob.call('poller/setPaused', { paused: false });
    await bob.call('poller/pollNow', {});
    await waitFor(() => restarted !== null, 'the relay to cut the answer and restart the server');
    await restarted;
    const batch = await waitFor(() => bob.of('inbox/batch')[0], 'delivery after the restart', 20_000);
    // One batch with both: nothing from the cut answer (which held the first one) was emitted on its own.
    expect(batch.messages.map((m) => m.text)).toEqual(['before the noise', 'after the noise']);
    await bob.call('inbox/ack', { batchId: batch.batchId });
    // Until the acknowledgement, a second poll (the push socket reconnecting to the restarted server
    // asks for one) may offer the same unacknowledged batch again: delivery is at least once and the
    // consumer drops what it holds by dedupe key. Every offer is that whole batch, never a part of it.
    const offeredBeforeAck = bob.of('inbox/batch').length;
    for (const offer of bob.of('inbox/batch')) {
      expect(offer.messages.map((m) => m.dedupeKey)).toEqual(batch.messages.map((m) => m.dedupeKey));
    }
    await bob.call('poller/pollNow', {});
    await bob.engine.settled();
    // After it, nothing comes again.
    expect(bob.of('inbox/batch')).toHaveLength(offeredBeforeAck);
    expect(new Set(texts(bob))).toEqual(new Set(['before the noise', 'after the noise']));
  });
});

describe('answers that hold nothing PDU-sized', () => {
  it('moves the cursor past a page of garbage instead of fetching it again', async () => {
    const bob = await freshEngine();
    const requests: (string | undefined)[] = [];
    const boundary = 'garbage-boundary';
    const fake = createServer((req, res) => {
      if (isNotAFetch(req)) return void res.writeHead(404).end();
      const since = req.headers['x-qabel-new-since'];
      requests.push(typeof since === 'string' ? since : undefined);
      if (since === '7') return void res.writeHead(304).end();
      res.writeHead(200, { 'content-type': `multipart/mixed; boundary=${boundary}`, 'x-qabel-latest': '7' });
      const part = Buffer.concat([Buffer.from(`--${boundary}\r\n\r\n`), randomPdu(1000), Buffer.from('\r\n')]);
      res.end(Buffer.concat([part, part, Buffer.from(`--${boundary}--\r\n`)]));
    });
    const port = await listen(fake);
    cleanups.push(() => new Promise<void>((resolve) => fake.close(() => resolve())));
    fake.on('connection', (socket) => cleanups.push(() => void socket.destroy()));

    await bob.call('identities/create', { alias: 'bob', serverUrl: `http://127.0.0.1:${port}` });
    // One poll reads the page and stops there (a page without a message is no reason to page on);
    // the next poll asks from its cursor and hears 304.
    await waitFor(() => requests.length >= 1, 'the first poll');
    await bob.engine.settled();
    expect(requests).toEqual([undefined]);
    await bob.call('poller/pollNow', {});
    await waitFor(() => requests.length >= 2, 'the second poll');
    await bob.engine.settled();
    expect(requests.slice(0, 2)).toEqual([undefined, '7']);
    expect(bob.of('inbox/batch')).toHaveLength(0);
  });
});

/**
 * k-of-n posting in version 1 (PROTOCOL-V1.md 2c): the copies of one message are separate PDUs (own
 * ephemeral key, own tag), on distinct servers, shown once; the peer's acknowledgement vector (or its
 * RECEIPT) makes the message delivered, and re-posting stops.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import type { IdentitySummary } from '../../shared/ipc/contract.js';
import { parseContactStringV1 } from '../../shared/protocol/contacts.js';
import { DropClient } from '../../electron/core/net/dropClient.js';
import { type ServerProcess, startServerProcess } from './helpers/serverProcess.js';
import { receiveAndAck } from './helpers/receive.js';
import { type TestEngine, removeDir, startTestEngine } from './helpers/testEngine.js';
import { waitFor } from './helpers/waitFor.js';

const dispatcher = new Agent();
const raw = new DropClient({ dispatcher, timeoutMs: 5000 });
afterAll(() => dispatcher.close());

async function stored(dropUrl: string): Promise<Buffer[]> {
  const result = await raw.fetch(dropUrl, null);
  return result.status === 'messages' ? result.items.map((item) => Buffer.from(item.body)) : [];
}

describe('k of n in version 1', () => {
  const servers: ServerProcess[] = [];
  let alice: TestEngine;
  let bob: TestEngine;
  let aliceId: IdentitySummary;
  let bobId: IdentitySummary;

  beforeAll(async () => {
    servers.push(...(await Promise.all([startServerProcess(), startServerProcess()])));
    const options = { protocolV1: true, network: { allowLocalNetwork: true }, timing: { pingDelayMs: { min: 50, max: 100 } } } as const;
    alice = await startTestEngine({ ...options, outbox: { repost: { checkMs: 100 } } });
    bob = await startTestEngine({ ...options, autoPoll: false });
    aliceId = await alice.call('identities/create', { alias: 'alice', serverUrl: servers[0]!.url });
    await alice.call('settings/set', { pollIntervalMs: 1000 });
    const first = await bob.call('identities/create', { alias: 'bob', serverUrl: servers[0]!.url });
    bobId = await bob.call('identities/addDrop', { identityId: first.id, serverUrl: servers[1]!.url });
  });
  afterAll(async () => {
    await alice?.close();
    await bob?.close();
    await Promise.all(servers.map((server) => server.stop()));
    for (const engine of [alice, bob]) if (engine) removeDir(engine.dataDir);
  });

  it('posts two session PDUs with different bytes and tags on two servers; bob shows one message; alice hears it was delivered', async () => {
    const card = parseContactStringV1((await bob.call('identities/contactCard', { identityId: bobId.id })).v1ContactString);
    const v1 = { qrPrekey: card.v1!.qrPrekey, qrPrekeyExpiresDay: card.v1!.qrPrekeyExpiresDay };
    await alice.call('messages/send', { identityId: aliceId.id, localId: 'v1-k', recipient: { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls, v1 }, text: 'two copies in a session' });
    await waitFor(() => alice.of('outbox/status').find((s) => s.localId === 'v1-k' && s.status === 'posted' && s.copies?.posted === 2), 'posted to 2 of 2', 30_000);
    const [a] = await stored(bobId.dropUrls[0]!);
    const [b] = await stored(bobId.dropUrls[1]!);
    expect(a).toBeDefined();
    expect(b).toBeDefined();
    expect(a!.length).toBe(2149);
    // Different ephemeral keys (bytes 1..32) and different tags (33..48): nothing to link them by.
    expect(a!.subarray(1, 33).equals(b!.subarray(1, 33))).toBe(false);
    expect(a!.subarray(33, 49).equals(b!.subarray(33, 49))).toBe(false);

    await bob.engine.fetchOnce();
    await receiveAndAck(bob, 1, 'bob receives the session message', aliceId);
    const copies = bob.of('inbox/batch').flatMap((batch) => batch.messages).filter((m) => m.text === 'two copies in a session');
    expect(copies.length).toBeGreaterThanOrEqual(1);
    expect(new Set(copies.map((m) => m.dedupeKey)).size).toBe(1);
    expect(copies[0]!.protocol).toBe(1);
    // Bob's RECEIPT (he was asked for one) or his PING's acknowledgement vector: either says delivered.
    const delivered = await waitFor(() => alice.of('outbox/delivered').find((d) => d.localId === 'v1-k'), 'v1-k delivered', 30_000);
    expect(['receipt', 'ackv']).toContain(delivered.via);
  });

  it('keeps the 129th message without an answer waiting for the contact, and sends it once the contact writes', async () => {
    const send = (localId: string) =>
      alice.call('messages/send', { identityId: aliceId.id, localId, recipient: { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls }, text: localId, wantReceipt: false });
    // As the UI does: alice's batches (bob's PING and receipt) stored before she writes, else the
    // session waits for them.
    await receiveAndAck(alice, 0, 'alice stores her batches', bobId);
    // Bob does not read: the window of 128 messages fills up.
    let waiting: string | null = null;
    for (let i = 0; i < 140 && !waiting; i++) {
      await send(`w-${i}`);
      const last = alice.of('outbox/status').filter((s) => s.localId === `w-${i}`).at(-1);
      if (last?.reason?.kind === 'waitingForContact') waiting = `w-${i}`;
    }
    expect(waiting).not.toBeNull();
    expect(await alice.call('messages/sendingReason', { localId: waiting! })).toMatchObject({ kind: 'waitingForContact', retryAt: null });
    expect(alice.of('outbox/status').some((s) => s.localId === waiting && s.status === 'posted')).toBe(false);
    // Bob reads and answers (his PING carries a new ratchet key): the waiting message goes.
    await bob.engine.fetchOnce();
    await receiveAndAck(bob, 2, 'bob reads the backlog', aliceId);
    await waitFor(
      async () => {
        await receiveAndAck(alice, 0, 'alice stores her batches', bobId);
        return alice.of('outbox/status').find((s) => s.localId === waiting && s.status === 'posted');
      },
      'the waiting message is posted',
      60_000,
    );
  }, 120_000);

  it("takes the acknowledgement vector of the contact's PING as delivery of a message that asked for no receipt", async () => {
    await receiveAndAck(alice, 0, 'alice stores her batches', bobId);
    await alice.call('messages/send', {
      identityId: aliceId.id,
      localId: 'by-ackv',
      recipient: { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls },
      text: 'no receipt asked',
      wantReceipt: false,
    });
    const posted = await waitFor(() => alice.of('outbox/status').find((s) => s.localId === 'by-ackv' && s.status === 'posted' && s.copies?.posted === 2), 'posted to 2 of 2');
    // Version 1: re-posted until the vector covers it, receipt or not.
    expect(posted.repost).toMatchObject({ kind: 'scheduled' });
    await bob.engine.fetchOnce();
    await receiveAndAck(bob, 1, 'bob reads it', aliceId);
    // Bob owes no receipt; his PING (50-100 ms later) carries the vector, heard once alice stores the batch.
    const delivered = await waitFor(
      async () => {
        await receiveAndAck(alice, 0, 'alice stores her batches', bobId);
        return alice.of('outbox/delivered').find((d) => d.localId === 'by-ackv');
      },
      'delivered by the acknowledgement vector',
      30_000,
    );
    expect(delivered.via).toBe('ackv');
  });
});

describe('version-1 copies and lost answers', () => {
  it('keeps a copy whose answer was lost at its server: no two servers ever hold the same bytes or tag', async () => {
    const servers = await Promise.all([startServerProcess(), startServerProcess(), startServerProcess()]);
    const lossy = await startLostAnswerProxy(servers[0]!.url);
    const options = { protocolV1: true, network: { allowLocalNetwork: true } } as const;
    const alice = await startTestEngine(options);
    const bob = await startTestEngine({ ...options, autoPoll: false });
    try {
      const aliceId = await alice.call('identities/create', { alias: 'alice', serverUrl: servers[0]!.url });
      const first = await bob.call('identities/create', { alias: 'bob', serverUrl: servers[0]!.url });
      await bob.call('identities/addDrop', { identityId: first.id, serverUrl: servers[1]!.url });
      const bobId = await bob.call('identities/addDrop', { identityId: first.id, serverUrl: servers[2]!.url });
      const card = parseContactStringV1((await bob.call('identities/contactCard', { identityId: bobId.id })).v1ContactString);
      const v1 = { qrPrekey: card.v1!.qrPrekey, qrPrekeyExpiresDay: card.v1!.qrPrekeyExpiresDay };
      // Alice writes to bob's first drop through a proxy that stores her first POST and loses the answer.
      const viaProxy = `${lossy.url}/${bobId.dropUrls[0]!.split('/').at(-1)!}`;
      const recipient = { publicKey: bobId.publicKey, dropUrls: [viaProxy, bobId.dropUrls[1]!, bobId.dropUrls[2]!], v1 };
      await alice.call('messages/send', { identityId: aliceId.id, localId: 'lost', recipient, text: 'an answer gets lost' });
      await waitFor(() => alice.of('outbox/status').find((s) => s.localId === 'lost' && s.status === 'posted' && s.copies?.posted === 2), 'posted to 2 of 2', 30_000);
      expect(lossy.lostAnswers()).toBe(1);
      const held = await Promise.all(bobId.dropUrls.map(stored));
      // The copy that may have been stored at the first server went there again, not elsewhere.
      expect(held[0]!.length).toBeGreaterThanOrEqual(1);
      expect(held[1]).toHaveLength(1);
      expect(held[2]).toHaveLength(0);
      for (const a of held[0]!) {
        expect(a.equals(held[1]![0]!)).toBe(false);
        expect(a.subarray(33, 49).equals(held[1]![0]!.subarray(33, 49))).toBe(false);
      }
      await bob.engine.fetchOnce();
      await receiveAndAck(bob, 1, 'bob receives it once', aliceId);
      const copies = bob.of('inbox/batch').flatMap((batch) => batch.messages).filter((m) => m.text === 'an answer gets lost');
      expect(new Set(copies.map((m) => m.dedupeKey)).size).toBe(1);
    } finally {
      await alice.close();
      await bob.close();
      await lossy.close();
      await Promise.all(servers.map((server) => server.stop()));
      removeDir(alice.dataDir);
      removeDir(bob.dataDir);
    }
  });
});

/** Forwards to `target`; the first POST is stored there but its answer is lost (the connection is cut). */
async function startLostAnswerProxy(target: string): Promise<{ url: string; lostAnswers(): number; close(): Promise<void> }> {
  const { createServer } = await import('node:http');
  let lost = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      void (async () => {
        const upstream = await fetch(`${target}${request.url ?? '/'}`, {
          method: request.method,
          headers: { authorization: request.headers.authorization ?? '', 'content-type': 'application/octet-stream' },
          body: request.method === 'POST' ? Buffer.concat(chunks) : undefined,
        });
        const body = Buffer.from(await upstream.arrayBuffer());
        if (request.method === 'POST' && lost === 0) {
          lost++;
          request.socket.destroy();
          return;
        }
        response.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream' });
        response.end(body);
      })().catch(() => request.socket.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    lostAnswers: () => lost,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

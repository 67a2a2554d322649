/**
 * Closed drops from the engine (PROTOCOL-V1 section 3c L1/L2) against a real drop server process: with
 * the `closedDrops` setting on, identities/create and identities/addDrop claim the new drop before
 * answering, so a ticketless, unstamped POST to it gets 401 Ticket required and nobody else can claim
 * it; with the setting off (the default) drops stay open. A contact without tickets still gets in as
 * an introduction: the engine stamps after the 401 (bits as the server names them); once the drop's
 * introductions for the day are used up the message waits for the server's Retry-After.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentitySummary } from '../../shared/ipc/contract.js';
import { claimDrop } from '../../electron/core/spam/dropClaim.js';
import { fetchPost } from '../../electron/core/spam/spamPost.js';
import { fetchPolicyPost } from '../server/spamSupport.js';
import { makeDataDir, removeDataDir, startServerProcess, type ServerProcess } from '../server/serverProcess.js';
import { type TestEngine, removeDir, startTestEngine } from './helpers/testEngine.js';
import { receiveAndAck } from './helpers/receive.js';
import { waitFor } from './helpers/waitFor.js';

const BITS = 10;
const rawPost = fetchPost();
const pdu = (fill: number): Uint8Array => new Uint8Array(2149).fill(fill);

let dataDir: string;
let server: ServerProcess;
let alice: TestEngine;
let bob: TestEngine;

beforeAll(async () => {
  dataDir = makeDataDir();
  server = await startServerProcess(dataDir, ['--pow-bits', String(BITS), '--intro-per-day', '1', '--log-level', 'warn']);
  alice = await startTestEngine();
  bob = await startTestEngine();
});

afterAll(async () => {
  await alice?.close();
  await bob?.close();
  await server?.stop();
  for (const e of [alice, bob]) if (e) removeDir(e.dataDir);
  if (dataDir) removeDataDir(dataDir);
});

describe('closed drops', () => {
  it('are claimed on creation when the setting is on, on identities/create and identities/addDrop; open otherwise', async () => {
    const open = await alice.call('identities/create', { alias: 'open', serverUrl: server.url, dropBits: 256 });
    expect(await rawPost(open.dropUrls[0]!, pdu(1), {})).toMatchObject({ status: 200 });

    await bob.call('settings/set', { closedDrops: true });
    const closed = await bob.call('identities/create', { alias: 'bob', serverUrl: server.url, dropBits: 256 });
    const [dropUrl] = closed.dropUrls;
    expect(await rawPost(dropUrl!, pdu(2), {})).toEqual({ status: 401, error: 'Ticket required', powBits: BITS });
    // Claimed by bob's key: a stranger's claim is refused.
    const stranger = await claimDrop(fetchPolicyPost, { secret: new Uint8Array(randomBytes(32)), dropUrl: dropUrl!, keyIds: [0], introPerDay: 5 });
    expect(stranger).toMatchObject({ ok: false, reason: 'claimed' });

    const added = await bob.call('identities/addDrop', { identityId: closed.id, serverUrl: server.url });
    const second = added.dropUrls.find((url) => url !== dropUrl)!;
    expect(await rawPost(second, pdu(3), {})).toMatchObject({ status: 401, error: 'Ticket required' });
    // Nothing of the claims reaches the UI's identity summaries.
    expect(Object.keys(added)).not.toContain('closedDrops');
  });

  it('a contact without tickets gets in as a stamped introduction; beyond the daily quota the message waits for Retry-After', async () => {
    const aliceId: IdentitySummary = await alice.call('identities/create', { alias: 'alice', serverUrl: server.url, dropBits: 256 });
    const bobId = (await bob.call('identities/list', {})).find((i) => i.alias === 'bob')!;
    const recipient = { publicKey: bobId.publicKey, dropUrls: [bobId.dropUrls[0]!] };

    const started = performance.now();
    await alice.call('messages/send', { identityId: aliceId.id, localId: 'intro-1', recipient, text: 'hello, stranger here' });
    await waitFor(() => alice.of('outbox/status').find((s) => s.localId === 'intro-1' && s.status === 'posted'), 'introduction posted', 30_000);
    console.info(`introduction into a closed drop (${BITS} bits) posted ${Math.round(performance.now() - started)} ms after messages/send`);
    expect(alice.of('outbox/stampProgress').find((p) => p.localId === 'intro-1')).toMatchObject({ hashes: 0, expected: 2 ** BITS });
    const [atBob] = await receiveAndAck(bob, 1, 'bob receives the introduction');
    expect(atBob).toMatchObject({ senderKey: aliceId.publicKey, text: 'hello, stranger here' });

    // The drop takes one introduction a day: the next one waits for the next UTC day, not a minute.
    await alice.call('messages/send', { identityId: aliceId.id, localId: 'intro-2', recipient, text: 'and another', wantReceipt: false });
    const waiting = await waitFor(
      () => alice.of('outbox/status').find((s) => s.localId === 'intro-2' && s.status === 'sending' && s.reason?.retryAt),
      'second introduction waits',
      30_000,
    );
    expect(waiting.reason!.kind).toBe('rateLimited');
    expect(waiting.reason!.detail).toMatch(/introductions it takes today/);
    const nextDay = (Math.floor(Date.now() / 86_400_000) + 1) * 86_400_000;
    expect(waiting.reason!.retryAt!).toBeGreaterThanOrEqual(Math.min(nextDay, Date.now() + 3600_000) - 5000);
    expect(await alice.call('messages/cancel', { localId: 'intro-2' })).toEqual({ cancelled: true });
  });

  it('a server that offers tickets but takes no claim gets no drop (withdrawn, the request refused); one without tickets keeps an open drop', async () => {
    // A stand-in server: its discovery says what the test wants, every policy POST is a 500.
    let features: string[] = ['tickets', 'pow'];
    const policies: string[] = [];
    const fake: Server = createServer((req, res) => {
      if (req.url?.endsWith('/.well-known/deaddrop')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ v: 1, features, intro_per_day: 20 }));
      } else if (req.url?.endsWith('/policy')) {
        policies.push(req.url);
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"Storage unavailable"}');
      } else {
        res.writeHead(204).end();
      }
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    const fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
    const carol = await startTestEngine({ network: { allowLocalNetwork: true } });
    try {
      await carol.call('settings/set', { closedDrops: true });
      await expect(carol.call('identities/create', { alias: 'carol', serverUrl: fakeUrl, dropBits: 256 })).rejects.toThrow(/unavailable: .*HTTP 500/);
      expect(await carol.call('identities/list', {})).toEqual([]);
      expect(policies).toHaveLength(1);

      const onReal = await carol.call('identities/create', { alias: 'carol', serverUrl: server.url, dropBits: 256 });
      await expect(carol.call('identities/addDrop', { identityId: onReal.id, serverUrl: fakeUrl })).rejects.toThrow(/unavailable/);
      expect((await carol.call('identities/list', {}))[0]!.dropUrls).toEqual(onReal.dropUrls);
      // Withdrawn, not removed: nothing is read on from it.
      expect((await carol.call('identities/list', {}))[0]!.retiringDrops ?? []).toEqual([]);

      features = ['page', 'cover'];
      const open = await carol.call('identities/addDrop', { identityId: onReal.id, serverUrl: fakeUrl });
      expect(open.dropUrls).toHaveLength(2);
      expect(policies).toHaveLength(2);
    } finally {
      await carol.close();
      removeDir(carol.dataDir);
      await new Promise((resolve) => fake.close(resolve));
    }
  });
});

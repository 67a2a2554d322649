/**
 * Tickets between two real engines through a real drop server (PROTOCOL-V1 section 3c L1): Bob's drop
 * is closed and takes one introduction a day. Alice's first message gets in as a stamped introduction;
 * Bob's answer hands Alice tickets for his drop (`dd_tickets` messages, which Alice's engine keeps in
 * its wallet and never shows the UI); Alice's next messages then go in with tickets, past the used-up
 * introduction quota and without any stamp.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentitySummary } from '../../shared/ipc/contract.js';
import { fetchPost } from '../../electron/core/spam/spamPost.js';
import { makeDataDir, removeDataDir, startServerProcess, type ServerProcess } from '../server/serverProcess.js';
import { type TestEngine, removeDir, startTestEngine } from './helpers/testEngine.js';
import { receiveAndAck } from './helpers/receive.js';
import { waitFor } from './helpers/waitFor.js';

const BITS = 10;

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

describe('tickets', () => {
  it('an answer hands the contact tickets; its next messages go in with them, past the introduction quota, unstamped', async () => {
    await bob.call('settings/set', { closedDrops: true });
    const bobId: IdentitySummary = await bob.call('identities/create', { alias: 'bob', serverUrl: server.url, dropBits: 256 });
    const aliceId: IdentitySummary = await alice.call('identities/create', { alias: 'alice', serverUrl: server.url, dropBits: 256 });
    expect(await fetchPost()(bobId.dropUrls[0]!, new Uint8Array(2149), {})).toMatchObject({ status: 401, error: 'Ticket required' });
    const toBob = { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls };
    const toAlice = { publicKey: aliceId.publicKey, dropUrls: aliceId.dropUrls };

    await alice.call('messages/send', { identityId: aliceId.id, localId: 'a-1', recipient: toBob, text: 'hello bob', wantReceipt: false });
    await waitFor(() => alice.of('outbox/status').find((s) => s.localId === 'a-1' && s.status === 'posted'), 'introduction posted');
    expect(alice.of('outbox/stampProgress').some((p) => p.localId === 'a-1')).toBe(true);
    await receiveAndAck(bob, 1, 'bob has the introduction');

    await bob.call('messages/send', { identityId: bobId.id, localId: 'b-1', recipient: toAlice, text: 'hello alice', wantReceipt: false });
    // Bob's engine hands Alice 60 tickets for his closed drop: three messages the UI never tracked.
    const handedOut = await waitFor(() => {
      const posted = bob.of('outbox/status').filter((s) => s.localId.startsWith('tickets-') && s.status === 'posted');
      return posted.length > 0 ? posted : null;
    }, 'tickets posted');
    expect(handedOut).toHaveLength(1);
    const atAlice = await receiveAndAck(alice, 1, 'alice has the answer');
    expect(atAlice.map((m) => m.text)).toEqual(['hello alice']);
    await alice.engine.fetchOnce();
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Nothing of the tickets reached Alice's UI.
    const shown = alice.of('inbox/batch').flatMap((b) => b.messages);
    expect(shown.every((m) => m.content.type !== 'unsupported')).toBe(true);

    // The introduction quota (1) is used up: only tickets get these in.
    for (const localId of ['a-2', 'a-3']) {
      await alice.call('messages/send', { identityId: aliceId.id, localId, recipient: toBob, text: `ticketed ${localId}`, wantReceipt: false });
      await waitFor(() => alice.of('outbox/status').find((s) => s.localId === localId && s.status === 'posted'), `${localId} posted`);
      expect(alice.of('outbox/stampProgress').some((p) => p.localId === localId)).toBe(false);
    }
    const atBob = await receiveAndAck(bob, 3, 'bob has the ticketed messages');
    expect(atBob.map((m) => m.text)).toEqual(expect.arrayContaining(['ticketed a-2', 'ticketed a-3']));
    // Bob writing again hands out nothing more: Alice holds tickets for his drop.
    await bob.call('messages/send', { identityId: bobId.id, localId: 'b-2', recipient: toAlice, text: 'again', wantReceipt: false });
    await waitFor(() => bob.of('outbox/status').find((s) => s.localId === 'b-2' && s.status === 'posted'), 'b-2 posted');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(new Set(bob.of('outbox/status').filter((s) => s.localId.startsWith('tickets-')).map((s) => s.localId)).size).toBe(1);
  });
});

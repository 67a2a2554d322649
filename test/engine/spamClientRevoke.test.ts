/**
 * Revoking tickets (PROTOCOL-V1 section 3c L1, electron/core/spam/revocation.ts) between three real
 * engines through a real drop server: Bob's drop is closed and takes three introductions a day. Alice
 * and Carol introduce themselves, Bob answers both (handing each 60 tickets), then revokes Alice's
 * (what blocking or deleting her does). The server refuses her tickets as spent; her engine empties
 * that wallet and posts as a stranger (stamp, the third introduction), while Carol's tickets still
 * get her messages in unstamped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentitySummary } from '../../shared/ipc/contract.js';
import { makeDataDir, removeDataDir, startServerProcess, type ServerProcess } from '../server/serverProcess.js';
import { metricsText, TEST_METRICS_TOKEN } from '../server/inProcessServer.js';
import { type TestEngine, removeDir, startTestEngine } from './helpers/testEngine.js';
import { receiveAndAck } from './helpers/receive.js';
import { waitFor } from './helpers/waitFor.js';

const BITS = 10;

let dataDir: string;
let server: ServerProcess;
let alice: TestEngine;
let bob: TestEngine;
let carol: TestEngine;

/** A counter of the server's `/metrics`. */
async function metric(name: string, labels: string): Promise<number> {
  const text = await metricsText(server.url);
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

beforeAll(async () => {
  dataDir = makeDataDir();
  server = await startServerProcess(dataDir, ['--pow-bits', String(BITS), '--intro-per-day', '3', '--metrics-token', TEST_METRICS_TOKEN, '--log-level', 'warn']);
  [alice, bob, carol] = await Promise.all([startTestEngine(), startTestEngine(), startTestEngine()]);
});

afterAll(async () => {
  await Promise.all([alice?.close(), bob?.close(), carol?.close()]);
  await server?.stop();
  for (const e of [alice, bob, carol]) if (e) removeDir(e.dataDir);
  if (dataDir) removeDataDir(dataDir);
});

async function send(from: TestEngine, identity: IdentitySummary, to: IdentitySummary, localId: string): Promise<void> {
  await from.call('messages/send', { identityId: identity.id, localId, recipient: { publicKey: to.publicKey, dropUrls: to.dropUrls }, text: localId, wantReceipt: false });
  await waitFor(() => from.of('outbox/status').find((s) => s.localId === localId && s.status === 'posted'), `${localId} posted`);
}

const stamped = (engine: TestEngine, localId: string) => engine.of('outbox/stampProgress').some((p) => p.localId === localId);

describe('ticket revocation', () => {
  it("a revoked contact's tickets are refused and it falls back to a stamped introduction; another contact's tickets still work", async () => {
    await bob.call('settings/set', { closedDrops: true });
    const bobId = await bob.call('identities/create', { alias: 'bob', serverUrl: server.url, dropBits: 256 });
    const aliceId = await alice.call('identities/create', { alias: 'alice', serverUrl: server.url, dropBits: 256 });
    const carolId = await carol.call('identities/create', { alias: 'carol', serverUrl: server.url, dropBits: 256 });

    await send(alice, aliceId, bobId, 'a-1');
    await send(carol, carolId, bobId, 'c-1');
    await receiveAndAck(bob, 2, 'bob has both introductions');
    expect(stamped(alice, 'a-1') && stamped(carol, 'c-1')).toBe(true);
    // Stamp progress names the drop the stamped copy goes to; Bob's server status, the introductions his claim was granted.
    expect(new Set(alice.of('outbox/stampProgress').map((p) => p.dropUrl))).toEqual(new Set([bobId.dropUrls[0]]));
    expect((await bob.call('servers/status', {})).find((s) => s.serverUrl === server.url)?.introPerDay).toBe(3);
    expect((await alice.call('servers/status', {})).find((s) => s.serverUrl === server.url)?.introPerDay).toBeUndefined();

    // Bob answers both: each is handed 60 tickets.
    await send(bob, bobId, aliceId, 'b-a');
    await send(bob, bobId, carolId, 'b-c');
    await waitFor(() => bob.of('outbox/status').filter((s) => s.localId.startsWith('tickets-') && s.status === 'posted').length >= 2 || null, 'tickets handed out');
    await receiveAndAck(alice, 1, 'alice has the answer');
    await receiveAndAck(carol, 1, 'carol has the answer');
    // The wallets fill in the background after the batch that brought them.
    await alice.engine.fetchOnce();
    await carol.engine.fetchOnce();
    await new Promise((resolve) => setTimeout(resolve, 300));

    // Alice's tickets work before the revocation.
    await send(alice, aliceId, bobId, 'a-2');
    expect(stamped(alice, 'a-2')).toBe(false);
    expect(await metric('deaddrop_posts_admitted_total', '{via="ticket"}')).toBe(1);

    expect(await bob.call('contacts/revokeTickets', { identityId: bobId.id, contactPublicKey: aliceId.publicKey })).toEqual({ struck: 1, pending: 0 });
    // Nothing more to revoke the second time, nor for someone never handed tickets.
    expect(await bob.call('contacts/revokeTickets', { identityId: bobId.id, contactPublicKey: aliceId.publicKey })).toEqual({ struck: 0, pending: 0 });
    expect(await bob.call('contacts/revokeTickets', { identityId: bobId.id, contactPublicKey: 'f'.repeat(64) })).toEqual({ struck: 0, pending: 0 });

    // Carol's tickets still get her in, unstamped.
    await send(carol, carolId, bobId, 'c-2');
    expect(stamped(carol, 'c-2')).toBe(false);
    expect(await metric('deaddrop_posts_admitted_total', '{via="ticket"}')).toBe(2);

    // Alice's are refused as spent (two, then her wallet is emptied) and she comes in as a stranger.
    await send(alice, aliceId, bobId, 'a-3');
    expect(stamped(alice, 'a-3')).toBe(true);
    expect(await metric('deaddrop_posts_refused_spam_total', '{reason="ticket_spent"}')).toBe(2);
    expect(await metric('deaddrop_posts_admitted_total', '{via="intro"}')).toBe(3);
    // Her next message tries no ticket at all: the wallet is empty, and the quota used up.
    await alice.call('messages/send', { identityId: aliceId.id, localId: 'a-4', recipient: { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls }, text: 'a-4', wantReceipt: false });
    await waitFor(async () => ((await metric('deaddrop_posts_refused_spam_total', '{reason="intro_quota"}')) >= 1 ? true : null), 'a-4 refused by the introduction quota');
    expect(await metric('deaddrop_posts_refused_spam_total', '{reason="ticket_spent"}')).toBe(2);
    await alice.call('messages/cancel', { localId: 'a-4' }).catch(() => undefined);

    const atBob = await receiveAndAck(bob, 5, 'bob has the messages');
    expect(atBob.map((m) => m.text).sort()).toEqual(['a-1', 'a-2', 'a-3', 'c-1', 'c-2']);
  }, 120_000);
});

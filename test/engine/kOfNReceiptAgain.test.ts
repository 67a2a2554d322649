/**
 * A lost version-0 receipt is answered again (issue 15 "Re-posting", outbox/receiptAgain.ts): Alice's
 * message asks for a receipt; Bob's receipt goes to a server that answers 200 and forgets it (the fault
 * proxy's lossy mode). Alice's outbox re-posts the message 3.5 days later; Bob's engine sees a message
 * it showed already, shows nothing, and posts the receipt again, which ends Alice's re-posting. A
 * hostile replay of that one PDU (twenty times in a day) gets no further receipt that day, and one the
 * next day: never more than an honest re-post would. Real engines and servers, simulated clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import type { IdentitySummary, IncomingMessage } from '../../shared/ipc/contract.js';
import { parseDropUrl } from '../../shared/protocol/dropId.js';
import { DropClient } from '../../electron/core/net/dropClient.js';
import { type Cluster, SimClock, startCluster } from '../faults/cluster.js';
import { seeded } from '../faults/random.js';
import { type TestEngine, removeDir, startTestEngine } from './helpers/testEngine.js';

const DAY_MS = 24 * 3600_000;
const clock = new SimClock(Date.UTC(2026, 4, 4));
let cluster: Cluster;
const dispatcher = new Agent();
const client = new DropClient({ dispatcher, timeoutMs: 5000 });

interface User {
  engine: TestEngine;
  identity: IdentitySummary;
  acked: Set<string>;
}
const users: User[] = [];

async function user(alias: string, serverUrl: string): Promise<User> {
  const engine = await startTestEngine({ clock, autoPoll: false, protocolV1: false, network: { allowLocalNetwork: true }, outbox: { repost: { checkMs: 20 } } });
  const created = { engine, identity: await engine.call('identities/create', { alias, serverUrl }), acked: new Set<string>() };
  users.push(created);
  return created;
}

/** Reads once and acknowledges as the UI does, owing receipts to `sender`'s drops; returns what was new. */
async function read(u: User, sender: IdentitySummary): Promise<{ messages: IncomingMessage[]; receipts: string[] }> {
  await u.engine.engine.fetchOnce();
  const messages: IncomingMessage[] = [];
  const receipts: string[] = [];
  for (const batch of u.engine.of('inbox/batch')) {
    if (u.acked.has(batch.batchId)) continue;
    u.acked.add(batch.batchId);
    messages.push(...batch.messages);
    receipts.push(...batch.receipts.map((r) => r.acknowledgeId));
    await u.engine.call('inbox/ack', { batchId: batch.batchId, receipts: batch.messages.map((m) => ({ dedupeKey: m.dedupeKey, dropUrls: sender.dropUrls })) });
  }
  await u.engine.engine.settled();
  return { messages, receipts };
}

async function pass(ms: number): Promise<void> {
  for (let left = ms; left > 0; left -= 12 * 3600_000) {
    clock.advance(Math.min(left, 12 * 3600_000));
    await cluster.sweep();
    await new Promise((resolve) => setTimeout(resolve, 60));
  }
}

/** POSTs the proxy in front of `dropUrl`'s server forwarded to that drop so far. */
function postsTo(dropUrl: string): Buffer[] {
  const { dropId } = parseDropUrl(dropUrl);
  const proxy = cluster.proxies[cluster.urls.findIndex((url) => dropUrl.startsWith(url))]!;
  return proxy.captured.filter((post) => post.dropId === dropId && post.forwarded).map((post) => post.body);
}

beforeAll(async () => {
  cluster = await startCluster({ clock, random: seeded(1515), capture: true });
});

afterAll(async () => {
  for (const u of users) await u.engine.close().catch(() => undefined);
  await cluster?.close();
  await dispatcher.close();
  for (const u of users) removeDir(u.engine.dataDir);
});

describe('a lost version-0 receipt', () => {
  it('is answered again when the message is re-posted, which ends the re-posting; a replayed PDU gets at most one receipt a day', async () => {
    const alice = await user('alice', cluster.urls[0]!);
    const bob = await user('bob', cluster.urls[1]!);
    const aliceDrop = alice.identity.dropUrls[0]!;
    const bobDrop = bob.identity.dropUrls[0]!;

    const accepted = await alice.engine.call('messages/send', {
      identityId: alice.identity.id,
      localId: 'lost-receipt',
      recipient: { publicKey: bob.identity.publicKey, dropUrls: [bobDrop] },
      text: 'please confirm',
      wantReceipt: true,
    });
    const ackId = accepted.acknowledgeIds[0]!;
    for (let i = 0; i < 500 && !alice.engine.of('outbox/status').some((s) => s.localId === 'lost-receipt' && s.status === 'posted'); i++) await new Promise((r) => setTimeout(r, 10));
    const original = postsTo(bobDrop);
    expect(original).toHaveLength(1);

    // Bob reads it and answers; Alice's server says 200 to the receipt and forgets it.
    cluster.proxies[0]!.mode = { lossyP: 1 };
    expect((await read(bob, alice.identity)).messages.map((m) => m.text)).toEqual(['please confirm']);
    cluster.proxies[0]!.mode = {};
    expect(cluster.proxies[0]!.stats.faults.lossy).toBe(1);
    expect(postsTo(aliceDrop)).toHaveLength(0);
    expect((await read(alice, bob.identity)).receipts).toEqual([]);

    // Alice's outbox re-posts the very same bytes; Bob shows nothing new and posts the receipt again.
    await pass(3.5 * DAY_MS + 3600_000);
    // The outbox looks every 20 ms of real time: on a loaded machine the re-post may take a moment.
    for (let i = 0; i < 250 && postsTo(bobDrop).length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(postsTo(bobDrop).length).toBe(2);
    expect(postsTo(bobDrop)[1]!.equals(original[0]!)).toBe(true);
    expect((await read(bob, alice.identity)).messages).toEqual([]);
    expect(postsTo(aliceDrop)).toHaveLength(1);
    expect((await read(alice, bob.identity)).receipts).toEqual([ackId]);

    // Delivered: no re-post follows.
    await pass(4 * DAY_MS);
    expect(postsTo(bobDrop).length).toBe(2);

    // A hostile replay of that PDU, twenty times, more than a day after the last answer: one receipt;
    // twenty more the same day: none.
    for (let i = 0; i < 20; i++) await client.post(bobDrop, new Uint8Array(original[0]!));
    expect((await read(bob, alice.identity)).messages).toEqual([]);
    expect(postsTo(aliceDrop)).toHaveLength(2);
    for (let i = 0; i < 20; i++) await client.post(bobDrop, new Uint8Array(original[0]!));
    await pass(12 * 3600_000);
    expect((await read(bob, alice.identity)).messages).toEqual([]);
    expect(postsTo(aliceDrop)).toHaveLength(2);
    // The next day, one more.
    await pass(DAY_MS);
    await client.post(bobDrop, new Uint8Array(original[0]!));
    expect((await read(bob, alice.identity)).messages).toEqual([]);
    expect(postsTo(aliceDrop)).toHaveLength(3);
  });
});

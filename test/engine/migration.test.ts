/**
 * Drop migration in one message (identities/moveDrop, PROTOCOL-V1.md 2c "Migration") between real
 * engines and real drop servers on a simulated clock (the servers' TTL sweep included): Alice moves from
 * server A to server B and tells her contacts with one `box_contact_update`. Bob, online, writes to B at
 * once; Carol, away 20 days, still reaches Alice at the old drop (read once a day after the first week)
 * with what she wrote while away, and moves to B with the update the outbox kept re-posting; Dave and
 * Erin, away 40 days, come back after the old drop retired (and after re-posting gave up on the update).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentitySummary, IncomingMessage } from '../../shared/ipc/contract.js';
import { MOVE_FULL_RATE_MS, MOVE_OVERLAP_MS, TAIL_WINDOW_MS } from '../../electron/core/drops/retiring.js';
import { type Cluster, SimClock, startCluster } from '../faults/cluster.js';
import { seeded } from '../faults/random.js';
import { type TestEngine, removeDir, startTestEngine } from './helpers/testEngine.js';

const DAY_MS = 24 * 3600_000;
const clock = new SimClock(Date.UTC(2026, 2, 2));
let cluster: Cluster;

interface User {
  name: string;
  engine: TestEngine;
  identity: IdentitySummary;
  /** Contact book: drop URLs by public key, as the UI keeps them. */
  book: Map<string, string[]>;
  acked: Set<string>;
  shown: IncomingMessage[];
}
const users: User[] = [];

async function user(name: string, serverUrl: string, protocolV1: boolean, autoPoll = false): Promise<User> {
  // Re-posts are due by the simulated clock; the outbox looks every 20 ms of real time.
  const engine = await startTestEngine({ clock, autoPoll, protocolV1, network: { allowLocalNetwork: true }, outbox: { repost: { checkMs: 20 } } });
  const identity = await engine.call('identities/create', { alias: name, serverUrl });
  const created = { name, engine, identity, book: new Map<string, string[]>(), acked: new Set<string>(), shown: [] };
  users.push(created);
  return created;
}

function introduce(a: User, b: User): void {
  a.book.set(b.identity.publicKey, [...b.identity.dropUrls]);
  b.book.set(a.identity.publicKey, [...a.identity.dropUrls]);
}

/** Reads every drop the engine reads now, stores and acknowledges as the UI does (updates and meta drop URLs applied), and returns what was new. */
async function read(u: User): Promise<IncomingMessage[]> {
  await u.engine.engine.fetchOnce();
  const fresh: IncomingMessage[] = [];
  for (const batch of u.engine.of('inbox/batch')) {
    if (u.acked.has(batch.batchId)) continue;
    u.acked.add(batch.batchId);
    const owed = [];
    for (const message of batch.messages) {
      if (u.shown.some((m) => m.dedupeKey === message.dedupeKey)) continue;
      u.shown.push(message);
      fresh.push(message);
      const drops = u.book.get(message.senderKey);
      if (!drops) continue;
      if (message.content?.type === 'box_contact_update') u.book.set(message.senderKey, [...message.content.dropUrls]);
      else if (message.meta?.dropUrl && !drops.includes(message.meta.dropUrl)) u.book.set(message.senderKey, [message.meta.dropUrl, ...drops]);
      owed.push({ dedupeKey: message.dedupeKey, dropUrls: u.book.get(message.senderKey)! });
    }
    await u.engine.call('inbox/ack', { batchId: batch.batchId, receipts: owed });
  }
  await u.engine.engine.settled();
  return fresh;
}

let sent = 0;
async function send(from: User, to: User, text: string | null): Promise<string> {
  const localId = `m${++sent}`;
  await from.engine.call('messages/send', {
    identityId: from.identity.id,
    localId,
    recipient: { publicKey: to.identity.publicKey, dropUrls: from.book.get(to.identity.publicKey)! },
    ...(text === null ? { content: { type: 'box_contact_update' as const } } : { text }),
    wantReceipt: true,
  });
  for (let i = 0; i < 500; i++) {
    if (from.engine.of('outbox/status').some((s) => s.localId === localId && s.status === 'posted')) return localId;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${localId} not posted`);
}

/**
 * Moves the clock in steps of at most 12 hours; after each the servers' TTL sweep runs and the outboxes
 * get a moment of real time to re-post what fell due.
 */
async function pass(ms: number): Promise<void> {
  for (let left = ms; left > 0; left -= 12 * 3600_000) {
    clock.advance(Math.min(left, 12 * 3600_000));
    await cluster.sweep();
    await new Promise((resolve) => setTimeout(resolve, 60));
  }
}

const texts = (messages: IncomingMessage[]) => messages.map((m) => (m.content?.type === 'box_message' ? m.content.msg : (m.content?.type ?? null)));

beforeAll(async () => {
  cluster = await startCluster({ clock, random: seeded(15) });
});

afterAll(async () => {
  for (const u of users) await u.engine.close().catch(() => undefined);
  await cluster?.close();
  for (const u of users) removeDir(u.engine.dataDir);
});

describe('identities/moveDrop', () => {
  it('puts the new drop first, keeps the old one read for 30 days, and reads the new one before returning', async () => {
    // An engine that polls by itself: the new drop is watched once the call returns.
    const polling = await user('polling', cluster.urls[0]!, false, true);
    const moved = await polling.engine.call('identities/moveDrop', { identityId: polling.identity.id, fromDropUrl: polling.identity.dropUrls[0]!, serverUrl: cluster.urls[1]! });
    expect(moved.dropUrls).toHaveLength(1);
    expect(moved.dropUrls[0]!.startsWith(`${cluster.urls[1]!}/`)).toBe(true);
    expect((await polling.engine.call('servers/status', {})).map((s) => s.serverUrl)).toContain(cluster.urls[1]);
    expect(moved.retiringDrops).toEqual([
      { url: polling.identity.dropUrls[0], retireAt: clock.now() + MOVE_OVERLAP_MS, movedAt: clock.now(), dailyFrom: clock.now() + MOVE_FULL_RATE_MS },
    ]);
    expect(MOVE_OVERLAP_MS).toBeGreaterThanOrEqual(30 * DAY_MS);
    await expect(polling.engine.call('identities/moveDrop', { identityId: polling.identity.id, fromDropUrl: polling.identity.dropUrls[0]!, serverUrl: cluster.urls[1]! })).rejects.toThrow(/not_found/);

    // Every contact confirmed (the UI saw their receipts): read once a day from now on.
    await pass(DAY_MS);
    const confirmed = await polling.engine.call('identities/moveConfirmed', { identityId: polling.identity.id, fromDropUrl: polling.identity.dropUrls[0]! });
    expect(confirmed.retiringDrops?.[0]).toMatchObject({ url: polling.identity.dropUrls[0], dailyFrom: clock.now(), retireAt: moved.retiringDrops![0]!.retireAt });
    await expect(polling.engine.call('identities/moveConfirmed', { identityId: polling.identity.id, fromDropUrl: moved.dropUrls[0]! })).rejects.toThrow(/not_found/);
  });
});

describe.each([
  { protocol: 'version 0', v1: false },
  { protocol: 'version 1 switched on', v1: true },
])('a move in one message ($protocol)', ({ v1 }) => {
  let alice: User, bob: User, carol: User, dave: User, erin: User;
  let oldDrop: string;
  let movedAt: number;

  beforeAll(async () => {
    const [a, , c] = cluster.urls as [string, string, string];
    alice = await user('alice', a, v1);
    bob = await user('bob', c, v1);
    carol = await user('carol', c, v1);
    dave = await user('dave', c, v1);
    erin = await user('erin', c, v1);
    for (const contact of [bob, carol, dave, erin]) introduce(alice, contact);
    oldDrop = alice.identity.dropUrls[0]!;
  });

  it('Bob, online, gets the update and writes to the new drop', async () => {
    for (const contact of [bob, carol, dave, erin]) await send(alice, contact, `before the move, ${contact.name}`);
    for (const contact of [bob, carol, dave, erin]) expect(texts(await read(contact))).toEqual([`before the move, ${contact.name}`]);
    // Everyone answers once: in version 1 the sessions are then established both ways, so Alice's later
    // messages are Session PDUs, which name no drop unless her drops epoch says the contact may not know it.
    for (const contact of [bob, carol, dave, erin]) await send(contact, alice, `${contact.name} before the move`);
    expect(texts(await read(alice)).sort()).toEqual(['bob before the move', 'carol before the move', 'dave before the move', 'erin before the move']);
    for (const contact of [bob, carol, dave, erin]) await send(alice, contact, `still before the move, ${contact.name}`);
    for (const contact of [bob, carol, dave, erin]) expect(texts(await read(contact))).toEqual([`still before the move, ${contact.name}`]);
    await read(alice);

    movedAt = clock.now();
    alice.identity = await alice.engine.call('identities/moveDrop', { identityId: alice.identity.id, fromDropUrl: oldDrop, serverUrl: cluster.urls[1]! });
    const newDrop = alice.identity.dropUrls[0]!;
    for (const contact of [bob, carol, dave, erin]) await send(alice, contact, null);

    await pass(3600_000);
    expect(texts(await read(bob))).toEqual(['box_contact_update']);
    expect(bob.book.get(alice.identity.publicKey)).toEqual([newDrop]);
    await send(bob, alice, 'bob after the move');
    const atAlice = await read(alice);
    expect(atAlice.find((m) => m.senderKey === bob.identity.publicKey && m.content?.type === 'box_message')).toMatchObject({ dropUrl: newDrop });
    // Bob's receipt for the update is what the UI records as "confirmed".
    expect(alice.engine.of('inbox/batch').flatMap((b) => b.receipts).some((r) => r.senderKey === bob.identity.publicKey)).toBe(true);
  });

  it('Carol, away 20 days, still reaches Alice at the old drop, and moves to the new one', async () => {
    await pass(20 * DAY_MS - 3600_000);
    // Written while away, posted as her app comes back, before it has read anything: to the old drop.
    expect(carol.book.get(alice.identity.publicKey)).toEqual([oldDrop]);
    await send(carol, alice, 'carol after 20 days');
    // Between the daily windows Alice does not read the old drop; in the next window she does.
    const offset = (clock.now() - (movedAt + MOVE_FULL_RATE_MS)) % DAY_MS;
    if (offset < TAIL_WINDOW_MS) await pass(TAIL_WINDOW_MS - offset + 60_000);
    expect(texts((await read(alice)).filter((m) => m.senderKey === carol.identity.publicKey))).toEqual([]);
    await pass(DAY_MS - ((clock.now() - (movedAt + MOVE_FULL_RATE_MS)) % DAY_MS) + 60_000);
    const late = (await read(alice)).find((m) => m.senderKey === carol.identity.publicKey);
    expect(late).toMatchObject({ dropUrl: oldDrop });
    // It came through a retiring drop: the UI sees that in the summary (and would send Carol the update again).
    expect(alice.identity.retiringDrops?.map((d) => d.url)).toContain(late!.dropUrl);
    // The update itself expired on Carol's server long ago, but the outbox re-posted it every 3.5 days.
    expect(texts(await read(carol))).toEqual(['box_contact_update']);
    expect(carol.book.get(alice.identity.publicKey)).toEqual(alice.identity.dropUrls);
    await send(carol, alice, 'carol on the new drop');
    const onNew = (await read(alice)).find((m) => m.senderKey === carol.identity.publicKey);
    expect(onNew).toMatchObject({ dropUrl: alice.identity.dropUrls[0] });
  });

  // Version 1: Alice's Session PDUs carry her drops epoch, and name her first drop until the contact
  // acknowledged a message that did at the current epoch (PROTOCOL-V1.md 2c step 3), as v0 meta data does.
  it('Dave, away 40 days, hears of the move from a message Alice wrote meanwhile; Erin, whom nobody wrote, loses what she posts to the retired drop', async () => {
    await pass(movedAt + 15 * DAY_MS - clock.now());
    await send(alice, dave, 'alice to dave while he is away');
    await pass(movedAt + 40 * DAY_MS - clock.now());
    const retired = (await alice.engine.call('identities/list', {}))[0]!.retiringDrops?.find((d) => d.url === oldDrop);
    expect(retired!.retireAt).toBeLessThan(clock.now());

    // Re-posting gave up on the update 30 days after it was posted; the day-15 message is still re-posted
    // and names Alice's new drop, so Dave writes there.
    const atDave = await read(dave);
    expect(texts(atDave)).toEqual(['alice to dave while he is away']);
    // In version 1 it came in the session, which names Alice's new drop (as v0 meta data does).
    expect(atDave[0]).toMatchObject({ protocol: v1 ? 1 : 0, meta: { dropUrl: alice.identity.dropUrls[0] } });
    expect(dave.book.get(alice.identity.publicKey)![0]).toBe(alice.identity.dropUrls[0]);
    await send(dave, alice, 'dave after 40 days');
    expect((await read(alice)).find((m) => m.senderKey === dave.identity.publicKey)).toMatchObject({ dropUrl: alice.identity.dropUrls[0] });

    // Erin got nothing after the update: she writes to the old drop, which nobody reads any more.
    expect(texts(await read(erin))).toEqual([]);
    await send(erin, alice, 'erin after 40 days');
    await pass(DAY_MS);
    expect((await read(alice)).some((m) => m.senderKey === erin.identity.publicKey)).toBe(false);
    // Alice's next message names her new drop: Erin heals on first contact (her lost message stays lost).
    await send(alice, erin, 'alice to erin');
    expect(texts(await read(erin))).toEqual(['alice to erin']);
    await send(erin, alice, 'erin on the new drop');
    expect((await read(alice)).find((m) => m.senderKey === erin.identity.publicKey)).toMatchObject({ dropUrl: alice.identity.dropUrls[0] });
  });
});

/**
 * The version-1 fault run's intermittent undelivered message, made to happen on purpose: both copies
 * of one message are lost at first (the servers answer 200 and forget them, as the fault proxies'
 * lossy mode does), the conversation goes on for four round trips (each a ratchet step on both sides),
 * and the outbox re-posts the same bytes 3.5 simulated days later. Real engines, real drop servers
 * behind fault proxies, one simulated clock. The recipient must show the message, once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentitySummary } from '../../shared/ipc/contract.js';
import { parseContactStringV1 } from '../../shared/protocol/contacts.js';
import { type TestEngine, removeDir, startTestEngine } from '../engine/helpers/testEngine.js';
import { waitFor } from '../engine/helpers/waitFor.js';
import { type Cluster, SimClock, startCluster } from './cluster.js';
import { seeded } from './random.js';

const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;

describe('a message whose every copy was lost, re-posted after the conversation moved on', () => {
  const clock = new SimClock(Date.UTC(2026, 0, 5));
  let cluster: Cluster;
  let alice: TestEngine;
  let bob: TestEngine;
  let aliceId: IdentitySummary;
  let bobId: IdentitySummary;
  const acked = new Map<TestEngine, Set<string>>();

  beforeAll(async () => {
    cluster = await startCluster({ clock, random: seeded(15) });
    const options = {
      clock,
      protocolV1: true,
      autoPoll: false,
      network: { allowLocalNetwork: true },
      // Re-posts fall due by the simulated clock; PINGs are left to the explicit round trips.
      outbox: { repost: { checkMs: 20 } },
      timing: { pingDelayMs: { min: 3_600_000, max: 3_600_000 }, sendRetry: { baseMs: 20, maxMs: 100, maxAttempts: 8 } },
    } as const;
    alice = await startTestEngine(options);
    bob = await startTestEngine(options);
    aliceId = await alice.call('identities/create', { alias: 'alice', serverUrl: cluster.urls[2]! });
    const first = await bob.call('identities/create', { alias: 'bob', serverUrl: cluster.urls[0]! });
    bobId = await bob.call('identities/addDrop', { identityId: first.id, serverUrl: cluster.urls[1]! });
  });
  afterAll(async () => {
    await alice?.close();
    await bob?.close();
    await cluster?.close();
    for (const engine of [alice, bob]) if (engine) removeDir(engine.dataDir);
  });

  const texts = (engine: TestEngine) => engine.of('inbox/batch').flatMap((batch) => batch.messages.map((m) => m.text));

  /** Reads once and stores what came as the UI does (acknowledging each batch, receipts owed to the writer). */
  async function read(engine: TestEngine, writer: IdentitySummary): Promise<void> {
    await engine.engine.fetchOnce();
    const done = acked.get(engine) ?? new Set<string>();
    acked.set(engine, done);
    for (const batch of engine.of('inbox/batch')) {
      if (done.has(batch.batchId)) continue;
      done.add(batch.batchId);
      const receipts = batch.messages.filter((m) => m.senderKey === writer.publicKey).map((m) => ({ dedupeKey: m.dedupeKey, dropUrls: writer.dropUrls }));
      await engine.call('inbox/ack', { batchId: batch.batchId, receipts });
    }
    await engine.engine.settled();
  }

  async function send(from: TestEngine, fromId: IdentitySummary, to: IdentitySummary, text: string, v1?: { qrPrekey: string; qrPrekeyExpiresDay: number }): Promise<void> {
    await from.call('messages/send', { identityId: fromId.id, localId: text, recipient: { publicKey: to.publicKey, dropUrls: to.dropUrls, ...(v1 ? { v1 } : {}) }, text, wantReceipt: true });
    await waitFor(() => from.of('outbox/status').some((s) => s.localId === text && s.status === 'posted' && s.copies?.posted === s.copies?.wanted), `${text} posted`);
  }

  it('shows it once when the re-post comes, however many epochs came between', { timeout: 90_000 }, async () => {
    const card = parseContactStringV1((await bob.call('identities/contactCard', { identityId: bobId.id })).v1ContactString);
    await send(alice, aliceId, bobId, 'hello', { qrPrekey: card.v1!.qrPrekey, qrPrekeyExpiresDay: card.v1!.qrPrekeyExpiresDay });
    await read(bob, aliceId);
    await send(bob, bobId, aliceId, 'hi');
    await read(alice, bobId);
    expect(texts(alice)).toContain('hi');

    // Both of Bob's servers say 200 to alice's "lost" and forget it.
    for (const proxy of cluster.proxies.slice(0, 2)) proxy.mode = { lossyP: 1 };
    await send(alice, aliceId, bobId, 'lost');
    for (const proxy of cluster.proxies) proxy.mode = {};
    await send(alice, aliceId, bobId, 'after');
    await read(bob, aliceId);
    expect(texts(bob)).toContain('after');
    expect(texts(bob)).not.toContain('lost');

    // Four round trips over the next hours: four new epochs each way.
    for (let i = 0; i < 4; i++) {
      clock.advance(HOUR_MS);
      await send(bob, bobId, aliceId, `bob ${i}`);
      await read(alice, bobId);
      await send(alice, aliceId, bobId, `alice ${i}`);
      await read(bob, aliceId);
      expect(texts(bob)).toContain(`alice ${i}`);
    }
    expect(texts(bob)).not.toContain('lost');

    // 3.5 days after "lost" was posted, the outbox posts its bytes again; Bob reads them.
    const before = alice.of('outbox/status').filter((s) => s.localId === 'lost').length;
    clock.advance(3.5 * DAY_MS);
    await waitFor(() => alice.of('outbox/status').filter((s) => s.localId === 'lost').length > before, 'the re-post of "lost"');
    await read(bob, aliceId);
    expect(texts(bob).filter((text) => text === 'lost')).toEqual(['lost']);
    // Bob's receipt ends the re-posting.
    await read(alice, bobId);
    await waitFor(() => alice.of('outbox/delivered').some((d) => d.localId === 'lost'), '"lost" delivered');
  });
});

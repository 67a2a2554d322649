/**
 * Two devices of one identity changing their drops at once (electron/core/devices/sync.ts `mergeTie`):
 * each takes the next epoch of the same list, so neither list is newer. The higher device id wins; the
 * other merges both changes and announces them at the next epoch, which the winner takes. Real engines
 * and a real drop server; both devices end with the same list and epoch, both new drops in it, and
 * nothing more is sent back and forth afterwards.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { IdentitySummary } from '../../shared/ipc/contract.js';
import { BOX_SYNC } from '../../shared/modules/sync.js';
import { engineKit } from './helpers/engineKit.js';
import type { TestEngine } from './helpers/testEngine.js';
import { waitFor } from './helpers/waitFor.js';
import { link } from './helpers/linkDevices.js';

const { server, engine } = engineKit({ engine: { protocolV1: true, autoPoll: false } });

const acked = new Map<TestEngine, Set<string>>();
/** Reads the identity's drops and acknowledges as the UI does (a sibling's sync is owed a receipt). */
async function read(e: TestEngine, me: IdentitySummary): Promise<void> {
  await e.engine.fetchOnce();
  const done = acked.get(e) ?? new Set<string>();
  acked.set(e, done);
  const self = (await e.call('devices/list', { identityId: me.id })).devices.find((d) => d.self)!.deviceId;
  for (const batch of e.of('inbox/batch')) {
    if (done.has(batch.batchId)) continue;
    done.add(batch.batchId);
    const drops = (await e.call('identities/list', {})).find((identity) => identity.id === me.id)!.dropUrls;
    const receipts = batch.messages.filter((m) => m.content.type === BOX_SYNC && m.content.device !== self).map((m) => ({ dedupeKey: m.dedupeKey, dropUrls: drops }));
    await e.call('inbox/ack', { batchId: batch.batchId, receipts });
  }
  await e.engine.settled();
}

const summary = async (e: TestEngine, me: IdentitySummary) => (await e.call('identities/list', {})).find((identity) => identity.id === me.id)!;

describe('a drop change made on two devices at the same epoch', () => {
  let d1: TestEngine;
  let d2: TestEngine;
  let alice: IdentitySummary;

  beforeAll(async () => {
    [d1, d2] = [await engine(), await engine()];
    alice = await d1.call('identities/create', { alias: 'alice', serverUrl: server().url });
    await link(d1, alice, d2);
  });

  it('converges on one list holding both changes, at the next epoch, on both devices', async () => {
    const first = alice.dropUrls[0]!;
    // Each device adds a drop before it read the other's change.
    const [one, two] = await Promise.all([d1.call('identities/addDrop', { identityId: alice.id, serverUrl: server().url }), d2.call('identities/addDrop', { identityId: alice.id, serverUrl: server().url })]);
    const added1 = one.dropUrls.find((url) => url !== first)!;
    const added2 = two.dropUrls.find((url) => url !== first)!;
    expect(added1).not.toBe(added2);
    const ids = await Promise.all([d1, d2].map(async (e) => (await e.call('devices/list', { identityId: alice.id })).devices.find((d) => d.self)!.deviceId));
    const winner = ids[0]! > ids[1]! ? one : two;

    const [end1, end2] = await waitFor(async () => {
      await read(d1, alice);
      await read(d2, alice);
      const [s1, s2] = [await summary(d1, alice), await summary(d2, alice)];
      return s1.dropUrls.join(' ') === s2.dropUrls.join(' ') ? [s1, s2] : null;
    }, 'both devices hold one list', 30_000);
    expect(new Set(end1.dropUrls)).toEqual(new Set([first, added1, added2]));
    // The winner's order first, the loser's own drop after it.
    expect(end1.dropUrls.slice(0, winner.dropUrls.length)).toEqual(winner.dropUrls);
    expect(end2.dropUrls).toEqual(end1.dropUrls);

    // Settled: a few more reads change nothing (no list goes back and forth).
    const syncs = () => [d1, d2].map((e) => e.of('outbox/status').filter((s) => s.localId.startsWith('sync-') && s.status === 'sending').length);
    const before = syncs();
    for (let round = 0; round < 3; round++) {
      await read(d1, alice);
      await read(d2, alice);
    }
    expect((await summary(d1, alice)).dropUrls).toEqual(end1.dropUrls);
    expect((await summary(d2, alice)).dropUrls).toEqual(end1.dropUrls);
    expect(syncs()).toEqual(before);
  });
});

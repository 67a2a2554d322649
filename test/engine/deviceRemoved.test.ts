/**
 * A removed device stops everything (issue 17, electron/core/devices/removedGuard.ts): real engines and
 * a real drop server. Alice's desktop removes her laptop; once the laptop read its tombstone, every
 * channel that would send as Alice refuses with one clear sentence, a receipt it owes for a contact's
 * message is never posted, and it still reads (the contact's message arrives) and lists.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Channel, IdentitySummary, RequestOf } from '../../shared/ipc/contract.js';
import { REMOVED_MESSAGE } from '../../electron/core/devices/removedGuard.js';
import { engineKit } from './helpers/engineKit.js';
import type { TestEngine } from './helpers/testEngine.js';
import { waitFor } from './helpers/waitFor.js';
import { link } from './helpers/linkDevices.js';

const { server, engine } = engineKit({ engine: { protocolV1: true, autoPoll: false } });

/** Reads and acknowledges as a UI would, but owes no receipt (`receipts` says which batches owe some). */
const acked = new Map<TestEngine, Set<string>>();
async function read(e: TestEngine, receiptsFor?: IdentitySummary): Promise<void> {
  await e.engine.fetchOnce();
  const done = acked.get(e) ?? new Set<string>();
  acked.set(e, done);
  for (const batch of e.of('inbox/batch')) {
    if (done.has(batch.batchId)) continue;
    done.add(batch.batchId);
    const receipts = receiptsFor ? batch.messages.filter((m) => m.senderKey === receiptsFor.publicKey).map((m) => ({ dedupeKey: m.dedupeKey, dropUrls: receiptsFor.dropUrls })) : [];
    await e.call('inbox/ack', { batchId: batch.batchId, receipts });
  }
  await e.engine.settled();
}

describe('a device removed from its identity', () => {
  let d1: TestEngine;
  let d2: TestEngine;
  let bobEngine: TestEngine;
  let alice: IdentitySummary;
  let bob: IdentitySummary;
  let laptopId: string;
  let desktopId: string;

  beforeAll(async () => {
    [d1, d2, bobEngine] = [await engine(), await engine(), await engine()];
    alice = await d1.call('identities/create', { alias: 'alice', serverUrl: server().url });
    bob = await bobEngine.call('identities/create', { alias: 'bob', serverUrl: server().url });
    await link(d1, alice, d2);
    const list = await d2.call('devices/list', { identityId: alice.id });
    laptopId = list.devices.find((d) => d.self)!.deviceId;
    desktopId = list.devices.find((d) => !d.self)!.deviceId;
    // Before the removal the laptop sends as Alice like any device.
    await d2.call('messages/send', { identityId: alice.id, localId: 'before', recipient: { publicKey: bob.publicKey, dropUrls: bob.dropUrls }, text: 'from the laptop' });
    await d1.call('devices/remove', { identityId: alice.id, deviceId: laptopId });
    await waitFor(async () => {
      await read(d2);
      return (await d2.call('devices/list', { identityId: alice.id })).removedAt !== null;
    }, 'the laptop learns it was removed', 20_000);
  });

  it('refuses every channel that would send as the identity, with what to do', async () => {
    const recipient = { publicKey: bob.publicKey, dropUrls: bob.dropUrls };
    const { stageId } = await d2.call('files/stageBegin', { size: 3 });
    await d2.call('files/stageChunk', { stageId, offset: 0, data: Buffer.from('abc').toString('base64url') });
    const refused: { [C in Channel]?: RequestOf<C> } = {
      'messages/send': { identityId: alice.id, localId: 'after', recipient, text: 'still here?' } as RequestOf<'messages/send'>,
      'files/send': { stageId, identityId: alice.id, localId: 'file-after', recipient, fileName: 'a.txt' } as RequestOf<'files/send'>,
      'files/upload': { stageId, identityId: alice.id, uploadId: 'upload-after' },
      'receipts/send': { identityId: alice.id, recipient, acknowledgeIds: ['x'] } as RequestOf<'receipts/send'>,
      'devices/sync': { identityId: alice.id, items: [{ kind: 'read', contact: bob.publicKey, upTo: 1 }] },
      'devices/rename': { identityId: alice.id, deviceId: desktopId, name: 'Mine now' },
      'devices/remove': { identityId: alice.id, deviceId: desktopId },
      'devices/linkBegin': { identityId: alice.id, includeHistory: false },
      'identities/addDrop': { identityId: alice.id, serverUrl: server().url } as RequestOf<'identities/addDrop'>,
      'identities/removeDrop': { identityId: alice.id, dropUrl: alice.dropUrls[0]! } as RequestOf<'identities/removeDrop'>,
      'contacts/revokeTickets': { identityId: alice.id, contactPublicKey: bob.publicKey },
    };
    for (const [channel, request] of Object.entries(refused)) {
      await expect(d2.call(channel as Channel, request as never), channel).rejects.toThrow(REMOVED_MESSAGE);
    }
    // Nothing went into the outbox for any of them.
    expect(d2.of('outbox/status').filter((s) => ['after', 'file-after'].includes(s.localId))).toEqual([]);
    // It still lists and reads (the UI shows the identity read only).
    expect((await d2.call('devices/list', { identityId: alice.id })).removedAt).not.toBeNull();
    // The desktop is untouched: it still sends.
    await d1.call('messages/send', { identityId: alice.id, localId: 'desktop', recipient, text: 'from the desktop' });
  });

  it('reads a contact’s message but never posts the receipt it owes; the desktop does', async () => {
    await bobEngine.call('messages/send', { identityId: bob.id, localId: 'to-alice', recipient: { publicKey: alice.publicKey, dropUrls: alice.dropUrls }, text: 'are you there?' });
    const arrived = await waitFor(async () => {
      await read(d2, bob);
      return d2.of('inbox/batch').flatMap((b) => b.messages).find((m) => m.text === 'are you there?');
    }, 'the laptop reads Bob’s message', 20_000);
    expect(arrived.senderKey).toBe(bob.publicKey);
    // The laptop owed the receipt (its ack named it) and was settled: Bob has none.
    await bobEngine.engine.fetchOnce();
    await bobEngine.engine.settled();
    expect(bobEngine.of('outbox/delivered').filter((d) => d.localId === 'to-alice')).toEqual([]);
    // The desktop reads it too and answers: Bob's message is delivered by that receipt alone.
    await waitFor(async () => {
      await read(d1, bob);
      await bobEngine.engine.fetchOnce();
      return bobEngine.of('outbox/delivered').some((d) => d.localId === 'to-alice');
    }, 'the desktop’s receipt reaches Bob', 20_000);
  });
});

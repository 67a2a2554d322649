/**
 * A revocation on one device of an identity changes its closed drop's policy seq; the identity's other
 * devices must hear it (sibling sync `drops` with the claims, electron/core/devices/sync.ts), or the
 * next update one of them sends carries a number the server already took. A revocation changes no
 * drop list, so the claims are taken whichever list wins (here: the same list, the same epoch).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { argon2id } from '../../shared/protocol/argon2id.js';
import { TEST_PASSPHRASE_LIMITS } from '../../shared/protocol/passphraseSeal.js';
import { createLogger } from '../../shared/log.js';
import type { IncomingMessage } from '../../shared/ipc/contract.js';
import type { DropMessage } from '../../shared/protocol/message.js';
import { BOX_SYNC, type SyncItem } from '../../shared/modules/sync.js';
import { SiblingSync } from '../../electron/core/devices/sync.js';
import type { DeviceStore } from '../../electron/core/devices/deviceStore.js';
import type { Sender } from '../../electron/core/outbox/sender.js';
import { passphraseKeyWrap } from '../../electron/core/state/passphraseKeyWrap.js';
import { StateStore } from '../../electron/core/state/stateStore.js';
import type { PolicyPost } from '../../electron/core/spam/dropClaim.js';
import { flushRevocations, markRevoked } from '../../electron/core/spam/revocation.js';
import { newBatch } from '../../electron/core/spam/ticketBatches.js';
import { generateKeyPair, type RawKeyPair } from '../../electron/core/v1/primitives.js';
import { newDropId } from '../server/dropClient.js';
import { removeDir, tempDir } from './helpers/testEngine.js';
import { waitFor } from './helpers/waitFor.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) removeDir(dir);
});

const CONTACT = 'c'.repeat(64);
const DROP = `http://127.0.0.1:9/${newDropId()}`;
const [DEVICE_A, DEVICE_B] = ['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb'];
const NOW = Date.now();

/** One device of the identity `pair`: its state store (the drop claimed at seq 1) and its sibling sync over a recording outbox. */
async function device(pair: RawKeyPair, selfId: string) {
  const dataDir = tempDir('deaddrop-sibling-seq-');
  dirs.push(dataDir);
  const stateStore = await StateStore.load(dataDir, passphraseKeyWrap(TEST_PASSPHRASE_LIMITS, argon2id), { writeDelayMs: 0 });
  await stateStore.unlock('secret');
  await stateStore.addIdentity({ id: 'me', alias: 'me', publicKey: Buffer.from(pair.publicKey).toString('hex'), dropUrls: [DROP], dropBits: 256, createdAt: 1 }, pair.privateKey);
  await stateStore.setClosedDrop('me', { url: DROP, seq: 1, keyIds: [0], introPerDay: 5, given: [CONTACT], batches: [newBatch(CONTACT, 0, NOW)] });
  const sent: DropMessage[][] = [];
  const sender = { onAccepted: () => undefined, send: async (_request: unknown, messages: DropMessage[]) => void sent.push(messages) } as unknown as Sender;
  const store = { view: async () => ({ selfId, devices: [{ deviceId: DEVICE_A }, { deviceId: DEVICE_B }], removedAt: null }) } as unknown as DeviceStore;
  const sync = new SiblingSync({ stateStore, sender, store, now: () => NOW, logger: createLogger('test') });
  return { stateStore, sync, sent };
}

/** A policy server that takes every update. */
const takesAll: PolicyPost = async (_url, body) => ({ status: 200, body: JSON.stringify({ seq: (JSON.parse(body) as { seq: number }).seq, intro_per_day: 5 }) });

describe('a revocation’s seq reaches the sibling devices', () => {
  it('device A strikes (seq 2) and tells its claims; device B, same drops and epoch, takes seq 2', async () => {
    const pair = generateKeyPair();
    const a = await device(pair, DEVICE_A);
    const b = await device(pair, DEVICE_B);

    await markRevoked(a.stateStore, 'me', CONTACT);
    expect(await flushRevocations(a.stateStore, takesAll, 'me', NOW)).toEqual({ struck: 1, pending: 0 });
    expect(a.stateStore.closedDrops('me')[0]!.seq).toBe(2);
    await waitFor(() => (a.sent.length > 0 ? true : null), 'claims told to the sibling');
    const items = a.sent.flat().flatMap((m) => (JSON.parse(m.drop_payload) as { items: SyncItem[] }).items);
    const drops = items.find((item) => item.kind === 'drops');
    expect(drops).toMatchObject({ kind: 'drops', dropUrls: [DROP], claims: [{ url: DROP, seq: 2 }] });

    const message = {
      dedupeKey: 'k1', identityId: 'me', senderKey: Buffer.from(pair.publicKey).toString('hex'), type: BOX_SYNC, payload: '', content: { type: BOX_SYNC, device: DEVICE_A, items },
      text: null, share: null, part: null, acknowledgeId: 'x', meta: null, sentAt: NOW, receivedAt: NOW, dropUrl: DROP,
    } as unknown as IncomingMessage;
    b.sync.take([message]);
    await b.sync.settled();
    expect(b.stateStore.closedDrops('me')[0]).toMatchObject({ seq: 2, keyIds: [0] });
    // Nothing older ever rolls it back: A's earlier claims again change nothing.
    b.sync.take([{ ...message, dedupeKey: 'k2', content: { type: BOX_SYNC, device: DEVICE_A, items: [{ ...drops!, claims: [{ url: DROP, seq: 1, keyIds: [0], introPerDay: 5 }] }] } } as IncomingMessage]);
    await b.sync.settled();
    expect(b.stateStore.closedDrops('me')[0]!.seq).toBe(2);
    // B's own drop list is untouched (same epoch, same list).
    expect(b.stateStore.identity('me').dropUrls).toEqual([DROP]);
  });
});

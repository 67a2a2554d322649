/**
 * Sibling sync of drop changes and files (issue 17, shared/modules/sync.ts `drops` and `sent.file`,
 * electron/core/devices/sync.ts): two linked engines of one identity, a contact, a real drop server
 * that stores files. A move on the desktop reaches the laptop's engine, which reads the new drop at
 * once (a contact's message sent only there reaches both devices) and names it in what it sends; an
 * older list never rolls the newer one back, and a stranger's forged list is never applied. A file
 * sent on one device reaches the other with its notice, and the other downloads it as the recipient.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { FILE_CHUNK_BYTES, type IdentitySummary, type IncomingMessage } from '../../shared/ipc/contract.js';
import { BOX_SYNC, type SyncContent, type SyncSentItem } from '../../shared/modules/sync.js';
import { PAYLOAD_LENGTH } from '../../shared/protocol/boxTypes.js';
import { fromBase64Url, toBase64Url } from '../../shared/protocol/encoding.js';
import { serializeDropMessage } from '../../shared/protocol/message.js';
import { DropClient } from '../../electron/core/net/dropClient.js';
import { generateKeyPair } from '../../electron/core/v1/primitives.js';
import { nativeBox } from '../../electron/workers/nativeBox.js';
import { engineKit } from './helpers/engineKit.js';
import type { TestEngine } from './helpers/testEngine.js';
import { waitFor } from './helpers/waitFor.js';
import { link } from './helpers/linkDevices.js';

const { server, engine, dispatcher } = engineKit({ engine: { protocolV1: true }, server: { blobs: true } });

const syncsOf = (e: TestEngine): (IncomingMessage & { content: SyncContent })[] =>
  e.of('inbox/batch').flatMap((b) => b.messages.filter((m): m is IncomingMessage & { content: SyncContent } => m.content.type === BOX_SYNC));

/** A version-0 PDU sealed by `from` for `to`, its JSON as given. */
function sealed(from: ReturnType<typeof generateKeyPair>, to: string, message: Parameters<typeof serializeDropMessage>[0]): Promise<Uint8Array> {
  const json = serializeDropMessage(message);
  const payload = new Uint8Array(PAYLOAD_LENGTH);
  payload.set(json);
  return nativeBox.sealPdu(from, Buffer.from(to, 'hex'), payload);
}

async function identityAt(e: TestEngine, id: string): Promise<IdentitySummary> {
  return (await e.call('identities/list', {})).find((i) => i.id === id)!;
}

describe('sibling sync of drop changes and files', () => {
  let d1: TestEngine;
  let d2: TestEngine;
  let bobEngine: TestEngine;
  let alice: IdentitySummary;
  let bob: IdentitySummary;
  let d1Id: string;
  const acked = new Set<string>();
  /** Acknowledges every batch as the UI does (a contact's messages at the contact's drops, a sibling's sync at ours). */
  const ack = async (e: TestEngine, me: IdentitySummary, myDevice: string, contact: IdentitySummary) => {
    for (const batch of e.of('inbox/batch')) {
      if (acked.has(`${e.dataDir} ${batch.batchId}`)) continue;
      acked.add(`${e.dataDir} ${batch.batchId}`);
      const receipts = batch.messages.flatMap((m) => {
        if (m.content.type === BOX_SYNC) return m.senderKey === me.publicKey && m.content.device !== myDevice ? [{ dedupeKey: m.dedupeKey, dropUrls: me.dropUrls }] : [];
        return m.senderKey === contact.publicKey ? [{ dedupeKey: m.dedupeKey, dropUrls: contact.dropUrls }] : [];
      });
      await e.call('inbox/ack', { batchId: batch.batchId, receipts });
    }
  };
  const readLaptop = () => d2.engine.fetchOnce().then(() => ack(d2, alice, '', bob));
  /**
   * A drop added on the desktop, once the laptop took it: the laptop applies drop lists in arrival
   * order, so whatever came before was judged by then.
   */
  const addOnDesktop = async (): Promise<IdentitySummary> => {
    const added = await d1.call('identities/addDrop', { identityId: alice.id, serverUrl: server().url });
    return waitFor(async () => {
      await readLaptop();
      const identity = await identityAt(d2, alice.id);
      return identity.dropUrls.join(' ') === added.dropUrls.join(' ') ? identity : null;
    }, 'the added drop on the laptop');
  };

  beforeAll(async () => {
    [d1, d2, bobEngine] = [await engine(), await engine(), await engine()];
    alice = await d1.call('identities/create', { alias: 'alice', serverUrl: server().url });
    bob = await bobEngine.call('identities/create', { alias: 'bob', serverUrl: server().url });
    await link(d1, alice, d2);
    d1Id = (await d1.call('devices/list', { identityId: alice.id })).devices.find((d) => d.self)!.deviceId;
  });

  it('a move on the desktop: the laptop reads the new drop at once, a contact’s message there reaches both', async () => {
    const oldDrop = alice.dropUrls[0]!;
    const moved = await d1.call('identities/moveDrop', { identityId: alice.id, fromDropUrl: oldDrop, serverUrl: server().url });
    const newDrop = moved.dropUrls[0]!;
    expect(newDrop).not.toBe(oldDrop);
    const atLaptop = await waitFor(async () => {
      await readLaptop();
      const identity = await identityAt(d2, alice.id);
      return identity.dropUrls[0] === newDrop ? identity : null;
    }, 'the new drop on the laptop');
    expect(atLaptop.dropUrls).toEqual(moved.dropUrls);
    // The old drop is still read there, until the same end as on the desktop.
    expect(atLaptop.retiringDrops!.map((d) => ({ url: d.url, retireAt: d.retireAt }))).toEqual(moved.retiringDrops!.map((d) => ({ url: d.url, retireAt: d.retireAt })));
    // The UI hears of it (identities/changed) without asking.
    await waitFor(() => d2.of('identities/changed').some((list) => list.some((i) => i.id === alice.id && i.dropUrls[0] === newDrop)), 'identities/changed on the laptop');

    // Bob writes only to the new drop: both devices read it.
    await bobEngine.call('messages/send', { identityId: bob.id, localId: 'to-new', recipient: { publicKey: alice.publicKey, dropUrls: [newDrop] }, text: 'to your new drop' });
    for (const e of [d1, d2]) {
      await waitFor(async () => {
        await e.engine.fetchOnce();
        return e.of('inbox/batch').some((b) => b.messages.some((m) => m.text === 'to your new drop'));
      }, 'Bob’s message on both devices');
    }

    // What the laptop sends names the new drop (the first drop is in every message's meta data).
    await d2.call('messages/send', { identityId: alice.id, localId: 'laptop-after-move', recipient: { publicKey: bob.publicKey, dropUrls: bob.dropUrls }, text: 'from the laptop' });
    const atBob = await waitFor(async () => {
      await bobEngine.engine.fetchOnce();
      return bobEngine.of('inbox/batch').flatMap((b) => b.messages).find((m) => m.text === 'from the laptop');
    }, 'the laptop’s text at Bob');
    expect(atBob.meta?.dropUrl).toBe(newDrop);
  });

  it('an older list (a late or replayed sync) does not roll the newer one back', async () => {
    const before = await identityAt(d2, alice.id);
    // Sealed by the identity itself, from the desktop: an authentic but stale list.
    const changesBefore = d2.of('identities/changed').length;
    const stale = { kind: 'drops' as const, epoch: 0, dropUrls: [before.retiringDrops![0]!.url], retiring: [], claims: [] };
    expect(await d1.call('devices/sync', { identityId: alice.id, items: [stale] })).toEqual({ messages: 1 });
    await waitFor(async () => {
      await readLaptop();
      return syncsOf(d2).some((m) => m.content.items.some((i) => i.kind === 'drops' && i.epoch === 0));
    }, 'the stale list on the laptop');
    // A newer list after it is taken (it would not be, were the stale one taken: its epoch would be newer).
    const after = await addOnDesktop();
    expect(after.dropUrls.slice(0, before.dropUrls.length)).toEqual(before.dropUrls);
    expect(after.retiringDrops!.map((d) => d.url)).toEqual(before.retiringDrops!.map((d) => d.url));
    // Nor was it taken for a moment: the laptop never told its UI of the stale list.
    expect(d2.of('identities/changed').slice(changesBefore).some((list) => list.some((i) => i.id === alice.id && i.dropUrls.join(' ') === stale.dropUrls.join(' ')))).toBe(false);
  });

  it('a stranger’s list (as themselves, or forging our key in the sender field) is never applied', async () => {
    const before = await identityAt(d2, alice.id);
    const client = new DropClient({ dispatcher, timeoutMs: 5000 });
    const stranger = generateKeyPair();
    const strangerHex = Buffer.from(stranger.publicKey).toString('hex');
    const evil = `${server().url}/${'A'.repeat(43)}`;
    const forged = { device: d1Id, items: [{ kind: 'drops', epoch: 0x7000, dropUrls: [evil], retiring: [], claims: [] }] };
    const base = { version: 1, time_stamp: Date.now(), drop_payload_type: BOX_SYNC, acknowledge_id: '0', drop_payload: JSON.stringify(forged) };
    await client.post(before.dropUrls[0]!, await sealed(stranger, alice.publicKey, { ...base, sender: strangerHex }));
    await client.post(before.dropUrls[0]!, await sealed(stranger, alice.publicKey, { ...base, sender: alice.publicKey }));
    const marker = await sealed(stranger, alice.publicKey, { ...base, sender: strangerHex, drop_payload: JSON.stringify({ msg: 'drops marker' }), drop_payload_type: 'box_message' });
    await client.post(before.dropUrls[0]!, marker);
    await waitFor(async () => {
      await readLaptop();
      return d2.of('inbox/batch').some((b) => b.messages.some((m) => m.text === 'drops marker'));
    }, 'the marker');
    // The desktop's next change is taken (a forged epoch 0x7000 would have made it look older).
    const after = await addOnDesktop();
    expect(after.dropUrls.slice(0, before.dropUrls.length)).toEqual(before.dropUrls);
    expect(after.dropUrls).not.toContain(evil);
    expect(d2.of('identities/changed').some((list) => list.some((i) => i.dropUrls.includes(evil)))).toBe(false);
  });

  it('a drop removed on the laptop: the desktop stops handing it out and keeps reading it while it retires', async () => {
    const added = await d2.call('identities/addDrop', { identityId: alice.id, serverUrl: server().url });
    const extra = added.dropUrls.at(-1)!;
    await waitFor(async () => {
      await d1.engine.fetchOnce();
      return (await identityAt(d1, alice.id)).dropUrls.includes(extra) ? true : null;
    }, 'the added drop on the desktop');
    await d2.call('identities/removeDrop', { identityId: alice.id, dropUrl: extra });
    const atDesktop = await waitFor(async () => {
      await d1.engine.fetchOnce();
      const identity = await identityAt(d1, alice.id);
      return identity.dropUrls.includes(extra) ? null : identity;
    }, 'the removal on the desktop');
    expect(atDesktop.retiringDrops!.map((d) => d.url)).toContain(extra);
    // Bob, who heard of it in between, writes there: the desktop still reads it.
    await bobEngine.call('messages/send', { identityId: bob.id, localId: 'to-removed', recipient: { publicKey: alice.publicKey, dropUrls: [extra] }, text: 'to the removed drop' });
    await waitFor(async () => {
      await d1.engine.fetchOnce();
      return d1.of('inbox/batch').some((b) => b.messages.some((m) => m.text === 'to the removed drop'));
    }, 'the message to the retiring drop');
  });

  it('a file sent on the desktop reaches the laptop as sent, with its notice; the laptop downloads it', async () => {
    const bytes = randomBytes(FILE_CHUNK_BYTES + 4321);
    const { stageId } = await d1.call('files/stageBegin', { size: bytes.length });
    for (let offset = 0; offset < bytes.length; offset += FILE_CHUNK_BYTES) {
      await d1.call('files/stageChunk', { stageId, offset, data: toBase64Url(bytes.subarray(offset, offset + FILE_CHUNK_BYTES)) });
    }
    await d1.call('files/send', { stageId, identityId: alice.id, localId: 'file-from-desktop', recipient: { publicKey: bob.publicKey, dropUrls: bob.dropUrls }, fileName: 'notes.txt', mime: 'text/plain', text: '' });
    const item = await waitFor(async () => {
      await readLaptop();
      return syncsOf(d2)
        .flatMap((m) => m.content.items)
        .find((i): i is SyncSentItem => i.kind === 'sent' && i.localId === 'file-from-desktop');
    }, 'the file on the laptop');
    expect(item).toMatchObject({ contact: bob.publicKey, text: 'notes.txt', file: { name: 'notes.txt', mime: 'text/plain', ref: { size: bytes.length } } });
    const ref = item.file!.ref;
    await d2.call('files/download', { id: 'sibling-file', ref });
    await waitFor(() => d2.of('files/progress').find((p) => p.id === 'sibling-file' && p.state === 'done'), 'downloaded on the laptop', 20_000);
    const pieces: Uint8Array[] = [];
    for (let offset = 0; offset < bytes.length; ) {
      const { data } = await d2.call('files/read', { id: 'sibling-file', ref, offset });
      const chunk = fromBase64Url(data);
      if (chunk.length === 0) break;
      pieces.push(chunk);
      offset += chunk.length;
    }
    expect(Buffer.concat(pieces).equals(bytes)).toBe(true);
  });

  it('the claims of listed closed drops follow the list; a claim of a drop not listed is not taken', async () => {
    const current = await identityAt(d2, alice.id);
    const listed = current.dropUrls[0]!;
    const unlisted = `${server().url}/${'B'.repeat(43)}`;
    const item = {
      kind: 'drops' as const,
      epoch: 100,
      dropUrls: current.dropUrls,
      retiring: current.retiringDrops!.map((d) => ({ url: d.url, until: d.retireAt })),
      claims: [
        { url: listed, seq: 3, keyIds: [0], introPerDay: 7 },
        { url: unlisted, seq: 1, keyIds: [0], introPerDay: 2 },
      ],
    };
    expect(await d1.call('devices/sync', { identityId: alice.id, items: [item] })).toEqual({ messages: 1 });
    // The laptop's server status names the introductions a day its claims there allow (the least of them).
    const status = await waitFor(async () => {
      await readLaptop();
      const atServer = (await d2.call('servers/status', {})).find((s) => s.serverUrl === server().url);
      return atServer?.introPerDay !== undefined ? atServer : null;
    }, 'the claim on the laptop');
    expect(status.introPerDay).toBe(7);
    expect((await identityAt(d2, alice.id)).dropUrls).toEqual(current.dropUrls);
  });
});

/**
 * The payload modules through real engines and a real drop server (with its blob store): files go up
 * encrypted and come down checked, contact updates and posts are built from the identity as it is,
 * and a payload that fails its module's schema is dropped and counted, never delivered.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EncryptedFileRef, IdentitySummary, IncomingMessage } from '../../shared/ipc/contract.js';
import { FILE_CHUNK_BYTES } from '../../shared/ipc/contract.js';
import { fromBase64Url, toBase64Url } from '../../shared/protocol/encoding.js';
import { type ShareListing, SHARE_LISTING_FORMAT, parseShareListing } from '../../shared/modules/shareListing.js';
import { PAYLOAD_LENGTH } from '../../shared/protocol/boxTypes.js';
import { serializeDropMessage } from '../../shared/protocol/message.js';
import { nativeBox } from '../../electron/workers/nativeBox.js';
import { generateNativeKeyPair } from '../../electron/core/state/nativeKeyPair.js';
import { DropClient } from '../../electron/core/net/dropClient.js';
import { Agent } from 'undici';
import { type ServerProcess, startServerProcess } from './helpers/serverProcess.js';
import { type TestEngine, removeDir, startTestEngine } from './helpers/testEngine.js';
import { receiveAndAck } from './helpers/receive.js';
import { waitFor } from './helpers/waitFor.js';

let server: ServerProcess;
let plainServer: ServerProcess;
let alice: TestEngine;
let bob: TestEngine;
let aliceId: IdentitySummary;
let bobId: IdentitySummary;
let received = 0;

beforeAll(async () => {
  [server, plainServer] = await Promise.all([startServerProcess('sqlite::memory:', { blobs: true }), startServerProcess()]);
  alice = await startTestEngine();
  bob = await startTestEngine();
  aliceId = await alice.call('identities/create', { alias: 'alice', serverUrl: server.url });
  bobId = await bob.call('identities/create', { alias: 'bob', serverUrl: server.url });
});

afterAll(async () => {
  await alice?.close();
  await bob?.close();
  await server?.stop();
  await plainServer?.stop();
  for (const e of [alice, bob]) if (e) removeDir(e.dataDir);
});

/** The next `count` messages at Bob (the earlier ones of this file were counted already). */
async function nextAtBob(count: number, what: string): Promise<IncomingMessage[]> {
  const all = await receiveAndAck(bob, received + count, what);
  received += count;
  return all.slice(-count);
}

async function stage(engine: TestEngine, bytes: Uint8Array): Promise<string> {
  const { stageId } = await engine.call('files/stageBegin', { size: bytes.length });
  for (let offset = 0; offset < bytes.length; offset += FILE_CHUNK_BYTES) {
    const chunk = bytes.subarray(offset, offset + FILE_CHUNK_BYTES);
    expect(await engine.call('files/stageChunk', { stageId, offset, data: toBase64Url(chunk) })).toEqual({ received: offset + chunk.length });
  }
  return stageId;
}

async function readAll(engine: TestEngine, id: string, ref: EncryptedFileRef): Promise<Buffer> {
  const pieces: Uint8Array[] = [];
  for (let offset = 0; ; ) {
    const { data, size } = await engine.call('files/read', { id, ref, offset });
    const bytes = fromBase64Url(data);
    pieces.push(bytes);
    offset += bytes.length;
    if (offset >= size || bytes.length === 0) break;
  }
  return Buffer.concat(pieces);
}

describe('payload modules between two engines', () => {
  it('sends a file: staged, encrypted, uploaded with progress, announced; the recipient downloads and reads it back', async () => {
    const file = randomBytes(3 * 1024 * 1024 + 12_345);
    const stageId = await stage(alice, file);
    await alice.call('files/send', {
      stageId,
      identityId: aliceId.id,
      localId: 'file-1',
      recipient: { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls },
      fileName: 'photo of us.png',
      mime: 'image/png',
      text: 'look',
    });
    await waitFor(() => alice.of('outbox/status').find((s) => s.localId === 'file-1' && s.status === 'posted'), 'notice posted');
    // The notice's receipt ids come with its status (nobody called messages/send for it).
    const ackIds = alice.of('outbox/status').find((s) => s.localId === 'file-1' && s.acknowledgeIds)?.acknowledgeIds;
    expect(ackIds).toHaveLength(1);
    const up = alice.of('files/progress').filter((p) => p.id === 'file-1');
    expect(up.at(-1)).toMatchObject({ direction: 'up', state: 'done', done: file.length, total: file.length });
    expect(up.every((p, i) => i === 0 || p.done >= up[i - 1]!.done)).toBe(true);
    // Nothing staged is left in the profile once the file is up.
    expect(readdirSync(join(alice.dataDir, 'files', 'staged'))).toEqual([]);

    const [notice] = await nextAtBob(1, 'the notice');
    expect(notice).toMatchObject({ type: 'box_share_notification', text: 'look', share: { file: 'photo of us.png', size: file.length } });
    const content = notice!.content;
    if (content.type !== 'box_share_notification' || !content.ref) throw new Error('expected a file of ours');
    expect(content.mime).toBe('image/png');
    expect(content.ref.url.startsWith(`${server.url}/blobs/`)).toBe(true);

    expect(await bob.call('files/download', { id: 'dl-1', ref: content.ref })).toEqual({ ready: false });
    await waitFor(() => bob.of('files/progress').find((p) => p.id === 'dl-1' && p.state === 'done'), 'downloaded');
    expect((await readAll(bob, 'dl-1', content.ref)).equals(file)).toBe(true);
    // Kept encrypted at rest: the stored file is the ciphertext, not the file.
    const stored = readdirSync(join(bob.dataDir, 'files')).filter((name) => name !== 'staged');
    expect(stored).toHaveLength(1);
    expect(await bob.call('files/download', { id: 'dl-1', ref: content.ref })).toEqual({ ready: true });
    // A range read from the middle, across a chunk boundary.
    const middle = await bob.call('files/read', { id: 'dl-1', ref: content.ref, offset: 65_000 });
    expect(Buffer.from(fromBase64Url(middle.data)).equals(file.subarray(65_000, 65_000 + FILE_CHUNK_BYTES))).toBe(true);
    // A notice whose key was changed does not open the stored file.
    const wrongKey = { ...content.ref, key: toBase64Url(randomBytes(32)) };
    await expect(bob.call('files/read', { id: 'dl-1', ref: wrongKey, offset: 0 })).rejects.toThrow(/does not open/);
    await bob.call('files/discard', { id: 'dl-1' });
    await expect(bob.call('files/read', { id: 'dl-1', ref: content.ref, offset: 0 })).rejects.toThrow(/not downloaded/);
  });

  it('refuses chunks out of order, too many bytes, and a send before the whole file arrived', async () => {
    const { stageId } = await alice.call('files/stageBegin', { size: 10 });
    await expect(alice.call('files/stageChunk', { stageId, offset: 5, data: toBase64Url(new Uint8Array(5)) })).rejects.toThrow(/from 0/);
    await alice.call('files/stageChunk', { stageId, offset: 0, data: toBase64Url(new Uint8Array(4)) });
    await expect(alice.call('files/stageChunk', { stageId, offset: 4, data: toBase64Url(new Uint8Array(7)) })).rejects.toThrow(/More bytes/);
    const request = { stageId, identityId: aliceId.id, localId: 'early', recipient: { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls }, fileName: 'x' };
    await expect(alice.call('files/send', request)).rejects.toThrow(/4 of the file's 10 bytes/);
    await expect(alice.call('files/stageChunk', { stageId: 'nope', offset: 0, data: 'AAAA' })).rejects.toThrow(/start again/);
    // A file the user gave up while handing it over is deleted at once.
    expect(readdirSync(join(alice.dataDir, 'files', 'staged'))).toContain(stageId);
    await alice.call('files/stageDiscard', { stageId });
    expect(readdirSync(join(alice.dataDir, 'files', 'staged'))).not.toContain(stageId);
    await expect(alice.call('files/send', request)).rejects.toThrow(/start again/);
  });

  it('says what to do when none of the sender’s servers stores files, and cancels an upload', async () => {
    const carol = await startTestEngine();
    try {
      const carolId = await carol.call('identities/create', { alias: 'carol', serverUrl: plainServer.url });
      const stageId = await stage(carol, randomBytes(1000));
      await carol.call('files/send', { stageId, identityId: carolId.id, localId: 'nb', recipient: { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls }, fileName: 'a.txt' });
      const failed = await waitFor(() => carol.of('outbox/status').find((s) => s.localId === 'nb' && s.status === 'failed'), 'failed');
      expect(failed.error).toMatch(/None of your drop servers stores files.*--blobs/);
      // With a second drop on a server that stores files, the upload goes there.
      await carol.call('identities/addDrop', { identityId: carolId.id, serverUrl: server.url });
      const again = await stage(carol, randomBytes(1000));
      await carol.call('files/send', { stageId: again, identityId: carolId.id, localId: 'nb2', recipient: { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls }, fileName: 'a.txt' });
      await waitFor(() => carol.of('outbox/status').find((s) => s.localId === 'nb2' && s.status === 'posted'), 'posted via the second drop');
      const [notice] = await nextAtBob(1, 'carol’s notice');
      expect(notice!.content.type === 'box_share_notification' && notice!.content.ref?.url.startsWith(server.url)).toBe(true);

      const big = await stage(carol, randomBytes(40 * 1024 * 1024));
      await carol.call('files/send', { stageId: big, identityId: carolId.id, localId: 'big', recipient: { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls }, fileName: 'big.bin' });
      // Its local id is taken while it uploads: a re-submission cannot turn it into a chat message.
      await expect(carol.call('messages/send', { identityId: carolId.id, localId: 'big', recipient: { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls }, text: 'big.bin' })).rejects.toThrow(
        /still being uploaded/,
      );
      expect(await carol.call('messages/cancel', { localId: 'big' })).toEqual({ cancelled: true });
      expect(carol.of('outbox/status').filter((s) => s.localId === 'big').at(-1)?.status).toBe('cancelled');
      expect(readdirSync(join(carol.dataDir, 'files', 'staged'))).toEqual([]);
    } finally {
      await carol.close();
      removeDir(carol.dataDir);
    }
  });

  it('shares a folder: files and listing uploaded without notices, each revision announced, removal too', async () => {
    const files = [randomBytes(70_000), randomBytes(10)];
    const refs: EncryptedFileRef[] = [];
    for (const [index, bytes] of files.entries()) {
      await alice.call('files/upload', { stageId: await stage(alice, bytes), identityId: aliceId.id, uploadId: `up-${index}` });
      const done = await waitFor(() => alice.of('files/progress').find((p) => p.id === `up-${index}` && p.state === 'done'), 'uploaded');
      refs.push(done.ref!);
    }
    const listing: ShareListing = {
      format: SHARE_LISTING_FORMAT,
      version: 1,
      name: 'Holiday',
      files: refs.map((ref, index) => ({ path: `day ${index}/photo.bin`, mime: null, ref })),
    };
    await alice.call('files/upload', { stageId: await stage(alice, Buffer.from(JSON.stringify(listing))), identityId: aliceId.id, uploadId: 'listing-1' });
    const listingRef = (await waitFor(() => alice.of('files/progress').find((p) => p.id === 'listing-1' && p.state === 'done'), 'listing up')).ref!;
    const recipient = { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls };
    await alice.call('messages/send', {
      identityId: aliceId.id,
      localId: 'share-1',
      recipient,
      content: { type: 'box_share_notification', file: 'Holiday', mime: 'application/json', ref: listingRef, share: { id: 'share-a', revision: 1 } },
    });
    await alice.call('messages/send', {
      identityId: aliceId.id,
      localId: 'share-2',
      recipient,
      content: { type: 'box_share_notification', file: 'Holiday', ref: null, share: { id: 'share-a', revision: 2, removed: true } },
    });
    const [announced, removed] = await nextAtBob(2, 'the share and its removal');
    if (announced!.content.type !== 'box_share_notification' || !announced!.content.ref) throw new Error('expected a share revision');
    expect(announced!.content.share).toEqual({ id: 'share-a', revision: 1, removed: false });
    expect(removed!.content).toMatchObject({ ref: null, share: { id: 'share-a', revision: 2, removed: true } });
    // Bob reads the listing, then any file in it.
    await bob.call('files/download', { id: 'listing', ref: announced!.content.ref });
    await waitFor(() => bob.of('files/progress').find((p) => p.id === 'listing' && p.state === 'done'), 'listing down');
    const read = parseShareListing((await readAll(bob, 'listing', announced!.content.ref)).toString('utf8'));
    expect(read?.files.map((file) => file.path)).toEqual(['day 0/photo.bin', 'day 1/photo.bin']);
    await bob.call('files/download', { id: 'photo-0', ref: read!.files[0]!.ref });
    await waitFor(() => bob.of('files/progress').find((p) => p.id === 'photo-0' && p.state === 'done'), 'photo down');
    expect((await readAll(bob, 'photo-0', read!.files[0]!.ref)).equals(files[0]!)).toBe(true);
  });

  it('builds contact updates and posts from the identity as it is now', async () => {
    await alice.call('identities/rename', { identityId: aliceId.id, alias: 'Alicia' });
    const withSecond = await alice.call('identities/addDrop', { identityId: aliceId.id, serverUrl: plainServer.url });
    const recipient = { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls };
    await alice.call('messages/send', { identityId: aliceId.id, localId: 'cu-1', recipient, content: { type: 'box_contact_update' }, wantReceipt: false });
    await alice.call('messages/send', { identityId: aliceId.id, localId: 'post-1', recipient, content: { type: 'box_microblog', text: 'first post', postId: 'p-1' } });
    const messages = await nextAtBob(2, 'update and post');
    const update = messages.find((m) => m.type === 'box_contact_update')!;
    expect(update.content).toMatchObject({ type: 'box_contact_update', alias: 'Alicia', dropUrls: withSecond.dropUrls });
    expect(update.meta?.alias).toBe('Alicia');
    expect(messages.find((m) => m.type === 'box_microblog')!.content).toEqual({ type: 'box_microblog', msg: 'first post', postId: 'p-1' });
    await expect(
      alice.call('messages/send', { identityId: aliceId.id, localId: 'post-2', recipient, content: { type: 'box_microblog', text: 'x'.repeat(501), postId: 'p-2' } }),
    ).rejects.toThrow(/invalid_request/);
    await expect(alice.call('messages/send', { identityId: aliceId.id, localId: 'both', recipient, text: 'a', content: { type: 'box_contact_update' } })).rejects.toThrow(
      /either a text or a content/,
    );
  });

  it('drops and counts a payload that fails its module’s schema; shows an unknown type as unsupported', async () => {
    const pair = generateNativeKeyPair();
    const agent = new Agent();
    const client = new DropClient({ dispatcher: agent, timeoutMs: 5000 });
    const post = async (type: string, payload: string) => {
      const json = serializeDropMessage({ version: 1, time_stamp: Date.now(), sender: Buffer.from(pair.publicKey).toString('hex'), drop_payload: payload, drop_payload_type: type, acknowledge_id: '0' });
      const padded = new Uint8Array(PAYLOAD_LENGTH);
      padded.set(json);
      const pdu = await nativeBox.sealPdu(pair, Buffer.from(bobId.publicKey, 'hex'), padded);
      await client.post(bobId.dropUrls[0]!, pdu);
    };
    await post('box_microblog', JSON.stringify({ msg: '', post_id: 'has spaces' }));
    await post('box_contact_update', JSON.stringify({ alias: 'x', drop_urls: ['javascript:alert(1)'], revision: 1 }));
    await post('box_share_notification', JSON.stringify({ file: 'a' }));
    await post('box_video', 'not even json');
    const [unsupported] = await nextAtBob(1, 'the unknown type only');
    expect(unsupported!.content).toEqual({ type: 'unsupported', payloadType: 'box_video', payload: 'not even json' });
    const status = await bob.call('servers/status', {});
    expect(status.find((s) => s.serverUrl === server.url)?.malformedMessages).toBe(3);
    await agent.close();
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Channel, type EncryptedFileRef, FILE_CHUNK_BYTES, type IncomingMessage } from '../../../shared/ipc/contract.js';
import { type Result, fail, ok } from '../../../shared/ipc/result.js';
import type { ShareContent } from '../../../shared/modules/share.js';
import { parseShareListing } from '../../../shared/modules/shareListing.js';
import { fromBase64Url, toBase64Url } from '../../../shared/protocol/encoding.js';
import type { EngineBridge } from '../bridge/transport.js';
import type { DeaddropDatabase } from '../db/database.js';
import { writeInboxBatch } from '../db/inboxWriter.js';
import type { ContactRecord } from '../db/records.js';
import { deleteTestDatabases, openTestDatabase } from '../db/testDatabase.js';
import { type ShareRecord, listingDownloadFailure, receivedShareRowId } from './shareRecords.js';
import {
  announceShare, applyShareStatus, createShare, entryPath, fetchShareListings, removeShare, resumeShares, retryListing, settleShareReceipts, shareFileDownloadId,
  updateShare, watchShareSends,
} from './shares.js';

const ALICE_KEY = 'a'.repeat(64);
const BOB_KEY = 'b'.repeat(64);
const bob: ContactRecord = {
  identityId: 'alice', publicKey: BOB_KEY, alias: 'Bob', aliasLower: 'bob', dropUrls: ['http://127.0.0.1:1/bob'], offeredDropUrls: [], status: 'accepted', createdAt: 1,
};
const aliceAtBob: ContactRecord = { ...bob, identityId: 'bob', publicKey: ALICE_KEY, alias: 'Alice', aliasLower: 'alice', dropUrls: ['http://127.0.0.1:1/alice'] };

type Sent = { localId: string; content: { type: string; file: string; mime: string | null; ref: EncryptedFileRef | null; share: { id: string; revision: number; removed: boolean } } };

/**
 * The engine as the UI sees it, with blobs: a staged file uploaded with `files/upload` is kept under
 * its SHA-256 and announced done with its reference; `files/download` finds it, `files/read` reads it.
 */
function fakeEngine(answer: (channel: Channel, request: Record<string, unknown>) => Result<unknown> | undefined = () => undefined) {
  const calls: Array<[Channel, Record<string, unknown>]> = [];
  const listeners = new Map<string, Array<(event: unknown) => void>>();
  const staged = new Map<string, Uint8Array[]>();
  const blobs = new Map<string, Uint8Array>();
  const emit = (event: string, body: unknown) => listeners.get(event)?.forEach((l) => l(body));
  const bridge = {
    kind: 'websocket',
    async invoke(channel: Channel, request: Record<string, unknown>) {
      calls.push([channel, request]);
      const custom = answer(channel, request);
      if (custom) return custom;
      if (channel === 'files/stageBegin') {
        const stageId = `stage-${calls.length}`;
        staged.set(stageId, []);
        return ok({ stageId });
      }
      if (channel === 'files/stageChunk') {
        const parts = staged.get(request.stageId as string)!;
        parts.push(fromBase64Url(request.data as string));
        return ok({ received: parts.reduce((n, p) => n + p.length, 0) });
      }
      if (channel === 'files/upload') {
        const parts = staged.get(request.stageId as string)!;
        const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        parts.reduce((at, p) => (bytes.set(p, at), at + p.length), 0);
        const hash = toBase64Url(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
        blobs.set(hash, bytes);
        const ref: EncryptedFileRef = { scheme: 'deaddrop-file-1', url: `http://127.0.0.1:1/blobs/${hash}`, key: hash, size: bytes.length, cipherSize: bytes.length + 40, hash };
        setTimeout(() => emit('files/progress', { id: request.uploadId, direction: 'up', done: bytes.length, total: bytes.length, state: 'done', ref }), 0);
        return ok({ uploadId: request.uploadId });
      }
      if (channel === 'files/download') return blobs.has((request.ref as EncryptedFileRef).hash) ? ok({ ready: true }) : fail('not_found', 'The file is gone from the server.');
      if (channel === 'files/read') {
        const bytes = blobs.get((request.ref as EncryptedFileRef).hash)!;
        const offset = request.offset as number;
        return ok({ data: toBase64Url(bytes.slice(offset, offset + FILE_CHUNK_BYTES)), size: bytes.length });
      }
      if (channel === 'messages/send') return ok({ localId: request.localId, acknowledgeIds: [`ack-${request.localId as string}`], parts: 1 });
      return ok(null);
    },
    on(event: string, listener: (event: unknown) => void) {
      listeners.set(event, [...(listeners.get(event) ?? []), listener]);
      return () => listeners.set(event, (listeners.get(event) ?? []).filter((l) => l !== listener));
    },
    connectionState: () => 'open',
    onConnectionChange: () => () => undefined,
  } as unknown as EngineBridge;
  const sent = () => calls.filter(([c]) => c === 'messages/send').map(([, r]) => r as unknown as Sent);
  const uploads = () => calls.filter(([c]) => c === 'files/upload').length;
  const text = (ref: EncryptedFileRef) => new TextDecoder().decode(blobs.get(ref.hash));
  return { bridge, calls, emit, sent, uploads, text, blobs };
}

const file = (name: string, content: string, type = 'text/plain') => new File([content], name, { type });
const entries = (...files: File[]) => files.map((f) => ({ path: entryPath(f), file: f }));

/** Bob's engine hands him Alice's announcement as it decoded it. */
function arrival(send: Sent, n: number): IncomingMessage {
  const { ref } = send.content;
  const content: ShareContent = {
    type: 'box_share_notification', msg: '', file: send.content.file, url: ref?.url ?? '', key: ref?.key ?? '', size: ref?.size ?? 0, ref, mime: send.content.mime, share: send.content.share,
  };
  return {
    dedupeKey: `d${n}`, identityId: 'bob', senderKey: ALICE_KEY, type: 'box_share_notification', payload: '{}', content, text: null, share: null, part: null,
    acknowledgeId: `ack${n}`, meta: null, sentAt: n, receivedAt: n, dropUrl: 'http://127.0.0.1:1/bob',
  };
}

let db: DeaddropDatabase;
beforeEach(async () => {
  db = await openTestDatabase('shares');
  await db.contacts.bulkPut([bob, aliceAtBob]);
});
afterEach(deleteTestDatabases);

const own = async () => (await db.shares.where('identityId').equals('alice').toArray())[0]!;
const received = async () => (await db.shares.where('identityId').equals('bob').toArray())[0]!;

describe('own shares: create, change, remove', () => {
  it('uploads the files, then the listing, and announces revision 1 with the listing to each recipient', async () => {
    const engine = fakeEngine();
    const progress: Array<[number, number]> = [];
    const record = await createShare(engine.bridge, db, 'alice', ' Holiday ', entries(file('a.txt', 'aaa'), file('b.jpg', 'bbbb', 'image/jpeg'), file('c.bin', 'c')), [bob], (d, t) => progress.push([d, t]));
    expect(engine.uploads()).toBe(4);
    expect(progress.at(-1)).toEqual([8, 8]);
    const [send] = engine.sent();
    expect(engine.sent()).toHaveLength(1);
    expect(send!.content).toEqual({ type: 'box_share_notification', file: 'Holiday', text: '', mime: 'application/json', ref: record.listingRef, share: { id: record.shareId, revision: 1, removed: false } });
    const listing = parseShareListing(engine.text(record.listingRef!))!;
    expect(listing.name).toBe('Holiday');
    expect(listing.files.map((f) => [f.path, f.mime, f.ref.size])).toEqual([['a.txt', 'text/plain', 3], ['b.jpg', 'image/jpeg', 4], ['c.bin', 'text/plain', 1]]);
    expect(await own()).toMatchObject({ direction: 'out', name: 'Holiday', revision: 1, recipients: [BOB_KEY], sends: { [BOB_KEY]: { status: 'sending', ackIds: [`ack-${send!.localId}`] } } });
  });

  it('refuses what cannot be shared before anything is uploaded', async () => {
    const engine = fakeEngine();
    const none = () => undefined;
    await expect(createShare(engine.bridge, db, 'alice', 'x', entries(file('a.txt', 'a')), [], none)).rejects.toThrow('Choose at least one contact');
    await expect(createShare(engine.bridge, db, 'alice', 'x', entries(file('a.txt', 'a')), [{ ...bob, status: 'unknown' }], none)).rejects.toThrow('Choose at least one contact');
    await expect(createShare(engine.bridge, db, 'alice', '  ', entries(file('a.txt', 'a')), [bob], none)).rejects.toThrow('name');
    await expect(createShare(engine.bridge, db, 'alice', 'x', [], [bob], none)).rejects.toThrow('Add at least one file');
    await expect(createShare(engine.bridge, db, 'alice', 'x', entries(file('a.txt', 'a'), file('a.txt', 'b')), [bob], none)).rejects.toThrow('same name');
    expect(engine.calls).toEqual([]);
    expect(await db.shares.count()).toBe(0);
  });

  it('a change uploads only the new files and a new listing, and announces the next revision to every recipient', async () => {
    const engine = fakeEngine();
    const first = await createShare(engine.bridge, db, 'alice', 'Holiday', entries(file('a.txt', 'aaa'), file('b.jpg', 'bbbb'), file('c.bin', 'c')), [bob], () => undefined);
    const next = await updateShare(engine.bridge, db, first.id, { add: entries(file('b.jpg', 'new b')), remove: ['c.bin'] }, () => undefined);
    expect(engine.uploads()).toBe(4 + 2);
    expect(next.revision).toBe(2);
    expect(next.listing!.files.map((f) => [f.path, f.ref.size])).toEqual([['a.txt', 3], ['b.jpg', 5]]);
    // The unchanged file keeps its upload.
    expect(next.listing!.files[0]!.ref).toEqual(first.listing!.files[0]!.ref);
    const sends = engine.sent();
    expect(sends).toHaveLength(2);
    expect(sends[1]!.localId).not.toBe(sends[0]!.localId);
    expect(sends[1]!.content).toMatchObject({ ref: next.listingRef, share: { id: first.shareId, revision: 2, removed: false } });
    await expect(updateShare(engine.bridge, db, first.id, { add: [], remove: ['a.txt', 'b.jpg'] }, () => undefined)).rejects.toThrow('at least one file');
  });

  it('a removal announces the next revision as removed, with no file; the share then takes no change', async () => {
    const engine = fakeEngine();
    const first = await createShare(engine.bridge, db, 'alice', 'Holiday', entries(file('a.txt', 'aaa')), [bob], () => undefined);
    await removeShare(engine.bridge, db, first.id);
    expect(engine.sent()[1]!.content).toEqual({ type: 'box_share_notification', file: 'Holiday', text: '', mime: null, ref: null, share: { id: first.shareId, revision: 2, removed: true } });
    expect(await own()).toMatchObject({ removed: true, revision: 2, listingRef: null });
    await expect(updateShare(engine.bridge, db, first.id, { add: entries(file('z', 'z')), remove: [] }, () => undefined)).rejects.toThrow('removed');
  });

  it('follows each recipient: the engine’s statuses, never back from delivered, the receipt, and a failed one sent again under its id', async () => {
    let refuse = true;
    const engine = fakeEngine((channel) => (channel === 'messages/send' && refuse ? fail('bad_input', 'No route.') : undefined));
    watchShareSends(engine.bridge, db);
    const record = await createShare(engine.bridge, db, 'alice', 'Holiday', entries(file('a.txt', 'aaa')), [bob], () => undefined);
    expect((await own()).sends[BOB_KEY]).toMatchObject({ status: 'failed', error: 'No route.' });
    refuse = false;
    await announceShare(engine.bridge, db, record.id);
    const [first, again] = engine.sent();
    expect(again!.localId).toBe(first!.localId);
    expect((await own()).sends[BOB_KEY]!.status).toBe('sending');
    expect(await applyShareStatus(db, { localId: first!.localId, status: 'posted' })).toBe(true);
    expect((await own()).sends[BOB_KEY]!.status).toBe('posted');
    await db.pendingReceipts.put({ identityId: 'alice', acknowledgeId: `ack-${first!.localId}`, senderKey: 'e'.repeat(64), receivedAt: Date.now() });
    await settleShareReceipts(db, 'alice');
    // Only the recipient confirms.
    expect((await own()).sends[BOB_KEY]!.status).toBe('posted');
    await db.pendingReceipts.put({ identityId: 'alice', acknowledgeId: `ack-${first!.localId}`, senderKey: BOB_KEY, receivedAt: Date.now() });
    await settleShareReceipts(db, 'alice');
    expect((await own()).sends[BOB_KEY]!.status).toBe('delivered');
    await applyShareStatus(db, { localId: first!.localId, status: 'posted' });
    expect((await own()).sends[BOB_KEY]!.status).toBe('delivered');
  });

  it('keeps an announcement the engine never took (it was away) queued, and hands it over when it is back', async () => {
    let away = true;
    const engine = fakeEngine((channel) => (channel === 'messages/send' && away ? fail('unavailable', 'The engine is not running.') : undefined));
    await createShare(engine.bridge, db, 'alice', 'Holiday', entries(file('a.txt', 'aaa')), [bob], () => undefined);
    expect((await own()).sends[BOB_KEY]).toMatchObject({ status: 'queued', error: null });
    away = false;
    await resumeShares(engine.bridge, db, 'alice');
    expect(engine.sent()).toHaveLength(2);
    expect(engine.sent()[1]!.localId).toBe(engine.sent()[0]!.localId);
    expect((await own()).sends[BOB_KEY]!.status).toBe('sending');
    // Nothing left to hand over.
    await resumeShares(engine.bridge, db, 'alice');
    expect(engine.sent()).toHaveLength(2);
  });
});

describe('received shares: fetched, compared, removed', () => {
  it('Bob gets each revision’s listing, what it changed, and the removal', async () => {
    const engine = fakeEngine();
    const first = await createShare(engine.bridge, db, 'alice', 'Holiday', entries(file('a.txt', 'aaa'), file('b.jpg', 'bbbb'), file('c.bin', 'c')), [bob], () => undefined);
    await writeInboxBatch(db, { batchId: 'b1', messages: [arrival(engine.sent()[0]!, 1)], receipts: [] });
    await fetchShareListings(engine.bridge, db, 'bob');
    let share: ShareRecord = await received();
    expect(share).toMatchObject({ id: receivedShareRowId('bob', ALICE_KEY, first.shareId), name: 'Holiday', revision: 1, listingRevision: 1, listingError: null });
    expect(share.listing!.files.map((f) => f.path)).toEqual(['a.txt', 'b.jpg', 'c.bin']);
    // The listing is read and forgotten by the engine.
    expect(engine.calls.filter(([c]) => c === 'files/discard')).toHaveLength(1);
    const firstId = await shareFileDownloadId(share, 'b.jpg');
    expect(firstId.length).toBeLessThanOrEqual(128);
    expect(firstId).toMatch(new RegExp(`^share:${first.shareId}:1:[\\w-]{22}$`));

    await updateShare(engine.bridge, db, first.id, { add: entries(file('b.jpg', 'new b'), file('d.txt', 'd')), remove: ['c.bin'] }, () => undefined);
    await writeInboxBatch(db, { batchId: 'b2', messages: [arrival(engine.sent()[1]!, 2)], receipts: [] });
    await fetchShareListings(engine.bridge, db, 'bob');
    share = await received();
    expect(share).toMatchObject({ revision: 2, listingRevision: 2, changes: { added: ['d.txt'], changed: ['b.jpg'], removed: ['c.bin'] } });
    const secondIds = await Promise.all(['a.txt', 'b.jpg', 'd.txt'].map((path) => shareFileDownloadId(share, path)));
    expect(secondIds).not.toContain(firstId);
    // What was downloaded of revision 1 is forgotten (its files come again under revision 2).
    const discarded = () => engine.calls.filter(([c]) => c === 'files/discard').map(([, r]) => r.id);
    expect(discarded()).toContain(firstId);
    expect(discarded().filter((id) => String(id).startsWith('share:'))).toHaveLength(3);

    // A copy of revision 1 arriving late changes nothing.
    await writeInboxBatch(db, { batchId: 'b3', messages: [arrival(engine.sent()[0]!, 3)], receipts: [] });
    expect((await received()).revision).toBe(2);

    await removeShare(engine.bridge, db, first.id);
    await writeInboxBatch(db, { batchId: 'b4', messages: [arrival(engine.sent()[2]!, 4)], receipts: [] });
    expect(await received()).toMatchObject({ revision: 3, removed: true });
    expect(await db.messages.count()).toBe(0);
    // The removed share's files are forgotten, and its listing.
    await fetchShareListings(engine.bridge, db, 'bob');
    expect(discarded()).toEqual(expect.arrayContaining(secondIds));
    expect(await received()).toMatchObject({ removed: true, listing: null });
  });

  it('says when a listing is not one, and when it could not be downloaded (tried again on request)', async () => {
    const engine = fakeEngine();
    const first = await createShare(engine.bridge, db, 'alice', 'Holiday', entries(file('a.txt', 'aaa')), [bob], () => undefined);
    const sent = engine.sent()[0]!;
    // Revision 2 names a file that is no listing: a.txt itself.
    const notListing = { ...sent, content: { ...sent.content, ref: first.listing!.files[0]!.ref, share: { ...sent.content.share, revision: 2 } } };
    await writeInboxBatch(db, { batchId: 'b1', messages: [arrival(notListing, 1)], receipts: [] });
    await fetchShareListings(engine.bridge, db, 'bob');
    expect(await received()).toMatchObject({ revision: 2, listingError: 'unreadable', listing: null });

    // Revision 3's listing is gone from the server.
    const gone = { ...sent, content: { ...sent.content, ref: { ...sent.content.ref!, hash: 'G'.repeat(43) }, share: { ...sent.content.share, revision: 3 } } };
    await writeInboxBatch(db, { batchId: 'b2', messages: [arrival(gone, 2)], receipts: [] });
    await fetchShareListings(engine.bridge, db, 'bob');
    expect(listingDownloadFailure(await received())).toBe('The file is gone from the server.');
    const downloads = engine.calls.filter(([c]) => c === 'files/download').length;
    await fetchShareListings(engine.bridge, db, 'bob');
    expect(engine.calls.filter(([c]) => c === 'files/download')).toHaveLength(downloads);
    engine.blobs.set('G'.repeat(43), engine.blobs.get(first.listingRef!.hash)!);
    await retryListing(db, (await received()).id);
    await fetchShareListings(engine.bridge, db, 'bob');
    expect(await received()).toMatchObject({ revision: 3, listingRevision: 3, listingError: null, changes: null });
  });
});

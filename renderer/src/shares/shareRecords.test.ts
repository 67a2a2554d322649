import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EncryptedFileRef, IncomingMessage } from '../../../shared/ipc/contract.js';
import { SHARE_LISTING_FORMAT, type ShareListing } from '../../../shared/modules/shareListing.js';
import type { DeaddropDatabase } from '../db/database.js';
import { writeInboxBatch } from '../db/inboxWriter.js';
import type { ContactRecord, ContactStatus } from '../db/records.js';
import { deleteTestDatabases, openTestDatabase } from '../db/testDatabase.js';
import { type ShareRecord, applyFetchedListing, changesText, cleanShareName, needsListing, receivedShareRowId } from './shareRecords.js';
import { entryPath } from './shares.js';

const key = (c: string) => c.repeat(64);
const ALICE = key('a');
const DROP = 'http://127.0.0.1:1/mine';

function ref(seed: string, size = 10): EncryptedFileRef {
  const b64 = seed.repeat(43).slice(0, 43);
  return { scheme: 'deaddrop-file-1', url: `http://127.0.0.1:1/blobs/${b64}`, key: b64, size, cipherSize: size + 40, hash: b64 };
}

/** A share notice as the engine hands it over: `share` set, a listing's reference unless it is a removal. */
function notice(dedupeKey: string, revision: number, options: { removed?: boolean; name?: string; shareId?: string; sender?: string; listing?: string } = {}): IncomingMessage {
  const removed = options.removed === true;
  const listingRef = removed ? null : ref(options.listing ?? `L${revision}`);
  const content = {
    type: 'box_share_notification' as const,
    msg: '',
    file: options.name ?? 'Holiday',
    url: listingRef?.url ?? '',
    key: listingRef?.key ?? '',
    size: listingRef?.size ?? 0,
    ref: listingRef,
    mime: removed ? null : 'application/json',
    share: { id: options.shareId ?? 'share-1', revision, removed },
  };
  return {
    dedupeKey, identityId: 'me', senderKey: options.sender ?? ALICE, type: 'box_share_notification', payload: '{}', content, text: null,
    share: { file: content.file, url: content.url, size: content.size }, part: null, acknowledgeId: `ack-${dedupeKey}`, meta: null,
    sentAt: 1000 + revision, receivedAt: 2000 + revision, dropUrl: DROP,
  };
}

function contact(publicKey: string, status: ContactStatus): ContactRecord {
  return { identityId: 'me', publicKey, alias: 'Alice', aliasLower: 'alice', dropUrls: ['http://127.0.0.1:1/alice'], offeredDropUrls: [], status, createdAt: 1 };
}

const write = (id: string, ...messages: IncomingMessage[]) => writeInboxBatch(db, { batchId: id, messages, receipts: [] });
const stored = (shareId = 'share-1', sender = ALICE) => db.shares.get(receivedShareRowId('me', sender, shareId));

function listing(files: Array<[string, string]>): ShareListing {
  return { format: SHARE_LISTING_FORMAT, version: 1, name: 'Holiday', files: files.map(([path, seed]) => ({ path, mime: null, ref: ref(seed) })) };
}

let db: DeaddropDatabase;
beforeEach(async () => {
  db = await openTestDatabase('shares');
});
afterEach(deleteTestDatabases);

describe('received shares: what the inbox writer stores', () => {
  it('stores an accepted contact’s announcement in the shares table, not as a chat message', async () => {
    await db.contacts.put(contact(ALICE, 'accepted'));
    const summary = await write('b1', notice('m1', 1));
    expect(summary).toMatchObject({ inserted: 1, dropped: 0 });
    expect(summary.owedReceipts).toHaveLength(1);
    const share = await stored();
    expect(share).toMatchObject({ direction: 'in', ownerKey: ALICE, shareId: 'share-1', name: 'Holiday', revision: 1, removed: false, listingRevision: 0 });
    expect(share!.listingRef).toEqual(ref('L1'));
    expect(needsListing(share!)).toBe(true);
    expect(await db.messages.count()).toBe(0);
    expect(await db.conversations.count()).toBe(0);
  });

  it('takes a higher revision and ignores a lower or equal one (stale copies, out of order)', async () => {
    await db.contacts.put(contact(ALICE, 'verified'));
    await write('b1', notice('m2', 2));
    await write('b2', notice('m1', 1));
    expect((await stored())!.revision).toBe(2);
    expect((await stored())!.listingRef).toEqual(ref('L2'));
    // The same revision with another listing (a forged or repeated copy) changes nothing.
    await write('b3', notice('m3', 2, { listing: 'X' }));
    expect((await stored())!.listingRef).toEqual(ref('L2'));
    // Within one batch too.
    await write('b4', notice('m5', 4), notice('m4', 3));
    expect((await stored())!.revision).toBe(4);
  });

  it('marks a removal and keeps the share listed; nothing after it revives it', async () => {
    await db.contacts.put(contact(ALICE, 'accepted'));
    await write('b1', notice('m1', 1));
    await write('b2', notice('m2', 2, { removed: true }));
    const removed = await stored();
    expect(removed).toMatchObject({ revision: 2, removed: true, listingRef: null, name: 'Holiday' });
    expect(needsListing(removed!)).toBe(false);
    await write('b3', notice('m3', 3));
    expect(await stored()).toMatchObject({ revision: 2, removed: true });
  });

  it('drops a stranger’s or an ignored sender’s announcement: no share, no request, no receipt', async () => {
    const summary = await write('b1', notice('m1', 1));
    expect(summary).toMatchObject({ inserted: 0, dropped: 1, owedReceipts: [] });
    expect(await db.shares.count()).toBe(0);
    expect(await db.contacts.count()).toBe(0);

    await db.contacts.put(contact(ALICE, 'ignored'));
    expect((await write('b2', notice('m2', 1))).dropped).toBe(1);
    await db.contacts.put(contact(ALICE, 'unknown'));
    expect((await write('b3', notice('m3', 1))).dropped).toBe(1);
    expect(await db.shares.count()).toBe(0);
  });

  it('keeps a share notice without a share as a chat file card', async () => {
    await db.contacts.put(contact(ALICE, 'accepted'));
    const plain = notice('m1', 1);
    plain.content = { ...plain.content, share: null } as IncomingMessage['content'];
    await write('b1', plain);
    expect(await db.shares.count()).toBe(0);
    const rows = await db.messages.toArray();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: 'share', share: { file: 'Holiday' } });
  });

  it('keeps shares of different senders and ids apart, and cleans the name it shows', async () => {
    await db.contacts.put(contact(ALICE, 'accepted'));
    await db.contacts.put(contact(key('b'), 'accepted'));
    await write('b1', notice('m1', 1, { name: 'Photos\u202Egpj.exe\u0007' }), notice('m2', 1, { sender: key('b') }), notice('m3', 5, { shareId: 'other' }));
    expect(await db.shares.count()).toBe(3);
    expect((await stored())!.name).toBe('Photosgpj.exe');
    expect((await stored('share-1', key('b')))!.revision).toBe(1);
    expect((await stored('other'))!.revision).toBe(5);
    expect(cleanShareName('\u200F\u0000')).toBe('Unnamed share');
  });
});

describe('received shares: listings and what changed', () => {
  const base = async (revision: number): Promise<ShareRecord> => {
    await db.contacts.put(contact(ALICE, 'accepted'));
    for (let r = 1; r <= revision; r++) await write(`b${r}`, notice(`m${r}`, r));
    return (await stored())!;
  };

  it('lists everything as added in the first revision, then what the next one added, changed and removed', async () => {
    const one = applyFetchedListing(await base(1), 1, listing([['a.jpg', 'a'], ['b.jpg', 'b'], ['c.jpg', 'c']]), 10)!;
    expect(one.changes).toEqual({ added: ['a.jpg', 'b.jpg', 'c.jpg'], changed: [], removed: [] });
    expect(one.listingRevision).toBe(1);
    expect(needsListing(one)).toBe(false);
    await db.shares.put(one);
    await write('b2', notice('m2', 2));
    const second = (await stored())!;
    expect(needsListing(second)).toBe(true);
    // The listing seen before stays until the new one is read.
    expect(second.listing).toEqual(one.listing);
    const two = applyFetchedListing(second, 2, listing([['a.jpg', 'a'], ['b.jpg', 'B'], ['d/e.jpg', 'd']]), 20)!;
    expect(two.changes).toEqual({ added: ['d/e.jpg'], changed: ['b.jpg'], removed: ['c.jpg'] });
    expect(changesText(two.changes!)).toBe('Added: d/e.jpg · Changed: b.jpg · Removed: c.jpg');
  });

  it('does not claim what changed when no earlier listing was seen', async () => {
    const next = applyFetchedListing(await base(2), 2, listing([['a.jpg', 'a']]), 10)!;
    expect(next.changes).toBeNull();
    expect(next.listing!.files).toHaveLength(1);
  });

  it('notes an unreadable listing, and ignores a listing of a revision no longer current or a removed share', async () => {
    const share = await base(2);
    expect(applyFetchedListing(share, 2, null, 10)).toMatchObject({ listingError: 'unreadable', listingRevision: 0 });
    expect(applyFetchedListing(share, 1, listing([['a.jpg', 'a']]), 10)).toBeNull();
    expect(applyFetchedListing({ ...share, removed: true }, 2, listing([['a.jpg', 'a']]), 10)).toBeNull();
    expect(needsListing({ ...share, listingError: 'unreadable' })).toBe(false);
  });

  it('formats nothing when nothing changed', () => {
    expect(changesText({ added: [], changed: [], removed: [] })).toBe('');
    expect(changesText({ added: ['a'], changed: [], removed: ['b', 'c'] })).toBe('Added: a · Removed: b, c');
    const many = Array.from({ length: 12 }, (_, i) => `f${i}`);
    expect(changesText({ added: [], changed: many, removed: [] })).toBe('Changed: f0, f1, f2, f3, f4, f5, f6, f7, f8, f9 and 2 more');
  });
});

describe('own shares: the paths chosen files get', () => {
  it('keeps a folder’s inner paths without the folder’s name, and plain names for single files', () => {
    expect(entryPath({ name: 'a.jpg', webkitRelativePath: 'Holiday/day 1/a.jpg' })).toBe('day 1/a.jpg');
    expect(entryPath({ name: 'a.jpg', webkitRelativePath: '' })).toBe('a.jpg');
    expect(entryPath({ name: 'a.jpg' })).toBe('a.jpg');
  });

  it('never yields an absolute path, dot parts, backslashes or control characters', () => {
    expect(entryPath({ name: '..\\..\\etc\\passwd' })).toBe('etc/passwd');
    expect(entryPath({ name: 'x', webkitRelativePath: 'F/./../a\u0000b\u202E.txt' })).toBe('ab.txt');
    expect(entryPath({ name: '..' })).toBe('file');
  });
});

/**
 * Shared folders from the UI's side. An own share's files are staged and uploaded encrypted without a
 * notice (`files/upload`, which reports each file's reference); its listing (shared/modules/
 * shareListing.ts) is one more such file, announced to every recipient with a share notice naming the
 * share and its revision. A change uploads only the new files and a new listing under the next
 * revision; a removal announces the next revision as removed, with no file. Received shares are stored
 * by the inbox writer (shareRecords.ts); their listings are downloaded and read here.
 */
import type { EncryptedFileRef, FileProgress, OutboxStatus, SendAccepted } from '../../../shared/ipc/contract.js';
import { SHARE_LISTING_FORMAT, type ShareListing, type ShareListingFile, parseShareListing, shareListingSchema } from '../../../shared/modules/shareListing.js';
import { toBase64Url } from '../../../shared/protocol/encoding.js';
import type { EngineBridge } from '../bridge/transport.js';
import type { DeaddropDatabase } from '../db/database.js';
import type { ContactRecord, MessageStatus } from '../db/records.js';
import { isAccepted } from '../db/senderBounds.js';
import { readDownloadedFile } from '../files/receiveFile.js';
import { forgetTransfer } from '../files/transfers.js';
import { FileSendError, refuseFile, sendMime, stageFile } from '../files/sendFile.js';
import {
  type ShareRecord, type ShareSendRecord, applyFetchedListing, applyListingFailure, listingDownloadFailure, needsListing, ownShareRowId,
} from './shareRecords.js';

/** A file chosen for a share, under the path it will have in the folder. */
export interface ShareEntry {
  path: string;
  file: File;
}

/** Bytes of the files of one change uploaded so far, and in all. */
export type UploadProgress = (done: number, total: number) => void;

export class ShareError extends Error {
  override readonly name = 'ShareError';
}

/** Engine answers that mean it was not there to try (it is tried again later), not that something failed. */
const TRANSIENT = new Set(['unavailable', 'timeout', 'locked']);

const MAX_PATH = 1024;

/**
 * The path a chosen file gets in the share: its place under the chosen folder (without the folder's
 * own name), or its name; never absolute, never `.` or `..`, no backslashes or control characters.
 */
export function entryPath(file: Pick<File, 'name'> & { webkitRelativePath?: string }): string {
  const relative = file.webkitRelativePath || file.name;
  const parts = relative
    .replace(/[\p{Cc}\p{Cf}]/gu, '')
    .split(/[/\\]/)
    .map((part) => part.trim())
    .filter((part) => part !== '' && part !== '.' && part !== '..');
  // A folder's files come as "Folder/sub/file": the folder is the share, so its name goes.
  const inFolder = file.webkitRelativePath && parts.length > 1 ? parts.slice(1) : parts;
  const path = inFolder.join('/');
  return [...path].slice(-MAX_PATH).join('') || 'file';
}

/** Turns a chosen list of files into entries, refusing what cannot be sent. */
export function entriesOf(files: Iterable<File>): ShareEntry[] {
  const entries: ShareEntry[] = [];
  for (const file of files) {
    const refused = refuseFile(file);
    if (refused) throw new ShareError(`${file.name}: ${refused}`);
    entries.push({ path: entryPath(file), file });
  }
  return entries;
}

/**
 * Waits for the last `files/progress` of an upload or download with `id`; reports its bytes on the way.
 * Resolves with the final event (done, failed or cancelled), or a failure when the engine goes away.
 */
function finalProgress(bridge: EngineBridge, id: string, onProgress: (event: FileProgress) => void = () => undefined): { done: Promise<FileProgress>; stop: () => void } {
  let stop = () => undefined as void;
  const done = new Promise<FileProgress>((resolve) => {
    const offProgress = bridge.on('files/progress', (event) => {
      if (event.id !== id) return;
      onProgress(event);
      if (event.state !== 'running') finish(event);
    });
    const offConnection = bridge.onConnectionChange((state) => {
      if (state === 'closed') finish({ id, direction: 'up', done: 0, total: 0, state: 'failed', error: 'The connection to the engine was lost.' });
    });
    const finish = (event: FileProgress) => {
      offProgress();
      offConnection();
      resolve(event);
    };
    stop = () => finish({ id, direction: 'up', done: 0, total: 0, state: 'cancelled' });
  });
  return { done, stop };
}

/** Stages and uploads one file without a notice (`files/upload`); its reference once uploaded. */
export async function uploadFile(bridge: EngineBridge, identityId: string, file: Blob, onProgress: (done: number) => void): Promise<EncryptedFileRef> {
  let stageId: string | null;
  try {
    // Handing the bytes over is half the way; the upload the other half.
    stageId = await stageFile(bridge, file, (done) => onProgress(done / 2));
  } catch (error) {
    throw new ShareError(error instanceof FileSendError ? error.message : 'A file could not be read: choose it again.');
  }
  if (stageId === null) throw new ShareError('The upload was stopped.');
  const uploadId = crypto.randomUUID();
  const final = finalProgress(bridge, uploadId, (event) => onProgress(file.size / 2 + (event.total > 0 ? (event.done / event.total) * (file.size / 2) : 0)));
  const started = await bridge.invoke('files/upload', { stageId, identityId, uploadId });
  if (!started.ok) {
    final.stop();
    throw new ShareError(started.error.message);
  }
  const event = await final.done;
  if (event.state !== 'done' || !event.ref) throw new ShareError(event.error ?? 'The upload did not finish.');
  onProgress(file.size);
  return event.ref;
}

/** Uploads `entries` one after the other; their listing entries. */
async function uploadEntries(bridge: EngineBridge, identityId: string, entries: readonly ShareEntry[], onProgress: UploadProgress): Promise<ShareListingFile[]> {
  const total = entries.reduce((sum, entry) => sum + entry.file.size, 0);
  let before = 0;
  const listed: ShareListingFile[] = [];
  onProgress(0, total);
  for (const entry of entries) {
    const ref = await uploadFile(bridge, identityId, entry.file, (done) => onProgress(before + done, total));
    before += entry.file.size;
    listed.push({ path: entry.path, mime: sendMime(entry.file.type), ref });
  }
  return listed;
}

/** A listing checked against the format a recipient reads. */
export function buildListing(name: string, files: readonly ShareListingFile[]): ShareListing {
  const sorted = [...files].sort((a, b) => a.path.localeCompare(b.path));
  const parsed = shareListingSchema.safeParse({ format: SHARE_LISTING_FORMAT, version: 1, name, files: sorted });
  if (!parsed.success) throw new ShareError(parsed.error.issues[0]?.message ?? 'The folder cannot be shared as it is.');
  return parsed.data;
}

async function uploadListing(bridge: EngineBridge, identityId: string, listing: ShareListing): Promise<EncryptedFileRef> {
  const blob = new Blob([JSON.stringify(listing)], { type: 'application/json' });
  return uploadFile(bridge, identityId, blob, () => undefined);
}

function freshSends(recipients: readonly string[], revision: number): Record<string, ShareSendRecord> {
  return Object.fromEntries(
    recipients.map((key): [string, ShareSendRecord] => [key, { localId: crypto.randomUUID(), revision, status: 'queued', error: null, ackIds: [], ackedIds: [] }]),
  );
}

const NAME_LIMIT = 255;

/**
 * Creates a share: uploads its files, then its listing, stores it (revision 1) and announces it to
 * each recipient (accepted and verified contacts of the identity with a drop).
 */
export async function createShare(
  bridge: EngineBridge,
  db: DeaddropDatabase,
  identityId: string,
  name: string,
  entries: readonly ShareEntry[],
  recipients: readonly ContactRecord[],
  onProgress: UploadProgress,
  now = Date.now(),
): Promise<ShareRecord> {
  const clean = name.trim();
  if (clean.length === 0 || clean.length > NAME_LIMIT) throw new ShareError(`A share's name has 1 to ${NAME_LIMIT} characters.`);
  const keys = recipients.filter((c) => c.identityId === identityId && isAccepted(c.status) && c.dropUrls.length > 0).map((c) => c.publicKey);
  if (keys.length === 0) throw new ShareError('Choose at least one contact to share with.');
  if (entries.length === 0) throw new ShareError('Add at least one file.');
  if (new Set(entries.map((e) => e.path)).size !== entries.length) throw new ShareError('Two of the files have the same name: share them from separate folders.');
  buildListing(clean, entries.map((e) => ({ path: e.path, mime: null, ref: PLACEHOLDER_REF })));
  const files = await uploadEntries(bridge, identityId, entries, onProgress);
  const listing = buildListing(clean, files);
  const listingRef = await uploadListing(bridge, identityId, listing);
  const shareId = crypto.randomUUID();
  const record: ShareRecord = {
    id: ownShareRowId(identityId, shareId),
    identityId,
    direction: 'out',
    ownerKey: '',
    shareId,
    name: clean,
    revision: 1,
    removed: false,
    listingRef,
    listing,
    listingRevision: 1,
    listingError: null,
    changes: null,
    recipients: keys,
    sends: freshSends(keys, 1),
    createdAt: now,
    updatedAt: now,
  };
  await db.shares.add(record);
  await announceShare(bridge, db, record.id);
  return (await db.shares.get(record.id)) ?? record;
}

/** Stands in for a reference while the paths of a share are checked before anything is uploaded. */
const PLACEHOLDER_REF: EncryptedFileRef = {
  scheme: 'deaddrop-file-1',
  url: `http://placeholder.invalid/blobs/${'A'.repeat(43)}`,
  key: 'A'.repeat(43),
  size: 0,
  cipherSize: 0,
  hash: 'A'.repeat(43),
};

/**
 * Changes an own share: `add` puts files in (one with a listed path replaces that file), `remove`
 * takes paths out. Only the new files are uploaded, then the new listing; the next revision is
 * announced to every recipient.
 */
export async function updateShare(
  bridge: EngineBridge,
  db: DeaddropDatabase,
  rowId: string,
  change: { add: readonly ShareEntry[]; remove: readonly string[] },
  onProgress: UploadProgress,
  now = Date.now(),
): Promise<ShareRecord> {
  const record = await ownShare(db, rowId);
  if (change.add.length === 0 && change.remove.length === 0) throw new ShareError('Nothing to change.');
  if (new Set(change.add.map((e) => e.path)).size !== change.add.length) throw new ShareError('Two of the files have the same name: add them one at a time.');
  const added = await uploadEntries(bridge, record.identityId, change.add, onProgress);
  const replaced = new Set([...change.remove, ...added.map((f) => f.path)]);
  const files = [...record.listing!.files.filter((f) => !replaced.has(f.path)), ...added];
  if (files.length === 0) throw new ShareError('A share keeps at least one file: remove the share instead.');
  const listing = buildListing(record.name, files);
  const listingRef = await uploadListing(bridge, record.identityId, listing);
  // Another change may have been made meanwhile (another window): this one comes after it.
  const current = await ownShare(db, rowId);
  const revision = current.revision + 1;
  const next: ShareRecord = { ...current, revision, listingRef, listing, listingRevision: revision, sends: freshSends(current.recipients, revision), updatedAt: now };
  await db.shares.put(next);
  await announceShare(bridge, db, rowId);
  return (await db.shares.get(rowId)) ?? next;
}

/** Ends an own share: the next revision, announced as removed to every recipient (the files stay where they are until the server expires them). */
export async function removeShare(bridge: EngineBridge, db: DeaddropDatabase, rowId: string, now = Date.now()): Promise<void> {
  const current = await ownShare(db, rowId);
  const revision = current.revision + 1;
  await db.shares.put({ ...current, revision, removed: true, listingRef: null, sends: freshSends(current.recipients, revision), updatedAt: now });
  await announceShare(bridge, db, rowId);
}

async function ownShare(db: DeaddropDatabase, rowId: string): Promise<ShareRecord> {
  const record = await db.shares.get(rowId);
  if (!record || record.direction !== 'out' || !record.listing) throw new ShareError('This share is not here any more.');
  if (record.removed) throw new ShareError('This share was removed.');
  return record;
}

/** Statuses after which an announcement waits for nothing more from the engine. */
const FINISHED = new Set<MessageStatus>(['posted', 'delivered', 'cancelled']);

/** Local ids of own shares' announcements, to their share's record id (`watchShareSends`). */
const sendOwners = new Map<string, string>();

/**
 * Hands the latest revision's announcement to every recipient it has not reached (again: the local
 * id makes it idempotent, so this also serves to try failed ones again).
 */
export async function announceShare(bridge: EngineBridge, db: DeaddropDatabase, rowId: string): Promise<void> {
  watchShareSends(bridge, db);
  const record = await db.shares.get(rowId);
  if (!record || record.direction !== 'out') return;
  for (const [contactKey, send] of Object.entries(record.sends)) {
    if (FINISHED.has(send.status)) continue;
    sendOwners.set(send.localId, rowId);
    const contact = await db.contacts.get([record.identityId, contactKey]);
    if (!contact || contact.dropUrls.length === 0) {
      await setSendStatus(db, send.localId, 'failed', 'This contact has no drop address to send to.');
      continue;
    }
    if (send.status === 'failed') await setSendStatus(db, send.localId, 'queued', null);
    const result = await bridge.invoke('messages/send', {
      identityId: record.identityId,
      localId: send.localId,
      recipient: { publicKey: contact.publicKey, dropUrls: contact.dropUrls },
      content: {
        type: 'box_share_notification',
        file: record.name,
        text: '',
        mime: record.removed ? null : 'application/json',
        ref: record.removed ? null : record.listingRef,
        share: { id: record.shareId, revision: record.revision, removed: record.removed },
      },
      wantReceipt: true,
    });
    if (result.ok) await recordAccepted(db, rowId, contactKey, send.localId, result.value);
    // Transport trouble leaves it queued: "Send again" hands it over once the engine is back.
    else if (!TRANSIENT.has(result.error.code)) await setSendStatus(db, send.localId, 'failed', result.error.message);
  }
}

/**
 * Hands the engine the announcements it never took (it was away when they were made), after a start
 * or a reconnection; failed ones wait for "Send again".
 */
export async function resumeShares(bridge: EngineBridge, db: DeaddropDatabase, identityId: string): Promise<void> {
  const records = await db.shares.where('identityId').equals(identityId).toArray();
  for (const record of records) {
    if (record.direction === 'out' && Object.values(record.sends).some((send) => send.status === 'queued')) await announceShare(bridge, db, record.id);
  }
}

async function recordAccepted(db: DeaddropDatabase, rowId: string, contactKey: string, localId: string, accepted: SendAccepted): Promise<void> {
  await db.transaction('rw', db.shares, async () => {
    const record = await db.shares.get(rowId);
    const send = record?.sends[contactKey];
    if (!record || send?.localId !== localId) return;
    // The engine's own status may have overtaken its answer: never back from it.
    const status = send.status === 'queued' ? 'sending' : send.status;
    await db.shares.put({ ...record, sends: { ...record.sends, [contactKey]: { ...send, status, ackIds: accepted.acknowledgeIds } } });
  });
}

async function setSendStatus(db: DeaddropDatabase, localId: string, status: MessageStatus, error: string | null): Promise<boolean> {
  const rowId = sendOwners.get(localId);
  if (!rowId) return false;
  return db.transaction('rw', db.shares, async () => {
    const record = await db.shares.get(rowId);
    const entry = record && Object.entries(record.sends).find(([, send]) => send.localId === localId);
    if (!record || !entry) return false;
    const [contactKey, send] = entry;
    if (send.status === 'delivered' || send.status === 'cancelled' || send.status === status) return true;
    await db.shares.put({ ...record, sends: { ...record.sends, [contactKey]: { ...send, status, error: status === 'failed' ? (error ?? 'Sending failed.') : null } } });
    return true;
  });
}

/** Applies an `outbox/status` event if it is about an announcement of an own share. */
export async function applyShareStatus(db: DeaddropDatabase, event: { localId: string; status: OutboxStatus; error?: string }): Promise<boolean> {
  return setSendStatus(db, event.localId, event.status, event.error ?? null);
}

const watched = new WeakSet<EngineBridge>();

/**
 * Follows the engine's `outbox/status` for announcements of own shares, once per bridge, from the
 * Shares view or the first announcement: what was still on its way when the window opened is found
 * in the database first.
 */
export function watchShareSends(bridge: EngineBridge, db: DeaddropDatabase): void {
  if (watched.has(bridge)) return;
  watched.add(bridge);
  bridge.on('outbox/status', (event) => {
    if (sendOwners.has(event.localId)) void applyShareStatus(db, event).catch(() => undefined);
  });
  void db.shares
    .toCollection()
    .each((record) => {
      for (const send of Object.values(record.sends)) if (!FINISHED.has(send.status)) sendOwners.set(send.localId, record.id);
    })
    .catch(() => undefined);
}

/**
 * Follows the identity's announcements still on their way, and marks those delivered whose receipts
 * arrived: they wait in `pendingReceipts` (no chat message has their ids), and only the recipient can
 * confirm one.
 */
export async function settleShareReceipts(db: DeaddropDatabase, identityId: string): Promise<void> {
  await db.transaction('rw', db.shares, db.pendingReceipts, async () => {
    const records = await db.shares.where('identityId').equals(identityId).toArray();
    for (const record of records) {
      if (record.direction !== 'out') continue;
      // Announcements still on their way are followed (also when the first scan found the database locked).
      for (const send of Object.values(record.sends)) if (!FINISHED.has(send.status)) sendOwners.set(send.localId, record.id);
      let changed = false;
      const sends = { ...record.sends };
      for (const [contactKey, send] of Object.entries(sends)) {
        if (send.status === 'delivered' || send.ackIds.length === 0) continue;
        const waiting = await db.pendingReceipts.bulkGet(send.ackIds.map((ackId): [string, string] => [identityId, ackId]));
        const ackedIds = send.ackIds.filter((_, i) => waiting[i]?.senderKey === contactKey);
        if (ackedIds.length === send.ackedIds.length) continue;
        const delivered = ackedIds.length === send.ackIds.length;
        sends[contactKey] = { ...send, ackedIds, ...(delivered ? { status: 'delivered' as const, error: null } : {}) };
        changed = true;
      }
      if (changed) await db.shares.put({ ...record, sends });
    }
  });
}

/** An identity's shares, own and received, newest change first. */
export async function listShares(db: DeaddropDatabase, identityId: string): Promise<ShareRecord[]> {
  const records = await db.shares.where('identityId').equals(identityId).toArray();
  return records.sort((a, b) => b.updatedAt - a.updatedAt);
}

async function digest(text: string, bytes = 32): Promise<string> {
  const hash = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return toBase64Url(new Uint8Array(hash).slice(0, bytes));
}

/** The id the engine keeps a received listing under. */
async function listingDownloadId(record: ShareRecord): Promise<string> {
  return `share-listing-${await digest(`${record.id}\n${record.revision}`)}`;
}

/**
 * The id the engine keeps a file of a received share under: `share:<shareId>:<revision>:<digest>`,
 * the digest over who shares it with whom and the path (at most 110 characters).
 */
export async function shareFileDownloadId(record: ShareRecord, path: string): Promise<string> {
  return `share:${record.shareId}:${record.listingRevision}:${await digest(`${record.identityId}\n${record.ownerKey}\n${path}`, 16)}`;
}

async function noteFailure(db: DeaddropDatabase, record: ShareRecord, message: string): Promise<void> {
  await db.transaction('rw', db.shares, async () => {
    const current = await db.shares.get(record.id);
    const next = current && applyListingFailure(current, record.revision, message, Date.now());
    if (next) await db.shares.put(next);
  });
}

/** Asks for a listing whose download failed again (the fetcher takes it up: `ShareSync`). */
export async function retryListing(db: DeaddropDatabase, rowId: string): Promise<void> {
  await db.transaction('rw', db.shares, async () => {
    const current = await db.shares.get(rowId);
    if (current && listingDownloadFailure(current) !== null) await db.shares.put({ ...current, listingError: null });
  });
}

/** Listings being fetched in this window (by record id and revision): one fetch each at a time. */
const fetching = new Set<string>();

/**
 * Downloads and reads the listing of every received share of `identityId` that needs one. A listing
 * that cannot be downloaded or is not one of ours is noted on the share (shown as such); one that
 * failed to download is tried again the next time.
 */
export async function fetchShareListings(bridge: EngineBridge, db: DeaddropDatabase, identityId: string): Promise<void> {
  const records = await db.shares.where('identityId').equals(identityId).toArray();
  await Promise.all(records.filter(needsListing).map((record) => fetchListing(bridge, db, record)));
  for (const record of records.filter((r) => r.direction === 'in' && r.removed && r.listing !== null)) await forgetRemovedShare(bridge, db, record);
}

/**
 * Has the engine forget what it downloaded of a received listing's files: a newer revision replaced
 * them (its files are downloaded under the new revision), or the share ended.
 */
async function forgetFiles(bridge: EngineBridge, record: ShareRecord): Promise<void> {
  for (const file of record.listing?.files ?? []) {
    const id = await shareFileDownloadId(record, file.path);
    forgetTransfer(id);
    await bridge.invoke('files/discard', { id });
  }
}

/** A removed share keeps no files: what was downloaded of it is forgotten, and its listing. */
async function forgetRemovedShare(bridge: EngineBridge, db: DeaddropDatabase, record: ShareRecord): Promise<void> {
  await forgetFiles(bridge, record);
  await db.transaction('rw', db.shares, async () => {
    const current = await db.shares.get(record.id);
    if (current?.removed) await db.shares.put({ ...current, listing: null, changes: null });
  });
}

async function fetchListing(bridge: EngineBridge, db: DeaddropDatabase, record: ShareRecord): Promise<void> {
  const key = `${record.id}\n${record.revision}`;
  if (fetching.has(key) || !record.listingRef) return;
  fetching.add(key);
  try {
    const ref = record.listingRef;
    const id = await listingDownloadId(record);
    const final = finalProgress(bridge, id);
    const started = await bridge.invoke('files/download', { id, ref });
    if (!started.ok) {
      final.stop();
      // Without the engine nothing was tried: the next change or opening of the view tries again.
      if (!TRANSIENT.has(started.error.code)) await noteFailure(db, record, started.error.message);
      return;
    }
    if (!started.value.ready) {
      const event = await final.done;
      if (event.state === 'failed' && bridge.connectionState() === 'open') await noteFailure(db, record, event.error ?? 'The download failed.');
      if (event.state !== 'done') return;
    } else final.stop();
    let listing: ShareListing | null;
    try {
      listing = parseShareListing(await (await readDownloadedFile(bridge, id, ref)).text());
    } catch (error) {
      await noteFailure(db, record, error instanceof Error ? error.message : 'The list of files could not be read.');
      return;
    }
    // The listing is read: the engine need not keep it.
    await bridge.invoke('files/discard', { id });
    const replaced = await db.transaction('rw', db.shares, async () => {
      const current = await db.shares.get(record.id);
      const next = current && applyFetchedListing(current, record.revision, listing, Date.now());
      if (next) await db.shares.put(next);
      return next?.listingRevision === record.revision ? current : undefined;
    });
    if (replaced?.listing) await forgetFiles(bridge, replaced);
  } finally {
    fetching.delete(key);
  }
}

/**
 * Shared folders as stored (the `shares` table, sealed at rest): our own shares, with their current
 * listing, recipients and what each recipient's announcement of the latest revision did; and the
 * shares contacts announced to us, with the newest revision applied, its listing once downloaded and
 * what that revision changed. The rules for announcements that arrive (which revision wins, what a
 * removal does, whose are taken) live here so the inbox writer and the tests share them.
 */
import type { EncryptedFileRef } from '../../../shared/ipc/contract.js';
import type { ShareContent } from '../../../shared/modules/share.js';
import { type ListingChanges, type ShareListing, listingChanges } from '../../../shared/modules/shareListing.js';
import type { ContactStatus, MessageStatus } from '../db/records.js';

/** One recipient's announcement of a revision of an own share. */
export interface ShareSendRecord {
  /** The outgoing message's local id (`messages/send`): re-sending it never posts twice. */
  localId: string;
  revision: number;
  status: MessageStatus;
  error: string | null;
  /** Receipt ids of the announcement, and those the recipient confirmed. */
  ackIds: string[];
  ackedIds: string[];
}

export interface ShareRecord {
  /** `out:<identityId>:<shareId>` for an own share, `in:<identityId>:<ownerKey>:<shareId>` for a received one. */
  id: string;
  identityId: string;
  direction: 'in' | 'out';
  /** The contact who shares it; empty for an own share. */
  ownerKey: string;
  shareId: string;
  /** The share's name (for a received one as the sender gave it, cleaned of control characters). */
  name: string;
  /** The newest revision: announced (own) or applied (received). */
  revision: number;
  removed: boolean;
  /** The listing file of `revision`; null once removed. */
  listingRef: EncryptedFileRef | null;
  /** The listing of `listingRevision`: own shares always have the current one; received ones once downloaded. */
  listing: ShareListing | null;
  listingRevision: number;
  /**
   * Why the listing of `revision` (received shares) is not here: `no_file` (the notice names no file
   * of ours), `unreadable` (not a listing), or `download:` and the engine's sentence (tried again on request).
   */
  listingError: string | null;
  /** What `listingRevision` changed against the listing seen before it (received shares; null when unknown). */
  changes: ListingChanges | null;
  /** Own shares: the contacts it is shared with (public keys). */
  recipients: string[];
  /** Own shares: the announcement of the latest revision, per recipient key. */
  sends: Record<string, ShareSendRecord>;
  createdAt: number;
  updatedAt: number;
}

export function ownShareRowId(identityId: string, shareId: string): string {
  return `out:${identityId}:${shareId}`;
}

export function receivedShareRowId(identityId: string, ownerKey: string, shareId: string): string {
  return `in:${identityId}:${ownerKey}:${shareId}`;
}

const MAX_NAME = 255;

/** A name someone else chose, as text to show: no control, format (bidi) or separator characters. */
export function cleanShareName(name: string): string {
  const clean = name.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, '').trim();
  return [...clean].slice(0, MAX_NAME).join('') || 'Unnamed share';
}

/** The announcement a share notice carries (its `share` field set). */
export type ShareNotice = ShareContent & { share: NonNullable<ShareContent['share']> };

/**
 * What an announcement from `ownerKey` does to the stored share `current`: the new record, or null
 * when it changes nothing. Only accepted and verified contacts share with us (a stranger's or an
 * ignored sender's announcement is dropped, like their posts, and opens no request). A revision at
 * or below the stored one is stale (copies come twice, and out of order); a removal is final.
 */
export function applyShareNotice(
  current: ShareRecord | undefined,
  notice: ShareNotice,
  identityId: string,
  ownerKey: string,
  ownerStatus: ContactStatus | undefined,
  now: number,
): ShareRecord | null {
  if (ownerStatus !== 'accepted' && ownerStatus !== 'verified') return null;
  const { share } = notice;
  if (current && (current.removed || share.revision <= current.revision)) return null;
  const base: ShareRecord = current ?? {
    id: receivedShareRowId(identityId, ownerKey, share.id),
    identityId,
    direction: 'in',
    ownerKey,
    shareId: share.id,
    name: '',
    revision: 0,
    removed: false,
    listingRef: null,
    listing: null,
    listingRevision: 0,
    listingError: null,
    changes: null,
    recipients: [],
    sends: {},
    createdAt: now,
    updatedAt: now,
  };
  const name = cleanShareName(notice.file);
  if (share.removed) return { ...base, name: current?.name || name, revision: share.revision, removed: true, listingRef: null, listingError: null, updatedAt: now };
  // A notice without a file of ours cannot be fetched: the revision counts, its listing cannot be read.
  return {
    ...base,
    name,
    revision: share.revision,
    listingRef: notice.ref,
    listingError: notice.ref ? null : 'no_file',
    updatedAt: now,
  };
}

/**
 * The received share once the listing of `revision` was downloaded: null as `listing` when it was
 * not one. What changed is counted against the listing seen before (the previous revision's, or an
 * older one when revisions came faster than their listings); unknown when none was seen after the first.
 */
export function applyFetchedListing(current: ShareRecord, revision: number, listing: ShareListing | null, now: number): ShareRecord | null {
  if (current.direction !== 'in' || current.removed || current.revision !== revision || current.listingRevision >= revision) return null;
  if (!listing) return { ...current, listingError: 'unreadable', updatedAt: now };
  const before = current.listing;
  const changes = before ? listingChanges(before, listing) : revision === 1 ? listingChanges(null, listing) : null;
  return { ...current, listing, listingRevision: revision, listingError: null, changes, updatedAt: now };
}

/** The received share once the listing of `revision` failed to download: it waits for the user to try again. */
export function applyListingFailure(current: ShareRecord, revision: number, message: string, now: number): ShareRecord | null {
  if (!needsListing(current) || current.revision !== revision) return null;
  return { ...current, listingError: `${DOWNLOAD_FAILED}${message}`, updatedAt: now };
}

const DOWNLOAD_FAILED = 'download:';

/** The engine's sentence when the listing failed to download; null for other problems, or none. */
export function listingDownloadFailure(record: ShareRecord): string | null {
  return record.listingError?.startsWith(DOWNLOAD_FAILED) ? record.listingError.slice(DOWNLOAD_FAILED.length) : null;
}

/** Paths named per kind of change; a folder of thousands says how many more. */
const NAMED_CHANGES = 10;

/** "Added: a.jpg · Changed: b.jpg · Removed: c.jpg" (empty when nothing changed). */
export function changesText(changes: ListingChanges): string {
  const list = (paths: string[]) =>
    paths.length > NAMED_CHANGES ? `${paths.slice(0, NAMED_CHANGES).join(', ')} and ${paths.length - NAMED_CHANGES} more` : paths.join(', ');
  const parts: string[] = [];
  if (changes.added.length > 0) parts.push(`Added: ${list(changes.added)}`);
  if (changes.changed.length > 0) parts.push(`Changed: ${list(changes.changed)}`);
  if (changes.removed.length > 0) parts.push(`Removed: ${list(changes.removed)}`);
  return parts.join(' · ');
}

/** Whether a received share still needs its listing downloaded. */
export function needsListing(record: ShareRecord): boolean {
  return record.direction === 'in' && !record.removed && record.listingRef !== null && record.listingError === null && record.listingRevision < record.revision;
}

/**
 * Sibling sync, what this device takes from the identity's other devices (shared/modules/sync.ts).
 * `takeSiblingSync` runs on every `inbox/batch` before the inbox writer: it takes the `box_sync`
 * messages out (never a chat row), applies those a sibling sent, and says which receipts to owe (to
 * the identity's own drops: the sibling's outbox re-posts its sync until one comes). Receipts from the
 * identity itself (a sibling acknowledging our sync) are taken out too: no message row awaits them.
 *
 * Only a sync sealed by the identity itself is applied (the engine drops others; checked here again),
 * one from this very device is skipped, and each applies idempotently, so a copy read twice, a
 * re-post or a replay changes nothing the second time:
 * - `sent`: the row `out:<localId>`, the same id as on the sending device, shown as sent by us at its
 *   time; a long text's fragments wait in `textParts` until all are there; receipts that came first
 *   (from the contact, to the drops every device reads) confirm it at once, later ones as usual.
 * - `read`: the conversation's unread count drops to what arrived here after the other device's read.
 * - `contact`: applied when its (clock, device) is newer than the contact's stamp.
 * - `settings`: per key, when its (clock, device) is newer than the identity's stamp (syncSettings.ts);
 *   the engine's settings come back in `engineSettings` for `settings/set` after the transaction.
 */
import type { EventMap, IncomingMessage, OwedReceipt } from '../../../shared/ipc/contract.js';
import { BOX_SYNC, type SyncContactItem, type SyncContent, type SyncFile, type SyncHistoryItem, type SyncHistoryRequestItem, type SyncReadItem } from '../../../shared/modules/sync.js';
import { cleanAlias, previewOf } from '../db/incomingMessage.js';
import type { DeaddropDatabase } from '../db/database.js';
import type { ContactRecord, MessageRecord } from '../db/records.js';
import { removeContactRows } from '../contacts/contactActions.js';
import { noteHistoryRow } from './syncHistory.js';
import { deletionStamp, newerThan, noteClock, noteDeletion } from './syncOut.js';
import { type HostSettings, applySettingsItem } from './syncSettings.js';

/** What the sync needs of each local identity. */
export interface SyncIdentity {
  publicKey: string;
  dropUrls: readonly string[];
  /** This device's id for the identity (`devices/list`); null when unknown: its own syncs then owe no receipt. */
  selfDevice: string | null;
}

export interface TakenSync {
  /** The batch without sync messages and without receipts from the identity itself. */
  batch: EventMap['inbox/batch'];
  /** Receipts owed to the identity's own drops, for `inbox/ack` beside the writer's. */
  owedReceipts: OwedReceipt[];
  /** Sync messages from siblings applied now (not seen before). */
  applied: number;
  /** Siblings asking for history (syncHistory.ts answers them once the batch is stored). */
  historyRequests: { identityId: string; item: SyncHistoryRequestItem }[];
  /** Engine and shell settings a sibling changed (newer stamps), for syncSettings.ts `applyHostSettings`. */
  hostSettings: HostSettings;
  /**
   * Contacts a sibling blocked or deleted (newer stamps): their tickets for this device's closed drops
   * are revoked as a local Block or Delete does (contacts/revokeTickets.ts), since each device hands
   * out batches of its own.
   */
  revoke: { identityId: string; publicKey: string }[];
}

type SyncMessage = IncomingMessage & { content: SyncContent };

const isSync = (m: IncomingMessage): m is SyncMessage => m.content.type === BOX_SYNC;

export async function takeSiblingSync(
  db: DeaddropDatabase,
  batch: EventMap['inbox/batch'],
  identities: ReadonlyMap<string, SyncIdentity>,
  now = Date.now(),
): Promise<TakenSync> {
  const owedReceipts: OwedReceipt[] = [];
  const historyRequests: TakenSync['historyRequests'] = [];
  let applied = 0;
  const hostSettings: HostSettings = { engine: {} };
  const revoke: TakenSync['revoke'] = [];
  for (const message of batch.messages.filter(isSync)) {
    const identity = identities.get(message.identityId);
    // Only the identity can seal a box from itself to itself; anything else is not ours to apply.
    if (!identity || message.senderKey !== identity.publicKey) continue;
    const fromSibling = identity.selfDevice !== null && message.content.device !== identity.selfDevice;
    if (fromSibling && message.acknowledgeId !== '0' && identity.dropUrls.length > 0) {
      owedReceipts.push({ dedupeKey: message.dedupeKey, dropUrls: identity.dropUrls.slice(0, 16) });
    }
    if (message.content.device === identity.selfDevice) continue;
    if (await applySyncMessage(db, message, now, hostSettings, revoke)) {
      applied++;
      for (const item of message.content.items) if (item.kind === 'historyRequest') historyRequests.push({ identityId: message.identityId, item });
    }
  }
  const ownKeys = new Set([...identities.values()].map((identity) => identity.publicKey));
  return {
    batch: {
      ...batch,
      messages: batch.messages.filter((m) => !isSync(m)),
      receipts: batch.receipts.filter((r) => !(ownKeys.has(r.senderKey) && identities.get(r.identityId)?.publicKey === r.senderKey)),
    },
    owedReceipts,
    applied,
    historyRequests,
    hostSettings,
    revoke,
  };
}

/** Applies one sibling's sync message once (its dedupe key is kept in `seen`). */
async function applySyncMessage(db: DeaddropDatabase, message: SyncMessage, now: number, hostSettings: HostSettings, revoke: TakenSync['revoke']): Promise<boolean> {
  const tables = [db.messages, db.conversations, db.contacts, db.textParts, db.pendingReceipts, db.settings, db.seen, db.posts];
  const revoked: string[] = [];
  const applied = await db.transaction('rw', tables, async () => {
    if (await db.seen.get([message.identityId, message.dedupeKey])) return false;
    for (const item of message.content.items) {
      const device = message.content.device;
      if (item.kind === 'sent') await applyRow(db, message.identityId, { ...item, id: `out:${item.localId}`, direction: 'out', at: item.sentAt, sentFrom: device }, now);
      // `drops` is the engine's (it owns the identity's drops); the UI hears identities/changed.
      else if (item.kind === 'history') await applyHistory(db, message.identityId, item, now);
      else if (item.kind === 'read') await applyRead(db, message.identityId, item);
      else if (item.kind === 'contact' && (await applyContact(db, message.identityId, item, device, now))) revoked.push(item.contact);
      else if (item.kind === 'settings') await applySettingsItem(db, message.identityId, item, device, hostSettings);
    }
    await db.seen.put({ identityId: message.identityId, dedupeKey: message.dedupeKey, messageId: `sync:${message.content.device}` });
    return true;
  });
  // Only once the transaction committed: a change rolled back revokes nothing.
  if (applied) for (const publicKey of revoked) revoke.push({ identityId: message.identityId, publicKey });
  return applied;
}

/** A row a sibling told of: its text (or a fragment of it), receipt ids, time and direction. */
interface RowNews {
  id: string;
  contact: string;
  direction: 'in' | 'out';
  at: number;
  count: number;
  index?: number | undefined;
  text?: string | undefined;
  ackIds?: string[] | undefined;
  delivered?: boolean | undefined;
  sentFrom?: string;
  /** A file's notice (a `sent` item of a file): the row is a share, downloadable as the recipient's. */
  file?: SyncFile | undefined;
}

/** One stored row of a sibling's history answer: what this device lacks is stored, read, as it was there. */
async function applyHistory(db: DeaddropDatabase, identityId: string, item: SyncHistoryItem, now: number): Promise<void> {
  await noteHistoryRow(db, identityId, item);
  const incomingPrefix = `in:${identityId}:`;
  // Row ids name our identity and a direction: anything else is not a row of ours.
  if (item.direction === 'out' ? !item.rowId.startsWith('out:') : !item.rowId.startsWith(incomingPrefix)) return;
  await applyRow(db, identityId, { ...item, id: item.rowId }, now);
  // The same message read from a drop later (a cursor behind) is a duplicate, not a second row.
  if (item.direction === 'in' && item.index === 0) {
    await db.seen.put({ identityId, dedupeKey: item.rowId.slice(incomingPrefix.length), messageId: item.rowId });
  }
}

async function applyRow(db: DeaddropDatabase, identityId: string, news: RowNews, now: number): Promise<void> {
  const id = news.id;
  let row = await db.messages.get(id);
  // A row of that id that is not this one (another contact's, the other direction) is left alone.
  if (row && (row.direction !== news.direction || row.contactKey !== news.contact || row.identityId !== identityId)) return;
  const isNew = !row;
  if (!row) {
    row = {
      id,
      identityId,
      contactKey: news.contact,
      direction: news.direction,
      kind: 'text',
      text: '',
      payloadType: 'box_message',
      payload: '',
      share: null,
      ...(news.file ? fileFields(news.file, news.text ?? news.file.name) : {}),
      sortAt: news.at,
      createdAt: now,
      status: news.direction === 'out' ? 'posted' : null,
      // No local id: this device's outbox never hands it to its engine (the sibling's engine sends it).
      localId: null,
      error: null,
      ackIds: [],
      ackedIds: [],
      parts: news.count > 1 ? { count: news.count, stored: 0 } : null,
      read: true,
      ...(news.sentFrom ? { sentFrom: news.sentFrom } : {}),
    };
  }
  const ackIds = [...new Set([...row.ackIds, ...(news.ackIds ?? [])])];
  let next: MessageRecord = { ...row, ackIds };
  if (news.index !== undefined && news.text !== undefined) next = await placeFragment(db, next, news.index, news.text);
  if (news.direction === 'out') {
    // Receipts that came before the sync (the contact writes to the drops every device reads).
    const fresh = ackIds.filter((ackId) => !next.ackedIds.includes(ackId));
    if (fresh.length > 0) {
      const early = await db.pendingReceipts.where('[identityId+acknowledgeId]').anyOf(fresh.map((ackId) => [identityId, ackId])).toArray();
      const confirmed = early.filter((r) => r.senderKey === news.contact).map((r) => r.acknowledgeId);
      if (confirmed.length > 0) next = { ...next, ackedIds: [...next.ackedIds, ...confirmed] };
    }
    const allAcked = next.ackIds.length > 0 && next.ackIds.every((ackId) => next.ackedIds.includes(ackId));
    if (allAcked || news.delivered) next = { ...next, status: 'delivered' };
  }
  await db.messages.put(next);
  await placeInConversation(db, next, isNew, row.text !== next.text);
}

/** A sibling's file as the sending device stores it (db/outbox.ts `recordUploadedFile`): its notice in `payload`. */
function fileFields(file: SyncFile, text: string): Pick<MessageRecord, 'kind' | 'payloadType' | 'payload' | 'share'> {
  const caption = text === file.name ? '' : text;
  return {
    kind: 'share',
    payloadType: 'box_share_notification',
    payload: JSON.stringify({ file: file.name, text: caption, mime: file.mime, ref: file.ref }),
    share: { file: file.name, url: file.ref.url, size: file.ref.size },
  };
}

/** Stores one fragment of a long sent text; the row's text is joined once every fragment is here. */
async function placeFragment(db: DeaddropDatabase, row: MessageRecord, index: number, text: string): Promise<MessageRecord> {
  const count = row.parts?.count ?? 1;
  if (count === 1) return index === 0 ? { ...row, text } : row;
  if (!row.parts || index >= count) return row; // joined already, or a fragment of another count
  await db.textParts.put({ messageId: row.id, index, identityId: row.identityId, contactKey: row.contactKey, text });
  const pieces = await db.textParts.where('[messageId+index]').between([row.id, 0], [row.id, count]).toArray();
  if (pieces.length < count) return { ...row, parts: { count, stored: pieces.length } };
  pieces.sort((a, b) => a.index - b.index);
  await db.textParts.where('[messageId+index]').between([row.id, 0], [row.id, count]).delete();
  return { ...row, text: pieces.map((piece) => piece.text).join(''), parts: null };
}

async function placeInConversation(db: DeaddropDatabase, row: MessageRecord, isNew: boolean, textChanged: boolean): Promise<void> {
  const key: [string, string] = [row.identityId, row.contactKey];
  const current = await db.conversations.get(key);
  const newest = !current || row.sortAt >= current.lastMessageAt;
  if (!isNew && !(textChanged && newest)) return;
  await db.conversations.put({
    identityId: row.identityId,
    contactKey: row.contactKey,
    lastMessageAt: newest ? row.sortAt : current.lastMessageAt,
    lastMessagePreview: newest ? previewOf(row) : current.lastMessagePreview,
    lastMessageDirection: newest ? row.direction : current.lastMessageDirection,
    unreadCount: current?.unreadCount ?? 0,
    messageCount: (current?.messageCount ?? 0) + (isNew ? 1 : 0),
  });
}

async function applyRead(db: DeaddropDatabase, identityId: string, item: SyncReadItem): Promise<void> {
  const key: [string, string] = [identityId, item.contact];
  const conversation = await db.conversations.get(key);
  if (!conversation || conversation.unreadCount === 0) return;
  // What came here after what the other device had read stays unread (our own texts never count).
  const newer = await db.messages
    .where('[identityId+contactKey+sortAt]')
    .between([identityId, item.contact, item.upTo], [identityId, item.contact, Infinity], false, true)
    .filter((row) => row.direction === 'in' && row.kind !== 'event')
    .count();
  if (newer < conversation.unreadCount) await db.conversations.update(key, { unreadCount: newer });
}

/** Applies a sibling's contact change when newer; true when it blocked or deleted the contact. */
async function applyContact(db: DeaddropDatabase, identityId: string, item: SyncContactItem, device: string, now: number): Promise<boolean> {
  await noteClock(db, identityId, item.clock);
  const key: [string, string] = [identityId, item.contact];
  const stamp = { clock: item.clock, device };
  const current = await db.contacts.get(key);
  // The last write wins: the contact's own stamp, or the deletion's when it is gone.
  const last = current ? current.syncStamp : await deletionStamp(db, identityId, item.contact);
  if (!newerThan(stamp, last)) return false;
  if (item.op === 'del') {
    await noteDeletion(db, identityId, item.contact, stamp);
    if (current) await removeContactRows(db, key);
    return true;
  }
  await noteDeletion(db, identityId, item.contact, null);
  const alias = cleanAlias(item.alias ?? '') ?? current?.alias ?? 'Contact';
  const shared: Partial<ContactRecord> = {
    alias,
    aliasLower: alias.toLowerCase(),
    aliasFromUser: item.aliasFromUser === true,
    status: item.status ?? current?.status ?? 'accepted',
    dropUrls: item.dropUrls ?? current?.dropUrls ?? [],
    ...(item.v1 ? { v1: item.v1 } : {}),
    syncStamp: stamp,
  };
  const blocked = shared.status === 'blocked';
  if (current) {
    await db.contacts.update(key, shared);
    return blocked;
  }
  await db.contacts.add({
    identityId,
    publicKey: item.contact,
    alias,
    aliasLower: alias.toLowerCase(),
    announcedAlias: alias,
    dropUrls: [],
    offeredDropUrls: [],
    status: 'accepted',
    createdAt: now,
    ...shared,
  } as ContactRecord);
  return blocked;
}

/**
 * Contact updates, the UI's part (shared/modules/contactUpdate.ts is the wire): what an update, or the
 * alias and drop URL every message of an original Qabel client carries in its meta data, changes on
 * a contact's record, the lines that say so in the conversation, and telling our own contacts when
 * the user renames an identity or adds or removes a drop.
 *
 * Only accepted and verified contacts are updated: a stranger's claims stay claims (a request's hello
 * may renew its offered drop, see inboxChunk.ts), and an ignored or blocked sender changes nothing.
 */
import type { IdentitySummary, SenderMeta } from '../../../shared/ipc/contract.js';
import type { ContactUpdateContent } from '../../../shared/modules/contactUpdate.js';
import type { EngineBridge } from '../bridge/transport.js';
import type { DeaddropDatabase } from '../db/database.js';
import { cleanAlias, cleanDropUrls, helloDropUrls, previewOf } from '../db/incomingMessage.js';
import type { ContactRecord, MessageRecord } from '../db/records.js';
import { isAccepted } from '../db/senderBounds.js';

/** A contact record after an update, and the lines saying what changed (none when nothing visible did). */
export interface AppliedUpdate {
  contact: ContactRecord;
  lines: string[];
}

/** How the lines name whoever changed: a contact ("Alice now also receives at …") or the user ("You now also receive at …"). */
interface Subject {
  name: string;
  receives: string;
}
const contactSubject = (name: string): Subject => ({ name, receives: 'receives' });
const YOU: Subject = { name: 'You', receives: 'receive' };

/**
 * Applies a `box_contact_update` of an accepted or verified contact: the drop list is replaced by the
 * announced one (cleaned), the announced alias is recorded and becomes the contact's name unless the
 * user named them. Null when it does not apply: not an accepted contact, or stale (its revision is not
 * above the last applied update's).
 */
export function applyContactUpdate(contact: ContactRecord, update: ContactUpdateContent): AppliedUpdate | null {
  if (!isAccepted(contact.status) || !Number.isSafeInteger(update.revision)) return null;
  if (update.revision <= (contact.updateRevision ?? -1)) return null;
  const next: ContactRecord = { ...contact, updateRevision: update.revision };
  const lines: string[] = [];
  const alias = cleanAlias(update.alias);
  // An alias a newer message's meta data announced already wins over this older update's.
  if (alias !== null && update.revision > (contact.aliasRevision ?? -1)) {
    announceAlias(next, alias, update.revision, lines, false);
  }
  const dropUrls = cleanDropUrls(update.dropUrls);
  if (dropUrls.length > 0) setDropUrls(next, dropUrls, lines);
  return { contact: next, lines };
}

/**
 * Applies what a message's meta data says of an accepted or verified contact (original Qabel clients
 * announce changes only so), with the message's time as the revision. A meta alias other than the
 * last announced one is a rename; a meta drop URL the contact's list lacks is a new drop. That URL
 * becomes the whole list only for a contact that never sent a `box_contact_update` (whose full list
 * would otherwise be lost); after one it is added in front. Our own client names its first drop in
 * every message, so a contact with drops [a, b] writing with meta a changes nothing. Null when
 * nothing changed.
 */
export function applyMetaData(contact: ContactRecord, meta: SenderMeta | null, sentAt: number): AppliedUpdate | null {
  if (!meta || !isAccepted(contact.status) || !Number.isSafeInteger(sentAt)) return null;
  const next: ContactRecord = { ...contact };
  const lines: string[] = [];
  let changed = false;
  const alias = cleanAlias(meta.alias);
  if (alias !== null && alias !== contact.announcedAlias && sentAt > (contact.aliasRevision ?? -1)) {
    // Contacts stored before announced aliases were kept: their first one is the baseline, not news.
    announceAlias(next, alias, sentAt, lines, contact.announcedAlias === undefined);
    changed = true;
  }
  const [dropUrl] = helloDropUrls(meta);
  if (dropUrl !== undefined && !cleanDropUrls(contact.dropUrls).includes(dropUrl)) {
    if (contact.updateRevision === undefined) {
      if (sentAt > (contact.metaDropsRevision ?? -1)) {
        next.metaDropsRevision = sentAt;
        setDropUrls(next, [dropUrl], lines);
        changed = true;
      }
    } else if (sentAt > contact.updateRevision) {
      setDropUrls(next, cleanDropUrls([dropUrl, ...contact.dropUrls]), lines);
      changed = true;
    }
  }
  return changed ? { contact: next, lines } : null;
}

function announceAlias(contact: ContactRecord, alias: string, revision: number, lines: string[], silently: boolean): void {
  const before = contact.announcedAlias;
  contact.announcedAlias = alias;
  contact.aliasRevision = revision;
  if (silently || alias === before || (before === undefined && alias === contact.alias)) return;
  if (contact.aliasFromUser) {
    lines.push(`${contact.alias} now calls themselves ${alias}`);
    return;
  }
  lines.push(`${contact.alias} is now called ${alias}`);
  contact.alias = alias;
  contact.aliasLower = alias.toLowerCase();
}

function setDropUrls(contact: ContactRecord, dropUrls: string[], lines: string[]): void {
  lines.push(...dropLines(contactSubject(contact.alias), contact.dropUrls, dropUrls));
  contact.dropUrls = dropUrls;
}

/** What changed between two drop lists, by server: a drop on a new server, a server no longer used, another drop on the same server. */
function dropLines(subject: Subject, before: readonly string[], after: readonly string[]): string[] {
  const hostsBefore = new Set(before.map(hostOf));
  const hostsAfter = new Set(after.map(hostOf));
  const lines: string[] = [];
  const moved = new Set<string>();
  for (const url of after) {
    if (before.includes(url)) continue;
    const host = hostOf(url);
    if (!hostsBefore.has(host)) lines.push(`${subject.name} now also ${subject.receives} at ${host}`);
    else moved.add(host);
  }
  for (const url of before) {
    if (after.includes(url)) continue;
    const host = hostOf(url);
    if (!hostsAfter.has(host)) lines.push(`${subject.name} no longer ${subject.receives} at ${host}`);
    else moved.add(host);
  }
  for (const host of moved) lines.push(`${subject.name} now ${subject.receives} at another drop on ${host}`);
  return lines;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** The lines for the user's own change: a rename, drops added or removed. */
export function ownChangeLines(before: IdentitySummary, after: IdentitySummary): string[] {
  const lines = before.alias !== after.alias ? [`You are now called ${after.alias}`] : [];
  return [...lines, ...dropLines(YOU, before.dropUrls, after.dropUrls)];
}

/**
 * A line in a conversation (kind `event`): read, no status, never handed to the outbox. `payloadType`
 * says what it is about (a contact update by default).
 */
export function eventRecord(
  id: string,
  identityId: string,
  contactKey: string,
  direction: 'in' | 'out',
  lines: readonly string[],
  at: number,
  payloadType = 'box_contact_update',
): MessageRecord {
  return {
    id,
    identityId,
    contactKey,
    direction,
    kind: 'event',
    text: lines.join('\n'),
    payloadType,
    payload: '',
    share: null,
    sortAt: at,
    createdAt: at,
    status: null,
    localId: null,
    error: null,
    ackIds: [],
    ackedIds: [],
    parts: null,
    read: true,
  };
}

export interface AnnounceOutcome {
  /** Contacts the engine took an update for. */
  told: number;
  /** Contacts it refused or could not be asked for (the message says why). */
  failed: number;
  error: string | null;
}

/**
 * Tells every accepted and verified contact of an identity that it changed (`before` → `after`): one
 * `box_contact_update` each (the engine fills in the alias and drop URLs as they are now), without a
 * receipt, and a line in each conversation told ("You are now called Al"). Nothing is sent when
 * nothing a contact sees changed.
 */
export async function announceIdentityChange(
  db: DeaddropDatabase,
  bridge: EngineBridge,
  before: IdentitySummary,
  after: IdentitySummary,
  now = Date.now(),
): Promise<AnnounceOutcome> {
  const outcome: AnnounceOutcome = { told: 0, failed: 0, error: null };
  const lines = ownChangeLines(before, after);
  if (lines.length === 0) return outcome;
  const contacts = await db.contacts
    .where('[identityId+status]')
    .anyOf([
      [after.id, 'accepted'],
      [after.id, 'verified'],
    ])
    .toArray();
  const told: MessageRecord[] = [];
  for (const contact of contacts) {
    if (contact.dropUrls.length === 0) continue;
    const localId = crypto.randomUUID();
    const result = await bridge.invoke('messages/send', {
      identityId: after.id,
      localId,
      recipient: { publicKey: contact.publicKey, dropUrls: contact.dropUrls },
      content: { type: 'box_contact_update' },
      wantReceipt: false,
    });
    if (result.ok) {
      outcome.told++;
      told.push(eventRecord(`out:update:${localId}`, after.id, contact.publicKey, 'out', lines, now));
    } else {
      outcome.failed++;
      outcome.error = result.error.message;
    }
  }
  if (told.length > 0) await storeEventLines(db, told);
  return outcome;
}

/**
 * Stores lines (`eventRecord`s) in their conversations, each moving its conversation when it is the
 * newest there. A line whose id is stored already is left as it is (asking the engine again adds no
 * second line), unless its id is in `replace`: then its text is rewritten. Returns how many were new.
 */
export async function storeEventLines(db: DeaddropDatabase, rows: readonly MessageRecord[], options: { replace?: readonly string[] } = {}): Promise<number> {
  return db.transaction('rw', db.messages, db.conversations, async () => {
    const existing = await db.messages.bulkGet(rows.map((row) => row.id));
    const fresh = rows.filter((_, i) => existing[i] === undefined);
    for (const [i, row] of rows.entries()) {
      if (existing[i] !== undefined && options.replace?.includes(row.id)) await db.messages.update(row.id, { text: row.text });
    }
    if (fresh.length === 0) return 0;
    await db.messages.bulkAdd(fresh);
    for (const row of fresh) {
      const key: [string, string] = [row.identityId, row.contactKey];
      const conversation = await db.conversations.get(key);
      const newest = !conversation || row.sortAt >= conversation.lastMessageAt;
      await db.conversations.put({
        identityId: row.identityId,
        contactKey: row.contactKey,
        lastMessageAt: newest ? row.sortAt : conversation.lastMessageAt,
        lastMessagePreview: newest ? previewOf(row) : conversation.lastMessagePreview,
        // A line is nobody's message: the chat list shows it without "You:" ("You: You now receive…").
        lastMessageDirection: newest ? 'in' : conversation.lastMessageDirection,
        unreadCount: conversation?.unreadCount ?? 0,
        messageCount: (conversation?.messageCount ?? 0) + 1,
      });
    }
    return fresh.length;
  });
}

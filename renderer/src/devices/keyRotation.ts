/**
 * A contact replaced their identity key (`box_key_rotate`, shared/modules/keyRotate.ts; the engine
 * already checked that it came from the contact's old key and proves the new one). `takeKeyRotations`
 * runs on every `inbox/batch` before the inbox writer and moves the contact to the new key: the
 * contact record, the conversation, its messages, long-text pieces and posts, so the history stays in
 * one place; the contact is no longer verified (the user compares safety numbers again), and the
 * conversation says so.
 *
 * Skipped silently: a rotation from a key that is no accepted or verified contact (a stranger's), one
 * not newer than the last taken (`at`), a replay of the one taken. Whoever holds the contact's old
 * key (the thief of their device) can send a valid rotation too: the first one seen is kept, and a
 * second one naming another key leaves a notice in the conversation instead of moving anything.
 *
 * After the move, what still arrives under the old key (`formerKeys`) is shown in the same
 * conversation when it was sealed in a version-1 session (a thief holding only the key has none) or
 * sent before the rotation; a version-0 message the old key sends later is dropped, and receipts
 * under the old key confirm our messages as before.
 */
import type { EventMap, IncomingMessage, OwedReceipt, Receipt } from '../../../shared/ipc/contract.js';
import { BOX_KEY_ROTATE, type KeyRotateContent } from '../../../shared/modules/keyRotate.js';
import type { DeaddropDatabase } from '../db/database.js';
import { cleanAlias, cleanDropUrls, incomingSortAt } from '../db/incomingMessage.js';
import type { ContactRecord, ConversationRecord, MessageRecord } from '../db/records.js';
import { isAccepted } from '../db/senderBounds.js';
import { eventRecord } from '../modules/contactUpdate.js';

/** A contact as rotations leave it (sealed at rest with the rest of the record). */
export type RotatedContact = ContactRecord & {
  /** The `at` of the rotation that gave the contact its current key. */
  keyRotatedAt?: number;
  /** Keys the contact replaced, oldest first: `at` of the rotation away from each. */
  formerKeys?: { key: string; at: number }[];
};

export interface TakenRotations {
  /** The batch without rotations, messages of a former key shown under the current one. */
  batch: EventMap['inbox/batch'];
  /** Receipts for the rotations taken (and replays of them): the sender re-posts until one comes. */
  owedReceipts: OwedReceipt[];
  /** Contacts moved to a new key now. */
  moved: number;
}

type RotateMessage = IncomingMessage & { content: KeyRotateContent };
const isRotation = (m: IncomingMessage): m is RotateMessage => m.content.type === BOX_KEY_ROTATE;

/** The line in the conversation after a contact's key changed. */
export function rotatedLine(alias: string): string {
  return `${alias} replaced their identity key; the change was signed by their old key. Compare safety numbers. (Whoever holds their old key, e.g. a stolen device, could also have sent it.)`;
}

/** The line when a second rotation from the same old key names another key. */
export function conflictLine(alias: string): string {
  return `A second, different identity key replacement for ${alias} arrived, also signed by their old key. The first one was kept: someone else may hold their old key. Compare safety numbers.`;
}

export async function takeKeyRotations(db: DeaddropDatabase, batch: EventMap['inbox/batch'], now = Date.now()): Promise<TakenRotations> {
  const owedReceipts: OwedReceipt[] = [];
  let moved = 0;
  for (const message of batch.messages.filter(isRotation)) {
    const outcome = await applyRotation(db, message, now);
    if (outcome === 'moved') moved++;
    if ((outcome === 'moved' || outcome === 'replay') && message.acknowledgeId !== '0') {
      owedReceipts.push({ dedupeKey: message.dedupeKey, dropUrls: cleanDropUrls(message.content.drops).slice(0, 16) });
    }
  }
  const rest = batch.messages.filter((m) => !isRotation(m));
  const formers = await formerKeysOf(db, [...rest, ...batch.receipts]);
  const messages: IncomingMessage[] = [];
  for (const message of rest) {
    const former = formers.get(pairOf(message.identityId, message.senderKey));
    if (!former) messages.push(message);
    // Sealed in a session, or sent before the rotation: theirs. A later version-0 one may be the thief's.
    else if (message.protocol === 1 || message.sentAt <= former.at) messages.push({ ...message, senderKey: former.current });
  }
  const receipts: Receipt[] = batch.receipts.map((r) => {
    const former = formers.get(pairOf(r.identityId, r.senderKey));
    return former ? { ...r, senderKey: former.current } : r;
  });
  return { batch: { ...batch, messages, receipts }, owedReceipts, moved };
}

const pairOf = (identityId: string, key: string) => `${identityId} ${key}`;

/** Senders of the batch that are no contact but a former key of one: → the contact's key now. */
async function formerKeysOf(db: DeaddropDatabase, items: readonly { identityId: string; senderKey: string }[]): Promise<Map<string, { current: string; at: number }>> {
  const found = new Map<string, { current: string; at: number }>();
  const unknown = new Set<string>();
  for (const { identityId, senderKey } of items) {
    const pair = pairOf(identityId, senderKey);
    if (unknown.has(pair)) continue;
    unknown.add(pair);
  }
  const strangers: { identityId: string; senderKey: string }[] = [];
  for (const pair of unknown) {
    const [identityId, senderKey] = pair.split(' ') as [string, string];
    if (!(await db.contacts.get([identityId, senderKey]))) strangers.push({ identityId, senderKey });
  }
  const identities = new Set(strangers.map((s) => s.identityId));
  for (const identityId of identities) {
    const contacts = (await db.contacts.where('identityId').equals(identityId).toArray()) as RotatedContact[];
    for (const contact of contacts) {
      for (const former of contact.formerKeys ?? []) found.set(pairOf(identityId, former.key), { current: contact.publicKey, at: former.at });
    }
  }
  return found;
}

type Outcome = 'moved' | 'replay' | 'conflict' | 'skipped';

async function applyRotation(db: DeaddropDatabase, message: RotateMessage, now: number): Promise<Outcome> {
  const tables = [db.contacts, db.conversations, db.messages, db.textParts, db.posts, db.seen];
  return db.transaction('rw', tables, async (): Promise<Outcome> => {
    const { identityId, senderKey, content } = message;
    if (await db.seen.get([identityId, message.dedupeKey])) return 'replay';
    const contact = (await db.contacts.get([identityId, senderKey])) as RotatedContact | undefined;
    if (!contact || !isAccepted(contact.status)) {
      // Not a contact under this key: maybe a key it replaced (a replay, or a second rotation from it).
      const successor = contact ? undefined : await successorOf(db, identityId, senderKey);
      if (!successor) return 'skipped';
      if (successor.publicKey === content.key) return 'replay';
      await addLine(db, identityId, successor.publicKey, `in:${identityId}:${message.dedupeKey}`, conflictLine(successor.alias), incomingSortAt(message));
      await db.seen.put({ identityId, dedupeKey: message.dedupeKey, messageId: `rotate:${successor.publicKey}` });
      return 'conflict';
    }
    if (content.at <= (contact.keyRotatedAt ?? -1) || content.key === senderKey) return 'skipped';
    const existing = await db.contacts.get([identityId, content.key]);
    // The new key is a contact of its own already: two people's histories are never merged.
    if (existing && isAccepted(existing.status)) return 'skipped';
    const dropUrls = cleanDropUrls(content.drops);
    if (dropUrls.length === 0) return 'skipped';
    const next: RotatedContact = {
      ...contact,
      publicKey: content.key,
      dropUrls,
      status: contact.status === 'verified' ? 'accepted' : contact.status,
      keyRotatedAt: content.at,
      formerKeys: [...(contact.formerKeys ?? []), { key: senderKey, at: content.at }].slice(-8),
    };
    // The new key wrote first (before we read the rotation): its request's rows join the conversation.
    if (existing) await moveRows(db, identityId, content.key, content.key);
    await moveRows(db, identityId, senderKey, content.key);
    await db.contacts.delete([identityId, senderKey]);
    await db.contacts.put(next);
    const alias = cleanAlias(contact.alias) ?? 'This contact';
    await addLine(db, identityId, content.key, `in:${identityId}:${message.dedupeKey}`, rotatedLine(alias), Math.min(incomingSortAt(message), now));
    await db.seen.put({ identityId, dedupeKey: message.dedupeKey, messageId: `rotate:${content.key}` });
    return 'moved';
  });
}

/** The contact whose former keys hold `key`. */
async function successorOf(db: DeaddropDatabase, identityId: string, key: string): Promise<RotatedContact | undefined> {
  const contacts = (await db.contacts.where('identityId').equals(identityId).toArray()) as RotatedContact[];
  return contacts.find((c) => isAccepted(c.status) && (c.formerKeys ?? []).some((former) => former.key === key));
}

/** Moves a conversation's rows from one contact key to another (merging into one already there). */
async function moveRows(db: DeaddropDatabase, identityId: string, from: string, to: string): Promise<void> {
  const range = (key: string) => [
    [identityId, key, -Infinity],
    [identityId, key, Infinity],
  ] as const;
  if (from !== to) {
    const [low, high] = range(from);
    const rows = await db.messages.where('[identityId+contactKey+sortAt]').between(low, high).toArray();
    await db.messages.bulkPut(rows.map((row) => ({ ...row, contactKey: to })));
    const parts = await db.textParts.where('[identityId+contactKey]').equals([identityId, from]).toArray();
    await db.textParts.bulkPut(parts.map((part) => ({ ...part, contactKey: to })));
    const posts = await db.posts.where('[identityId+authorKey+sortAt]').between(low, high).toArray();
    await db.posts.bulkPut(posts.map((post) => ({ ...post, authorKey: to })));
  }
  const old = await db.conversations.get([identityId, from]);
  if (!old) return;
  const there = from === to ? undefined : await db.conversations.get([identityId, to]);
  if (from !== to) await db.conversations.delete([identityId, from]);
  await db.conversations.put(there ? mergeConversations(there, old) : { ...old, contactKey: to });
}

function mergeConversations(into: ConversationRecord, from: ConversationRecord): ConversationRecord {
  const newer = from.lastMessageAt > into.lastMessageAt ? from : into;
  return {
    ...into,
    lastMessageAt: newer.lastMessageAt,
    lastMessagePreview: newer.lastMessagePreview,
    lastMessageDirection: newer.lastMessageDirection,
    unreadCount: into.unreadCount + from.unreadCount,
    messageCount: into.messageCount + from.messageCount,
  };
}

/** The line in each conversation of the identity that replaced its key here. */
export function ownRotationLine(fingerprint: string): string {
  return `You replaced your identity key (now ${fingerprint}…). Compare safety numbers again.`;
}

/** After `devices/rotateKey`: the line in the conversation with each contact that was told. */
export async function recordOwnRotation(db: DeaddropDatabase, identityId: string, newKey: string, contactKeys: readonly string[], at: number): Promise<void> {
  await db.transaction('rw', [db.messages, db.conversations], async () => {
    for (const contactKey of contactKeys) await addLine(db, identityId, contactKey, `out:rotate:${newKey}:${contactKey}`, ownRotationLine(newKey.slice(0, 16)), at, 'out');
  });
}

/** An event line in the conversation with `contactKey` (once per id). */
async function addLine(db: DeaddropDatabase, identityId: string, contactKey: string, id: string, text: string, at: number, direction: 'in' | 'out' = 'in'): Promise<void> {
  if (await db.messages.get(id)) return;
  const row: MessageRecord = eventRecord(id, identityId, contactKey, direction, [text], at, BOX_KEY_ROTATE);
  await db.messages.put(row);
  const conversation = await db.conversations.get([identityId, contactKey]);
  const base: ConversationRecord = conversation ?? { identityId, contactKey, lastMessageAt: 0, lastMessagePreview: '', lastMessageDirection: 'in', unreadCount: 0, messageCount: 0 };
  const newest = at >= base.lastMessageAt;
  await db.conversations.put({
    ...base,
    messageCount: base.messageCount + 1,
    ...(newest ? { lastMessageAt: at, lastMessagePreview: text.slice(0, 140), lastMessageDirection: direction } : {}),
  });
}

import Dexie from 'dexie';
import type { DeaddropDatabase } from '../db/database.js';
import type { ContactRecord, ConversationRecord } from '../db/records.js';
import { foldForSearch, searchMessages } from '../db/messageSearch.js';

export interface ConversationRow {
  conversation: ConversationRecord;
  contact: ContactRecord;
  /** The matching message when the search hit a message text rather than the name. */
  match: { id: string; text: string } | null;
}

const HIDDEN = new Set(['ignored', 'blocked']);

/** Conversations of one identity, newest first, optionally filtered by name or message text. */
export async function listConversations(db: DeaddropDatabase, identityId: string, search: string): Promise<ConversationRow[]> {
  const conversations = await db.conversations
    .where('[identityId+lastMessageAt]')
    .between([identityId, Dexie.minKey], [identityId, Dexie.maxKey])
    .reverse()
    .toArray();
  const contacts = await db.contacts.bulkGet(conversations.map((c) => [identityId, c.contactKey] as [string, string]));
  const rows: ConversationRow[] = [];
  conversations.forEach((conversation, i) => {
    const contact = contacts[i];
    if (contact && !HIDDEN.has(contact.status)) rows.push({ conversation, contact, match: null });
  });
  const query = foldForSearch(search.trim());
  if (query === '') return rows;

  const textHits = await searchMessageText(db, identityId, query);
  const nameMatches = (row: ConversationRow) => foldForSearch(row.contact.alias).includes(query);
  return rows
    .filter((row) => nameMatches(row) || textHits.has(row.contact.publicKey))
    .map((row) => ({ ...row, match: nameMatches(row) ? null : (textHits.get(row.contact.publicKey) ?? null) }));
}

/** Conversations whose messages contain the query (the in-memory index), with the text of the newest such message. */
async function searchMessageText(db: DeaddropDatabase, identityId: string, query: string): Promise<Map<string, { id: string; text: string }>> {
  const hits = searchMessages(identityId, query);
  const messages = await db.messages.bulkGet([...hits.values()]);
  const found = new Map<string, { id: string; text: string }>();
  for (const m of messages) if (m) found.set(m.contactKey, { id: m.id, text: m.text });
  return found;
}

/**
 * A message's position in its conversation (0 = oldest), as the message list counts: by time, and
 * by id among messages of the same time. Null when it is not there (deleted since it was found).
 */
export async function messageIndex(db: DeaddropDatabase, identityId: string, contactKey: string, messageId: string): Promise<number | null> {
  const message = await db.messages.get(messageId);
  if (!message || message.identityId !== identityId || message.contactKey !== contactKey) return null;
  const byTime = db.messages.where('[identityId+contactKey+sortAt]');
  const earlier = await byTime.between([identityId, contactKey, Dexie.minKey], [identityId, contactKey, message.sortAt], true, false).count();
  const sameTime = await byTime.equals([identityId, contactKey, message.sortAt]).primaryKeys();
  return earlier + Math.max(0, sameTime.indexOf(messageId));
}

/**
 * Whether the conversation's newest message is one of ours that failed: the chat list says so
 * rather than previewing it as if it had gone ("You: Shared file: …").
 */
export async function newestMessageFailed(db: DeaddropDatabase, identityId: string, contactKey: string): Promise<boolean> {
  const newest = await db.messages
    .where('[identityId+contactKey+sortAt]')
    .between([identityId, contactKey, Dexie.minKey], [identityId, contactKey, Dexie.maxKey])
    .last();
  return newest?.direction === 'out' && newest.status === 'failed';
}

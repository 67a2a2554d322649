import Dexie from 'dexie';
import type { DeaddropDatabase } from '../db/database.js';
import type { ContactRecord, ConversationRecord } from '../db/records.js';
import { searchWords } from '../db/searchWords.js';

export interface ConversationRow {
  conversation: ConversationRecord;
  contact: ContactRecord;
  /** A matching message text when the search hit the text rather than the name. */
  match: string | null;
}

const HIDDEN = new Set(['ignored', 'blocked']);
/** Bounds the candidates read per search: a word found in more messages than this is not used alone. */
const MAX_CANDIDATES = 2000;

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
  const query = search.trim().toLowerCase();
  if (query === '') return rows;

  const textHits = await searchMessageText(db, identityId, query);
  return rows
    .filter((row) => row.contact.aliasLower.includes(query) || textHits.has(row.contact.publicKey))
    .map((row) => ({ ...row, match: row.contact.aliasLower.includes(query) ? null : (textHits.get(row.contact.publicKey) ?? null) }));
}

/**
 * Finds conversations whose messages contain the query, through the `words` index: each query word
 * (the last one as a prefix, as it may still be typed) yields candidate keys without reading a
 * message; the smallest set is read and checked for the whole query. Returns contact key → text.
 */
async function searchMessageText(db: DeaddropDatabase, identityId: string, query: string): Promise<Map<string, string>> {
  const hits = new Map<string, string>();
  const words = searchWords(query);
  if (words.length === 0) return hits;
  const candidateSets = await Promise.all(
    words.map((word, i) => {
      const index = db.messages.where('words');
      return (i === words.length - 1 ? index.startsWith(word) : index.equals(word)).limit(MAX_CANDIDATES + 1).primaryKeys();
    }),
  );
  const smallest = candidateSets.reduce((a, b) => (b.length < a.length ? b : a));
  const messages = await db.messages.bulkGet([...new Set(smallest)].slice(0, MAX_CANDIDATES));
  for (const m of messages) {
    if (m && m.identityId === identityId && !hits.has(m.contactKey) && m.text.toLowerCase().includes(query)) hits.set(m.contactKey, m.text);
  }
  return hits;
}

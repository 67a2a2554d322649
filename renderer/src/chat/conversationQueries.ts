import Dexie from 'dexie';
import type { DeaddropDatabase } from '../db/database.js';
import type { ContactRecord, ConversationRecord } from '../db/records.js';

export interface ConversationRow {
  conversation: ConversationRecord;
  contact: ContactRecord;
  /** A matching message text when the search hit the text rather than the name. */
  match: string | null;
}

const HIDDEN = new Set(['ignored', 'blocked']);
/** Bounds the text search so one keystroke never scans without end. */
const MAX_SEARCH_HITS = 200;

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

  const textHits = new Map<string, string>();
  await db.messages
    .where('[identityId+contactKey+sortAt]')
    .between([identityId, Dexie.minKey, Dexie.minKey], [identityId, Dexie.maxKey, Dexie.maxKey])
    .filter((m) => m.text.toLowerCase().includes(query))
    .limit(MAX_SEARCH_HITS)
    .each((m) => {
      if (!textHits.has(m.contactKey)) textHits.set(m.contactKey, m.text);
    });
  return rows
    .filter((row) => row.contact.aliasLower.includes(query) || textHits.has(row.contact.publicKey))
    .map((row) => ({ ...row, match: row.contact.aliasLower.includes(query) ? null : (textHits.get(row.contact.publicKey) ?? null) }));
}

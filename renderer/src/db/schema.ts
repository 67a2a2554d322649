import type { Transaction } from 'dexie';
import { searchWords } from './searchWords.js';

/**
 * Schema history. Each version is kept as it shipped, so an old database upgrades step by step;
 * every step has an upgrade test (test/e2e/db.spec.ts) run in real Chromium.
 */

/** Version 1: contacts, conversations, messages, dedupe keys, early receipts, drops, settings. */
export const schemaV1 = {
  contacts: '[identityId+publicKey], identityId, status',
  conversations: '[identityId+contactKey], [identityId+lastMessageAt]',
  // Chat pages read `[identityId+contactKey+sortAt]` backwards from the newest; receipts find
  // messages through the multi-entry `ackIds`; the outbox scans `status`.
  messages: 'id, [identityId+contactKey+sortAt], status, *ackIds',
  seen: '[identityId+dedupeKey]',
  pendingReceipts: '[identityId+acknowledgeId]',
  drops: 'dropUrl',
  settings: 'key',
};

/**
 * Version 2: contacts get an indexed lower-case alias for the search field, and the outbox scan
 * uses `[direction+status]` so incoming messages (status null) are never visited.
 */
export const schemaV2 = {
  ...schemaV1,
  contacts: '[identityId+publicKey], identityId, status, [identityId+aliasLower]',
  messages: 'id, [identityId+contactKey+sortAt], [direction+status], *ackIds',
};

export async function upgradeToV2(tx: Transaction): Promise<void> {
  await tx
    .table('contacts')
    .toCollection()
    .modify((contact: { alias?: unknown; aliasLower?: string }) => {
      contact.aliasLower = typeof contact.alias === 'string' ? contact.alias.toLowerCase() : '';
    });
}

/** Version 3: conversations keep their message count, so opening a long chat needs no count scan. */
export const schemaV3 = schemaV2;

export async function upgradeToV3(tx: Transaction): Promise<void> {
  const counts = new Map<string, number>();
  await tx
    .table('messages')
    .toCollection()
    .each((m: { identityId: string; contactKey: string }) => {
      const key = JSON.stringify([m.identityId, m.contactKey]);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    });
  await tx
    .table('conversations')
    .toCollection()
    .modify((c: { identityId: string; contactKey: string; messageCount?: number }) => {
      c.messageCount = counts.get(JSON.stringify([c.identityId, c.contactKey])) ?? 0;
    });
}

/** Version 4: a multi-entry index of each message's words, so searching text never scans. */
export const schemaV4 = {
  ...schemaV3,
  messages: 'id, [identityId+contactKey+sortAt], [direction+status], *ackIds, *words',
};

/**
 * Version 5: a stranger's claimed drop URLs are kept apart (`offeredDropUrls`) until the user accepts
 * them, so nothing is sent to an address a request merely claims. Requests and ignored senders were
 * only ever introduced by their hello, so their addresses move there.
 */
export const schemaV5 = schemaV4;

export async function upgradeToV5(tx: Transaction): Promise<void> {
  await tx
    .table('contacts')
    .toCollection()
    .modify((contact: { status?: unknown; dropUrls?: unknown; offeredDropUrls?: string[] }) => {
      const urls = Array.isArray(contact.dropUrls) ? (contact.dropUrls as string[]) : [];
      const fromHello = contact.status === 'unknown' || contact.status === 'ignored';
      contact.offeredDropUrls = fromHello ? urls : [];
      if (fromHello) contact.dropUrls = [];
    });
}

export async function upgradeToV4(tx: Transaction): Promise<void> {
  await tx
    .table('messages')
    .toCollection()
    .modify((m: { text?: unknown; words?: string[] }) => {
      m.words = searchWords(typeof m.text === 'string' ? m.text : '');
    });
}

/**
 * Version 6: records are sealed at rest (`sealing.ts`), so nothing may be indexed by what it says:
 * the plaintext `words` index of message texts and the `aliasLower` index of names go. The records
 * themselves are sealed after unlock by the search index's first pass (an upgrade runs when the
 * database opens, possibly before the key is there), which also drops their `words`.
 */
export const schemaV6 = {
  ...schemaV5,
  contacts: '[identityId+publicKey], identityId, status',
  messages: 'id, [identityId+contactKey+sortAt], [direction+status], *ackIds',
};

/**
 * Version 7: bounds on what strangers can make us store (`senderBounds.ts`). Pieces of long texts
 * get their own records (`textParts`), so each piece costs one small write instead of a rewrite of
 * the growing text; open requests are counted per identity (`[identityId+status]`); receipts waiting
 * for a message expire (`receivedAt`) and are capped per sender (`[identityId+senderKey]`). Rows that
 * kept their pieces inline move them over when their next piece arrives, so nothing is rewritten here.
 */
export const schemaV7 = {
  ...schemaV6,
  contacts: '[identityId+publicKey], identityId, status, [identityId+status]',
  pendingReceipts: '[identityId+acknowledgeId], [identityId+senderKey], receivedAt',
  textParts: '[messageId+index], [identityId+contactKey]',
};

/**
 * Version 8: microblog posts (`posts`, listed per identity by time, per author for a contact's page,
 * unread ones counted for the feed's badge) and the copies of our own posts with their progress
 * (`postCopies`, found by receipt id and resumed by status). The contact fields of announced names
 * and drop lists are optional and filled as updates arrive: contacts are sealed, so an upgrade (which
 * may run before unlock) could not rewrite them anyway.
 */
export const schemaV8 = {
  ...schemaV7,
  posts: 'id, [identityId+sortAt], [identityId+authorKey+sortAt], [identityId+unread]',
  postCopies: 'localId, postRowId, identityId, status, *ackIds',
};

/**
 * Version 9: shared folders (`shares`: our own, and those contacts announced to us), listed per
 * identity; one record each, with its recipients' progress and its listing inside (sealed).
 */
export const schemaV9 = {
  ...schemaV8,
  shares: 'id, identityId',
};

import type { Transaction } from 'dexie';

/**
 * Schema history. Each version is kept as it shipped, so an old database upgrades step by step;
 * every step has an upgrade test (test/e2e/db-upgrade.spec.ts) run in real Chromium.
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

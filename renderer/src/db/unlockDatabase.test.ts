import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Result, fail, ok } from '../../../shared/ipc/result.js';
import type { EngineBridge } from '../bridge/transport.js';
import { DeaddropDatabase } from './database.js';
import { clearSearchIndex, resealLegacy, searchMessages, useSearchIndex } from './messageSearch.js';
import { DatabaseLockedError, hasDatabaseKey } from './sealing.js';
import { lockDatabase, unlockDatabase } from './unlockDatabase.js';

const KEY = btoa(String.fromCharCode(...new Uint8Array(32).fill(29)));
const BOB = 'b'.repeat(64);

/** An engine that answers `app/databaseKey` as told. */
function engine(answer: Result<{ key: string }>): EngineBridge {
  return {
    kind: 'websocket',
    invoke: async (channel: string) => (channel === 'app/databaseKey' ? answer : ok(null)),
    on: () => () => undefined,
    connectionState: () => 'open',
    onConnectionChange: () => () => undefined,
  } as unknown as EngineBridge;
}

let db: DeaddropDatabase;
const names: string[] = [];
beforeEach(() => {
  lockDatabase();
  const name = `unlock-test-${crypto.randomUUID()}`;
  names.push(name);
  db = new DeaddropDatabase(name);
});
afterEach(async () => {
  lockDatabase();
  db.close();
  for (const name of names.splice(0)) await DeaddropDatabase.delete(name);
});

/** Writes rows as a version before sealing did, around Dexie. */
async function putRaw(table: string, rows: object[]): Promise<void> {
  await db.open();
  await new Promise<void>((resolve, reject) => {
    const tx = db.backendDB().transaction(table, 'readwrite');
    for (const row of rows) tx.objectStore(table).put(row);
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
}

async function rawRows(table: string): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const request = db.backendDB().transaction(table, 'readonly').objectStore(table).getAll();
    request.onsuccess = () => resolve(request.result as Record<string, unknown>[]);
    request.onerror = () => reject(request.error);
  });
}

/** Waits for the search index that unlocking starts in the background. */
async function indexReady(): Promise<void> {
  await vi.waitFor(() => expect(useSearchIndex.getState().ready).toBe(true), { timeout: 10_000, interval: 100 });
}

const legacyContact = { identityId: 'me', publicKey: BOB, alias: 'Bob Legacy', aliasLower: 'bob legacy', dropUrls: [], offeredDropUrls: [], status: 'accepted', createdAt: 1 };
const legacyConversation = { identityId: 'me', contactKey: BOB, lastMessageAt: 5, lastMessagePreview: 'old secret', lastMessageDirection: 'in', unreadCount: 1, messageCount: 1 };
const legacyMessage = {
  id: 'in:me:1', identityId: 'me', contactKey: BOB, direction: 'in', kind: 'text', text: 'meet at the harbour', payloadType: 'box_message', payload: '', share: null,
  sortAt: 5, createdAt: 5, status: null, localId: null, error: null, ackIds: [], ackedIds: [], parts: null, read: false,
};

describe('unlocking the database', () => {
  it('installs the engine’s key, seals contacts and conversations stored before sealing, and builds the search index afterwards', async () => {
    await putRaw('contacts', [legacyContact]);
    await putRaw('conversations', [legacyConversation]);
    await putRaw('messages', [legacyMessage]);
    clearSearchIndex();
    await unlockDatabase(engine(ok({ key: KEY })), db);
    expect(hasDatabaseKey()).toBe(true);
    for (const table of ['contacts', 'conversations']) {
      const [raw] = await rawRows(table);
      expect(raw, table).toHaveProperty('sealed');
      expect(JSON.stringify(raw), table).not.toMatch(/Legacy|secret/);
    }
    expect(await db.contacts.get(['me', BOB])).toEqual(legacyContact);
    expect(await db.conversations.get(['me', BOB])).toEqual(legacyConversation);

    // The search index waits for the first screens, then reads (and seals) the messages.
    expect(useSearchIndex.getState().ready).toBe(false);
    await indexReady();
    expect(searchMessages('me', 'harbour')).toEqual(new Map([[BOB, 'in:me:1']]));
    await vi.waitFor(async () => expect((await rawRows('messages'))[0]).toHaveProperty('sealed'), { timeout: 10_000, interval: 100 });
  });

  it('sealing old records never brings back one deleted since the search pass read it', async () => {
    const other = { ...legacyMessage, id: 'in:me:2', text: 'deleted meanwhile' };
    await putRaw('messages', [legacyMessage, other]);
    await unlockDatabase(engine(ok({ key: KEY })), db);
    // The pass read both; then the user deleted one (a conversation, an identity) before it wrote them back.
    await db.messages.delete('in:me:2');
    await resealLegacy(db, ['in:me:1', 'in:me:2']);
    const raw = await rawRows('messages');
    expect(raw.map((r) => r.id)).toEqual(['in:me:1']);
    expect(raw[0]).toHaveProperty('sealed');
  });

  it('says why it cannot open when the engine refuses the key, and stays locked', async () => {
    await expect(unlockDatabase(engine(fail('locked', 'Unlock Deaddrop first.')), db)).rejects.toThrow('The message database cannot be opened: Unlock Deaddrop first.');
    expect(hasDatabaseKey()).toBe(false);
    await expect(db.contacts.put(legacyContact as never)).rejects.toBeInstanceOf(DatabaseLockedError);
  });

  it('refuses a key of the wrong length', async () => {
    const short = btoa(String.fromCharCode(...new Uint8Array(16)));
    await expect(unlockDatabase(engine(ok({ key: short })), db)).rejects.toThrow(/wrong length/);
    expect(hasDatabaseKey()).toBe(false);
  });

  it('locking forgets the key and what the search index read', async () => {
    await db.open();
    await unlockDatabase(engine(ok({ key: KEY })), db);
    await db.messages.put(legacyMessage as never);
    await indexReady();
    expect(searchMessages('me', 'harbour').size).toBe(1);
    lockDatabase();
    expect(hasDatabaseKey()).toBe(false);
    expect(searchMessages('me', 'harbour').size).toBe(0);
    expect(useSearchIndex.getState().ready).toBe(false);
    await expect(db.messages.get('in:me:1')).rejects.toBeInstanceOf(DatabaseLockedError);
    await expect(db.messages.put(legacyMessage as never)).rejects.toBeInstanceOf(DatabaseLockedError);
    // The same key opens it all again.
    await unlockDatabase(engine(ok({ key: KEY })), db);
    expect((await db.messages.get('in:me:1'))!.text).toBe('meet at the harbour');
    await indexReady();
    expect(searchMessages('me', 'harbour').size).toBe(1);
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeaddropDatabase } from './database.js';
import { foldForSearch } from './messageSearch.js';
import { clearDatabaseKey, DatabaseLockedError, openRecord, sealRecord, setDatabaseKey } from './sealing.js';

const keyOf = (byte: number) => btoa(String.fromCharCode(...new Uint8Array(32).fill(byte)));
const names: string[] = [];

beforeEach(async () => {
  await setDatabaseKey(keyOf(1));
});
afterEach(async () => {
  for (const name of names.splice(0)) await DeaddropDatabase.delete(name);
});

function freshDatabase(): DeaddropDatabase {
  const name = `sealing-test-${crypto.randomUUID()}`;
  names.push(name);
  return new DeaddropDatabase(name);
}

/** The rows as IndexedDB holds them, read around Dexie. */
async function rawRows(db: DeaddropDatabase, table: string): Promise<Record<string, unknown>[]> {
  await db.open();
  return new Promise((resolve, reject) => {
    const request = db.backendDB().transaction(table, 'readonly').objectStore(table).getAll();
    request.onsuccess = () => resolve(request.result as Record<string, unknown>[]);
    request.onerror = () => reject(request.error);
  });
}

const contact = { identityId: 'me', publicKey: 'a'.repeat(64), alias: 'Zoë Secret', aliasLower: 'zoë secret', dropUrls: [], offeredDropUrls: [], status: 'accepted' as const, createdAt: 1 };

describe('sealed records', () => {
  it('keep only index fields in the clear and read back as written', async () => {
    const db = freshDatabase();
    await db.contacts.put(contact);
    const [raw] = await rawRows(db, 'contacts');
    expect(Object.keys(raw!).sort()).toEqual(['identityId', 'publicKey', 'sealed', 'status']);
    expect(new TextDecoder().decode(raw!['sealed'] as Uint8Array)).not.toContain('Secret');
    expect(await db.contacts.get(['me', 'a'.repeat(64)])).toEqual(contact);
    expect(await db.contacts.where('identityId').equals('me').toArray()).toEqual([contact]);
    // Updates go through the same seal.
    await db.contacts.update(['me', 'a'.repeat(64)], { alias: 'Renamed' });
    expect((await db.contacts.toArray())[0]!.alias).toBe('Renamed');
    db.close();
  });

  it('cannot be read or written without the key, nor with another key', async () => {
    const db = freshDatabase();
    await db.contacts.put(contact);
    clearDatabaseKey();
    await expect(db.contacts.toArray()).rejects.toBeInstanceOf(DatabaseLockedError);
    await expect(db.contacts.put(contact)).rejects.toBeInstanceOf(DatabaseLockedError);
    await setDatabaseKey(keyOf(2));
    await expect(db.contacts.toArray()).rejects.toThrow(/cannot be opened with this profile's key/);
    db.close();
  });

  it('are bound to their table: a blob moved to another table does not open', () => {
    const sealed = sealRecord('contacts', { a: 1, secret: 'x' }, ['a']);
    expect(openRecord('contacts', sealed)).toEqual({ a: 1, secret: 'x' });
    expect(() => openRecord('messages', sealed)).toThrow(/cannot be opened/);
  });

  it('passes records from before sealing through unchanged', () => {
    const legacy = { a: 1, text: 'plain' };
    expect(openRecord('messages', legacy)).toBe(legacy);
  });
});

describe('foldForSearch', () => {
  it('ignores case and accents', () => {
    expect(foldForSearch('Grüße aus dem CAFÉ, Zoë')).toBe('gruße aus dem cafe, zoe');
  });
});

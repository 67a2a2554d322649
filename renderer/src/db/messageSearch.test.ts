import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeaddropDatabase } from './database.js';
import { clearSearchIndex, ensureSearchIndex, searchMessages, useSearchIndex } from './messageSearch.js';
import type { MessageRecord } from './records.js';
import { setDatabaseKey } from './sealing.js';

const names: string[] = [];
beforeEach(async () => {
  clearSearchIndex();
  await setDatabaseKey(btoa(String.fromCharCode(...new Uint8Array(32).fill(3))));
});
afterEach(async () => {
  clearSearchIndex();
  for (const name of names.splice(0)) await DeaddropDatabase.delete(name);
});

function message(id: string, contactKey: string, text: string, sortAt: number, identityId = 'me'): MessageRecord {
  return {
    id, identityId, contactKey, direction: 'in', kind: 'text', text, payloadType: 'box_message', payload: '', share: null, sortAt, createdAt: sortAt,
    status: null, localId: null, error: null, ackIds: [], ackedIds: [], parts: null, read: true,
  };
}

describe('message search', () => {
  it('builds from the stored messages after unlock and finds any part of a text, ignoring case and accents', async () => {
    const name = `search-test-${crypto.randomUUID()}`;
    names.push(name);
    const db = new DeaddropDatabase(name);
    await db.messages.bulkPut([
      message('1', 'bob', 'Treffen im Café um zehn', 1),
      message('2', 'bob', 'nothing here', 2),
      message('3', 'eve', 'CAFÉ crème later', 3),
      message('4', 'zed', 'café for another identity', 4, 'other'),
    ]);
    clearSearchIndex(); // as after a restart: the index knows nothing until it is built
    expect(searchMessages('me', 'cafe').size).toBe(0);
    await ensureSearchIndex(db);
    expect(useSearchIndex.getState()).toMatchObject({ ready: true, indexed: 4 });
    expect(searchMessages('me', 'cafe')).toEqual(new Map([['bob', '1'], ['eve', '3']]));
    expect(searchMessages('me', 'FÉ UM ZE')).toEqual(new Map([['bob', '1']]));
    expect(searchMessages('me', '   ')).toEqual(new Map());

    // Later writes and deletes keep it current without another pass.
    await db.messages.put(message('5', 'bob', 'cafe again, newer', 5));
    expect(searchMessages('me', 'cafe').get('bob')).toBe('5');
    await db.messages.delete('3');
    expect(searchMessages('me', 'cafe').has('eve')).toBe(false);
    db.close();
  });
});

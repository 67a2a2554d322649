import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeaddropDatabase } from './database.js';
import { clearSearchIndex, ensureSearchIndex, findMatches, foldForSearch, searchMessages, useSearchIndex } from './messageSearch.js';
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

/** The matched pieces of `text`, as the highlighter marks them. */
const marked = (text: string, query: string) => findMatches(text, query).map(({ start, end }) => text.slice(start, end));

describe('matching for search and highlighting', () => {
  it('finds a query inside words, in any case, with or without accents and compatibility forms', () => {
    expect(marked('Überraschung am Montag', 'rasch')).toEqual(['rasch']);
    expect(marked('Überraschung am Montag', 'UBERR')).toEqual(['Überr']);
    expect(marked('CAFÉ café Cafe', 'cafe')).toEqual(['CAFÉ', 'café', 'Cafe']);
    expect(marked('ﬁnal ＦＵＬＬ ㎒', 'fin')).toEqual(['ﬁn']);
    expect(marked('ﬁnal ＦＵＬＬ ㎒', 'full')).toEqual(['ＦＵＬＬ']);
    expect(marked('ﬁnal ＦＵＬＬ ㎒', 'mhz')).toEqual(['㎒']);
    expect(marked('ΟΔΟΣ οδός', 'οδοσ')).toEqual(['ΟΔΟΣ', 'οδός']);
    expect(marked('İstanbul', 'ist')).toEqual(['İst']);
    expect(marked('nothing here', 'zebra')).toEqual([]);
    expect(marked('anything', '   ')).toEqual([]);
  });

  it('keeps combining marks with the letter they belong to, and surrogate pairs whole', () => {
    const decomposed = 'Cafe\u0301 au lait';
    expect(marked(decomposed, 'cafe')).toEqual(['Cafe\u0301']);
    expect(marked('a😀b 😀', '😀')).toEqual(['😀', '😀']);
    expect(marked('x𝐀𝐁y', '𝐁')).toEqual(['𝐁']);
    expect(marked('x𝐀𝐁y', 'ab')).toEqual(['𝐀𝐁']);
  });

  it('folds a text the same whole and character by character, so highlights land where the index matched', () => {
    const texts = ['ΣΟΦΟΣ ΛΟΓΟΣ', 'İIıi', 'Grüße ﬀ ㎒ ½ Ⅻ', '한국어 텍스트', 'e\u0301\u0327 ǅ ß', '👩🏽‍💻 ✔️'];
    for (const text of texts) expect(foldForSearch(text)).toBe([...text].map(foldForSearch).join(''));
  });

  it('stops after a limit, so a 10,000-character flood of one letter costs little', () => {
    expect(findMatches('a'.repeat(10_000), 'a')).toHaveLength(100);
    expect(findMatches('a'.repeat(10_000), 'a', 3)).toHaveLength(3);
  });
});

/**
 * Message search over sealed records. The database holds texts only as ciphertext, so it cannot
 * index them; after unlock one pass reads every message once (in pages, without blocking the
 * window) into an in-memory index of folded texts, which later writes keep current. A search scans
 * that index: substring, case- and accent-insensitive. The same pass seals records written before
 * sealing existed and drops their plaintext search words.
 */
import { create } from 'zustand';
import type { DeaddropDatabase } from './database.js';
import type { MessageRecord } from './records.js';
import { isLegacyRecord, observeWrites } from './sealing.js';

/** A very long text is indexed up to here: bounds the memory a stranger's flood can take. */
const MAX_INDEXED_CHARS = 10_000;
const PAGE = 2_000;

interface Entry {
  identityId: string;
  contactKey: string;
  sortAt: number;
  folded: string;
}

/**
 * What a search compares: compatibility forms unfolded (ligatures, full-width letters, ㎒), lower
 * case, accents and other marks removed, final sigma as sigma. Each step works character by
 * character, so folding a text equals folding its characters one by one (`findMatches` relies on it).
 */
export function foldForSearch(text: string): string {
  return text.normalize('NFKD').toLowerCase().replace(/\p{M}/gu, '').replace(/ς/g, 'σ');
}

/** Where a text was matched: UTF-16 offsets into the original text, end exclusive. */
export interface MatchRange {
  start: number;
  end: number;
}

/**
 * Every place where `query` occurs in `text` as a search sees it (`foldForSearch`), as ranges of the
 * original text, for highlighting. A match ends after the marks that belong to its last character.
 */
export function findMatches(text: string, query: string, limit = 100): MatchRange[] {
  const needle = foldForSearch(query.trim());
  if (needle === '' || text === '') return [];
  // The folded text, and for each of its characters the code point of the original it came from.
  let folded = '';
  const origin: number[] = [];
  const codePointEnds: number[] = [];
  let offset = 0;
  for (const char of text) {
    const piece = foldForSearch(char);
    for (let k = 0; k < piece.length; k++) origin.push(offset);
    folded += piece;
    offset += char.length;
    codePointEnds[offset - char.length] = offset;
  }
  const ranges: MatchRange[] = [];
  for (let at = folded.indexOf(needle); at !== -1 && ranges.length < limit; at = folded.indexOf(needle, at + needle.length)) {
    const start = origin[at]!;
    const lastStart = origin[at + needle.length - 1]!;
    // The end is where the next folded character comes from: marks that folded away stay inside.
    const next = origin[at + needle.length];
    const end = next !== undefined && next > lastStart ? next : next === undefined ? text.length : codePointEnds[lastStart]!;
    ranges.push({ start, end });
  }
  return ranges;
}

/** Progress of the index, for the UI (and a change every time it grows, so searches re-run). */
export const useSearchIndex = create<{ ready: boolean; indexed: number; version: number }>(() => ({ ready: false, indexed: 0, version: 0 }));

const entries = new Map<string, Entry>();
let building: Promise<void> | null = null;

function note(record: MessageRecord): void {
  if (typeof record.text !== 'string') return;
  entries.set(record.id, {
    identityId: record.identityId,
    contactKey: record.contactKey,
    sortAt: record.sortAt,
    folded: foldForSearch(record.text.slice(0, MAX_INDEXED_CHARS)),
  });
}

const bump = (ready: boolean) => useSearchIndex.setState((s) => ({ ready, indexed: entries.size, version: s.version + 1 }));

observeWrites('messages', {
  written: (values) => {
    for (const value of values) note(value as MessageRecord);
    bump(useSearchIndex.getState().ready);
  },
  deleted: (keys) => {
    for (const key of keys) entries.delete(key as string);
    bump(useSearchIndex.getState().ready);
  },
  // A range delete (a whole conversation or identity) is rare: read everything again.
  rangeDeleted: () => {
    building = null;
    entries.clear();
    bump(false);
  },
});

async function buildIndex(db: DeaddropDatabase): Promise<void> {
  let after: string | null = null;
  for (;;) {
    const page: MessageRecord[] = await (after === null ? db.messages.orderBy('id') : db.messages.where('id').above(after)).limit(PAGE).toArray();
    if (page.length === 0) break;
    const legacy: MessageRecord[] = [];
    for (const record of page) {
      note(record);
      if (isLegacyRecord(record)) legacy.push(record);
    }
    if (legacy.length > 0) await resealLegacy(db, legacy.map((record) => record.id));
    after = page[page.length - 1]!.id;
    bump(false);
    // Let the window paint between pages.
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  bump(true);
}

/**
 * Writes records stored before sealing back, sealed. Read again inside the writing transaction: a
 * record deleted since the page was read (a conversation or an identity deleted meanwhile) must stay
 * deleted, not come back from the copy read earlier.
 */
export async function resealLegacy(db: DeaddropDatabase, ids: string[]): Promise<void> {
  await db.transaction('rw', db.messages, async () => {
    const current = await db.messages.bulkGet(ids);
    const still = current.filter((record): record is MessageRecord => record !== undefined && isLegacyRecord(record));
    if (still.length > 0) await db.messages.bulkPut(still.map(withoutPlaintextIndex));
  });
}

/** A record of schema 4/5 kept a plaintext word list for the old search index: it goes when the record is sealed. */
function withoutPlaintextIndex(record: MessageRecord): MessageRecord {
  const { words: _words, ...rest } = record as MessageRecord & { words?: unknown };
  return rest as MessageRecord;
}

/** Builds the index once per unlock (again after a range delete); resolves when it is complete. */
export function ensureSearchIndex(db: DeaddropDatabase): Promise<void> {
  building ??= buildIndex(db).catch((error: unknown) => {
    building = null;
    throw error;
  });
  return building;
}

/** Forgets everything (on lock). */
export function clearSearchIndex(): void {
  entries.clear();
  building = null;
  useSearchIndex.setState({ ready: false, indexed: 0, version: 0 });
}

/** For each conversation of `identityId` with a message containing `query`, its newest such message's id. */
export function searchMessages(identityId: string, query: string): Map<string, string> {
  const folded = foldForSearch(query.trim());
  const best = new Map<string, { id: string; sortAt: number }>();
  if (folded === '') return new Map();
  for (const [id, entry] of entries) {
    if (entry.identityId !== identityId || !entry.folded.includes(folded)) continue;
    const known = best.get(entry.contactKey);
    if (!known || entry.sortAt > known.sortAt) best.set(entry.contactKey, { id, sortAt: entry.sortAt });
  }
  return new Map([...best].map(([contactKey, hit]) => [contactKey, hit.id]));
}

import Dexie from 'dexie';
import { useCallback, useMemo, useState } from 'react';
import { database } from '../db/database.js';
import type { MessageRecord } from '../db/records.js';
import { useLiveQuery } from '../db/useLiveQuery.js';

/** Messages are read in pages counted back from the newest, so opening a chat reads only its end. */
export const PAGE_SIZE = 100;

interface Loaded {
  count: number;
  pages: Map<number, MessageRecord[]>;
}

export interface MessageWindow {
  /** Messages in the conversation; item 0 is the oldest. */
  count: number;
  /** True once the first answer from the database arrived. */
  ready: boolean;
  /** The message at `index`, or undefined while its page is loading. */
  at(index: number): MessageRecord | undefined;
  /** Tells the window which items are on screen so their pages get loaded. */
  showRange(first: number, last: number): void;
}

/**
 * A live, paged view of one conversation for the virtualised list: only the pages around what is
 * on screen are read, and they are re-read when anything in the conversation changes.
 */
export function useMessagePages(identityId: string, contactKey: string): MessageWindow {
  const [wanted, setWanted] = useState<number[]>([0]);
  const wantedKey = wanted.join(',');
  const loaded = useLiveQuery<Loaded | null>(
    async () => {
      const db = database();
      const range = db.messages
        .where('[identityId+contactKey+sortAt]')
        .between([identityId, contactKey, Dexie.minKey], [identityId, contactKey, Dexie.maxKey]);
      const count = await range.count();
      const pages = new Map<number, MessageRecord[]>();
      for (const page of wanted) {
        if (page * PAGE_SIZE >= count && page > 0) continue;
        const rows = await db.messages
          .where('[identityId+contactKey+sortAt]')
          .between([identityId, contactKey, Dexie.minKey], [identityId, contactKey, Dexie.maxKey])
          .reverse()
          .offset(page * PAGE_SIZE)
          .limit(PAGE_SIZE)
          .toArray();
        pages.set(page, rows);
      }
      return { count, pages };
    },
    [identityId, contactKey, wantedKey],
    null,
  );
  // useLiveQuery keeps the previous answer while the next one is on its way: no flicker on scroll.
  const current = loaded;
  const count = current?.count ?? 0;

  const at = useCallback(
    (index: number) => {
      if (!current) return undefined;
      const fromNewest = current.count - 1 - index;
      return current.pages.get(Math.floor(fromNewest / PAGE_SIZE))?.[fromNewest % PAGE_SIZE];
    },
    [current],
  );

  const showRange = useCallback(
    (first: number, lastIndex: number) => {
      if (count === 0) return;
      const newestPage = Math.floor((count - 1 - lastIndex) / PAGE_SIZE);
      const oldestPage = Math.floor((count - 1 - first) / PAGE_SIZE);
      const next: number[] = [];
      for (let p = Math.max(0, newestPage); p <= oldestPage; p++) next.push(p);
      const nextKey = next.join(',');
      setWanted((prev) => (prev.join(',') === nextKey ? prev : next));
    },
    [count],
  );

  return useMemo(() => ({ count, ready: current !== null, at, showRange }), [count, current, at, showRange]);
}

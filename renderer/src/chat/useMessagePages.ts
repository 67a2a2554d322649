import Dexie from 'dexie';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { DeaddropDatabase } from '../db/database.js';
import { database } from '../db/database.js';
import type { MessageRecord } from '../db/records.js';
import { useLiveQuery } from '../db/useLiveQuery.js';

/**
 * Messages are read in pages counted back from the newest, so opening a chat reads only its end.
 * Big pages mean few page reads while scrolling.
 */
export const PAGE_SIZE = 300;

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

interface Snapshot {
  count: number;
}

function conversationRange(db: DeaddropDatabase, identityId: string, contactKey: string) {
  return db.messages
    .where('[identityId+contactKey+sortAt]')
    .between([identityId, contactKey, Dexie.minKey], [identityId, contactKey, Dexie.maxKey]);
}

/**
 * A live, paged view of one conversation for the virtualised list. One live query watches the
 * conversation: any write to it (new message, status change) yields a new snapshot, which drops
 * the page cache and re-reads the pages in view. Between writes, scrolling reads only the pages
 * it has not read yet, and rows keep their object identity, so memoised bubbles do not re-render.
 */
export function useMessagePages(identityId: string, contactKey: string): MessageWindow {
  const snapshot = useLiveQuery<Snapshot | null>(
    async () => ({ count: await conversationRange(database(), identityId, contactKey).count() }),
    [identityId, contactKey],
    null,
  );
  const [wanted, setWanted] = useState<number[]>([0, 1]);
  const [pages, setPages] = useState<{ snapshot: Snapshot | null; map: Map<number, MessageRecord[]> }>({
    snapshot: null,
    map: new Map(),
  });
  const loading = useRef(new Set<string>());

  useEffect(() => {
    if (!snapshot) return;
    const fresh = pages.snapshot === snapshot;
    const missing = wanted.filter((p) => !(fresh && pages.map.has(p)) && !loading.current.has(`${p}`));
    if (missing.length === 0) return;
    missing.forEach((p) => loading.current.add(`${p}`));
    void Promise.all(
      missing.map((p) =>
        conversationRange(database(), identityId, contactKey).reverse().offset(p * PAGE_SIZE).limit(PAGE_SIZE).toArray(),
      ),
    ).then(
      (rows) => {
        missing.forEach((p) => loading.current.delete(`${p}`));
        setPages((current) => {
          // Pages read for an older snapshot are dropped; the newer snapshot reads its own.
          const map = current.snapshot === snapshot ? new Map(current.map) : new Map<number, MessageRecord[]>();
          missing.forEach((p, i) => map.set(p, rows[i]!));
          return { snapshot, map };
        });
      },
      () => missing.forEach((p) => loading.current.delete(`${p}`)),
    );
  }, [snapshot, wanted, pages, identityId, contactKey]);

  const count = snapshot?.count ?? 0;
  // Until the new snapshot's pages are in, the previous pages (offset by the new messages) are shown.
  const shift = pages.snapshot && snapshot ? snapshot.count - pages.snapshot.count : 0;

  const at = useCallback(
    (index: number) => {
      const fromNewest = count - 1 - index - shift;
      if (fromNewest < 0) return undefined;
      return pages.map.get(Math.floor(fromNewest / PAGE_SIZE))?.[fromNewest % PAGE_SIZE];
    },
    [pages, count, shift],
  );

  const showRange = useCallback(
    (first: number, last: number) => {
      if (count === 0) return;
      const newestPage = Math.floor((count - 1 - last) / PAGE_SIZE);
      const oldestPage = Math.floor((count - 1 - first) / PAGE_SIZE);
      // One page beyond each edge is read ahead, so scrolling meets loaded rows, not placeholders
      // that change height (and shift the view) when their data arrives.
      const lastPage = Math.floor((count - 1) / PAGE_SIZE);
      const next: number[] = [];
      for (let p = Math.max(0, newestPage - 1); p <= Math.min(lastPage, oldestPage + 1); p++) next.push(p);
      const nextKey = next.join(',');
      setWanted((prev) => (prev.join(',') === nextKey ? prev : next));
    },
    [count],
  );

  return useMemo(() => ({ count, ready: snapshot !== null, at, showRange }), [count, snapshot, at, showRange]);
}

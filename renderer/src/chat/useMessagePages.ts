import Dexie, { liveQuery } from 'dexie';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { DeaddropDatabase } from '../db/database.js';
import { database } from '../db/database.js';
import type { MessageRecord } from '../db/records.js';
import { useLiveQuery } from '../db/useLiveQuery.js';

/**
 * Messages are read in pages counted back from the newest, so opening a chat reads only its end.
 * Pages are kept small so that one arriving while the reader scrolls is cheap to decode and
 * render within a frame; reading two pages ahead keeps loaded rows in front of the viewport.
 */
export const PAGE_SIZE = 150;
const PAGES_AHEAD = 2;

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

/** One page as read: `count` is the conversation length at that read, so indexes stay exact. */
interface Page {
  count: number;
  rows: MessageRecord[];
}

function conversationRange(db: DeaddropDatabase, identityId: string, contactKey: string) {
  return db.messages
    .where('[identityId+contactKey+sortAt]')
    .between([identityId, contactKey, Dexie.minKey], [identityId, contactKey, Dexie.maxKey]);
}

/**
 * A live, paged view of one conversation for the virtualised list. Each page on (or next to) the
 * screen is its own live query, so a receipt that changes one message re-reads one page, and pages
 * scrolled past are released. Item indexes count from the oldest message, so they do not move
 * when new messages arrive; each page remembers the length it was read at to map them exactly.
 */
export function useMessagePages(identityId: string, contactKey: string): MessageWindow {
  const count = useLiveQuery<number | null>(
    async () => (await database().conversations.get([identityId, contactKey]))?.messageCount ?? 0,
    [identityId, contactKey],
    null,
  );
  const [wanted, setWanted] = useState<number[]>([0]);
  const [pages, setPages] = useState<ReadonlyMap<number, Page>>(new Map());
  const subscriptions = useRef(new Map<number, { unsubscribe(): void }>());

  useEffect(() => {
    const subs = subscriptions.current;
    for (const page of wanted) {
      if (subs.has(page)) continue;
      // Count and rows come from one transaction, so the page's index mapping is exact.
      const query = liveQuery(() => {
        const db = database();
        return db.transaction('r', db.conversations, db.messages, async () => {
          const conversation = await db.conversations.get([identityId, contactKey]);
          const rows = await conversationRange(db, identityId, contactKey).reverse().offset(page * PAGE_SIZE).limit(PAGE_SIZE).toArray();
          return { count: conversation?.messageCount ?? rows.length, rows };
        });
      });
      subs.set(page, query.subscribe({ next: (read) => setPages((current) => new Map(current).set(page, read)) }));
    }
    const released = [...subs.keys()].filter((page) => !wanted.includes(page));
    for (const page of released) {
      subs.get(page)?.unsubscribe();
      subs.delete(page);
    }
    if (released.length > 0) {
      setPages((current) => {
        const next = new Map(current);
        released.forEach((page) => next.delete(page));
        return next;
      });
    }
  }, [wanted, identityId, contactKey]);

  useEffect(() => {
    const subs = subscriptions.current;
    return () => {
      for (const sub of subs.values()) sub.unsubscribe();
      subs.clear();
    };
  }, []);

  const total = count ?? 0;
  const at = useCallback(
    (index: number) => {
      const guess = Math.floor((total - 1 - index) / PAGE_SIZE);
      for (const pageNumber of [guess, guess - 1, guess + 1]) {
        const page = pages.get(pageNumber);
        if (!page) continue;
        const offset = page.count - 1 - index - pageNumber * PAGE_SIZE;
        if (offset >= 0 && offset < page.rows.length) return page.rows[offset];
      }
      return undefined;
    },
    [pages, total],
  );

  const showRange = useCallback(
    (first: number, last: number) => {
      if (total === 0) return;
      const newestPage = Math.floor((total - 1 - last) / PAGE_SIZE);
      const oldestPage = Math.floor((total - 1 - first) / PAGE_SIZE);
      // Pages beyond each edge are read ahead, so scrolling meets loaded rows, not placeholders
      // that change height (and shift the view) when their data arrives.
      const lastPage = Math.floor((total - 1) / PAGE_SIZE);
      const next: number[] = [];
      for (let p = Math.max(0, newestPage - PAGES_AHEAD); p <= Math.min(lastPage, oldestPage + PAGES_AHEAD); p++) next.push(p);
      const nextKey = next.join(',');
      setWanted((prev) => (prev.join(',') === nextKey ? prev : next));
    },
    [total],
  );

  return useMemo(() => ({ count: total, ready: count !== null, at, showRange }), [total, count, at, showRange]);
}

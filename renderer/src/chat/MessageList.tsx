import { type Virtualizer, elementScroll, useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useDeferredValue, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { database } from '../db/database.js';
import { useUi } from '../stores/uiStore.js';
import { messageIndex } from './conversationQueries.js';
import { continuesGroup } from './messageGroups.js';
import { MessageRow } from './MessageRow.js';
import { DEFAULT_ROW_PX, estimateRowPx } from './rowEstimate.js';
import { useSearchJump } from './chatIntents.js';
import { type MessageWindow, useMessagePages } from './useMessagePages.js';

/** How close to the bottom (px) still counts as "reading the newest", so new messages scroll in. */
const STICK_TO_BOTTOM_PX = 120;
/**
 * The list places the newest messages first and older ones in blocks as the reader nears the
 * oldest placed row. The virtualiser keeps per-row arrays as long as the list and copies them
 * whenever a row is measured, so placing all 100,000 messages of a long chat at once would churn
 * megabytes per scrolled frame (and stall frames on garbage collection).
 */
const FIRST_PLACED = 1_000;
const PLACED_PER_BLOCK = 400;
const PLACE_MORE_WITHIN_ROWS = 200;

/** The conversation, virtualised: only rows near the viewport exist in the DOM, at any length. */
export function MessageList({ identityId, contactKey }: { identityId: string; contactKey: string }) {
  const window = useMessagePages(identityId, contactKey);
  // The list starts at the newest message; until the length is known there is nothing to place.
  if (!window.ready) return <div className="message-scroll" aria-busy="true" />;
  return <VirtualMessageList window={window} identityId={identityId} contactKey={contactKey} />;
}

/**
 * A row measured taller or shorter than estimated above the viewport shifts the view by the
 * difference. The library writes `offset + difference` with the offset of the last scroll event;
 * a scroll the reader made since then would be undone, so the list jumps back while scrolling up.
 * Corrections are applied relative to where the list is now instead.
 */
function scrollKeepingUserMoves(
  offset: number,
  options: { adjustments?: number; behavior?: ScrollBehavior },
  instance: Virtualizer<HTMLDivElement, Element>,
) {
  const element = instance.scrollElement;
  if (element && options.adjustments && options.behavior !== 'smooth') element.scrollTop += options.adjustments;
  else elementScroll(offset, options, instance);
}

function VirtualMessageList({ window, identityId, contactKey }: { window: MessageWindow; identityId: string; contactKey: string }) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  // Mirrors `atBottom` for rendering; set only when it flips, so scrolling does not re-render.
  const [awayFromNewest, setAwayFromNewest] = useState(false);
  // Index of the oldest placed message; list item i shows message `oldest + i`.
  const [oldest, setOldest] = useState(() => Math.max(0, window.count - FIRST_PLACED));
  const placed = window.count - oldest;
  const virtualizer = useVirtualizer({
    count: placed,
    // Keys are message indexes, so measured sizes survive placing older messages in front.
    getItemKey: useCallback((item: number) => oldest + item, [oldest]),
    indexAttribute: 'data-item',
    // Placing older messages in front keeps the row the reader looks at where it is.
    anchorTo: 'end',
    getScrollElement: () => scrollRef.current,
    estimateSize: (item) => {
      const message = window.at(oldest + item);
      const joinsPrevious = continuesGroup(window.at(oldest + item - 1), message);
      const joinsNext = continuesGroup(message, window.at(oldest + item + 1));
      return estimateRowPx(message?.text, scrollRef.current?.clientWidth ?? 0, joinsPrevious, joinsNext);
    },
    overscan: 8,
    scrollToFn: scrollKeepingUserMoves,
    // Start at the bottom, so the first range asked for is the newest messages, not the oldest.
    initialOffset: placed * DEFAULT_ROW_PX,
  });
  const items = virtualizer.getVirtualItems();
  const first = items[0]?.index ?? 0;
  const last = items[items.length - 1]?.index ?? 0;

  useEffect(() => {
    window.showRange(oldest + first, oldest + last);
  }, [window, oldest, first, last]);
  useEffect(() => {
    if (oldest > 0 && first < PLACE_MORE_WITHIN_ROWS) setOldest(Math.max(0, oldest - PLACED_PER_BLOCK));
  }, [oldest, first]);

  // Open at the newest message, and follow new ones while the reader is at the bottom, also when
  // a row turns out taller than estimated once measured (a long text).
  const totalSize = virtualizer.getTotalSize();
  useLayoutEffect(() => {
    if (placed > 0 && atBottom.current) virtualizer.scrollToIndex(placed - 1, { align: 'end' });
  }, [placed, virtualizer]);
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (el && atBottom.current) el.scrollTop = el.scrollHeight;
  }, [totalSize]);

  const onScroll = () => {
    const el = scrollRef.current;
    if (!el) return;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < STICK_TO_BOTTOM_PX;
    setAwayFromNewest(!atBottom.current);
  };
  const jumpToNewest = () => {
    atBottom.current = true;
    setAwayFromNewest(false);
    virtualizer.scrollToIndex(placed - 1, { align: 'end' });
  };
  // A search result opened this conversation at one of its messages: place it, scroll to it, mark it.
  const jump = useSearchJump((s) => (s.target?.contactKey === contactKey ? s.target : null));
  const [target, setTarget] = useState<{ id: string; index: number; scrolled: boolean } | null>(null);
  useEffect(() => {
    if (!jump) return;
    let live = true;
    void messageIndex(database(), identityId, contactKey, jump.messageId).then((index) => {
      if (!live) return;
      useSearchJump.setState({ target: null });
      if (index === null) return;
      atBottom.current = false;
      setAwayFromNewest(true);
      // Rows in front of it too, so that placing the next block does not start at once.
      setOldest((current) => Math.min(current, Math.max(0, index - PLACE_MORE_WITHIN_ROWS - PLACED_PER_BLOCK)));
      setTarget({ id: jump.messageId, index, scrolled: false });
    });
    return () => {
      live = false;
    };
  }, [jump, identityId, contactKey]);
  useLayoutEffect(() => {
    if (!target || target.scrolled || target.index < oldest) return;
    virtualizer.scrollToIndex(target.index - oldest, { align: 'center' });
    setTarget({ ...target, scrolled: true });
  }, [target, oldest, virtualizer]);
  // Deferred like the search itself: typing stays quick while the rows on screen get their marks.
  const highlight = useDeferredValue(useUi((s) => s.search)).trim();

  // Sending from the composer brings the newest messages back, where the sent one appears.
  const sentCount = useUi((s) => s.sentCount);
  const sentSeen = useRef(sentCount);
  useLayoutEffect(() => {
    if (sentSeen.current === sentCount) return;
    sentSeen.current = sentCount;
    jumpToNewest();
  });

  return (
    <div className="message-pane">
      <div
        ref={scrollRef}
        className="message-scroll"
        onScroll={onScroll}
        role="region"
        aria-label="Messages"
        tabIndex={0}
        data-testid="message-list"
        data-count={window.count}
      >
        {window.ready && window.count === 0 && <p className="hint pad">No messages yet. Say hello.</p>}
        <div className="message-canvas" style={{ height: totalSize }}>
          {items.map((item) => {
            const index = oldest + item.index;
            const message = window.at(index);
            const previous = window.at(index - 1);
            return (
              <MessageRow
                key={item.key}
                item={item.index}
                index={index}
                start={item.start}
                message={message}
                previousAt={previous?.sortAt}
                joinsPrevious={continuesGroup(previous, message)}
                joinsNext={continuesGroup(message, window.at(index + 1))}
                highlight={highlight}
                targeted={message !== undefined && message.id === target?.id}
                measure={virtualizer.measureElement}
              />
            );
          })}
        </div>
      </div>
      {awayFromNewest && (
        <button type="button" className="jump-newest" onClick={jumpToNewest} data-testid="jump-newest">
          <span aria-hidden="true">↓</span> Newest messages
        </button>
      )}
    </div>
  );
}

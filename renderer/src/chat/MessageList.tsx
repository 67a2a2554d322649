import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useLayoutEffect, useRef } from 'react';
import { MessageBubble } from './MessageBubble.js';
import { type MessageWindow, useMessagePages } from './useMessagePages.js';

const ESTIMATED_ROW_PX = 72;
/** How close to the bottom (px) still counts as "reading the newest", so new messages scroll in. */
const STICK_TO_BOTTOM_PX = 120;

/** The conversation, virtualised: only rows near the viewport exist in the DOM, at any length. */
export function MessageList({ identityId, contactKey }: { identityId: string; contactKey: string }) {
  const window = useMessagePages(identityId, contactKey);
  // The list starts at the newest message; until the length is known there is nothing to place.
  if (!window.ready) return <div className="message-scroll" aria-busy="true" />;
  return <VirtualMessageList window={window} />;
}

function VirtualMessageList({ window }: { window: MessageWindow }) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const virtualizer = useVirtualizer({
    count: window.count,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ESTIMATED_ROW_PX,
    overscan: 8,
    // Start at the bottom, so the first range asked for is the newest messages, not the oldest.
    initialOffset: window.count * ESTIMATED_ROW_PX,
  });
  const items = virtualizer.getVirtualItems();
  const first = items[0]?.index ?? 0;
  const last = items[items.length - 1]?.index ?? 0;

  useEffect(() => {
    window.showRange(first, last);
  }, [window, first, last]);

  // Open at the newest message, and follow new ones while the reader is at the bottom, also when
  // a row turns out taller than estimated once measured (a long text).
  const totalSize = virtualizer.getTotalSize();
  useLayoutEffect(() => {
    if (window.count > 0 && atBottom.current) virtualizer.scrollToIndex(window.count - 1, { align: 'end' });
  }, [window.count, virtualizer]);
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (el && atBottom.current) el.scrollTop = el.scrollHeight;
  }, [totalSize]);

  const onScroll = () => {
    const el = scrollRef.current;
    if (el) atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < STICK_TO_BOTTOM_PX;
  };

  return (
    <div
      ref={scrollRef}
      className="message-scroll"
      onScroll={onScroll}
      role="log"
      aria-label="Messages"
      aria-live="polite"
      tabIndex={0}
      data-testid="message-list"
      data-count={window.count}
    >
      {window.ready && window.count === 0 && <p className="hint pad">No messages yet. Say hello.</p>}
      <div className="message-canvas" style={{ height: totalSize }}>
        {items.map((item) => {
          const message = window.at(item.index);
          return (
            <div
              key={item.key}
              data-index={item.index}
              ref={virtualizer.measureElement}
              className="message-row"
              style={{ transform: `translateY(${item.start}px)` }}
            >
              {message && <DaySeparator time={message.sortAt} previous={window.at(item.index - 1)?.sortAt} />}
              {message ? <MessageBubble message={message} /> : <div className="bubble skeleton" aria-hidden="true" />}
            </div>
          );
        })}
      </div>
    </div>
  );
}

const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });

/** A date line above the first message of each day. */
function DaySeparator({ time, previous }: { time: number; previous: number | undefined }) {
  const day = new Date(time).toDateString();
  if (previous !== undefined && new Date(previous).toDateString() === day) return null;
  return (
    <p className="day-separator">
      <span>{dayFormat.format(time)}</span>
    </p>
  );
}

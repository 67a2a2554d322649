import { memo } from 'react';
import type { MessageRecord } from '../db/records.js';
import { MessageBubble } from './MessageBubble.js';

const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });

/** Local calendar day of a timestamp, as a number that is equal for the same day. */
function dayNumber(ms: number): number {
  const d = new Date(ms);
  return d.getFullYear() * 10_000 + d.getMonth() * 100 + d.getDate();
}

interface MessageRowProps {
  /** Position among the rows the list placed (what the virtualiser measures by). */
  item: number;
  /** Position in the conversation, 0 = oldest message. */
  index: number;
  /** Top of the row inside the list canvas (px). */
  start: number;
  /** Undefined while the row's page is loading: a placeholder keeps its place. */
  message: MessageRecord | undefined;
  /** Time of the message above, to decide whether a day separator starts here. */
  previousAt: number | undefined;
  measure: (node: HTMLDivElement | null) => void;
}

/**
 * One positioned row of the virtual list. Memoised on primitive props and the message record
 * (records are reused between reads of a page), so scrolling renders only rows that enter.
 */
export const MessageRow = memo(function MessageRow({ item, index, start, message, previousAt, measure }: MessageRowProps) {
  const newDay = message !== undefined && (previousAt === undefined || dayNumber(previousAt) !== dayNumber(message.sortAt));
  return (
    <div ref={measure} data-item={item} data-index={index} className="message-row" style={{ transform: `translateY(${start}px)` }}>
      {newDay && (
        <p className="day-separator">
          <span>{dayFormat.format(message.sortAt)}</span>
        </p>
      )}
      {message ? <MessageBubble message={message} /> : <div className="bubble skeleton" aria-hidden="true" />}
    </div>
  );
});

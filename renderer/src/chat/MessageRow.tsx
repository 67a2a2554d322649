import { memo } from 'react';
import type { MessageRecord } from '../db/records.js';
import { MessageBubble } from './MessageBubble.js';
import { dayNumber, groupPosition } from './messageGroups.js';

const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });

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
  /** Whether this message continues the group of the one above, and the one below continues it. */
  joinsPrevious: boolean;
  joinsNext: boolean;
  /** The search text, whose matches are marked. */
  highlight: string;
  /** The message a search result opened. */
  targeted: boolean;
  measure: (node: HTMLDivElement | null) => void;
}

/**
 * One positioned row of the virtual list. Memoised on primitive props and the message record
 * (records are reused between reads of a page), so scrolling renders only rows that enter.
 */
export const MessageRow = memo(function MessageRow(props: MessageRowProps) {
  const { item, index, start, message, previousAt, joinsPrevious, joinsNext, highlight, targeted, measure } = props;
  const newDay = message !== undefined && (previousAt === undefined || dayNumber(previousAt) !== dayNumber(message.sortAt));
  const position = groupPosition(joinsPrevious, joinsNext);
  return (
    <div
      ref={measure}
      data-item={item}
      data-index={index}
      data-group={position}
      className={`message-row group-${position}`}
      style={{ transform: `translateY(${start}px)` }}
    >
      {newDay && (
        <p className="day-separator">
          <span>{dayFormat.format(message.sortAt)}</span>
        </p>
      )}
      {message?.kind === 'event' ? (
        <EventLine message={message} />
      ) : message ? (
        <MessageBubble message={message} group={position} highlight={highlight} targeted={targeted} />
      ) : (
        <div className="bubble skeleton" aria-hidden="true" />
      )}
    </div>
  );
});

/**
 * A line about the contact or us (a rename, a drop added or removed): centred and small like the day
 * separators, one line per change. Not a message: no bubble, no status, never unread.
 */
function EventLine({ message }: { message: MessageRecord }) {
  return (
    <div className="event-lines" data-testid="event-line" data-direction={message.direction}>
      {message.text.split('\n').map((line, i) => (
        <p key={i} className="day-separator">
          <span>{line}</span>
        </p>
      ))}
    </div>
  );
}

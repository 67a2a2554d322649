import { memo } from 'react';
import type { EngineBridge } from '../bridge/transport.js';
import { database } from '../db/database.js';
import { isArriving, partsStored } from '../db/incomingMessage.js';
import { cancelMessage, retryMessage } from '../db/outbox.js';
import type { MessageRecord, MessageStatus } from '../db/records.js';
import { FileCard } from '../files/FileCard.js';
import { useSession } from '../stores/sessionStore.js';
import { formatFullTime, formatMessageTime } from './formatTime.js';
import { LinkifiedText } from './LinkifiedText.js';
import { SendingStatus } from './SendingStatus.js';
import type { GroupPosition } from './messageGroups.js';

const statusLabel: Record<MessageStatus, string> = {
  queued: 'Queued',
  sending: 'Sending',
  posted: 'Sent',
  delivered: 'Delivered',
  failed: 'Failed',
  cancelled: 'Cancelled',
};
const statusMark: Record<MessageStatus, string> = {
  queued: '◷',
  sending: '◷',
  posted: '✓',
  delivered: '✓✓',
  failed: '!',
  cancelled: '–',
};

/**
 * The status in words: a message posted to several servers says how many took it ("Posted to 1 of 2
 * servers", then "2 of 2"); with one copy wanted it stays "Sent".
 */
export function statusText(message: Pick<MessageRecord, 'status' | 'copies'>): string {
  if (message.status === null) return '';
  const copies = message.copies;
  if (message.status === 'posted' && copies && copies.wanted > 1) {
    return `Posted to ${Math.min(copies.posted, copies.wanted)} of ${copies.wanted} servers`;
  }
  return statusLabel[message.status];
}

/** While a posted message is re-posted: until when, for the status's tooltip. */
function repostTitle(message: Pick<MessageRecord, 'status' | 'repost'>): string | null {
  if (message.status !== 'posted' || message.repost?.kind !== 'scheduled') return null;
  return `Posted again before the server could expire it, until a receipt comes (at most until ${formatFullTime(message.repost.until)}).`;
}

/**
 * A posted message the engine stopped re-posting without a receipt: a copy may still be on a server,
 * but nothing keeps it there. Null otherwise (and after the user's own Cancel, which says enough).
 */
export function repostEnded(message: Pick<MessageRecord, 'status' | 'repost'>): string | null {
  const repost = message.repost;
  if (message.status !== 'posted' || repost?.kind !== 'ended') return null;
  if (repost.why === 'timeLimit') return 'No receipt came in all the time it was posted again: it may not have arrived.';
  if (repost.why === 'storageLimit') return 'No longer posted again: too many messages were waiting for receipts. It may not have arrived.';
  return null;
}

/** Statuses that are shown on every message, also inside a group: they ask for attention. */
const STATUS_ALWAYS_SHOWN = new Set<MessageStatus>(['queued', 'sending', 'failed', 'cancelled']);

interface MessageBubbleProps {
  message: MessageRecord;
  /** Its place among consecutive messages of one sender: only the last of a group shows the time line. */
  group?: GroupPosition;
  /** The search text, whose matches are marked. */
  highlight?: string;
  /** The message a search result opened. */
  targeted?: boolean;
}

/** One message: text, a shared file, a long text still arriving, or an unsupported type. */
export const MessageBubble = memo(function MessageBubble({ message, group = 'single', highlight = '', targeted = false }: MessageBubbleProps) {
  const outgoing = message.direction === 'out';
  const endsGroup = group === 'single' || group === 'last';
  const showMeta = endsGroup || (message.status !== null && STATUS_ALWAYS_SHOWN.has(message.status));
  return (
    <article
      className={`bubble ${outgoing ? 'out' : 'in'} group-${group}${targeted ? ' search-target' : ''}`}
      data-testid="message"
      data-direction={message.direction}
      data-status={message.status ?? undefined}
      data-search-target={targeted || undefined}
      aria-label={outgoing ? 'You' : 'Contact'}
    >
      <MessageBody message={message} highlight={highlight} />
      {message.unconfirmedSession && (
        <p className="bubble-note" data-testid="unconfirmed-session">
          Sent in the new secure session you were asked to accept: only the contact’s identity key vouches for it.
        </p>
      )}
      <footer className={showMeta ? 'bubble-meta' : 'visually-hidden'}>
        <time dateTime={new Date(message.sortAt).toISOString()} title={formatFullTime(message.sortAt)}>
          {formatMessageTime(message.sortAt)}
        </time>
        {outgoing && message.status && (
          <span className={`status status-${message.status}`} data-testid="message-status" title={message.error ?? repostTitle(message) ?? undefined}>
            <span aria-hidden="true">{statusMark[message.status]}</span> {statusText(message)}
          </span>
        )}
        {/* Sibling sync: sent by another device of this identity; its progress is what this device learned. */}
        {outgoing && message.sentFrom && (
          <span className="sent-from" data-testid="sent-from-device" title="Sent from another of your devices">
            · from another device
          </span>
        )}
      </footer>
      {/* A file's card has its own actions: retrying or cancelling a file is not retrying a text. */}
      {outgoing && message.status === 'failed' && message.kind !== 'share' && <FailedActions message={message} />}
      {outgoing && message.status === 'sending' && <SendingStatus message={message} />}
      {outgoing && message.status === 'posted' && repostEnded(message) && (
        <p className="bubble-note" data-testid="repost-ended">
          {repostEnded(message)}
        </p>
      )}
      {outgoing && (message.status === 'queued' || message.status === 'sending') && message.kind !== 'share' && <CancelAction message={message} />}
    </article>
  );
});

function MessageBody({ message, highlight }: { message: MessageRecord; highlight: string }) {
  if (message.parts && isArriving(message)) {
    return (
      <p className="placeholder" data-testid="long-text-arriving">
        Receiving a long message ({partsStored(message.parts)} of {message.parts.count} parts)…
      </p>
    );
  }
  if (message.kind === 'share') return <FileCard message={message} highlight={highlight} />;
  if (message.kind === 'unsupported') {
    return (
      <p className="placeholder" data-testid="unsupported-message">
        This message ({message.payloadType.slice(0, 64) || 'unknown type'}) cannot be shown by this version of Deaddrop.
      </p>
    );
  }
  return (
    // dir="auto": an Arabic or Hebrew message starts at the right, as its first letter says.
    <p className="message-text" dir="auto" data-testid="message-text">
      <LinkifiedText text={message.text} highlight={highlight} />
    </p>
  );
}

function FailedActions({ message }: { message: MessageRecord }) {
  const bridge = useSession((s) => s.bridge);
  return (
    <div className="bubble-actions">
      {message.error && <p className="error-text">{message.error}</p>}
      {bridge && <FailedButtons message={message} bridge={bridge} />}
    </div>
  );
}

function FailedButtons({ message, bridge }: { message: MessageRecord; bridge: EngineBridge }) {
  return (
    <>
      <button type="button" onClick={() => void retryMessage(database(), bridge, message.id)}>
        Retry
      </button>
      <button type="button" onClick={() => void cancelMessage(database(), bridge, message.id)}>
        Cancel
      </button>
    </>
  );
}

function CancelAction({ message }: { message: MessageRecord }) {
  const bridge = useSession((s) => s.bridge);
  if (!bridge) return null;
  return (
    <div className="bubble-actions">
      <button type="button" className="ghost small" onClick={() => void cancelMessage(database(), bridge, message.id)}>
        Cancel sending
      </button>
    </div>
  );
}

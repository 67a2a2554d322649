import { useDeferredValue, useRef } from 'react';
import { VirtualList } from '../components/VirtualList.js';
import { database } from '../db/database.js';
import { useSearchIndex } from '../db/messageSearch.js';
import { useLiveQuery } from '../db/useLiveQuery.js';
import { useUi } from '../stores/uiStore.js';
import { type ConversationRow, listConversations, newestMessageFailed } from './conversationQueries.js';
import { formatMessageTime } from './formatTime.js';
import { KeyAvatar } from '../components/KeyAvatar.js';
import { HighlightedText, textAroundMatch } from '../components/HighlightedText.js';
import { useSearchJump } from './chatIntents.js';
import { withoutBidiFormatting } from './bidiText.js';

/** A conversation row's height before it is measured (two lines of text and padding). */
const CONVERSATION_ROW_PX = 64;

/** Left pane: search and the conversations of the active identity, virtualised (the list may be long). */
export function ConversationList({ identityId }: { identityId: string }) {
  const search = useUi((s) => s.search);
  const setSearch = useUi((s) => s.setSearch);
  const deferredSearch = useDeferredValue(search);
  const index = useSearchIndex();
  // Searching reads the in-memory index too: a search runs again as the index grows.
  const indexVersion = deferredSearch.trim() === '' ? 0 : index.version;
  const rows = useLiveQuery(() => listConversations(database(), identityId, deferredSearch), [identityId, deferredSearch, indexVersion], null);
  const scrollRef = useRef<HTMLDivElement>(null);

  return (
    <aside className="sidebar" aria-label="Conversations">
      <div className="sidebar-head">
        <h2>Chats</h2>
        <label htmlFor="conversation-search" className="visually-hidden">
          Search contacts and messages
        </label>
        <input
          id="conversation-search"
          type="search"
          placeholder="Search"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
          data-index-ready={index.ready}
        />
        {search && !index.ready && (
          <p className="hint" role="status">
            Still reading your messages for search ({index.indexed.toLocaleString()} so far)…
          </p>
        )}
      </div>
      {rows && rows.length === 0 && (
        <p className="hint pad">{search ? 'Nothing matches your search.' : 'No conversations yet. Add a contact to start one.'}</p>
      )}
      <div className="conversation-list" ref={scrollRef}>
        <VirtualList
          className="plain-list"
          items={rows ?? []}
          itemKey={(row) => row.contact.publicKey}
          estimatePx={CONVERSATION_ROW_PX}
          scrollElement={() => scrollRef.current}
          renderItem={(row) => <ConversationItem row={row} query={deferredSearch} />}
        />
      </div>
    </aside>
  );
}

function ConversationItem({ row, query }: { row: ConversationRow; query: string }) {
  const selected = useUi((s) => s.selectedContactKey === row.contact.publicKey);
  const open = useUi((s) => s.openConversation);
  const { conversation, contact, match } = row;
  const unread = conversation.unreadCount;
  // Only rows on screen ask (the list is virtualised), and only when the newest message is ours.
  const outgoing = conversation.lastMessageDirection === 'out';
  const failed = useLiveQuery(
    () => (outgoing ? newestMessageFailed(database(), contact.identityId, contact.publicKey) : Promise.resolve(false)),
    [outgoing, contact.identityId, contact.publicKey, conversation.lastMessageAt],
    false,
  );
  // The preview is a stranger's text: its own isolate, without overrides that would reorder it.
  const previewText = withoutBidiFormatting(conversation.lastMessagePreview);
  const preview = outgoing ? (
    <>
      {failed ? <span className="preview-failed" data-testid="preview-failed">Not sent: </span> : 'You: '}
      <bdi>{previewText}</bdi>
    </>
  ) : (
    <bdi>{previewText}</bdi>
  );
  const choose = () => {
    // A result found in a message opens the conversation at that message.
    useSearchJump.setState({ target: match ? { contactKey: contact.publicKey, messageId: match.id } : null });
    open(contact.publicKey);
  };
  return (
    <button
      type="button"
      className="conversation-item"
      aria-current={selected ? 'true' : undefined}
      onClick={choose}
      data-testid="conversation-item"
    >
      <KeyAvatar publicKey={contact.publicKey} />
      <span className="conversation-text">
        <span className="conversation-top">
          <span className="conversation-name">
            <HighlightedText text={contact.alias} query={query} />
          </span>
          <time dateTime={new Date(conversation.lastMessageAt).toISOString()}>{formatMessageTime(conversation.lastMessageAt)}</time>
        </span>
        <span className="conversation-bottom">
          <span className="conversation-preview" data-testid={match ? 'search-result-text' : undefined}>
            {contact.status === 'unknown' && <span className="tag">Request</span>}{' '}
            {match ? (
              <bdi>
                <HighlightedText text={withoutBidiFormatting(textAroundMatch(match.text, query))} query={query} />
              </bdi>
            ) : (
              preview
            )}
          </span>
          {unread > 0 && (
            <span className="badge" aria-label={`${unread} unread`}>
              {unread}
            </span>
          )}
        </span>
      </span>
    </button>
  );
}

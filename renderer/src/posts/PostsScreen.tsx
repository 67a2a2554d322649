import { type FormEvent, useEffect, useId, useState } from 'react';
import type { IdentitySummary } from '../../../shared/ipc/contract.js';
import { LinkifiedText } from '../chat/LinkifiedText.js';
import { formatFullTime, formatMessageTime } from '../chat/formatTime.js';
import { ErrorText } from '../components/ErrorText.js';
import { KeyAvatar } from '../components/KeyAvatar.js';
import { database } from '../db/database.js';
import {
  type FeedItem, MAX_POST_LENGTH, listFeed, markPostsRead, progressOf, progressText, publishPost, retryPost, unreadPostCount,
} from '../db/posts.js';
import type { ContactRecord } from '../db/records.js';
import { useLiveQuery } from '../db/useLiveQuery.js';
import { useSession } from '../stores/sessionStore.js';
import { useUi } from '../stores/uiStore.js';

/**
 * Posts: short texts an identity sends to its contacts (all accepted and verified ones, or some of
 * them), and the feed of what its contacts posted, newest first. Looking at the feed reads it.
 */
export function PostsScreen({ identity: active }: { identity: IdentitySummary }) {
  const identities = useSession((s) => s.identities) ?? [];
  const [chosenId, setChosenId] = useState(active.id);
  const identity = identities.find((i) => i.id === chosenId) ?? active;
  const selectId = useId();
  const db = database();
  const feed = useLiveQuery(() => listFeed(db, identity.id), [identity.id], null as FeedItem[] | null);
  const unread = useLiveQuery(() => unreadPostCount(db, identity.id), [identity.id], 0);

  // The feed is on screen: what arrives while it is open is read too.
  useEffect(() => {
    if (unread > 0) void markPostsRead(db, identity.id);
  }, [db, identity.id, unread]);

  return (
    <div className="page">
      <h1>Posts</h1>
      <p className="hint">
        A post goes to your contacts as a message to each of them. Only they can read it; each copy travels on its own.
      </p>
      {identities.length > 1 && (
        <div className="stack">
          <label htmlFor={selectId}>Post as and show the posts of</label>
          <select id={selectId} value={identity.id} onChange={(e) => setChosenId(e.target.value)}>
            {identities.map((i) => (
              <option key={i.id} value={i.id}>
                {i.alias}
              </option>
            ))}
          </select>
        </div>
      )}
      <PostForm key={identity.id} identity={identity} />
      <section aria-labelledby="feed-title">
        <h2 id="feed-title">Feed of {identity.alias}</h2>
        {feed && feed.length === 0 && <p className="hint">No posts yet. What your contacts post shows here.</p>}
        <ul className="plain-list post-list" aria-label="Posts">
          {(feed ?? []).map((item) => (
            <PostItem key={item.post.id} item={item} identity={identity} />
          ))}
        </ul>
      </section>
    </div>
  );
}

function PostForm({ identity }: { identity: IdentitySummary }) {
  const db = database();
  const bridge = useSession((s) => s.bridge);
  const formId = useId();
  const [text, setText] = useState('');
  const [everyone, setEveryone] = useState(true);
  const [chosen, setChosen] = useState<ReadonlySet<string>>(new Set());
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const contacts = useLiveQuery(
    async () => {
      const list = await db.contacts
        .where('[identityId+status]')
        .anyOf([
          [identity.id, 'accepted'],
          [identity.id, 'verified'],
        ])
        .toArray();
      return list.filter((c) => c.dropUrls.length > 0).sort((a, b) => a.alias.localeCompare(b.alias));
    },
    [identity.id],
    [] as ContactRecord[],
  );
  const recipients = everyone ? contacts : contacts.filter((c) => chosen.has(c.publicKey));
  const length = text.trim().length;
  const tooLong = text.length > MAX_POST_LENGTH;

  const toggle = (publicKey: string, on: boolean) => {
    const next = new Set(chosen);
    if (on) next.add(publicKey);
    else next.delete(publicKey);
    setChosen(next);
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!bridge || busy || length === 0 || tooLong || recipients.length === 0) return;
    setBusy(true);
    setError(null);
    try {
      await publishPost(db, bridge, identity.id, text, recipients);
      setText('');
      useUi.getState().notify('info', `Your post is on its way to ${recipients.length} ${recipients.length === 1 ? 'contact' : 'contacts'}.`);
    } catch (err) {
      setError(err instanceof Error ? err.message : 'The post could not be sent.');
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="panel stack" onSubmit={submit} aria-labelledby={`${formId}-title`}>
      <h2 id={`${formId}-title`}>New post</h2>
      <label htmlFor={`${formId}-text`}>Your post</label>
      <textarea
        id={`${formId}-text`}
        rows={3}
        value={text}
        onChange={(e) => setText(e.target.value)}
        aria-describedby={`${formId}-count`}
        aria-invalid={tooLong}
      />
      <p id={`${formId}-count`} className={tooLong ? 'error-text' : 'hint'} data-testid="post-counter">
        {text.length} of {MAX_POST_LENGTH} characters
      </p>
      {contacts.length === 0 ? (
        <p className="hint">{identity.alias} has no accepted contacts yet: add a contact to post to them.</p>
      ) : (
        <fieldset className="stack">
          <legend>Send to</legend>
          <label className="choice">
            <input type="checkbox" checked={everyone} onChange={(e) => setEveryone(e.target.checked)} />
            <span>All {contacts.length} contacts</span>
          </label>
          {!everyone &&
            contacts.map((c) => (
              <label key={c.publicKey} className="choice">
                <input type="checkbox" checked={chosen.has(c.publicKey)} onChange={(e) => toggle(c.publicKey, e.target.checked)} />
                <span>{c.alias}</span>
              </label>
            ))}
        </fieldset>
      )}
      <ErrorText message={error} />
      <button type="submit" className="primary" disabled={!bridge || busy || length === 0 || tooLong || recipients.length === 0}>
        {busy ? 'Posting…' : 'Post'}
      </button>
    </form>
  );
}

function PostItem({ item, identity }: { item: FeedItem; identity: IdentitySummary }) {
  const { post, author, copies } = item;
  const own = post.direction === 'out';
  return (
    <li className="identity-row post" data-testid="post" data-direction={post.direction}>
      <div className="identity-main">
        <KeyAvatar publicKey={own ? identity.publicKey : post.authorKey} />
        <div>
          <strong>{own ? `${identity.alias} (you)` : (author?.alias ?? 'Unknown')}</strong>{' '}
          <time className="hint" dateTime={new Date(post.sortAt).toISOString()} title={formatFullTime(post.sortAt)}>
            {formatMessageTime(post.sortAt)}
          </time>
          <p className="message-text" dir="auto">
            <LinkifiedText text={post.text} />
          </p>
          {own && <OwnPostProgress postRowId={post.id} copies={copies} />}
        </div>
      </div>
    </li>
  );
}

function OwnPostProgress({ postRowId, copies }: { postRowId: string; copies: FeedItem['copies'] }) {
  const bridge = useSession((s) => s.bridge);
  const progress = progressOf(copies);
  const open = progress.waiting + progress.failed > 0;
  return (
    <div className="button-row">
      <span className="hint" role="status" data-testid="post-progress">
        {progressText(progress)}
      </span>
      {open && bridge && (
        <button type="button" onClick={() => void retryPost(database(), bridge, postRowId)}>
          Retry now
        </button>
      )}
    </div>
  );
}

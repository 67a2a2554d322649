import { database } from '../db/database.js';
import { unreadPostCount } from '../db/posts.js';
import { useLiveQuery } from '../db/useLiveQuery.js';
import { useActiveIdentity, useSession } from '../stores/sessionStore.js';
import { useUnreadCounts } from './unreadCounts.js';
import { type Place, useUi } from '../stores/uiStore.js';
import { KeyAvatar } from '../components/KeyAvatar.js';
import { RailIcon } from '../components/RailIcon.js';

const items: Array<{ view: Place; label: string }> = [
  { view: 'chats', label: 'Chats' },
  { view: 'posts', label: 'Posts' },
  { view: 'shares', label: 'Shares' },
  { view: 'contacts', label: 'Contacts' },
  { view: 'identities', label: 'Identities' },
  { view: 'settings', label: 'Settings' },
];

/**
 * Identity switcher and the six main places. In a narrow window the rail shows icons only: each
 * entry keeps its name for screen readers and as a tooltip, and the switcher shows the active
 * identity's avatar over the (invisible) list it opens.
 */
export function NavRail() {
  const identities = useSession((s) => s.identities) ?? [];
  const active = useActiveIdentity();
  const view = useUi((s) => s.view);
  const setView = useUi((s) => s.setView);
  const unread = useUnreadCounts().byIdentity;
  const requests = useLiveQuery(
    async () => (active ? database().contacts.where('identityId').equals(active.id).filter((c) => c.status === 'unknown').count() : 0),
    [active?.id],
    0,
  );
  const unreadPosts = useLiveQuery(async () => (active ? unreadPostCount(database(), active.id) : 0), [active?.id], 0);

  return (
    <nav className="rail" aria-label="Main">
      <div className="rail-identity" title={active ? `Active identity: ${active.alias}` : undefined}>
        {active && <KeyAvatar publicKey={active.publicKey} size={34} />}
        <label htmlFor="identity-switcher" className="visually-hidden">
          Active identity
        </label>
        <select
          id="identity-switcher"
          value={active?.id ?? ''}
          onChange={(e) => {
            useSession.getState().setActiveIdentity(e.target.value);
            useUi.getState().openConversation(null);
          }}
        >
          {identities.map((i) => (
            // The closed switcher shows the active identity in a 12rem rail: its name alone, so it is not
            // cut to "Alice (1 …"; its unread count is on Chats. The others' counts show in the open list.
            <option key={i.id} value={i.id}>
              {i.alias}
              {i.id !== active?.id && (unread.get(i.id) ?? 0) > 0 ? ` (${unread.get(i.id)} unread)` : ''}
            </option>
          ))}
        </select>
      </div>
      <ul>
        {items.map((item) => (
          <li key={item.view}>
            <button
              type="button"
              className="rail-button"
              aria-current={view === item.view ? 'page' : undefined}
              onClick={() => setView(item.view)}
              title={item.label}
            >
              <RailIcon view={item.view} />
              <span className="rail-label">{item.label}</span>
              {item.view === 'chats' && active && (unread.get(active.id) ?? 0) > 0 && (
                <span className="badge" aria-label={`${unread.get(active.id)} unread messages`} data-testid="chats-unread">
                  {unread.get(active.id)}
                </span>
              )}
              {item.view === 'posts' && unreadPosts > 0 && (
                <span className="badge" aria-label={`${unreadPosts} unread posts`} data-testid="posts-unread">
                  {unreadPosts}
                </span>
              )}
              {item.view === 'contacts' && requests > 0 && (
                <span className="badge" aria-label={`${requests} contact requests`}>
                  {requests}
                </span>
              )}
            </button>
          </li>
        ))}
      </ul>
    </nav>
  );
}

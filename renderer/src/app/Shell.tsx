import { ChatView } from '../chat/ChatView.js';
import { ConversationList } from '../chat/ConversationList.js';
import { ContactsScreen } from '../contacts/ContactsScreen.js';
import { IdentitiesScreen } from '../identities/IdentitiesScreen.js';
import { PostsScreen } from '../posts/PostsScreen.js';
import { SettingsScreen } from '../settings/SettingsScreen.js';
import { SharesScreen } from '../shares/SharesScreen.js';
import { ShareSync } from '../shares/ShareSync.js';
import { useActiveIdentity } from '../stores/sessionStore.js';
import { useUi } from '../stores/uiStore.js';
import { ConnectionBanner } from './ConnectionBanner.js';
import { DeviceAlarmBanner } from '../devices/DevicesPanelAlarm.js';
import { NavRail } from './NavRail.js';
import { NoticeArea } from './NoticeArea.js';
import { ServerBanner } from './ServerBanner.js';

/** The messenger once an identity exists: navigation rail, list pane, content pane. */
export function Shell() {
  const identity = useActiveIdentity();
  const view = useUi((s) => s.view);
  const selected = useUi((s) => s.selectedContactKey);
  if (!identity) return null;
  return (
    <div className="shell">
      <ShareSync identityId={identity.id} />
      <NavRail />
      {view === 'chats' && (
        <>
          <ConversationList identityId={identity.id} />
          <main className="content" aria-label="Conversation">
            <NoticeArea placement="inline" />
            <ConnectionBanner />
            <DeviceAlarmBanner />
            <ServerBanner />
            {selected ? (
              <ChatView key={`${identity.id}:${selected}`} identityId={identity.id} contactKey={selected} />
            ) : (
              <div className="empty-state">
                <h1>No conversation open</h1>
                <p>Choose a conversation, or add a contact to start one.</p>
              </div>
            )}
          </main>
        </>
      )}
      {view !== 'chats' && (
        <main className="content wide" aria-label={view}>
          <NoticeArea placement="inline" />
          <ConnectionBanner />
          {view !== 'settings' && <DeviceAlarmBanner />}
          {view === 'posts' && <PostsScreen key={identity.id} identity={identity} />}
          {view === 'shares' && <SharesScreen key={identity.id} identity={identity} />}
          {view === 'contacts' && <ContactsScreen identity={identity} />}
          {view === 'identities' && <IdentitiesScreen />}
          {view === 'settings' && <SettingsScreen />}
        </main>
      )}
    </div>
  );
}

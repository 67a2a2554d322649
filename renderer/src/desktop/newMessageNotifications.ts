/**
 * System notifications for messages the UI has just stored. The UI decides (DESIGN.md, "Who owns which
 * state"): it knows the contacts (ignored and blocked senders raise none), what is on screen, and what
 * was stored for the first time (a batch delivered again announces nothing twice). The shell only
 * shows what it is asked to (`notifications/show`).
 */
import type { ConversationRef, EventMap, NotificationPreview } from '../../../shared/ipc/contract.js';
import type { EngineBridge } from '../bridge/transport.js';
import type { DeaddropDatabase } from '../db/database.js';
import type { MessageRecord } from '../db/records.js';
import { hasCapability, useSession } from '../stores/sessionStore.js';
import { useUi } from '../stores/uiStore.js';
import { notificationText } from './notificationText.js';

const SILENT_STATUSES = new Set(['ignored', 'blocked']);

/**
 * Runs `write` (which stores `batch`) and tells which message rows it stored for messages not seen
 * before: the seen table maps each dedupe key to the row its message went into ('' for a blocked
 * sender's, which is not stored).
 */
export async function withNewlyStored<T>(
  db: DeaddropDatabase,
  batch: EventMap['inbox/batch'],
  write: () => Promise<T>,
): Promise<{ result: T; stored: string[] }> {
  const keys = batch.messages.map((m): [string, string] => [m.identityId, m.dedupeKey]);
  const before = await db.seen.bulkGet(keys);
  const result = await write();
  const after = await db.seen.bulkGet(keys);
  const stored = new Set<string>();
  after.forEach((seen, i) => {
    if (!before[i] && seen?.messageId) stored.add(seen.messageId);
  });
  return { result, stored: [...stored] };
}

/** The conversation the user is looking at: open, in a visible and focused window. */
export function conversationOnScreen(): ConversationRef | null {
  if (document.visibilityState !== 'visible' || !document.hasFocus()) return null;
  const identityId = useSession.getState().activeIdentityId;
  const { view, selectedContactKey } = useUi.getState();
  return identityId && view === 'chats' && selectedContactKey ? { identityId, contactKey: selectedContactKey } : null;
}

/** A flood of senders must not become a flood of notifications: this many conversations per batch at most. */
export const MAX_NOTIFICATIONS_PER_BATCH = 3;

/**
 * Asks the shell for a notification per conversation with newly stored messages that deserve one:
 * the newest message of each, and at most MAX_NOTIFICATIONS_PER_BATCH conversations per batch.
 */
export async function notifyNewMessages(bridge: EngineBridge, db: DeaddropDatabase, messageIds: readonly string[]): Promise<void> {
  if (messageIds.length === 0 || !hasCapability('notifications')) return;
  const onScreen = conversationOnScreen();
  let preview: NotificationPreview | null = null;
  const stored = (await db.messages.bulkGet([...messageIds])).filter((m): m is MessageRecord => m !== undefined && isAnnounced(m));
  const notified = new Set<string>();
  for (const message of stored.sort((a, b) => b.sortAt - a.sortAt)) {
    if (notified.size >= MAX_NOTIFICATIONS_PER_BATCH) break;
    const conversation = { identityId: message.identityId, contactKey: message.contactKey };
    const id = `${conversation.identityId}:${conversation.contactKey}`;
    if (notified.has(id)) continue;
    if (onScreen?.identityId === conversation.identityId && onScreen.contactKey === conversation.contactKey) continue;
    const contact = await db.contacts.get([conversation.identityId, conversation.contactKey]);
    if (contact && SILENT_STATUSES.has(contact.status)) continue;
    notified.add(id);
    preview ??= await notificationPreview(bridge);
    await bridge.invoke('notifications/show', { ...notificationText(message, contact, preview), conversation });
  }
}

/** Chat texts and shared files, once complete: a long text is announced when its last part is in. */
function isAnnounced(message: MessageRecord): boolean {
  if (message.direction !== 'in' || message.kind === 'unsupported' || message.kind === 'event') return false;
  return message.parts === null || message.text !== '';
}

/** The privacy level the user chose; the least revealing one when it cannot be read. */
async function notificationPreview(bridge: EngineBridge): Promise<NotificationPreview> {
  if (!hasCapability('desktopSettings')) return 'nothing';
  const settings = await bridge.invoke('desktop/getSettings', {});
  return settings.ok ? settings.value.notificationPreview : 'nothing';
}

import type { EventMap, IncomingMessage } from '../../shared/ipc/contract.js';
import type { ConversationRef, NotificationPreview } from '../../shared/ipc/desktopContract.js';
import { RecentKeys } from './recentKeys.js';
import { flattenUnsafe } from '../../shared/text/untrustedText.js';

export interface PlannedNotification {
  title: string;
  body: string;
  conversation: ConversationRef;
}

/** What the shell knows about the screen when a batch arrives. */
export interface ScreenState {
  /** The conversation the UI shows, if the window is visible and focused. */
  conversationOnScreen: ConversationRef | null;
  preview: NotificationPreview;
  /** Names the user gave contacts (reported by the UI), by contact public key. */
  contactNames: ReadonlyMap<string, string>;
}

const MAX_BODY_CHARS = 180;

/**
 * Control and bidirectional-override characters let a sender reorder or hide parts of what the OS
 * shows (e.g. flip "(unverified)" or fake a second line): they never reach a notification.
 */
const plainText = flattenUnsafe;

function senderName(message: IncomingMessage, names: ReadonlyMap<string, string>): string {
  const saved = plainText(names.get(message.senderKey) ?? '');
  if (saved) return saved;
  const claimed = plainText(message.meta?.alias ?? '');
  // The alias in meta_data is the sender's own claim: mark it so it is not mistaken for a verified contact.
  if (claimed) return `${claimed.slice(0, 64)} (unverified)`;
  return `Unknown contact ${message.senderKey.slice(0, 8)}`;
}

function previewText(message: IncomingMessage): string {
  if (message.type === 'box_share_notification') return message.share ? `Shared a file: ${plainText(message.share.file)}` : 'Shared a file';
  const text = plainText(message.text ?? '');
  return text.length > MAX_BODY_CHARS ? `${text.slice(0, MAX_BODY_CHARS - 1)}…` : text;
}

function isNotifiable(message: IncomingMessage): boolean {
  return message.type === 'box_message' || message.type === 'box_share_notification';
}

function sameConversation(a: ConversationRef | null, b: ConversationRef): boolean {
  return a !== null && a.identityId === b.identityId && a.contactKey === b.contactKey;
}

/**
 * Decides which notifications a batch deserves: one per new message (a text split into parts counts
 * once), none for messages already announced (batches are redelivered until acknowledged), none for
 * the conversation on screen, and only as much content as the privacy setting allows.
 */
export class NotificationPlanner {
  private readonly announced = new RecentKeys(5_000);

  plan(batch: EventMap['inbox/batch'], screen: ScreenState): PlannedNotification[] {
    const planned: PlannedNotification[] = [];
    for (const message of batch.messages) {
      if (!isNotifiable(message) || !this.announced.add(announceKey(message))) continue;
      const conversation = { identityId: message.identityId, contactKey: message.senderKey };
      if (sameConversation(screen.conversationOnScreen, conversation)) continue;
      planned.push({ ...notificationText(message, screen), conversation });
    }
    return planned;
  }
}

/** Signal's three levels: name and text, name only, or neither (a bare "new message"). */
function notificationText(message: IncomingMessage, screen: ScreenState): { title: string; body: string } {
  switch (screen.preview) {
    case 'nameAndText':
      return { title: senderName(message, screen.contactNames), body: previewText(message) };
    case 'nameOnly':
      return { title: senderName(message, screen.contactNames), body: 'New message' };
    case 'nothing':
      return { title: 'Deaddrop', body: 'New message' };
  }
}

/** The parts of one long text share a group id: they count and are announced once. */
export function announceKey(message: IncomingMessage): string {
  return message.part ? `group:${message.senderKey}:${message.part.groupId}` : message.dedupeKey;
}

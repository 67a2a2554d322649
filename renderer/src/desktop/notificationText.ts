import type { NotificationPreview } from '../../../shared/ipc/contract.js';
import { flattenUnsafe } from '../../../shared/text/untrustedText.js';
import type { ContactRecord, MessageRecord } from '../db/records.js';

const MAX_NAME_CHARS = 64;
const MAX_BODY_CHARS = 180;
/** The name of an accepted or verified contact is one the user took; anyone else's is their own claim. */
const NAMED_BY_USER = new Set(['accepted', 'verified']);

export interface NotificationText {
  title: string;
  body: string;
}

/**
 * What a notification about `message` shows at the user's privacy level (Signal's three: name and
 * text, name only, or neither). Names and texts come from strangers in part: control and bidi
 * characters, which could reorder or fake lines in what the OS shows, become spaces, and a name the
 * user did not confirm is marked as unverified.
 */
export function notificationText(message: MessageRecord, contact: ContactRecord | undefined, preview: NotificationPreview): NotificationText {
  if (preview === 'nothing') return { title: 'Deaddrop', body: 'New message' };
  return { title: senderName(message, contact), body: preview === 'nameAndText' ? previewText(message) : 'New message' };
}

function senderName(message: MessageRecord, contact: ContactRecord | undefined): string {
  const name = flattenUnsafe(contact?.alias ?? '').slice(0, MAX_NAME_CHARS);
  if (!name) return `Unknown contact ${message.contactKey.slice(0, 8)}`;
  return contact && NAMED_BY_USER.has(contact.status) ? name : `${name} (unverified)`;
}

function previewText(message: MessageRecord): string {
  const text = message.kind === 'share' ? `Shared a file: ${message.share?.file ?? ''}` : message.text;
  const flat = flattenUnsafe(text);
  return flat.length > MAX_BODY_CHARS ? `${flat.slice(0, MAX_BODY_CHARS - 1)}…` : flat;
}

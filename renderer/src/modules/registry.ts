/**
 * The UI's half of the payload modules (shared/modules/registry.ts): for each `drop_payload_type`
 * the engine decodes, where an incoming message is stored and how a stored row is previewed. The
 * inbox writer (db/inboxChunk.ts) dispatches through `storageOf`; adding a module is one entry here.
 *
 * - chat rows (`messages`, one MessageKind each): chat texts (long ones in parts), shared-file notices,
 *   and anything of a type no module reads (kept raw, shown as unsupported);
 * - contact updates: applied to the sender's contact record, with an `event` line in the conversation;
 * - microblog posts: the `posts` table, never the chat;
 * - announcements of shared folders (a share notice with `share` set): the `shares` table, never the chat.
 */
import type { MessageContent } from '../../../shared/ipc/contract.js';
import type { ContactUpdateContent } from '../../../shared/modules/contactUpdate.js';
import type { MicroblogContent } from '../../../shared/modules/microblog.js';
import type { MessageKind, MessageRecord } from '../db/records.js';
import type { ShareNotice } from '../shares/shareRecords.js';

/** A chat row's fields as a module fills them. */
export interface ChatFields {
  kind: MessageKind;
  text: string;
  share: MessageRecord['share'];
  /** Set for one piece of a long text: the pieces are joined into one row. */
  part: { group: string; index: number; count: number } | null;
}

/** Where one incoming message goes, with what that place needs of it. */
export type Storage =
  | { table: 'messages'; fields: ChatFields }
  | { table: 'contacts'; update: ContactUpdateContent }
  | { table: 'posts'; post: MicroblogContent }
  | { table: 'shares'; notice: ShareNotice };

type Modules = { [T in MessageContent['type']]: (content: Extract<MessageContent, { type: T }>) => Storage };

const UNSUPPORTED: ChatFields = { kind: 'unsupported', text: '', share: null, part: null };

const modules: Modules = {
  box_message: (c) => ({ table: 'messages', fields: { kind: 'text', text: c.msg, share: null, part: c.part } }),
  box_share_notification: (c) =>
    c.share
      ? { table: 'shares', notice: { ...c, share: c.share } }
      : { table: 'messages', fields: { kind: 'share', text: c.msg, share: { file: c.file, url: c.url, size: c.size }, part: null } },
  box_contact_update: (update) => ({ table: 'contacts', update }),
  box_microblog: (post) => ({ table: 'posts', post }),
  // Sibling sync never becomes a row: devices/siblingSync.ts applies it before the writer runs.
  box_sync: () => ({ table: 'messages', fields: UNSUPPORTED }),
  // Nor a key rotation: devices/keyRotation.ts applies it to the contact before the writer runs.
  box_key_rotate: () => ({ table: 'messages', fields: UNSUPPORTED }),
  unsupported: () => ({ table: 'messages', fields: UNSUPPORTED }),
};

/** Where `content` is stored, by its module. */
export function storageOf(content: MessageContent): Storage {
  const store = modules[content.type] as ((content: MessageContent) => Storage) | undefined;
  // A content type this build has no entry for is shown like an unknown payload type.
  return store ? store(content) : { table: 'messages', fields: UNSUPPORTED };
}

type Previewed = Pick<MessageRecord, 'kind' | 'text' | 'share'>;

/** How each kind of chat row is previewed in the conversation list (a long text still arriving aside). */
export const previews: Record<MessageKind, (record: Previewed) => string> = {
  text: (record) => oneLine(record.text),
  share: (record) => `Shared file: ${record.share?.file ?? ''}`,
  unsupported: () => 'Unsupported message',
  event: (record) => oneLine(record.text),
};

function oneLine(text: string): string {
  return text.slice(0, 140).replace(/\s+/g, ' ');
}

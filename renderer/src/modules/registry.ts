/**
 * The UI's half of the payload modules (shared/modules/registry.ts): for each `drop_payload_type`
 * the engine decodes, where an incoming message is stored and how a stored row is previewed. The
 * inbox writer (db/inboxChunk.ts) dispatches through `storageOf`; adding a module is one entry here.
 *
 * - chat rows (`messages`, one MessageKind each): chat texts (long ones in parts), shared-file notices,
 *   and anything of a type no module reads (kept raw, shown as unsupported);
 * - contact updates: applied to the sender's contact record, with an `event` line in the conversation;
 * - microblog posts: the `posts` table, never the chat.
 */
import type { MessageContent } from '../../../shared/ipc/contract.js';
import type { MessageKind, MessageRecord } from '../db/records.js';

/** A chat row's fields as a module fills them. */
export interface ChatFields {
  kind: MessageKind;
  text: string;
  share: MessageRecord['share'];
  /** Set for one piece of a long text: the pieces are joined into one row. */
  part: { group: string; index: number; count: number } | null;
}

/** Where a message of one module goes. */
export type Storage<C extends MessageContent> =
  | { table: 'messages'; row: (content: C) => ChatFields }
  | { table: 'contacts' }
  | { table: 'posts' };

type Modules = { [T in MessageContent['type']]: Storage<Extract<MessageContent, { type: T }>> };

const UNSUPPORTED: ChatFields = { kind: 'unsupported', text: '', share: null, part: null };

const modules: Modules = {
  box_message: { table: 'messages', row: (c) => ({ kind: 'text', text: c.msg, share: null, part: c.part }) },
  box_share_notification: {
    table: 'messages',
    row: (c) => ({ kind: 'share', text: c.msg, share: { file: c.file, url: c.url, size: c.size }, part: null }),
  },
  box_contact_update: { table: 'contacts' },
  box_microblog: { table: 'posts' },
  unsupported: { table: 'messages', row: () => UNSUPPORTED },
};

/** Where `content` is stored; `row` already bound to it for chat rows. */
export type Placement = { table: 'messages'; fields: ChatFields } | { table: 'contacts' } | { table: 'posts' };

export function storageOf(content: MessageContent): Placement {
  const storage = modules[content.type] as Storage<MessageContent> | undefined;
  // A content type this build has no entry for is shown like an unknown payload type.
  if (!storage) return { table: 'messages', fields: UNSUPPORTED };
  return storage.table === 'messages' ? { table: 'messages', fields: storage.row(content) } : storage;
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

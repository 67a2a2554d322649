import type { MessagePart, RepostState } from '../../../shared/ipc/contract.js';

/** How the user treats a contact: `unknown` is a request from a stranger not yet answered. */
export type ContactStatus = 'unknown' | 'accepted' | 'verified' | 'ignored' | 'blocked';

export interface ContactRecord {
  identityId: string;
  /** X25519 public key, 64 lowercase hex: the contact's identity. */
  publicKey: string;
  alias: string;
  /** Where we may write to them: from a contact card, or the hello the user accepted. */
  dropUrls: string[];
  /**
   * The drop URLs a stranger's hello claims: shown in the request, never contacted; they become
   * `dropUrls` only when the user accepts the request.
   */
  offeredDropUrls: string[];
  status: ContactStatus;
  createdAt: number;
  /** Lower-cased alias, indexed for the search field. */
  aliasLower: string;
  /**
   * Messages from this sender that were not stored: beyond the bounds of `senderBounds.ts` (a request's
   * flood) or pieces of a long text claiming more parts than any sender makes. Absent when none.
   */
  unstoredMessages?: number;
  /** The name came from the user (renamed by hand): an alias the contact announces does not replace it. */
  aliasFromUser?: boolean;
  /**
   * The alias the contact last announced (card, hello, `box_contact_update` or a message's meta data):
   * a message's meta alias differing from it is a rename. Absent for contacts stored before schema 8,
   * whose next announced alias is taken as the baseline without a line.
   */
  announcedAlias?: string;
  /** The sender's clock (ms) of the newest announced alias applied; older announcements are stale. */
  aliasRevision?: number;
  /**
   * The version-1 part of the contact's card (QR prekey and capabilities), when the card had one: handed
   * to the engine with every message so the first one can already be forward-secret. Sealed at rest.
   */
  v1?: { qrPrekey: string; qrPrekeyExpiresDay: number; caps: number };
  /** The `revision` of the newest `box_contact_update` applied; absent when they never sent one. */
  updateRevision?: number;
  /** The sending time (ms) of the newest meta data that changed `dropUrls` (before any update). */
  metaDropsRevision?: number;
  /**
   * Our newest drop-list update to this contact that asked for a receipt (a drop move, or sending it
   * again): `sent` is when (ms, its revision here), `confirmed` the `sent` of the newest one the contact
   * acknowledged (null: none yet), `localId` and `ackIds` find the acknowledgement. While `confirmed`
   * is below `sent` the contact is listed as not having confirmed our new address. Absent: never asked.
   */
  ownUpdate?: OwnUpdateState;
  /**
   * Sibling sync (devices/syncOut.ts): the Lamport clock and device id of the last write of this
   * contact's shared state (alias, status, drops) by any device of the identity. Absent: never synced.
   */
  syncStamp?: { clock: number; device: string };
}

/** See `ContactRecord.ownUpdate`. */
export interface OwnUpdateState {
  sent: number;
  confirmed: number | null;
  localId: string;
  ackIds: string[];
}

export interface ConversationRecord {
  identityId: string;
  contactKey: string;
  lastMessageAt: number;
  lastMessagePreview: string;
  lastMessageDirection: 'in' | 'out';
  unreadCount: number;
  /** Messages stored in this conversation, kept with every insert: the chat list's length. */
  messageCount: number;
}

/** Outgoing progress; `delivered` comes from the recipient's receipt, the rest from the engine. */
export type MessageStatus = 'queued' | 'sending' | 'posted' | 'delivered' | 'failed' | 'cancelled';

/**
 * `event`: a line in the conversation about the contact or us rather than a message (a rename, a drop
 * added or removed), shown centred and small, never unread, never announced.
 */
export type MessageKind = 'text' | 'share' | 'unsupported' | 'event';

export interface MessageRecord {
  /** `out:<localId>` for ours, `in:<identityId>:<dedupeKey>` (or the part group) for incoming. */
  id: string;
  identityId: string;
  contactKey: string;
  direction: 'in' | 'out';
  kind: MessageKind;
  /** The shown text; for a long text arriving in parts, empty until every part is there. */
  text: string;
  /** Drop payload type (kept so unsupported types can be shown and upgraded later). */
  payloadType: string;
  payload: string;
  share: { file: string; url: string; size: number } | null;
  /** Ordering key within a conversation (ms); ties broken by the id. */
  sortAt: number;
  createdAt: number;
  /** Outgoing only. */
  status: MessageStatus | null;
  localId: string | null;
  error: string | null;
  /** Outgoing: one receipt id per drop message; `delivered` when all have been acknowledged. */
  ackIds: string[];
  ackedIds: string[];
  /**
   * Outgoing: how many drop servers accepted a copy (k of n, PROTOCOL-V1.md 2c), as the engine's last
   * `outbox/status` said, for "Posted to 1 of 2 servers". Absent before the first report, and from
   * engines before k-of-n posting.
   */
  copies?: { posted: number; wanted: number };
  /**
   * Outgoing: re-posting until the recipient acknowledges (PROTOCOL-V1.md 1c "ARQ"), as the engine's
   * last `outbox/status` said: when the next re-post is due and until when, or why it ended.
   */
  repost?: RepostState;
  /** Incoming long text: how many parts it has and how many are stored (see `LongTextParts`). */
  parts: LongTextParts | null;
  read: boolean;
  /**
   * Incoming: receipt ids asked for while the sender was not an accepted contact, answered (and
   * cleared) if the user accepts them. Absent when none.
   */
  heldAckIds?: string[];
  /**
   * Incoming: it came in a session someone started with only the contact's identity key, while the
   * user had not yet accepted that reset (`IncomingMessage.unconfirmedSession`): shown, but marked.
   */
  unconfirmedSession?: true;
  /**
   * Outgoing, sent by another device of this identity (sibling sync): that device's id. Its status
   * is the last this device learned (`posted`, then `delivered` by the contact's receipt).
   */
  sentFrom?: string;
}

/**
 * The parts of an incoming long text. Pieces wait in `textParts`, one record each, and are joined into
 * the message's text once, when the last one arrives. Rows written by schema 6 and before kept the
 * pieces here (`received`); they move to `textParts` when the next piece of their text arrives.
 */
export interface LongTextParts {
  count: number;
  /** Distinct parts stored so far; absent in rows of schema 6 and before (count `received` there). */
  stored?: number;
  received?: Record<number, string>;
}

/** One piece of a long text that is still arriving. */
export interface TextPartRecord {
  /** The message row the text is joined into: `in:<identityId>:<senderKey>:part:<group>`. */
  messageId: string;
  index: number;
  identityId: string;
  contactKey: string;
  text: string;
}

/** Maps an engine dedupe key to the message it produced, so a repeated batch inserts nothing. */
export interface SeenRecord {
  identityId: string;
  dedupeKey: string;
  messageId: string;
}

/** A receipt that arrived before we recorded the acknowledge ids of the message it confirms. */
export interface PendingReceiptRecord {
  identityId: string;
  acknowledgeId: string;
  /** Who sent the receipt: only the message's recipient may confirm it. */
  senderKey: string;
  receivedAt: number;
}

/** What the UI knows about one drop it receives from. */
export interface DropStateRecord {
  dropUrl: string;
  lastBatchAt: number;
  messagesReceived: number;
}

/**
 * A microblog post (`box_microblog`): a contact's, or our own. Never part of a conversation. Incoming
 * ones are stored once per author and post id (`in:<identityId>:<authorKey>:<postId>`), own ones as
 * `out:<identityId>:<postId>` with one `PostCopyRecord` per recipient.
 */
export interface PostRecord {
  id: string;
  identityId: string;
  /** The author's public key; '' for our own posts. */
  authorKey: string;
  direction: 'in' | 'out';
  postId: string;
  text: string;
  /** Ordering key (ms): the sender's time, never later than arrival. */
  sortAt: number;
  createdAt: number;
  /** 1 for an incoming post not yet seen in the feed, else 0 (a number: IndexedDB cannot index booleans). */
  unread: 0 | 1;
}

/** One recipient's copy of an own post: a drop message of its own, with its own progress. */
export interface PostCopyRecord {
  localId: string;
  /** The `PostRecord` it is a copy of. */
  postRowId: string;
  identityId: string;
  contactKey: string;
  status: MessageStatus;
  error: string | null;
  ackIds: string[];
  ackedIds: string[];
}

export interface SettingRecord {
  key: string;
  value: unknown;
}

export type { MessagePart };

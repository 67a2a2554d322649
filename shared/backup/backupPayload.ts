/**
 * What a full backup holds once decrypted (README "Backup files"): one identity with its key, drops
 * and the engine's cursors, and the UI's records of that identity (contacts, conversations, and when
 * chosen the message history). The engine writes and reads it; the UI produces and consumes `ui`.
 * Everything is checked before anything is restored: a file is hostile until it passed `parseBackupPayload`.
 */
import { z } from 'zod';
import { LOWER_HEX_KEY } from '../protocol/encoding.js';
import { ProtocolError } from '../protocol/errors.js';
import { MAX_TEXT_LENGTH } from '../protocol/textMessages.js';
import { encryptedFileRefSchema } from '../modules/share.js';
import { MAX_SHARE_FILES, shareListingSchema } from '../modules/shareListing.js';

export const BACKUP_PAYLOAD_SCHEMA = 'deaddrop-backup-payload';
export const BACKUP_PAYLOAD_VERSION = 1;

/** Bounds far above what a person stores, so a hostile file cannot ask for unbounded work. */
export const MAX_BACKUP_MESSAGES = 2_000_000;
const MAX_BACKUP_CONTACTS = 200_000;
const MAX_STRING = 1_000_000;
const MAX_IDS = 4096;

const hex64 = z.string().regex(LOWER_HEX_KEY);
const text = z.string().max(MAX_STRING);
const url = z.string().max(2048);
const time = z.number().finite();
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const ackId = z.string().max(256);
const messageStatus = z.enum(['queued', 'sending', 'posted', 'delivered', 'failed', 'cancelled']);

const identitySchema = z.object({
  id: z.string().min(1).max(128),
  alias: z.string().trim().min(1).max(128),
  publicKey: hex64,
  privateKey: hex64,
  dropUrls: z.array(url).min(1).max(16),
  dropBits: z.number().int().min(1).max(256),
  createdAt: time,
  /**
   * Drops the identity no longer hands out but still reads (a move's 30-day overlap, a removal), as
   * they were at the backup: the restored identity reads them until `until`, so what contacts who
   * missed the change post there still arrives. Absent in backups written before.
   */
  retiringDrops: z
    .array(z.object({ url, until: time, movedAt: time.optional(), confirmedAt: time.optional() }))
    .max(16)
    .optional(),
  /** The identity's drops epoch (PROTOCOL-V1.md 2c): the restored identity carries on from it. */
  dropsEpoch: z.number().int().min(0).max(0xffff).optional(),
});

const contactSchema = z.object({
  publicKey: hex64,
  alias: text,
  dropUrls: z.array(url).max(16),
  offeredDropUrls: z.array(url).max(16),
  status: z.enum(['unknown', 'accepted', 'verified', 'ignored', 'blocked']),
  createdAt: time,
  unstoredMessages: count.optional(),
  // Contact updates (renderer/src/modules/contactUpdate.ts); absent in backups of earlier versions.
  aliasFromUser: z.boolean().optional(),
  announcedAlias: text.optional(),
  aliasRevision: time.optional(),
  updateRevision: time.optional(),
  metaDropsRevision: time.optional(),
  // The version-1 part of the contact's card and our drop-move update's progress
  // (renderer/src/identities/dropMigration.ts); absent in earlier backups and for contacts without them.
  v1: z.object({ qrPrekey: hex64, qrPrekeyExpiresDay: z.number().int().min(0).max(0xffff), caps: z.number().int().min(0).max(0xff) }).optional(),
  ownUpdate: z.object({ sent: time, confirmed: time.nullable(), localId: z.string().min(1).max(128), ackIds: z.array(ackId).max(MAX_IDS) }).optional(),
  // Sibling sync's stamp of the last contact change (renderer/src/devices): without it a restored device
  // would let an older change from another device win over this one.
  syncStamp: z.object({ clock: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), device: z.string().min(1).max(64) }).optional(),
});

const conversationSchema = z.object({
  contactKey: hex64,
  lastMessageAt: time,
  lastMessagePreview: text,
  lastMessageDirection: z.enum(['in', 'out']),
  unreadCount: count,
  messageCount: count,
});

const messageSchema = z.object({
  id: z.string().min(1).max(1024),
  contactKey: hex64,
  direction: z.enum(['in', 'out']),
  kind: z.enum(['text', 'share', 'unsupported', 'event']),
  text: z.string().max(Math.max(MAX_STRING, MAX_TEXT_LENGTH)),
  payloadType: z.string().max(256),
  payload: text,
  share: z.object({ file: text, url: text, size: z.number().finite() }).nullable(),
  sortAt: time,
  createdAt: time,
  status: messageStatus.nullable(),
  localId: z.string().max(128).nullable(),
  error: text.nullable(),
  ackIds: z.array(ackId).max(MAX_IDS),
  ackedIds: z.array(ackId).max(MAX_IDS),
  parts: z
    .object({
      count: z.number().int().min(1).max(MAX_IDS),
      stored: z.number().int().min(0).max(MAX_IDS).optional(),
      received: z.record(z.string().max(8), text).optional(),
    })
    .nullable(),
  read: z.boolean(),
  heldAckIds: z.array(ackId).max(MAX_IDS).optional(),
  // Outgoing progress as the engine last reported it (k of n copies, re-posting) and an incoming
  // message's unaccepted session reset; absent in earlier backups.
  copies: z.object({ posted: count, wanted: count }).optional(),
  repost: z
    .discriminatedUnion('kind', [
      z.object({ kind: z.literal('scheduled'), nextAt: time, until: time }),
      z.object({ kind: z.literal('ended'), why: z.enum(['timeLimit', 'storageLimit', 'cancelled']) }),
    ])
    .optional(),
  unconfirmedSession: z.literal(true).optional(),
  // A text this identity sent from another of its devices (sibling sync), shown as such.
  sentFrom: z.string().min(1).max(64).optional(),
});

const textPartSchema = z.object({
  messageId: z.string().min(1).max(1024),
  index: z.number().int().min(0).max(MAX_IDS),
  contactKey: hex64,
  text,
});

const seenSchema = z.object({ dedupeKey: z.string().min(1).max(1024), messageId: z.string().min(1).max(1024) });

/** A microblog post (ours or a contact's); ids name the identity like message ids do. */
const postSchema = z.object({
  id: z.string().min(1).max(1024),
  authorKey: z.union([hex64, z.literal('')]),
  direction: z.enum(['in', 'out']),
  postId: z.string().min(1).max(64),
  text,
  sortAt: time,
  createdAt: time,
  unread: z.union([z.literal(0), z.literal(1)]),
});

/** One recipient's copy of an own post, with its progress. */
const postCopySchema = z.object({
  localId: z.string().min(1).max(128),
  postRowId: z.string().min(1).max(1024),
  contactKey: hex64,
  status: messageStatus,
  error: text.nullable(),
  ackIds: z.array(ackId).max(MAX_IDS),
  ackedIds: z.array(ackId).max(MAX_IDS),
});

const pathList = z.array(z.string().max(1024)).max(MAX_SHARE_FILES);

/** A shared folder (renderer/src/shares/shareRecords.ts): ours with its recipients, or one a contact shares with us. */
const shareSchema = z.object({
  id: z.string().min(1).max(1024),
  direction: z.enum(['in', 'out']),
  ownerKey: z.union([hex64, z.literal('')]),
  shareId: z.string().min(1).max(64),
  name: text,
  revision: count,
  removed: z.boolean(),
  listingRef: encryptedFileRefSchema.nullable(),
  listing: shareListingSchema.nullable(),
  listingRevision: count,
  listingError: text.nullable(),
  changes: z.object({ added: pathList, changed: pathList, removed: pathList }).nullable(),
  recipients: z.array(hex64).max(MAX_BACKUP_CONTACTS),
  sends: z.record(
    hex64,
    z.object({ localId: z.string().min(1).max(128), revision: count, status: messageStatus, error: text.nullable(), ackIds: z.array(ackId).max(MAX_IDS), ackedIds: z.array(ackId).max(MAX_IDS) }),
  ),
  createdAt: time,
  updatedAt: time,
});

const uiSchema = z.object({
  contacts: z.array(contactSchema).max(MAX_BACKUP_CONTACTS),
  conversations: z.array(conversationSchema).max(MAX_BACKUP_CONTACTS),
  messages: z.array(messageSchema).max(MAX_BACKUP_MESSAGES),
  textParts: z.array(textPartSchema).max(MAX_BACKUP_MESSAGES),
  seen: z.array(seenSchema).max(MAX_BACKUP_MESSAGES),
  // Absent in backups of earlier versions: none.
  posts: z.array(postSchema).max(MAX_BACKUP_MESSAGES).default([]),
  postCopies: z.array(postCopySchema).max(MAX_BACKUP_MESSAGES).default([]),
  shares: z.array(shareSchema).max(MAX_BACKUP_CONTACTS).default([]),
});

const payloadSchema = z.object({
  schema: z.literal(BACKUP_PAYLOAD_SCHEMA),
  version: z.literal(BACKUP_PAYLOAD_VERSION),
  createdAt: time,
  identity: identitySchema,
  /** The engine's acknowledged cursor per drop URL of the identity (its retiring drops included). */
  cursors: z.record(url, z.string().max(4096)),
  includesHistory: z.boolean(),
  ui: uiSchema,
});

export type BackupPayload = z.infer<typeof payloadSchema>;
export type BackupIdentity = BackupPayload['identity'];
/** The UI's part: its records of the identity, without the identity's id (the payload names it once). */
export type BackupUiPart = z.infer<typeof uiSchema>;
export type BackupContact = BackupUiPart['contacts'][number];
export type BackupConversation = BackupUiPart['conversations'][number];
export type BackupMessage = BackupUiPart['messages'][number];
export type BackupTextPart = BackupUiPart['textParts'][number];
export type BackupSeen = BackupUiPart['seen'][number];
export type BackupPost = BackupUiPart['posts'][number];
export type BackupPostCopy = BackupUiPart['postCopies'][number];
export type BackupShare = BackupUiPart['shares'][number];

function invalid(message: string): ProtocolError {
  return new ProtocolError('invalid_backup', message);
}

/**
 * Checks the UI's part alone (the engine checks what the UI hands it for export with this, so a backup
 * that restoring would refuse is never written).
 * @throws ProtocolError 'invalid_backup'
 */
export function parseBackupUiPart(json: unknown, identityId: string, includesHistory: boolean): BackupUiPart {
  const parsed = uiSchema.safeParse(json);
  if (!parsed.success) throw invalid(`The backup's contacts or messages are not in the expected form (${describeIssue(parsed.error)}).`);
  checkUiPart(parsed.data, identityId, includesHistory);
  return parsed.data;
}

/**
 * Validates a decrypted payload completely: its form and how its parts refer to each other.
 * @throws ProtocolError 'invalid_backup'
 */
export function parseBackupPayload(json: unknown): BackupPayload {
  const head = json as { schema?: unknown; version?: unknown } | null;
  if (typeof json !== 'object' || head === null || head.schema !== BACKUP_PAYLOAD_SCHEMA) throw invalid('The backup content is not a Deaddrop backup.');
  if (typeof head.version === 'number' && head.version > BACKUP_PAYLOAD_VERSION) {
    throw invalid('The backup content was written by a newer version of Deaddrop: update Deaddrop to restore it.');
  }
  const parsed = payloadSchema.safeParse(json);
  if (!parsed.success) throw invalid(`The backup content is damaged or incomplete (${describeIssue(parsed.error)}).`);
  const payload = parsed.data;
  const retiring = (payload.identity.retiringDrops ?? []).map((drop) => drop.url);
  for (const dropUrl of Object.keys(payload.cursors)) {
    if (!payload.identity.dropUrls.includes(dropUrl) && !retiring.includes(dropUrl)) throw invalid('The backup holds a cursor for a drop the identity does not have.');
  }
  checkUiPart(payload.ui, payload.identity.id, payload.includesHistory);
  return payload;
}

function checkUiPart(ui: BackupUiPart, identityId: string, includesHistory: boolean): void {
  if (!includesHistory && (ui.messages.length > 0 || ui.textParts.length > 0 || ui.posts.length > 0 || ui.postCopies.length > 0)) {
    throw invalid('The backup says it holds no messages, yet it does.');
  }
  unique(ui.contacts, (c) => c.publicKey, 'a contact');
  unique(ui.conversations, (c) => c.contactKey, 'a conversation');
  unique(ui.seen, (s) => s.dedupeKey, 'a delivered message key');
  unique(ui.textParts, (p) => `${p.messageId}\n${p.index}`, 'a piece of a long text');
  unique(ui.messages, (m) => m.id, 'a message');
  // Message ids are keys of the whole database: incoming ones must name this identity, so restoring can
  // never touch another identity's records.
  const incoming = `in:${identityId}:`;
  for (const m of ui.messages) {
    if (m.direction === 'in' ? !m.id.startsWith(incoming) : !m.id.startsWith('out:')) throw invalid('The backup holds a message of another identity.');
  }
  for (const p of ui.textParts) if (!p.messageId.startsWith(incoming)) throw invalid('The backup holds a piece of text of another identity.');
  unique(ui.posts, (p) => p.id, 'a post');
  unique(ui.postCopies, (c) => c.localId, 'a copy of a post');
  for (const p of ui.posts) {
    if (!p.id.startsWith(`${p.direction}:${identityId}:`) || (p.direction === 'in') === (p.authorKey === '')) throw invalid('The backup holds a post of another identity.');
  }
  const ownPosts = new Set(ui.posts.filter((p) => p.direction === 'out').map((p) => p.id));
  for (const c of ui.postCopies) if (!ownPosts.has(c.postRowId)) throw invalid('The backup holds a copy of a post it does not hold.');
  unique(ui.shares, (share) => share.id, 'a shared folder');
  for (const share of ui.shares) {
    if (!share.id.startsWith(`${share.direction}:${identityId}:`) || (share.direction === 'in') === (share.ownerKey === '')) {
      throw invalid('The backup holds a shared folder of another identity.');
    }
  }
}

function unique<T>(items: readonly T[], keyOf: (item: T) => string, what: string): void {
  const keys = new Set<string>();
  for (const item of items) {
    const key = keyOf(item);
    if (keys.has(key)) throw invalid(`The backup holds ${what} twice.`);
    keys.add(key);
  }
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'unknown problem';
  return issue.path.length > 0 ? `at ${issue.path.join('.')}: ${issue.message}` : issue.message;
}

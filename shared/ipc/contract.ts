/**
 * The one API contract between the UI and the rest of the app: the engine (electron/core) and, in
 * the desktop app, the shell (electron/main).
 *
 * Every transport derives from this file and `channels.ts`, which lists the names: Electron IPC (main
 * + preload), the WebSocket host of the browser, direct calls in Node tests and in the CLI. Channel
 * names are `domain/verb`; nothing else in the code base spells a channel as a bare string.
 *
 * Requests are validated with the zod schema of their channel at every boundary (the renderer is
 * untrusted from the engine's point of view). Responses and events are produced by the engine and the
 * shell and are typed only. Channels that need a capability (`channels.ts`) are served only by hosts
 * that offer it, and `app/info` says which those are.
 */
import { z } from 'zod';
import type { Capabilities, Channel, EngineChannel, EventName, HostChannel } from './channels.js';
import type { Result } from './result.js';
import { MAX_TEXT_LENGTH } from '../protocol/textMessages.js';
import { MIN_PASSPHRASE_LENGTH } from '../protocol/passphrasePolicy.js';
import { LOWER_HEX_KEY } from '../protocol/encoding.js';
import { type MessageContent, sendContentSchema } from '../modules/registry.js';
import { type EncryptedFileRef, encryptedFileRefSchema } from '../modules/share.js';
import { MAX_SYNC_ITEMS, syncItemSchema } from '../modules/sync.js';
import { trafficBudgetSchema } from '../budget/setting.js';

export type { Capabilities, Capability, Channel, EngineChannel, EventName, HostChannel } from './channels.js';
export type { MessageContent, SendContent, SendContentInput } from '../modules/registry.js';
export type { EncryptedFileRef } from '../modules/share.js';

// ---------------------------------------------------------------------------------------------
// Shared value types

const hex64 = z.string().regex(LOWER_HEX_KEY, 'expected 64 lowercase hex characters');
const httpUrl = z
  .string()
  .max(2048)
  .refine((s) => /^https?:\/\//i.test(s), 'expected an http or https URL');
const id = z.string().min(1).max(128);

/** An identity may watch a handful of drops; each costs a poll (or a socket) per interval. */
export const MAX_DROPS_PER_IDENTITY = 8;

/** A contact as the engine needs it to send: public key and drop URLs (PROTOCOL.md section 5). */
export const recipientSchema = z.object({
  publicKey: hex64,
  dropUrls: z.array(httpUrl).min(1).max(16),
  /**
   * The version-1 part of the contact's card (`DEADDROP1` or a `.qco` with `deaddrop`), when it had one:
   * its QR prekey lets the first message already be forward-secret (PROTOCOL-V1.md 1c). The engine
   * ignores a prekey past its last day.
   */
  v1: z
    .object({
      qrPrekey: hex64,
      /** The last day (days since 1970-01-01, UTC) the prekey may be used. */
      qrPrekeyExpiresDay: z.number().int().min(0).max(0xffff),
    })
    .optional(),
});
export type Recipient = z.infer<typeof recipientSchema>;

/** A receipt the UI owes (see `inbox/ack`): which message, and where its sender accepted to be written. */
export type OwedReceipt = z.infer<(typeof requestSchemas)['inbox/ack']>['receipts'][number];

export interface IdentitySummary {
  /** Stable local id of the identity (not secret, not sent anywhere). */
  id: string;
  alias: string;
  /** X25519 public key, 64 lowercase hex. */
  publicKey: string;
  dropUrls: string[];
  /** Random bits of the drop ID (256 = full range, fewer = shared with strangers). */
  dropBits: number;
  createdAt: number;
  /**
   * Drops no longer in `dropUrls` but still read: moved away from (`identities/moveDrop`, until
   * `retireAt`, at least 30 days) or removed (`identities/removeDrop`, 14 days). A message whose
   * `IncomingMessage.dropUrl` is one of these came from a contact who has not heard of the change: the
   * UI sends that contact the update again. Absent from engines before drop migration.
   */
  retiringDrops?: RetiringDrop[];
}

/** A drop an identity no longer hands out and still reads until `retireAt` (see `IdentitySummary.retiringDrops`). */
export interface RetiringDrop {
  url: string;
  /** When it stops being read (ms): what contacts posted there later is lost. */
  retireAt: number;
  /** When it was moved away from (`identities/moveDrop`); null when it was removed (`identities/removeDrop`). */
  movedAt: number | null;
  /**
   * From when it is read only once a day (ms; a move reads the old drop at the normal rate for one
   * message lifetime, 7 days, first); null when it is read at the normal rate until `retireAt`.
   */
  dailyFrom: number | null;
}

/** Engine-side settings (the UI keeps its own UI settings in Dexie). */
export const engineSettingsSchema = z.object({
  /** Base poll interval; jitter is added by the poller. */
  pollIntervalMs: z.number().int().min(1000).max(3_600_000),
  /** Use WebSocket hints where the server offers them. */
  push: z.boolean(),
  proxy: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('none') }),
    z.object({ kind: z.literal('http'), url: z.string().max(2048) }),
    z.object({ kind: z.literal('socks5'), url: z.string().max(2048) }),
  ]),
  /**
   * Contact drop servers on this computer or the local network (loopback, private, link-local
   * addresses) even when they hold none of the user's own drops: e.g. a friend's server on the LAN.
   */
  allowLocalNetwork: z.boolean(),
  /**
   * Lock after this many minutes without input in the UI (0: never). Only a profile with a passphrase
   * locks (`AppInfo.keyProtection`); the UI measures the idle time, the engine keeps the choice so
   * every window of the profile (desktop or browser) applies the same one.
   */
  autoLockMinutes: z.union([z.literal(0), z.literal(5), z.literal(15), z.literal(60)]),
  /**
   * Answer messages that ask for a delivery receipt (`box_ack`). Off: no receipt leaves this engine,
   * whatever the UI owes, so senders never learn that a message arrived.
   */
  sendReceipts: z.boolean(),
  /**
   * k of k-of-n posting (PROTOCOL-V1.md 2c): each message goes to this many of the recipient's drops,
   * on distinct servers, each copy encrypted separately; capped by the number of distinct servers the
   * recipient lists. Absent: DEFAULT_COPIES (2). Receipts always go as one copy.
   */
  copies: z.number().int().min(1).max(4).optional(),
  /**
   * Traffic budget (PROTOCOL-V1.md 4c): fixed-shape slots of POSTs and padded GETs instead of polling,
   * push and direct posting. Absent: Off (state files from before the budget).
   */
  trafficBudget: trafficBudgetSchema.optional(),
  /**
   * Closed drops (PROTOCOL-V1.md 3c L1): a drop the engine creates from now on (identities/create,
   * identities/addDrop) on a server that offers tickets is claimed with a signed policy before its URL
   * is given out, so only contacts holding its one-time tickets (or strangers with a proof-of-work
   * stamp, within a daily quota of introductions) can post to it. Absent or false (the default): open
   * drops, which original Qabel clients, and contacts not yet holding tickets, can write to.
   */
  closedDrops: z.boolean().optional(),
});
/** k of k-of-n posting when the `copies` setting is absent. */
export const DEFAULT_COPIES = 2;
export type EngineSettings = z.infer<typeof engineSettingsSchema>;

export interface ServerStatus {
  /** Drop server base URL (scheme, host, port, service path). */
  serverUrl: string;
  reachable: boolean | null;
  lastPollAt: number | null;
  latencyMs: number | null;
  pushConnected: boolean;
  lastError: string | null;
  /**
   * Messages sealed for one of our identities that were dropped unread since the engine started: a
   * payload failing its module's schema, an unsupported version, or a forged sender field.
   */
  malformedMessages: number;
  /**
   * In budget mode, what the server announced (`.well-known/deaddrop`): it pads GET answers to a fixed
   * number of parts (`page`), it takes and discards cover POSTs (`cover`). False: the user is told that
   * this server cannot pad downloads (or take cover). Absent while the budget is off.
   */
  canPad?: boolean;
  canCover?: boolean;
  /**
   * Introductions a day (messages without a ticket: strangers, contacts out of tickets) that a closed
   * drop of ours on this server takes: what the server granted our claim, else what it announced in
   * budget mode (`intro_per_day`). Absent when neither is known (no closed drop there, budget off).
   */
  introPerDay?: number;
}

/** Optional sender introduction carried in `meta_data` (PROTOCOL.md section 4). */
export interface SenderMeta {
  alias?: string;
  dropUrl?: string;
  publicKey?: string;
}

/** Marks one piece of a long text that was split into several drop messages (ours). */
export interface MessagePart {
  /** Same for all pieces of one text. */
  groupId: string;
  index: number;
  count: number;
}

/** A decrypted, authenticated drop message for one local identity. */
export interface IncomingMessage {
  /** `sender:acknowledge_id`, or `pdu:<sha256 hex>` when no receipt id: the dedupe key of PROTOCOL.md 4. */
  dedupeKey: string;
  identityId: string;
  /** Sender public key (authenticated by the box), 64 hex. */
  senderKey: string;
  /** `drop_payload_type`; anything but box_message / box_share_notification is shown as unsupported. */
  type: string;
  /** Raw `drop_payload` string, kept so unsupported types can be shown or upgraded later. */
  payload: string;
  /** The payload as its module decoded it (shared/modules); `unsupported` for types no module reads. */
  content: MessageContent;
  /** Chat text for box_message (and the `msg` of a share notification), if present and a string. */
  text: string | null;
  share: { file: string; url: string; size: number } | null;
  part: MessagePart | null;
  acknowledgeId: string;
  meta: SenderMeta | null;
  /**
   * The highest protocol version the sender's client says it speaks (`dd.v` of a version-0 message;
   * 0 when absent, as from original Qabel clients).
   */
  senderProtocol?: number;
  /**
   * How it came: 0 = a version-0 box, 1 = a version-1 session (forward secret). Absent from engines
   * before version 1, which read as 0.
   */
  protocol?: 0 | 1;
  /**
   * True when it came in a session that is waiting for the user's answer to a reset
   * (`SessionsStatus.contacts[senderKey].reset.pending`): the sender proved only the contact's identity
   * key. Shown (flagged) rather than held back, so nothing is lost whatever the answer.
   */
  unconfirmedSession?: boolean;
  /**
   * The hash of our device list as the sender knows it (`dd.dh`, 8 hex), read by the engine (devices/
   * deviceNews.ts); absent when the sender named none.
   */
  devlistEcho?: string;
  /** The sender's claimed time (`time_stamp`, ms). */
  sentAt: number;
  /** When our engine opened it (ms). */
  receivedAt: number;
  /** The drop it came from. */
  dropUrl: string;
}

/** A delivery receipt (`box_ack`) for one of our outgoing messages. */
export interface Receipt {
  identityId: string;
  senderKey: string;
  acknowledgeId: string;
  receivedAt: number;
}

export type OutboxStatus = 'queued' | 'sending' | 'posted' | 'failed' | 'cancelled';

/**
 * How many copies of an outgoing message drop servers accepted (k of n, PROTOCOL-V1.md 2c), for
 * "Posted to 1 of 2 · 2 of 2". `wanted` is k: the `copies` setting capped by the number of distinct
 * servers among the recipient's drops (1 for a recipient with one server, and for a version-0
 * message that asks for no receipt: its copies could not be told apart by the receiver; in version
 * 1 also capped by the copies the session was set up with, 2 by default). `posted`
 * counts copies of every piece (a long text is several pieces): 1 once each piece is on one server.
 */
export interface OutboxCopies {
  posted: number;
  wanted: number;
}

/**
 * Re-posting of a posted message the recipient has not acknowledged yet (PROTOCOL-V1.md 1c "ARQ"):
 * the same bytes go to the same drops again before the server's TTL could expire them.
 * `scheduled`: the next re-post is due at `nextAt` (ms), and re-posting stops at `until` unless the
 * recipient acknowledges first. `ended`: no more re-posts: `timeLimit` (re-posted for the longest
 * time allowed, 30 days by default, without an acknowledgement), `storageLimit` (the engine keeps
 * a bounded number of unacknowledged messages; the oldest gave way) or `cancelled` (`messages/cancel`
 * on a posted message: the copies already on servers stay there, the status stays `posted`).
 * Version-0 messages that ask for no receipt are never re-posted (nothing would ever acknowledge
 * them) and carry no `repost`; version-1 messages are, whatever they ask (the contact's
 * acknowledgement vector acknowledges every one).
 */
export type RepostState = { kind: 'scheduled'; nextAt: number; until: number } | { kind: 'ended'; why: 'timeLimit' | 'storageLimit' | 'cancelled' };

/** Why a message is still `sending`: what the last attempt met, and when the next one is due. */
export interface SendingReason {
  /**
   * `unreachable`: no answer (down, wrong address, no network, or left alone after stalling);
   * `full`: the recipient's drop holds all it may (HTTP 507); `rateLimited`: the server asked to slow
   * down (429); `serverError`: another 5xx; `tooManyRetries`: this app's retry budget for that server
   * is used up for now; `waitingForContact`: a version-1 session may not send more before the contact
   * answers (its window of 128 messages is full): the message goes once the contact's next message
   * arrives ("waiting for <contact> to come online"), `retryAt` null.
   */
  kind: 'unreachable' | 'full' | 'rateLimited' | 'serverError' | 'tooManyRetries' | 'waitingForContact';
  /** The engine's own text of the last failure (for details and bug reports). */
  detail: string;
  /** When the next attempt is due (epoch ms); null while one is being made. */
  retryAt: number | null;
}

/** What a drop server probe found (`servers/probe`). */
export type ServerProbeOutcome = 'dropServer' | 'unreachable' | 'notDropServer' | 'trouble' | 'refused';

/** How much a message notification may reveal on a shared screen. */
export const notificationPreviewSchema = z.enum(['nameAndText', 'nameOnly', 'nothing']);
export type NotificationPreview = z.infer<typeof notificationPreviewSchema>;

/** Settings only the desktop shell keeps (the engine and the UI keep their own). */
export const desktopSettingsSchema = z.object({
  /** Closing the window hides it; the app keeps polling in the tray. */
  closeToTray: z.boolean(),
  /** Launch hidden in the tray. */
  startMinimised: z.boolean(),
  /** Register with the OS to start at login. */
  startAtLogin: z.boolean(),
  /** Read by the UI when it composes a notification. */
  notificationPreview: notificationPreviewSchema,
  /**
   * The local drop server to start again at launch (null: not running). Read-only for the UI: it
   * follows `localServer/start|stop`. Identities created on it have its port in their drop URLs, so it
   * must come back on the same port.
   */
  localServer: z.object({ port: z.number().int().min(1).max(65_535), expose: z.boolean() }).nullable(),
});
export type DesktopSettings = z.infer<typeof desktopSettingsSchema>;

/** What the UI may change of the desktop settings. */
export const uiSettableSettingsSchema = desktopSettingsSchema.omit({ localServer: true }).partial();
export type UiSettableSettings = z.infer<typeof uiSettableSettingsSchema>;

/** One conversation: the local identity and the contact's public key. */
export const conversationRefSchema = z.object({ identityId: id, contactKey: hex64 });
export type ConversationRef = z.infer<typeof conversationRefSchema>;

/**
 * A backup file travels between the UI and the engine in chunks of at most this many bytes (base64url
 * in a request): each call stays well under the WebSocket host's 1 MiB frame and Electron's IPC limits.
 */
export const BACKUP_CHUNK_BYTES = 512 * 1024;
const backupChunk = z.string().min(1).max(Math.ceil((BACKUP_CHUNK_BYTES * 4) / 3)).regex(/^[-_A-Za-z0-9]+$/, 'expected base64url');

/** What an opened backup file would restore (`backup/importOpen`); nothing is written yet. */
export interface BackupPreview {
  /** `full`: a backup with contacts and conversations; `identity`: an identity-only `.qid` of an older version. */
  kind: 'full' | 'identity';
  alias: string;
  publicKey: string;
  /** The identity's id in the backup (kept when restoring a full backup); null for a `.qid`. */
  identityId: string | null;
  includesHistory: boolean;
  contacts: number;
  conversations: number;
  messages: number;
  /** Bytes of the UI's part, read with `backup/download` before `backup/importCommit` (0 for a `.qid`). */
  uiBytes: number;
}

/**
 * A device link in progress (`devices/*`, PROTOCOL-V1.md 5c "Linking a device"): an existing device
 * (`offer`) hands an identity with its drops, settings and the UI's records to a new one (`join`) over
 * a temporary drop, after both users saw the same six digits. Also sent as the `devices/linkChanged` event.
 */
export interface DeviceLinkStatus {
  linkId: string;
  /** `offer`: this device shows the QR code and sends; `join`: this device receives. */
  role: 'offer' | 'join';
  /**
   * Offer: `waiting` for the other device to answer the QR code, `compare` (the user says whether the
   * other device shows `code`: `devices/linkConfirm`), `sending` (`chunks`), `sent` (all posted, the
   * other device checks them), `done` (the other device has it all). Join: `receiving` (the other
   * device's user compares `code`, then chunks arrive: `chunks` once known), `received` (complete and
   * checked: `preview`; the UI stores its part, read with `devices/linkDownload`, then calls
   * `devices/linkCommit`), `done` (the identity is here). Either: `failed` (`error` says why; nothing
   * was sent after a failure, and a joining device stored nothing).
   */
  state: 'waiting' | 'compare' | 'sending' | 'sent' | 'receiving' | 'received' | 'done' | 'failed';
  /** The six digits both devices show, once they share a secret (null while `waiting`). */
  code: string | null;
  /** Offer: the name the joining device gave (plain text, shown as such). */
  deviceName: string | null;
  /** Chunks of the bundle posted (offer) or received (join) so far, of `total`. */
  chunks: { done: number; total: number } | null;
  /** Join, from `received`: what the link brings (as a backup's preview). */
  preview: BackupPreview | null;
  /** Why it failed, for the user. */
  error: string | null;
  /** When the link gives up unless done (ms): 10 minutes after it began. */
  expiresAt: number;
}

/** One device of an identity's device list (PROTOCOL-V1.md 5c `DEVICES`). */
export interface DeviceInfo {
  /** 8 random bytes, 16 hex: stable for the device's life with this identity. */
  deviceId: string;
  /** Plain text (control and bidi characters removed), at most 32 bytes of UTF-8. */
  name: string;
  /** Days since 1970-01-01 (UTC) when it was added. */
  addedDay: number;
  /** This device. */
  self: boolean;
  /** When something it sent (a device list, sibling sync) was last read here (ms); null: not yet (and for this device). */
  lastSeen: number | null;
}

/**
 * A contact is sending to a device of ours that none of our device lists ever held: someone holding the
 * identity key added it (PROTOCOL-V1.md 5c "Detecting silent device injection").
 */
export interface DeviceAlarm {
  /** The contact's public key, 64 hex. */
  contact: string;
  /** The devices we never had, 16 hex each. */
  unknownDevices: string[];
  /** When it was raised (ms). */
  at: number;
}

/** `devices/list`: the devices that hold an identity, as this device knows them. */
export interface DeviceListStatus {
  /** Grows with every change (a device added, renamed, removed); lists merge: added devices minus removed ones. */
  epoch: number;
  /** The list's 4-byte hash, 8 hex (what messages to us echo, `dd.dh`). */
  hash: string;
  devices: DeviceInfo[];
  /** Devices removed, 16 hex each (the latest eight). */
  removed: string[];
  alarms: DeviceAlarm[];
  /** When another device removed this one (it sends nothing since), or null. */
  removedAt: number | null;
  /**
   * Devices that joined through a sibling and that the user has not confirmed (`devices/confirmJoined`)
   * nor removed: whoever holds the identity key can announce one. `addedBy`: the announcing device's
   * name (null: a device in no list here). Absent from engines before join notices.
   */
  joined?: { deviceId: string; name: string; addedBy: string | null; at: number }[];
}

/** Files travel between the UI and the engine in chunks of this many bytes at most (as backups do). */
export const FILE_CHUNK_BYTES = BACKUP_CHUNK_BYTES;
/** The largest file the engine takes to send (a drop server may take less: `--max-blob-bytes`). */
export const MAX_SEND_FILE_BYTES = 4 * 1024 ** 3;

/** Progress of a file going up (`files/send`, by its localId) or down (`files/download`, by its id). */
export interface FileProgress {
  id: string;
  direction: 'up' | 'down';
  /** Bytes of the file done and in all. */
  done: number;
  total: number;
  /** `done`: uploaded (the notice is queued) or downloaded and checked; `failed` says why in `error`. */
  state: 'running' | 'done' | 'failed' | 'cancelled';
  error?: string;
  /** An upload of `files/upload` that is done: how to fetch and open the file. */
  ref?: EncryptedFileRef;
}

// ---------------------------------------------------------------------------------------------
// Requests: channel -> request schema and response type

export const sendRequestSchema = z
  .object({
    identityId: id,
    /** Caller's id for this outgoing message; re-sending the same localId never posts twice. */
    localId: id,
    recipient: recipientSchema,
    /** A chat text: the same as `content: {type: 'box_message', text}`. */
    text: z.string().min(1).max(MAX_TEXT_LENGTH).optional(),
    /** What to send, by payload module (shared/modules/registry.ts). */
    content: sendContentSchema.optional(),
    wantReceipt: z.boolean().default(true),
  })
  .refine((request) => (request.text === undefined) !== (request.content === undefined), 'Give either a text or a content to send, not both.');

export const requestSchemas = {
  'app/info': z.object({}),
  /** Unlocks the engine with the user's passphrase when no OS keyring holds the key-encryption secret. */
  'app/unlock': z.object({ passphrase: z.string().min(1).max(1024) }),
  /** The key the UI seals its database records with; only while unlocked. */
  'app/databaseKey': z.object({}),
  /**
   * Locks a profile protected by a passphrase: pending state is written, the data key and private
   * keys are forgotten, polling and sending stop until `app/unlock`. Every UI hears `app/locked`.
   */
  'app/lock': z.object({}),
  /**
   * Seals the data key under a new passphrase (the old one must be given) and replaces the state
   * file atomically: after a crash at any moment either the old or the new passphrase unlocks.
   */
  'app/changePassphrase': z.object({
    oldPassphrase: z.string().min(1).max(1024),
    newPassphrase: z.string().min(MIN_PASSPHRASE_LENGTH, `Choose a passphrase of at least ${MIN_PASSPHRASE_LENGTH} characters.`).max(1024),
  }),
  'identities/list': z.object({}),
  'identities/create': z.object({
    alias: z.string().trim().min(1).max(64),
    serverUrl: httpUrl,
    /** Random bits of the drop ID, 1..256 (PROTOCOL.md section 1). */
    dropBits: z.number().int().min(1).max(256).default(256),
  }),
  'identities/import': z.object({
    /** Contents of a `.qid` backup file. */
    backup: z.string().min(1).max(65_536),
    passphrase: z.string().min(1).max(1024),
  }),
  'identities/export': z.object({ identityId: id, passphrase: z.string().min(8).max(1024) }),
  'identities/delete': z.object({ identityId: id }),
  'identities/contactCard': z.object({ identityId: id }),
  /** Per contact, whether conversations of this identity are forward secret (version-1 sessions). */
  'sessions/status': z.object({ identityId: id }),
  /**
   * The user's answer to a pending session reset (`SessionsStatus.contacts[key].reset.pending`): someone
   * holding the contact's identity key started a new session with the reset flag (PROTOCOL-V1.md 1c
   * "RESET"). `accept`: the new session becomes the one we write in (the old one stays readable for 14
   * days); otherwise it is dropped and the old one stays. Answers the status after the change; a
   * contact with nothing pending is left as it is.
   */
  'sessions/confirmReset': z.object({ identityId: id, contactPublicKey: hex64, accept: z.boolean() }),
  /**
   * Revokes the tickets the identity handed a contact for its closed drops (on block or delete of the
   * contact): the engine strikes them at the drop servers (PROTOCOL-V1 3c L1), which then refuse them,
   * and hands that contact no more unless the identity writes to it again. Answers how many drops'
   * strikes the servers took and how many are still pending (sent again later); 0 and 0 when the
   * contact was handed none.
   */
  'contacts/revokeTickets': z.object({ identityId: id, contactPublicKey: hex64 }),
  /** Opens one more drop for an identity on another (or the same) drop server, with the identity's drop range. */
  'identities/addDrop': z.object({ identityId: id, serverUrl: httpUrl }),
  /** Stops using one of an identity's drops (never its last one). Contacts keep writing there until told. */
  'identities/removeDrop': z.object({ identityId: id, dropUrl: httpUrl }),
  /**
   * Moves an identity off one of its drops in one step (PROTOCOL-V1.md 2c "Migration"): opens a new drop
   * on `serverUrl` (first in the list, so every later message names it), starts reading it before the
   * call returns, and keeps reading `fromDropUrl` until at least 30 days later (`retiringDrops`). The
   * UI then tells every contact with a `box_contact_update` asking for a receipt.
   */
  'identities/moveDrop': z.object({ identityId: id, fromDropUrl: httpUrl, serverUrl: httpUrl }),
  /**
   * Every contact confirmed the move away from `fromDropUrl` (their receipts for the update came): the
   * old drop is read once a day from now on instead of at the normal rate until its first week is over
   * (`RetiringDrop.dailyFrom` says when). Still read until `retireAt`. Not needed for correctness.
   */
  'identities/moveConfirmed': z.object({ identityId: id, fromDropUrl: httpUrl }),
  /** Changes the alias an identity introduces itself with (contacts hear it from the UI's `box_contact_update`). */
  'identities/rename': z.object({ identityId: id, alias: z.string().trim().min(1).max(64) }),
  /**
   * Starts a full backup of an identity (README "Backup files"): the engine notes the identity's drop
   * cursors now, before the UI reads its records, so a restored poller may fetch a message again
   * (found as a duplicate) but never skips one. The UI then uploads its part (`backup/upload`: JSON of
   * its records as UTF-8) and calls `backup/exportSeal`.
   */
  'backup/exportBegin': z.object({ identityId: id, includeHistory: z.boolean() }),
  /** Checks the uploaded UI part, seals the whole backup with `passphrase`; the file is read with `backup/download`. */
  'backup/exportSeal': z.object({ transferId: id, passphrase: z.string().min(MIN_PASSPHRASE_LENGTH).max(1024) }),
  /** Starts reading a backup file (a full backup or an identity-only `.qid`), uploaded with `backup/upload`. */
  'backup/importBegin': z.object({}),
  /**
   * Decrypts and checks the uploaded file completely, and that its identity is not here already.
   * Writes nothing; the UI reads its part with `backup/download`, stores it, then calls `backup/importCommit`.
   */
  'backup/importOpen': z.object({ transferId: id, passphrase: z.string().min(1).max(1024) }),
  /** Adds the opened backup's identity with its drop cursors, in one write of the engine's state. */
  'backup/importCommit': z.object({ transferId: id }),
  /** The next chunk of what the UI hands over; `offset` must be the bytes received so far. */
  'backup/upload': z.object({ transferId: id, offset: z.number().int().min(0), data: backupChunk }),
  /** A chunk of what the engine hands back (the sealed file, or the UI's part of an opened one) from `offset`. */
  'backup/download': z.object({ transferId: id, offset: z.number().int().min(0) }),
  /** Forgets a transfer (cancelled, or finished by the UI). */
  'backup/discard': z.object({ transferId: id }),
  /**
   * Starts linking another device to an identity (offer side): a temporary drop on the identity's first
   * drop server (a random ID, never announced) and a one-time key, shown as the `DEADDROP-LINK` string
   * (and its QR code). The engine notes the drop cursors now, as `backup/exportBegin` does; the UI then
   * uploads its records of the identity (`devices/linkUpload`: the JSON of a full backup's UI part) while
   * the other device answers. The link gives up after 10 minutes.
   */
  'devices/linkBegin': z.object({ identityId: id, includeHistory: z.boolean().default(true) }),
  /** The next chunk of the UI's records for a link (offer side); `offset` must be the bytes received so far. */
  'devices/linkUpload': z.object({ linkId: id, offset: z.number().int().min(0), data: backupChunk }),
  /**
   * The user's answer to "Does your other device show these digits?" (offer side, state `compare`):
   * `matches` sends the identity, its drops, the engine settings and the uploaded records in chunks; a
   * no stops the link on both devices and sends nothing.
   */
  'devices/linkConfirm': z.object({ linkId: id, matches: z.boolean() }),
  /** Stops a link on this device and tells the other one (either side); a finished link is left as it is. */
  'devices/linkCancel': z.object({ linkId: id }),
  /** The link's state now (the same as its last `devices/linkChanged` event). */
  'devices/linkStatus': z.object({ linkId: id }),
  /**
   * Answers a `DEADDROP-LINK` string on a device that is to receive the identity (join side): posts a
   * hello to the link's drop and shows the same six digits as the other device. `deviceName` is how the
   * other device lists this one.
   */
  'devices/linkJoin': z.object({ linkString: z.string().min(1).max(4096), deviceName: z.string().trim().min(1).max(64) }),
  /** A chunk of the UI's records a received link brings (join side, state `received`), from `offset`. */
  'devices/linkDownload': z.object({ linkId: id, offset: z.number().int().min(0) }),
  /** Adds the received identity with its drop cursors (and, on a profile without identities, the engine settings). */
  'devices/linkCommit': z.object({ linkId: id }),
  /** The identity's device list (this device alone until a link adds another). */
  'devices/list': z.object({ identityId: id }),
  /** Renames a device in the identity's list (this device's own name, usually): a new epoch of the list. */
  'devices/rename': z.object({ identityId: id, deviceId: z.string().regex(/^[0-9a-f]{16}$/), name: z.string().trim().min(1).max(64) }),
  /**
   * Removes another device from the identity's list (a new epoch with the device as removed), told to
   * every contact and to the other devices: contacts stop counting it, the removed device stops sending.
   * Not this device (delete the identity here instead).
   */
  'devices/remove': z.object({ identityId: id, deviceId: z.string().regex(/^[0-9a-f]{16}$/) }),
  /** Forgets the identity's device alarms (the user read them). */
  'devices/clearAlarms': z.object({ identityId: id }),
  /** The user confirms devices that joined through a sibling (all when `deviceId` is absent): no longer marked new. */
  'devices/confirmJoined': z.object({ identityId: id, deviceId: z.string().regex(/^[0-9a-f]{16}$/).optional() }),
  /**
   * Tells the identity's other devices (sibling sync, shared/modules/sync.ts): a conversation read, a
   * contact's new state. Nothing is sent while the identity is on this device alone (`messages`: 0).
   * Sent texts need no call: the engine tells the other devices of every text it sends.
   */
  'devices/sync': z.object({ identityId: id, items: z.array(syncItemSchema).min(1).max(MAX_SYNC_ITEMS) }),
  /**
   * Replaces the identity's key after a lost or stolen device (electron/core/devices/rotation.ts): each
   * of `contacts` (the UI's accepted and verified ones) is sent the new key signed by the old one, each
   * sibling device the new private key sealed to its device prekey; the old key is read 7 days more.
   */
  'devices/rotateKey': z.object({ identityId: id, contacts: z.array(recipientSchema).max(10_000) }),
  'messages/send': sendRequestSchema,
  'messages/cancel': z.object({ localId: id }),
  /**
   * Starts handing a file to the engine to send: its bytes follow in order with `files/stageChunk`.
   * The staged file waits in the profile (owner-only) until `files/send` has uploaded it, or the
   * engine stops; it is never sent anywhere before `files/send`.
   */
  'files/stageBegin': z.object({ size: z.number().int().min(0).max(MAX_SEND_FILE_BYTES) }),
  /** The next chunk of a staged file; `offset` must be the bytes received so far. */
  'files/stageChunk': z.object({ stageId: id, offset: z.number().int().min(0), data: backupChunk }),
  /** Deletes a staged file that will not be sent (the user cancelled while handing it over). */
  'files/stageDiscard': z.object({ stageId: id }),
  /**
   * Sends a staged file: encrypts it under a fresh key, uploads it to the first drop server of the
   * identity's drops that stores files (`files/progress` with direction `up`, id `localId`), then
   * sends the recipient a `box_share_notification` through the outbox under the same `localId`
   * (`outbox/status`). `messages/cancel` with the localId stops the upload.
   */
  'files/send': z.object({
    stageId: id,
    identityId: id,
    localId: id,
    recipient: recipientSchema,
    /** The name the recipient sees (no path). */
    fileName: z.string().trim().min(1).max(255),
    mime: z.string().max(128).regex(/^[\w.+-]+\/[\w.+-]+$/).nullable().default(null),
    text: z.string().max(500).default(''),
    wantReceipt: z.boolean().default(true),
  }),
  /**
   * Uploads a staged file like `files/send` but sends no notice: the final `files/progress` (id
   * `uploadId`, state `done`) carries the file's reference, e.g. for the files and the listing of a
   * shared folder (shared/modules/shareListing.ts). `files/discard` with the uploadId stops it.
   */
  'files/upload': z.object({ stageId: id, identityId: id, uploadId: id }),
  /**
   * Downloads a file a notice announced and checks it (size, SHA-256, every chunk opens), keeping it
   * encrypted in the profile under the caller's `id`; progress as `files/progress` (direction `down`).
   * Calling again after a failure resumes where the download stopped; for a file already here it
   * answers at once.
   */
  'files/download': z.object({ id, ref: encryptedFileRefSchema }),
  /** Decrypted bytes of a downloaded file from `offset` (at most FILE_CHUNK_BYTES). */
  'files/read': z.object({ id, ref: encryptedFileRefSchema, offset: z.number().int().min(0) }),
  /** Forgets a downloaded (or partly downloaded) file, stopping its download, or stops an upload of `files/upload`. */
  'files/discard': z.object({ id }),
  /** Asks where to save a downloaded file (the system's Save As) and writes it there decrypted. */
  'files/saveAs': z.object({ id, ref: encryptedFileRefSchema, fileName: z.string().min(1).max(255) }),
  /**
   * Makes the next attempt for a message still `sending` now instead of at its scheduled time. The
   * attempt meets the same rules as any other (a server left alone for stalling stays left alone),
   * and its outcome arrives as `outbox/status`.
   */
  'messages/retryNow': z.object({ localId: id }),
  /** Why a message still `sending` waits, as its last `outbox/status` said (for a window opened since). */
  'messages/sendingReason': z.object({ localId: id }),
  /**
   * The UI committed batch `batchId` to its database: the engine may advance the drop cursors and answer
   * the receipts listed in `receipts`, and no others. The UI owns the contacts, so it decides: a receipt
   * is owed only to an accepted contact, and goes only to the drop URLs the user accepted for them (from
   * a contact card, or the hello they accepted), never to a URL a message merely claims. Strangers,
   * ignored and blocked senders get none. The engine answers only messages of this batch that asked.
   */
  'inbox/ack': z.object({
    batchId: id,
    receipts: z
      .array(z.object({ dedupeKey: z.string().min(1).max(256), dropUrls: z.array(httpUrl).min(1).max(16) }))
      .max(100_000)
      .default([]),
  }),
  /**
   * Answers receipts the UI held back: messages that asked for one while their sender was not yet an
   * accepted contact, answered once the user accepts them, at the drop URLs the user accepted.
   */
  'receipts/send': z.object({
    identityId: id,
    recipient: recipientSchema,
    acknowledgeIds: z.array(z.string().min(1).max(128).refine((ackId) => ackId !== '0', 'not a receipt id')).min(1).max(64),
  }),
  'settings/get': z.object({}),
  'settings/set': engineSettingsSchema.partial(),
  'servers/status': z.object({}),
  /**
   * Asks a server whether it is a drop server before the user puts a drop there: a HEAD on a fresh
   * random drop ID, which a drop server answers with 204 (or 200/304 with its drop headers). The
   * user chose this server for their own drop, so it counts as theirs for this request, as it will
   * once the drop exists.
   */
  'servers/probe': z.object({ serverUrl: httpUrl }),
  'poller/setPaused': z.object({ paused: z.boolean() }),
  /** Poll every drop now (e.g. on window focus or a "refresh" action). */
  'poller/pollNow': z.object({}),
  /** Opens an http(s) link in the system browser. */
  'links/open': z.object({ url: z.string().max(4096) }),
  /** A drop server on this computer. */
  'localServer/status': z.object({}),
  'localServer/start': z.object({
    port: z.number().int().min(0).max(65_535).default(0),
    /** Listen on the local network too (otherwise loopback only). */
    expose: z.boolean().default(false),
  }),
  'localServer/stop': z.object({}),
  /**
   * Shows a system notification the UI composed after it stored a message: the UI owns the contacts
   * and the messages, so it decides whether one is due (never for ignored or blocked senders, nor for
   * the conversation on screen) and what it reveals (the privacy setting). Main only shows it.
   */
  'notifications/show': z.object({
    title: z.string().min(1).max(200),
    body: z.string().max(500),
    /** Opened when the notification is clicked; absent: the window is shown (a notice about a device, not a chat). */
    conversation: conversationRefSchema.optional(),
  }),
  /** The unread count for the tray badge and tooltip, as the UI counts it. */
  'unread/set': z.object({ count: z.number().int().min(0).max(1_000_000) }),
  /** Seconds the camera may be opened (the QR scanner is showing); 0 closes the gate. */
  'camera/allow': z.object({ seconds: z.number().int().min(0).max(300) }),
  'desktop/getSettings': z.object({}),
  'desktop/setSettings': uiSettableSettingsSchema.strict(),
  /** The app's log files joined, oldest line first, to save as one file for a bug report. */
  'logs/export': z.object({}),
} as const satisfies Record<Channel, z.ZodType>;

export type RequestOf<C extends Channel> = z.input<(typeof requestSchemas)[C]>;
export type ParsedRequestOf<C extends Channel> = z.output<(typeof requestSchemas)[C]>;

export type KeyProtection = 'new' | 'passphrase' | 'host';

export interface AppInfo {
  version: string;
  /** 'electron' in the app, 'websocket' in the browser test host, 'direct' in Node. */
  host: 'electron' | 'websocket' | 'direct';
  paused: boolean;
  /** True until `app/unlock` succeeds when the key-encryption secret must come from a passphrase. */
  locked: boolean;
  /**
   * Where the key-encryption secret comes from. `new`: no state yet, the first `app/unlock` chooses
   * the passphrase (at least MIN_PASSPHRASE_LENGTH characters); `passphrase`: a passphrase the user
   * chose (Lock, auto-lock and Change passphrase apply); `host`: the host supplies the secret (the
   * OS keyring of the desktop app), so there is nothing to type and nothing to lock with.
   */
  keyProtection: KeyProtection;
  /** What this host offers beyond the engine: the UI calls a capability's channels only when it is there. */
  capabilities: Capabilities;
}

export interface LocalServerStatus {
  running: boolean;
  /** Base URL to use for own drops (loopback). */
  url: string | null;
  /** URLs reachable from the local network, to give to friends (empty unless exposed). */
  shareUrls: string[];
}

export interface ContactCard {
  /** The four-line `QABELCONTACT` string, for Qabel apps (their scanners read only this). */
  contactString: string;
  /**
   * The five-line `DEADDROP1` string with a QR prekey (PROTOCOL-V1.md 1c): what Deaddrop shows by
   * default. Each call notes the prekey as shown; a new one comes when the current one nears expiry.
   */
  v1ContactString: string;
  /** `.qco` file contents (with the version-1 `deaddrop` field) and the suggested file name. */
  qco: string;
  fileName: string;
}

/** `sessions/status`: which conversations of an identity are forward secret. */
export interface SessionsStatus {
  /** This engine starts version-1 sessions (its protocol switch); false: every message goes as version 0. */
  sending: boolean;
  /**
   * By contact public key (64 hex), the contacts we have a session with or who said they speak version 1.
   * `protocol` 1: our messages to them go in a session, forward secret since `since` (ms). Absent
   * contacts have not shown that their app speaks version 1.
   */
  contacts: Record<string, SessionContactStatus>;
}

export interface SessionContactStatus {
  protocol: 0 | 1;
  since: number | null;
  /**
   * A session reset with this contact (PROTOCOL-V1.md 1c "RESET"). `pending` true: an Init with the
   * reset flag arrived that proves only the contact's identity key (a restored backup or a new install
   * of theirs, or someone who stole that key); the old session stays in use until the user answers
   * `sessions/confirmReset` ("secure session reset by <alias>: accept?"). `pending` false: the session
   * was reset at `at` (inside the old session, accepted by the user, or started by us), for a line in
   * the conversation. Absent: no reset in the last 14 days.
   */
  reset?: { pending: boolean; at: number };
  /**
   * Why a contact who speaks version 1 gets version 0 (with `protocol` 0): `ownDevices`, this identity is
   * on several devices; `peerDevices`, the contact's is. Sessions are for one device per identity for now
   * (the chat header: "Not forward secret: you use several devices" / "<alias> uses several devices").
   */
  reason?: 'ownDevices' | 'peerDevices';
}

export interface SendAccepted {
  localId: string;
  /** One acknowledge id per drop message (several when the text was split); empty without receipt. */
  acknowledgeIds: string[];
  parts: number;
}

export interface ResponseMap {
  'app/info': AppInfo;
  'app/unlock': AppInfo;
  /** base64 of 32 bytes. */
  'app/databaseKey': { key: string };
  'app/lock': AppInfo;
  'app/changePassphrase': null;
  'identities/list': IdentitySummary[];
  'identities/create': IdentitySummary;
  'identities/import': IdentitySummary;
  'identities/export': { fileName: string; content: string };
  'identities/delete': null;
  'identities/contactCard': ContactCard;
  'sessions/status': SessionsStatus;
  'sessions/confirmReset': SessionsStatus;
  'contacts/revokeTickets': { struck: number; pending: number };
  'identities/addDrop': IdentitySummary;
  'identities/removeDrop': IdentitySummary;
  'identities/moveDrop': IdentitySummary;
  'identities/moveConfirmed': IdentitySummary;
  'identities/rename': IdentitySummary;
  'backup/exportBegin': { transferId: string };
  /** `size`: bytes of the sealed file. */
  'backup/exportSeal': { fileName: string; size: number };
  'backup/importBegin': { transferId: string };
  'backup/importOpen': BackupPreview;
  'backup/importCommit': IdentitySummary;
  'backup/upload': { received: number };
  /** base64url of up to BACKUP_CHUNK_BYTES bytes from the offset, and the total size. */
  'backup/download': { data: string; size: number };
  'backup/discard': null;
  'devices/linkBegin': { status: DeviceLinkStatus; linkString: string };
  'devices/linkUpload': { received: number };
  'devices/linkConfirm': DeviceLinkStatus;
  'devices/linkCancel': DeviceLinkStatus;
  'devices/linkStatus': DeviceLinkStatus;
  'devices/linkJoin': DeviceLinkStatus;
  /** base64url of up to BACKUP_CHUNK_BYTES bytes from the offset, and the total size. */
  'devices/linkDownload': { data: string; size: number };
  'devices/linkCommit': IdentitySummary;
  'devices/list': DeviceListStatus;
  'devices/rename': DeviceListStatus;
  'devices/remove': DeviceListStatus;
  'devices/clearAlarms': DeviceListStatus;
  'devices/confirmJoined': DeviceListStatus;
  /** How many sync messages went into the outbox (0 on an identity's only device). */
  'devices/sync': { messages: number };
  'devices/rotateKey': { publicKey: string; contacts: number; siblings: number };
  'messages/send': SendAccepted;
  'messages/cancel': { cancelled: boolean };
  'files/stageBegin': { stageId: string };
  'files/stageChunk': { received: number };
  'files/stageDiscard': null;
  'files/send': { localId: string };
  'files/upload': { uploadId: string };
  /** `ready`: the file was here already (no download started). */
  'files/download': { ready: boolean };
  /** base64url of up to FILE_CHUNK_BYTES decrypted bytes from the offset, and the file's size. */
  'files/read': { data: string; size: number };
  'files/discard': null;
  /** `saved`: false when the user closed the dialog. */
  'files/saveAs': { saved: boolean };
  /** False when the message is not being sent (posted, failed, cancelled or unknown). */
  'messages/retryNow': { retrying: boolean };
  /** Null when the message is not waiting for a next attempt (or not being sent). */
  'messages/sendingReason': SendingReason | null;
  'inbox/ack': null;
  'receipts/send': null;
  'settings/get': EngineSettings;
  'settings/set': EngineSettings;
  'servers/status': ServerStatus[];
  /** `detail`: the engine's own text of what went wrong (null for a drop server). */
  'servers/probe': { outcome: ServerProbeOutcome; detail: string | null };
  'poller/setPaused': { paused: boolean };
  'poller/pollNow': null;
  'links/open': { opened: boolean };
  'localServer/status': LocalServerStatus;
  'localServer/start': LocalServerStatus;
  'localServer/stop': LocalServerStatus;
  'notifications/show': null;
  'unread/set': null;
  /** Epoch milliseconds until which a camera permission request is granted. */
  'camera/allow': { allowedUntil: number };
  'desktop/getSettings': DesktopSettings;
  'desktop/setSettings': DesktopSettings;
  /** Already redacted (no keys, drop IDs, message text or passphrases); the suggested file name. */
  'logs/export': { fileName: string; content: string };
}
export type ResponseOf<C extends Channel> = ResponseMap[C];

// ---------------------------------------------------------------------------------------------
// Events: engine and shell -> UI

export interface EventMap {
  /**
   * New messages and receipts from one poll of one drop. Delivered at least once: the same batch (or
   * an overlapping one) comes again until the UI answers `inbox/ack` with its batchId.
   */
  'inbox/batch': { batchId: string; messages: IncomingMessage[]; receipts: Receipt[] };
  /** Progress of an outgoing message accepted by `messages/send`. */
  /**
   * `acknowledgeIds` comes once, when the engine built a message it accepted without `messages/send`
   * answering (a file's notice, built once the upload is done).
   */
  'outbox/status': {
    localId: string;
    status: OutboxStatus;
    error?: string;
    attempt?: number;
    reason?: SendingReason;
    acknowledgeIds?: string[];
    /**
     * Copies accepted so far (k of n). Comes with `posted` (1 of 2 after the first accepted copy of
     * every piece, again as 2 of 2 after the next one) and with `sending` while copies are going out.
     * Absent from engines before k-of-n posting.
     */
    copies?: OutboxCopies;
    /** Re-posting until acknowledged (comes with `posted`); see RepostState. */
    repost?: RepostState;
  };
  /**
   * The recipient acknowledged an outgoing message: a receipt for it arrived (version 0 `box_ack`,
   * version 1 RECEIPT: also in `inbox/batch` receipts) or, in version 1, the contact's acknowledgement
   * vector covers it (`via: 'ackv'`: no receipt event comes for those). The UI shows "Delivered".
   * Re-posting stops. May come more than once for one message; treat it as idempotent.
   */
  'outbox/delivered': { localId: string; via: 'receipt' | 'ackv' };
  /**
   * A drop server under load (or a closed drop taking introductions) asked for proof of work, and the
   * engine computes a stamp for a copy of this outgoing message in its stamp worker (PROTOCOL-V1 3c L2):
   * `hashes` tried so far of `expected` on average (2^bits; one search may take several times that).
   * The first comes with `hashes` 0 when the stamp starts, then about four a second; the message stays
   * `sending` meanwhile and `outbox/status` follows as usual (`posted`, or a `reason` when the server
   * still refuses). `messages/cancel` stops the stamp. Only ever sent while a stamp is computed.
   */
  'outbox/stampProgress': { localId: string; hashes: number; expected: number; /** The drop the stamped copy goes to (always sent by this engine; absent from older ones). */ dropUrl?: string };
  'files/progress': FileProgress;
  'servers/status': ServerStatus[];
  'identities/changed': IdentitySummary[];
  /** The shell asks the UI to open a conversation (its notification was clicked). */
  'app/openConversation': ConversationRef;
  /** The engine locked (`app/lock`, from any window, the tray or the menu): forget what was read with its keys. */
  'app/locked': AppInfo;
  /**
   * The sessions of an identity changed in a way the UI shows (a reset waits for the user's answer, was
   * answered, or happened): fetch `sessions/status` again.
   */
  'sessions/changed': { identityId: string };
  /** A device link changed state or made progress (`DeviceLinkStatus`). */
  'devices/linkChanged': DeviceLinkStatus;
  /**
   * An identity's device list changed here, an alarm was raised (a contact sends to a device we never
   * added) or another device removed this one: fetch `devices/list` again.
   */
  'devices/changed': {
    identityId: string;
    alarm: boolean;
    /**
     * Devices that joined through a sibling's list and that no list here ever held (shown once as a
     * notice and a system notification; `devices/list` `joined` keeps them until confirmed).
     */
    joined?: { deviceId: string; name: string; addedBy: string | null }[];
  };
}

/** One event as a discriminated union: switching on `event` narrows `payload`, no cast needed. */
export type AppEvent = { [E in EventName]: { event: E; payload: EventMap[E] } }[EventName];

/** Builds the union member of one event (the one place where the pair is joined). */
export function appEvent<E extends EventName>(event: E, payload: EventMap[E]): AppEvent {
  return { event, payload } as AppEvent;
}

// `channels.ts` lists the event names for the preload; both lists must name the same events.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const eventNamesMatch: Same<keyof EventMap, EventName> = true;
void eventNamesMatch;

/** What the renderer sees: one async call per channel, answered with a Result, plus event subscription. */
export interface DeaddropBridge {
  invoke<C extends Channel>(channel: C, request: RequestOf<C>): Promise<Result<ResponseOf<C>>>;
  on<E extends EventName>(event: E, listener: (payload: EventMap[E]) => void): () => void;
}

/** Handlers of some channels: one async function each; requests arrive validated. */
export type HandlerTable<C extends Channel = Channel> = { [K in C]: (request: ParsedRequestOf<K>) => Promise<ResponseOf<K>> };

/** The engine's handler table: every channel that needs no capability, served by every transport. */
export type ApiHandlers = HandlerTable<EngineChannel>;

/** The desktop shell's handlers: the channels that need a capability. */
export type HostHandlers = HandlerTable<HostChannel>;

/** Where the engine emits events; each transport forwards them to its UI. */
export type EventSink = <E extends EventName>(event: E, payload: EventMap[E]) => void;

/** Receives events as the discriminated union. */
export type AppEventListener = (event: AppEvent) => void;

/**
 * What the Electron preload exposes as `deaddrop` on the page's global object: one named function per
 * channel (built from `channels.ts`, so no channel string is spelled twice) and an allow-listed event
 * subscription. Never `ipcRenderer`.
 */
export type PreloadApi = { [C in Channel]: (request: RequestOf<C>) => Promise<Result<ResponseOf<C>>> } & {
  on<E extends EventName>(event: E, listener: (payload: EventMap[E]) => void): () => void;
};

/**
 * The one API contract between the UI and the engine (electron/core).
 *
 * Every transport derives from this file: Electron IPC (main + preload), the WebSocket host used by
 * browser tests, direct calls in Node tests and in the CLI. Channel names are `domain/verb`; nothing
 * else in the code base spells a channel as a bare string.
 *
 * Requests are validated with the zod schema of their channel at every boundary (the renderer is
 * untrusted from the engine's point of view). Responses and events are produced by the engine and are
 * typed only.
 */
import { z } from 'zod';
import type { Result } from './result.js';

// ---------------------------------------------------------------------------------------------
// Shared value types

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters');
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
});
export type EngineSettings = z.infer<typeof engineSettingsSchema>;

export interface ServerStatus {
  /** Drop server base URL (scheme, host, port, service path). */
  serverUrl: string;
  reachable: boolean | null;
  lastPollAt: number | null;
  latencyMs: number | null;
  pushConnected: boolean;
  lastError: string | null;
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
  /** Chat text for box_message (and the `msg` of a share notification), if present and a string. */
  text: string | null;
  share: { file: string; url: string; size: number } | null;
  part: MessagePart | null;
  acknowledgeId: string;
  meta: SenderMeta | null;
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

// ---------------------------------------------------------------------------------------------
// Requests: channel -> request schema and response type

export const sendRequestSchema = z.object({
  identityId: id,
  /** Caller's id for this outgoing message; re-sending the same localId never posts twice. */
  localId: id,
  recipient: recipientSchema,
  text: z.string().min(1).max(100_000),
  wantReceipt: z.boolean().default(true),
});

export const requestSchemas = {
  'app/info': z.object({}),
  /** Unlocks the engine with the user's passphrase when no OS keyring holds the key-encryption secret. */
  'app/unlock': z.object({ passphrase: z.string().min(1).max(1024) }),
  /** The key the UI seals its database records with; only while unlocked. */
  'app/databaseKey': z.object({}),
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
  /** Opens one more drop for an identity on another (or the same) drop server, with the identity's drop range. */
  'identities/addDrop': z.object({ identityId: id, serverUrl: httpUrl }),
  /** Stops using one of an identity's drops (never its last one). Contacts keep writing there until told. */
  'identities/removeDrop': z.object({ identityId: id, dropUrl: httpUrl }),
  'messages/send': sendRequestSchema,
  'messages/cancel': z.object({ localId: id }),
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
  'poller/setPaused': z.object({ paused: z.boolean() }),
  /** Poll every drop now (e.g. on window focus or a "refresh" action). */
  'poller/pollNow': z.object({}),
  /** Opens an http(s) link in the system browser (main process only; elsewhere it is recorded). */
  'links/open': z.object({ url: z.string().max(4096) }),
  /** The desktop app can run a drop server on this computer; other hosts answer `unavailable`. */
  'localServer/status': z.object({}),
  'localServer/start': z.object({
    port: z.number().int().min(0).max(65_535).default(0),
    /** Listen on the local network too (otherwise loopback only). */
    expose: z.boolean().default(false),
  }),
  'localServer/stop': z.object({}),
} as const;

export type Channel = keyof typeof requestSchemas;
export type RequestOf<C extends Channel> = z.input<(typeof requestSchemas)[C]>;
export type ParsedRequestOf<C extends Channel> = z.output<(typeof requestSchemas)[C]>;

export interface AppInfo {
  version: string;
  /** 'electron' in the app, 'websocket' in the browser test host, 'direct' in Node. */
  host: 'electron' | 'websocket' | 'direct';
  paused: boolean;
  /** True until `app/unlock` succeeds when the key-encryption secret must come from a passphrase. */
  locked: boolean;
}

export interface LocalServerStatus {
  running: boolean;
  /** Base URL to use for own drops (loopback). */
  url: string | null;
  /** URLs reachable from the local network, to give to friends (empty unless exposed). */
  shareUrls: string[];
}

export interface ContactCard {
  /** The four-line `QABELCONTACT` string (also the QR code text). */
  contactString: string;
  /** `.qco` file contents and the suggested file name. */
  qco: string;
  fileName: string;
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
  'identities/list': IdentitySummary[];
  'identities/create': IdentitySummary;
  'identities/import': IdentitySummary;
  'identities/export': { fileName: string; content: string };
  'identities/delete': null;
  'identities/contactCard': ContactCard;
  'identities/addDrop': IdentitySummary;
  'identities/removeDrop': IdentitySummary;
  'messages/send': SendAccepted;
  'messages/cancel': { cancelled: boolean };
  'inbox/ack': null;
  'receipts/send': null;
  'settings/get': EngineSettings;
  'settings/set': EngineSettings;
  'servers/status': ServerStatus[];
  'poller/setPaused': { paused: boolean };
  'poller/pollNow': null;
  'links/open': { opened: boolean };
  'localServer/status': LocalServerStatus;
  'localServer/start': LocalServerStatus;
  'localServer/stop': LocalServerStatus;
}
export type ResponseOf<C extends Channel> = ResponseMap[C];

// ---------------------------------------------------------------------------------------------
// Events: engine -> UI

export interface EventMap {
  /**
   * New messages and receipts from one poll of one drop. Delivered at least once: the same batch (or
   * an overlapping one) comes again until the UI answers `inbox/ack` with its batchId.
   */
  'inbox/batch': { batchId: string; messages: IncomingMessage[]; receipts: Receipt[] };
  /** Progress of an outgoing message accepted by `messages/send`. */
  'outbox/status': { localId: string; status: OutboxStatus; error?: string; attempt?: number };
  'servers/status': ServerStatus[];
  'identities/changed': IdentitySummary[];
  /** Main process asks the UI to open a conversation (e.g. a notification was clicked). */
  'app/openConversation': { identityId: string; contactKey: string };
}
export type EventName = keyof EventMap;

export const channels = Object.keys(requestSchemas) as Channel[];
export const eventNames: EventName[] = [
  'inbox/batch',
  'outbox/status',
  'servers/status',
  'identities/changed',
  'app/openConversation',
];

/** What the renderer sees: one named async function per channel, plus event subscription. */
export interface DeaddropBridge {
  invoke<C extends Channel>(channel: C, request: RequestOf<C>): Promise<Result<ResponseOf<C>>>;
  on<E extends EventName>(event: E, listener: (payload: EventMap[E]) => void): () => void;
}

/** The engine's handler table: one async function per channel, serving every transport. */
export type ApiHandlers = { [C in Channel]: (request: ParsedRequestOf<C>) => Promise<ResponseOf<C>> };

/** Where the engine emits events; each transport forwards them to its UI. */
export type EventSink = <E extends EventName>(event: E, payload: EventMap[E]) => void;

/**
 * What the Electron preload exposes as `deaddrop` on the page's global object: one named function per channel (derived from this
 * contract, so no channel string is spelled twice) and an allow-listed event subscription. Never `ipcRenderer`.
 */
export type PreloadApi = { [C in Channel]: (request: RequestOf<C>) => Promise<Result<ResponseOf<C>>> } & {
  on<E extends EventName>(event: E, listener: (payload: EventMap[E]) => void): () => void;
};

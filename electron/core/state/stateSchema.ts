/**
 * The engine's one state file (DESIGN.md "Who owns which state"): identities with their private keys
 * encrypted at rest, per-drop acknowledged cursors, engine settings, outbox idempotency records, the
 * receipts still to post and the dedupe keys of recently delivered messages. Parsed with a schema: the file is untrusted input too.
 */
import { z } from 'zod';
import { type EngineSettings, engineSettingsSchema } from '../../../shared/ipc/contract.js';

export const STATE_FORMAT = 'deaddrop-engine-state';
export const STATE_VERSION = 1;
export const STATE_FILE_NAME = 'engine-state.json';

const storedIdentitySchema = z.object({
  id: z.string().min(1),
  alias: z.string(),
  publicKey: z.string().regex(/^[0-9a-f]{64}$/),
  dropUrls: z.array(z.string()),
  dropBits: z.number().int().min(1).max(256),
  createdAt: z.number(),
  /** base64 of nonce || AES-256-GCM(private key) || tag under the data key. */
  sealedPrivateKey: z.string(),
  /**
   * Drops the user removed, still read until `until` (ms) so that nothing contacts posted before they
   * heard of the change is lost. Files written before this existed have none.
   */
  /**
   * `movedAt`: the drop was moved away from (identities/moveDrop): read at the normal rate for
   * MOVE_FULL_RATE_MS (or until `confirmedAt`, identities/moveConfirmed), then once a day until `until`.
   * Absent: removed, read at the normal rate.
   */
  retiredDrops: z.array(z.object({ url: z.string(), until: z.number(), movedAt: z.number().optional(), confirmedAt: z.number().optional() })).default([]),
  /**
   * The drops epoch (PROTOCOL-V1.md 2c, u16, wrapping): one more on every change of `dropUrls` (a drop
   * added, moved, removed). Every version-1 PDU we seal carries it (`sender_drops_epoch`), so a contact
   * whose list of our drops is older sees it on the next message. 0 in files written before it.
   */
  dropsEpoch: z.number().int().min(0).max(0xffff).default(0),
  /**
   * QR prekeys of version-1 contact cards (PROTOCOL-V1.md 1c): the newest is on the card until it is
   * about to expire; each private key is kept until 30 days after its card was last shown, so a
   * first message from a card scanned late still opens, and deleted then (forward secrecy).
   */
  /**
   * Names this identity's version-1 sessions (electron/core/state/sessionStore.ts): sealed sessions
   * are bound to it, and a restored identity gets a new one, so no session of the identity's earlier
   * life (a copy of the sessions file) is ever opened again. Empty in files written before sessions.
   */
  sessionEpoch: z.string().default(''),
  /**
   * Keys this identity replaced (identity rotation, electron/core/devices/rotation.ts), sealed like
   * `sealedPrivateKey` under their own public key: still tried on what arrives until `until` (ms), so
   * messages contacts sealed before they heard of the new key are read. Absent: never rotated.
   */
  retiredKeys: z.array(z.object({ publicKey: z.string().regex(/^[0-9a-f]{64}$/), sealedPrivateKey: z.string(), until: z.number() })).optional(),
  /**
   * The public key the identity's sealed sessions and device list are bound to (the key it had before
   * its first rotation), so that they still open after one. Absent: `publicKey`.
   */
  contextKey: z.string().optional(),
  /**
   * This identity's drops claimed as closed (electron/core/spam/closedDrops.ts): the last policy the
   * server took for each (`seq`, the ticket key ids it names, the introductions per day it allows).
   * The keys themselves are derived from the identity's private key, never stored.
   */
  closedDrops: z
    .array(
      z.object({
        url: z.string(),
        seq: z.number().int().min(1),
        keyIds: z.array(z.number().int().min(0).max(255)),
        introPerDay: z.number().int().min(0),
        /** Contacts (64 hex) handed tickets for this drop. */
        given: z.array(z.string()).default([]),
        /** The batches handed out (electron/core/spam/ticketBatches.ts): top-up estimate and revocation. */
        batches: z
          .array(z.object({ contact: z.string(), seed: z.string(), keyId: z.number().int().min(0).max(255), expDay: z.number().int().min(0), count: z.number().int().min(0) }))
          .default([]),
        /** Messages that came from each contact (64 hex) through this drop since it was first handed tickets. */
        arrived: z.record(z.string(), z.number().int().min(0)).default({}),
        /** Contacts whose tickets are to be struck at the server (a revocation the server has not taken yet). */
        revoking: z.array(z.string()).default([]),
      }),
    )
    .default([]),
  /**
   * Tickets contacts handed us for their closed drops, per contact (64 hex) and drop URL: base64 of
   * the concatenated 32-byte tickets, sealed under the data key like `sealedPrivateKey`. A ticket is
   * taken out before the POST that uses it.
   */
  ticketWallet: z.array(z.object({ contactKey: z.string(), dropUrl: z.string(), sealed: z.string() })).default([]),
  qrPrekeys: z
    .array(
      z.object({
        /** 64 hex. */
        publicKey: z.string().regex(/^[0-9a-f]{64}$/),
        /** Like `sealedPrivateKey`, under the data key. */
        sealedPrivateKey: z.string(),
        createdAt: z.number(),
        /** The last moment the card may offer it (its expiry day ends then). */
        expiresAt: z.number(),
        lastShownAt: z.number(),
      }),
    )
    .default([]),
});
export type StoredIdentity = z.infer<typeof storedIdentitySchema>;

const outboxRecordSchema = z.object({
  status: z.enum(['queued', 'sending', 'posted', 'failed', 'cancelled']),
  identityId: z.string(),
  acknowledgeIds: z.array(z.string()),
  parts: z.number().int(),
  /** How many pieces are posted so far (pieces go out in order). */
  postedParts: z.number().int(),
  /** base64 PDUs of the pieces not yet posted: a resend after a restart posts the very same bytes. */
  pendingPdus: z.array(z.string()),
  dropUrls: z.array(z.string()),
  updatedAt: z.number(),
  /*
   * k-of-n posting and re-posting (electron/core/outbox/copies.ts). Records written before it have
   * none of these and are posted the old way, from `pendingPdus`.
   */
  /** 0: version-0 boxes, one sealed per target; 1: version-1 PDUs, one per copy index. */
  protocol: z.union([z.literal(0), z.literal(1)]).default(0),
  /** k: copies wanted of every piece. */
  wanted: z.number().int().min(1).max(4).default(1),
  /** The recipient (64 hex): whose receipts acknowledge this message. */
  recipientKey: z.string().default(''),
  /** The recipient's drops the copies may go to, one per distinct server, best first when sealed. */
  targets: z.array(z.string()).default([]),
  /**
   * Per piece: `sealed` (base64 PDUs; version 0: the box for `targets[i]`, version 1: copy index i;
   * '' once no longer needed) and `placed`: which copy went to which target, and when the server took it.
   */
  pieces: z
    .array(z.object({ sealed: z.array(z.string()), placed: z.array(z.object({ target: z.number().int(), sealed: z.number().int(), at: z.number() })) }))
    .default([]),
  /** Acknowledge ids whose receipt arrived (or pieces the peer's ackv covered). */
  acked: z.array(z.string()).default([]),
  /** Set once every piece is acknowledged. */
  deliveredAt: z.number().nullable().default(null),
  /** Re-posting: next due at `nextRepostAt`, until `repostUntil`; null: never re-posted. */
  nextRepostAt: z.number().nullable().default(null),
  repostUntil: z.number().nullable().default(null),
  repostEnded: z.enum(['timeLimit', 'storageLimit', 'cancelled']).nullable().default(null),
  /** Version 1: the session sender's references of these messages, for its acknowledgement vectors. */
  refs: z.array(z.string()).default([]),
  /** Version 1, per-device sessions: the contact's device each piece is sealed to (null: the contact as one device). */
  pieceDevices: z.array(z.string().nullable()).default([]),
});
/** A record as it is kept (and read back): every field present. */
export type StoredOutboxRecord = z.infer<typeof outboxRecordSchema>;

/** A record as callers may write it: without the k-of-n fields it is a record of before them. */
export type OutboxRecord = z.input<typeof outboxRecordSchema>;

/** The k-of-n fields of a record written without them (as a file of before them reads). */
export function withOutboxDefaults(record: OutboxRecord): StoredOutboxRecord {
  return {
    protocol: 0,
    wanted: 1,
    recipientKey: '',
    targets: [],
    pieces: [],
    acked: [],
    deliveredAt: null,
    nextRepostAt: null,
    repostUntil: null,
    repostEnded: null,
    refs: [],
    pieceDevices: [],
    ...record,
  };
}

/** Bytes of sealed pieces a record keeps (for the bound on the state file). */
export function retainedBytes(record: StoredOutboxRecord): number {
  let bytes = 0;
  for (const pdu of record.pendingPdus) bytes += pdu.length;
  for (const piece of record.pieces) for (const pdu of piece.sealed) bytes += pdu.length;
  return bytes;
}

/** A record still holding sealed pieces: to post, or to re-post until acknowledged. */
export function holdsPdus(record: StoredOutboxRecord): boolean {
  return record.pendingPdus.length > 0 || record.pieces.some((piece) => piece.sealed.some((pdu) => pdu !== ''));
}

/** A drop server's health as our own posts found it (electron/core/outbox/health.ts). */
const serverHealthSchema = z.object({ score: z.number().min(0).max(1), latencyMs: z.number().min(0), at: z.number() });
export type ServerHealth = z.infer<typeof serverHealthSchema>;

/** A `box_ack` the engine owes and has not posted yet: it survives a restart until it is posted. */
const queuedReceiptSchema = z.object({
  identityId: z.string(),
  /** The public key of the message's sender, who gets the receipt. */
  recipientKey: z.string().regex(/^[0-9a-f]{64}$/),
  /** The drop URLs the UI named for it, tried in order. */
  dropUrls: z.array(z.string()).min(1),
  acknowledgeId: z.string(),
  queuedAt: z.number(),
});
export type QueuedReceipt = z.infer<typeof queuedReceiptSchema>;

export const stateSchema = z.object({
  format: z.literal(STATE_FORMAT),
  version: z.literal(STATE_VERSION),
  /** The data key sealed with the key-encryption secret (passphraseSeal text). */
  keyWrap: z.string(),
  identities: z.array(storedIdentitySchema),
  cursors: z.record(z.string(), z.string()),
  // Files written before the local-network setting existed read as "not allowed"; before the receipts
  // setting, as "send receipts" (what those versions did).
  // Files written before auto-lock existed never lock by themselves (autoLockMinutes 0).
  settings: engineSettingsSchema.extend({ allowLocalNetwork: z.boolean().default(false), autoLockMinutes: engineSettingsSchema.shape.autoLockMinutes.default(0), sendReceipts: z.boolean().default(true) }),
  outbox: z.record(z.string(), outboxRecordSchema),
  // Files written before receipts were queued on disk owe none.
  receipts: z.array(queuedReceiptSchema).default([]),
  seen: z.array(z.string()),
  /**
   * The write counter of every version-1 session (`<identity id> <session id>` → counter), mirrored
   * from the sessions file: a session found there with a lower counter is a restored copy (rollback)
   * and is never used again (PROTOCOL-V1.md 1c "State per contact session").
   */
  sessionCounters: z.record(z.string(), z.number().int().min(0)).default({}),
  /** Posting health per drop server (origin); none in files written before k-of-n posting. */
  serverHealth: z.record(z.string(), serverHealthSchema).default({}),
});
export type EngineState = z.infer<typeof stateSchema>;

export const defaultSettings: EngineSettings = { pollIntervalMs: 30_000, push: true, proxy: { kind: 'none' }, allowLocalNetwork: false, autoLockMinutes: 0, sendReceipts: true };

/**
 * Sibling sync (`box_sync`, ours; PROTOCOL-V1.md 5c `SYNC`): what one device of an identity tells the
 * identity's other devices, so that a desktop and a laptop show the same conversations. It travels as
 * a version-0 box from the identity to the identity itself, into the identity's own drops: only a
 * holder of the identity key can seal a box whose authenticated sender is that key, so a `box_sync`
 * from any other sender is ignored (the engine drops it before the UI sees it). `device` names the
 * sending device, so each device skips its own.
 *
 * Items (each applies idempotently, so a copy read twice or re-posted changes nothing the second time):
 * - `sent`: a message this device sent to `contact`, under its `localId`, at `sentAt`. A long text
 *   comes as `count` fragments (`index`, `text`); its receipt ids (`ackIds`) may come in items of their
 *   own. The other devices show it as sent by us, and receipts for those ids then confirm it there too.
 * - `read`: the conversation with `contact` was read up to `upTo` (its newest message's time).
 * - `contact`: the whole shared state of a contact (`put`) or its deletion (`del`), ordered by a Lamport
 *   `clock`, ties broken by the sending device's id: the last writer wins on every device.
 * - `historyRequest`: a device back after more than a drop's lifetime asks for the messages since a
 *   time (at most MAX_HISTORY_MESSAGES, the newest); each sibling answers with `history` items, one
 *   stored row each (in fragments like `sent`), under the request's id and with the answer's total.
 * - `drops` (DROPS_CHANGE): the identity's drop list after a drop was added, moved or removed here,
 *   at its drops `epoch`, with the drops still read while they retire (`retiring`, each with its end)
 *   and the closed-drop claims of the listed drops (`claims`: what the server took; the ticket keys
 *   derive from the identity key every device holds). The engine applies it (the engine owns the
 *   identity's drops): a newer epoch only, and a drop it read until then keeps being read until its
 *   retiring end, so nothing contacts posted there is lost.
 * - A `sent` item of a file carries `file`: the notice (name, caption, content type, the blob's
 *   reference and key), so the sibling shows it as sent and can download it as the recipient does.
 * - `settings` (PROTOCOL-V1.md 5c SYNC subtype SETTINGS): the settings that belong to the user rather
 *   than to the computer (SYNCED_SETTINGS), each with the Lamport stamp of its last change; per key the
 *   highest (clock, device id) wins on every device, as contacts do (`newerStamp`).
 */
import { z } from 'zod';
import { PAYLOAD_LENGTH } from '../protocol/boxTypes.js';
import { HEX_KEY } from '../protocol/encoding.js';
import { DROP_MESSAGE_VERSION, type DropMessage, serializeDropMessage } from '../protocol/message.js';
import type { PayloadModule } from './payloadModule.js';
import { encryptedFileRefSchema } from './share.js';
import { trafficBudgetSchema } from '../budget/setting.js';

export const BOX_SYNC = 'box_sync';

/** Items one sync request (and one incoming sync message) may hold. */
export const MAX_SYNC_ITEMS = 256;
/** Fragments one sent text may come in (a text of MAX_TEXT_LENGTH characters of any kind fits). */
export const MAX_SENT_FRAGMENTS = 2048;
/** Receipt ids one `sent` item may carry (a text of up to 256 pieces, as MAX_TEXT_PARTS). */
const MAX_ACK_IDS = 256;
/** Left free in each message for what the outbox adds when it serialises (`dd`). */
const ENVELOPE_SLACK = 64;

const hex64 = z.string().regex(HEX_KEY, 'expected 64 lowercase hex characters');
const localId = z.string().min(1).max(128);
const time = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const dropUrl = z
  .string()
  .max(2048)
  .refine((s) => /^https?:\/\/\S+$/i.test(s), 'expected an http or https URL');

const fragmentFields = {
  contact: hex64,
  /** Fragments of the text in all (1 for a short text). */
  count: z.number().int().min(1).max(MAX_SENT_FRAGMENTS),
  /** This item's fragment: its place and its text. Absent in an item that carries only receipt ids. */
  index: z.number().int().min(0).max(MAX_SENT_FRAGMENTS - 1).optional(),
  text: z.string().max(4096).optional(),
  ackIds: z.array(z.string().min(1).max(128)).max(MAX_ACK_IDS).optional(),
};
const fragmentChecks = <T extends { index?: number | undefined; text?: string | undefined; count: number }>(schema: z.ZodType<T>) =>
  schema
    .refine((item) => (item.index === undefined) === (item.text === undefined), 'a fragment has both its index and its text')
    .refine((item) => item.index === undefined || item.index < item.count, 'fragment index out of range');

/** A file a sibling sent: what its notice said (shared/modules/share.ts), so this device can fetch it too. */
export const syncFileSchema = z.object({
  name: z.string().min(1).max(255),
  mime: z.string().max(128).regex(/^[\w.+-]+\/[\w.+-]+$/).nullable(),
  ref: encryptedFileRefSchema,
});
export type SyncFile = z.infer<typeof syncFileSchema>;

export const syncSentSchema = fragmentChecks(z.object({ kind: z.literal('sent'), localId, sentAt: time, ...fragmentFields, file: syncFileSchema.optional() }));

/** Messages one history request may ask for, and one answer carries at most. */
export const MAX_HISTORY_MESSAGES = 500;
const requestId = z.string().regex(/^[0-9a-f]{8,32}$/);

/** A device back after a long time asks its siblings for what it missed since `since` (the newest `limit`). */
export const syncHistoryRequestSchema = z.object({
  kind: z.literal('historyRequest'),
  request: requestId,
  since: time,
  limit: z.number().int().min(1).max(MAX_HISTORY_MESSAGES),
});

/**
 * One message of a history answer: the row as the answering device stores it (`rowId` is the same on
 * every device: `out:<localId>` or `in:<identityId>:<dedupeKey>`), `total` rows in the answer.
 */
export const syncHistorySchema = fragmentChecks(
  z.object({
    kind: z.literal('history'),
    request: requestId,
    total: z.number().int().min(0).max(MAX_HISTORY_MESSAGES),
    rowId: z.string().min(1).max(512),
    direction: z.enum(['in', 'out']),
    at: time,
    delivered: z.boolean().optional(),
    ...fragmentFields,
  }),
);

export const syncReadSchema = z.object({ kind: z.literal('read'), contact: hex64, upTo: time });

export const syncContactSchema = z.object({
  kind: z.literal('contact'),
  contact: hex64,
  clock: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  op: z.enum(['put', 'del']),
  /** The rest only with `put`. */
  alias: z.string().max(1024).optional(),
  aliasFromUser: z.boolean().optional(),
  status: z.enum(['unknown', 'accepted', 'verified', 'ignored', 'blocked']).optional(),
  dropUrls: z.array(dropUrl).max(16).optional(),
  v1: z.object({ qrPrekey: hex64, qrPrekeyExpiresDay: z.number().int().min(0).max(0xffff), caps: z.number().int().min(0).max(0xffff) }).optional(),
});

/** Drops a `drops` item may list (as MAX_DROPS_PER_IDENTITY) and retiring drops it may name. */
const MAX_SYNC_DROPS = 8;
const MAX_SYNC_RETIRING = 16;

export const syncDropsSchema = z.object({
  kind: z.literal('drops'),
  /** The identity's drops epoch (u16, wrapping) after the change. */
  epoch: z.number().int().min(0).max(0xffff),
  dropUrls: z.array(dropUrl).min(1).max(MAX_SYNC_DROPS),
  /** Drops no longer handed out and still read until `until` (`movedAt`: moved away from, drops/retiring.ts). */
  retiring: z
    .array(z.object({ url: dropUrl, until: time, movedAt: time.optional(), confirmedAt: time.optional() }))
    .max(MAX_SYNC_RETIRING),
  /** Closed-drop claims of listed drops: the policy the server took (sequence, ticket key ids, introductions a day). */
  claims: z
    .array(z.object({ url: dropUrl, seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER), keyIds: z.array(z.number().int().min(0).max(255)).max(256), introPerDay: z.number().int().min(0).max(1_000_000) }))
    .max(MAX_SYNC_DROPS)
    .default([]),
});

/**
 * The settings that travel between the devices of an identity, each with what its value may be. What
 * belongs to the computer stays on it: theme, start minimised, polling, push, proxy, the local network,
 * window and paths, the passphrase.
 * - engine settings (`settings/set`): receipts, copies per message, the traffic budget, closed drops,
 *   the auto-lock delay;
 * - the UI's: what a notification shows, and up to what size images are fetched when shown.
 */
export const SYNCED_SETTINGS = {
  sendReceipts: z.boolean(),
  copies: z.number().int().min(1).max(4),
  trafficBudget: trafficBudgetSchema,
  closedDrops: z.boolean(),
  autoLockMinutes: z.union([z.literal(0), z.literal(5), z.literal(15), z.literal(60)]),
  notificationPrivacy: z.enum(['nameAndText', 'nameOnly', 'nothing']),
  autoDownloadImagesMb: z.number().min(0).max(100),
} as const;
export type SyncedSettingKey = keyof typeof SYNCED_SETTINGS;
export type SyncedSettings = { [K in SyncedSettingKey]: z.infer<(typeof SYNCED_SETTINGS)[K]> };
export const SYNCED_SETTING_KEYS = Object.keys(SYNCED_SETTINGS) as SyncedSettingKey[];
/** The settings the engine keeps (`settings/set`); the others are the UI's. */
export const ENGINE_SYNCED_SETTINGS = ['sendReceipts', 'copies', 'trafficBudget', 'closedDrops', 'autoLockMinutes'] as const satisfies readonly SyncedSettingKey[];

const settingEntrySchema = z
  .object({
    key: z.enum(SYNCED_SETTING_KEYS as [SyncedSettingKey, ...SyncedSettingKey[]]),
    clock: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    value: z.unknown(),
  })
  // Each value is checked against its own key's schema: a wrong type is refused, never applied.
  .refine((entry) => SYNCED_SETTINGS[entry.key].safeParse(entry.value).success, 'a setting of the wrong form');

export const syncSettingsSchema = z.object({
  kind: z.literal('settings'),
  entries: z.array(settingEntrySchema).min(1).max(SYNCED_SETTING_KEYS.length),
});
export type SyncSettingsItem = z.infer<typeof syncSettingsSchema>;
export type SyncSettingEntry = SyncSettingsItem['entries'][number];

/** Who last wrote a setting (or a contact): compared as (clock, device id). */
export interface SyncStamp {
  clock: number;
  device: string;
}

/** True when `a` was written after `b` (a higher clock, or the same clock from a higher device id). */
export function newerStamp(a: SyncStamp, b: SyncStamp | undefined): boolean {
  if (!b) return true;
  return a.clock > b.clock || (a.clock === b.clock && a.device > b.device);
}

/**
 * The merge rule of `settings`: the entries of a sibling's item (from `device`) that win over the
 * stamps kept here, one per key (a key named twice counts with its highest stamp). Pure: the caller
 * applies the values and keeps the stamps.
 */
export function winningSettings(kept: Partial<Record<SyncedSettingKey, SyncStamp>>, item: SyncSettingsItem, device: string): { key: SyncedSettingKey; value: unknown; stamp: SyncStamp }[] {
  const best = new Map<SyncedSettingKey, { key: SyncedSettingKey; value: unknown; stamp: SyncStamp }>();
  for (const entry of item.entries) {
    const stamp = { clock: entry.clock, device };
    const seen = best.get(entry.key);
    if (seen && !newerStamp(stamp, seen.stamp)) continue;
    best.set(entry.key, { key: entry.key, value: SYNCED_SETTINGS[entry.key].parse(entry.value), stamp });
  }
  return [...best.values()].filter((won) => newerStamp(won.stamp, kept[won.key]));
}

export const syncItemSchema = z.union([syncSentSchema, syncReadSchema, syncContactSchema, syncHistoryRequestSchema, syncHistorySchema, syncDropsSchema, syncSettingsSchema]);
export type SyncItem = z.infer<typeof syncItemSchema>;
export type SyncSentItem = z.infer<typeof syncSentSchema>;
export type SyncReadItem = z.infer<typeof syncReadSchema>;
export type SyncContactItem = z.infer<typeof syncContactSchema>;
export type SyncHistoryRequestItem = z.infer<typeof syncHistoryRequestSchema>;
export type SyncHistoryItem = z.infer<typeof syncHistorySchema>;
export type SyncDropsItem = z.infer<typeof syncDropsSchema>;

const payloadSchema = z.object({
  device: z.string().regex(/^[0-9a-f]{16}$/),
  items: z.array(syncItemSchema).min(1).max(MAX_SYNC_ITEMS),
});

export interface SyncContent {
  type: typeof BOX_SYNC;
  /** The sending device's id (16 hex). */
  device: string;
  items: SyncItem[];
}

export const syncModule: PayloadModule<typeof BOX_SYNC, SyncContent> = {
  type: BOX_SYNC,
  decode(json) {
    const parsed = payloadSchema.safeParse(json);
    return parsed.success ? { type: BOX_SYNC, device: parsed.data.device, items: parsed.data.items } : null;
  },
};

/** Characters per fragment at most, and bytes its text may take in the message, escaped twice. */
const MAX_FRAGMENT_CHARS = 1400;
const FRAGMENT_BYTES = 1400;
const encoder = new TextEncoder();
const escapedBytes = (text: string) => encoder.encode(JSON.stringify(JSON.stringify(text))).length;

/**
 * A text in fragments that each fit one sync message with room to spare: up to 1400 characters, fewer
 * where the text's bytes (escaped twice: the payload is JSON inside the message's JSON) would not
 * leave room for the item around them.
 */
export function textFragments(text: string): string[] {
  const pieces: string[] = [];
  const chars = [...text];
  for (let at = 0; at < chars.length || at === 0; ) {
    // The most characters whose bytes fit (at least one: a single character always does).
    let take = 1;
    let over = Math.min(MAX_FRAGMENT_CHARS, chars.length - at) + 1;
    while (over - take > 1) {
      const mid = (take + over) >> 1;
      if (escapedBytes(chars.slice(at, at + mid).join('')) <= FRAGMENT_BYTES) take = mid;
      else over = mid;
    }
    pieces.push(chars.slice(at, at + take).join(''));
    at += take;
  }
  return pieces;
}

/** A row as items: its text in fragments, its receipt ids with the first or, when many, in items of their own. */
function rowItems<B extends { count: number }>(base: Omit<B, 'count'>, text: string, ackIds: readonly string[]): (B & { index?: number; text?: string; ackIds?: string[] })[] {
  const pieces = textFragments(text);
  const items = pieces.map((piece, index) => ({ ...base, count: pieces.length, index, text: piece }) as unknown as B & { index?: number; text?: string; ackIds?: string[] });
  if (ackIds.length <= 4) {
    if (ackIds.length > 0) items[0] = { ...items[0]!, ackIds: [...ackIds] };
  } else {
    for (let at = 0; at < ackIds.length; at += 32) items.push({ ...base, count: pieces.length, ackIds: ackIds.slice(at, at + 32) } as unknown as B & { ackIds?: string[] });
  }
  return items;
}

/** A sent message as items (a file's notice rides with the first). */
export function sentItems(sent: { contact: string; localId: string; sentAt: number; text: string; ackIds: readonly string[]; file?: SyncFile }): SyncSentItem[] {
  const items = rowItems<SyncSentItem>({ kind: 'sent', contact: sent.contact, localId: sent.localId, sentAt: sent.sentAt }, sent.text, sent.ackIds);
  if (sent.file) items[0] = { ...items[0]!, file: sent.file };
  return items;
}

/** One stored row as items of a history answer. */
export function historyItems(row: { request: string; total: number; rowId: string; contact: string; direction: 'in' | 'out'; at: number; delivered: boolean; text: string; ackIds: readonly string[] }): SyncHistoryItem[] {
  const base = { kind: 'history' as const, request: row.request, total: row.total, rowId: row.rowId, contact: row.contact, direction: row.direction, at: row.at, ...(row.delivered ? { delivered: true } : {}) };
  return rowItems<SyncHistoryItem>(base, row.text, row.direction === 'out' ? row.ackIds : []);
}

/**
 * Packs items into as few `box_sync` drop messages as fit (each asks for a receipt, so the outbox
 * copies and re-posts it like any message until a sibling acknowledges it).
 * @throws Error when one item alone cannot fit (sentItems never makes one)
 */
export function buildSyncMessages(items: readonly SyncItem[], context: { sender: string; device: string; now: number; newId: () => string }): DropMessage[] {
  const messages: DropMessage[] = [];
  let current: SyncItem[] = [];
  const build = (list: SyncItem[]): DropMessage => ({
    version: DROP_MESSAGE_VERSION,
    time_stamp: context.now,
    sender: context.sender,
    drop_payload: JSON.stringify({ device: context.device, items: list }),
    drop_payload_type: BOX_SYNC,
    acknowledge_id: context.newId(),
  });
  const fits = (list: SyncItem[]) => list.length <= MAX_SYNC_ITEMS && serializeDropMessage(build(list)).length <= PAYLOAD_LENGTH - ENVELOPE_SLACK;
  for (const item of items) {
    if (fits([...current, item])) {
      current.push(item);
      continue;
    }
    if (current.length > 0) messages.push(build(current));
    if (!fits([item])) throw new Error('A sync item does not fit in one drop message.');
    current = [item];
  }
  if (current.length > 0) messages.push(build(current));
  return messages;
}

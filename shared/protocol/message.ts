/**
 * The drop message: UTF-8 JSON inside the box, zero-padded to 2048 bytes (PROTOCOL.md section 4).
 * Decoding treats the JSON as hostile: sizes are checked first, every field is validated with a
 * schema, and every failure is a ProtocolError the caller turns into a silent skip.
 */
import { z } from 'zod';
import { PAYLOAD_LENGTH } from './boxTypes.js';
import { sha256Hex, toHex, utf8Decode, utf8Encode, HEX_KEY } from './encoding.js';
import { ProtocolError } from './errors.js';

export const DROP_MESSAGE_VERSION = 1;
/** `acknowledge_id` meaning "no receipt wanted". */
export const NO_ACKNOWLEDGE_ID = '0';
import { BOX_ACK } from './payloadTypes.js';
export { BOX_ACK, BOX_CONTACT_UPDATE, BOX_MESSAGE, BOX_MICROBLOG, BOX_SHARE_NOTIFICATION } from './payloadTypes.js';

const hex64 = z.string().regex(HEX_KEY);
const shortText = z.string().max(1024);

/** `meta_data` on the wire; `public_key` is nested one level (a quirk of the original client). */
export interface DropMessageMeta {
  alias?: string;
  drop_url?: string;
  public_key?: { public_key: string };
  phone?: string;
  email?: string;
}

/** A drop message as it is serialised (field names as on the wire). */
export interface DropMessage {
  version: number;
  /** The sender's clock, ms since the epoch. */
  time_stamp: number;
  /** The sender's public key, 64 lowercase hex. */
  sender: string;
  /** The type-specific payload, itself JSON, carried as a string. */
  drop_payload: string;
  drop_payload_type: string;
  /** "0", or the UUID a `box_ack` must echo. */
  acknowledge_id: string;
  meta_data?: DropMessageMeta;
  /**
   * Ours: the highest protocol version the sender's client speaks (`{"v": 1}`), so a contact who
   * knows us only from an old card can answer with a version-1 session (PROTOCOL-V1.md 1c). Old
   * clients ignore unknown keys. `dh`: the 4-byte hash (8 hex) of the recipient's device list as the
   * sender knows it (PROTOCOL-V1.md 5c, the v0 form of a v1 header's `peer_devlist_hash`), so each of the
   * recipient's devices can tell a contact that encrypts to a device it never added. `pd: 1`: the
   * client keeps one version-1 session per device of each side (PROTOCOL-V1.md 5c), so several devices
   * on either side no longer mean version 0 (`md` alone does, for clients without it).
   */
  dd?: { v: number; md?: number; dh?: string; pd?: number };
}

/**
 * Senders (64 hex) whose identity is on several devices: their v0 messages that carry `dd` say so with
 * `md: 1` ("several devices: no sessions with me for now", electron/core/v1/README.md "Several
 * devices"). Kept here, where every v0 message is serialised, because the outbox writes `dd` itself;
 * set by the engine's session store from the identity's device list.
 */
const severalDevices = new Set<string>();

/** Marks (or unmarks) a sender whose identity is on several devices. */
export function markSeveralDevices(senderHex: string, several: boolean): void {
  if (several) severalDevices.add(senderHex.toLowerCase());
  else severalDevices.delete(senderHex.toLowerCase());
}

/** `meta_data` in the form the rest of the app uses: the sender introducing themselves. */
export interface SenderIntroduction {
  alias?: string;
  dropUrl?: string;
  /** 64 lowercase hex. */
  publicKey?: string;
  phone?: string;
  email?: string;
}

/** Marks one piece of a long text split over several messages (ours). */
export interface TextPart {
  group: string;
  index: number;
  count: number;
}

/** A decoded, sender-checked drop message envelope (the payload is decoded by its module). */
export interface DropEnvelope {
  message: DropMessage;
  meta: SenderIntroduction | null;
}

/**
 * Pieces a long text may be split into (ours). Our sender splits the longest text the app takes
 * (100,000 characters) into 60 to 220 pieces unless it is mostly escaped characters; it refuses texts
 * that need more, and receivers drop (counted) the pieces of a group that claims more.
 */
export const MAX_TEXT_PARTS = 256;
// Gson and other clients may write null for absent fields: null means absent.
const metaSchema = z.object({
  alias: shortText.nullish(),
  drop_url: z.string().max(2048).nullish(),
  public_key: z.object({ public_key: hex64 }).nullish(),
  phone: shortText.nullish(),
  email: shortText.nullish(),
});

const envelopeSchema = z.object({
  version: z.number(),
  time_stamp: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  sender: hex64,
  drop_payload: z.string(),
  drop_payload_type: z.string().min(1).max(128),
  acknowledge_id: z.string().min(1).max(128),
  meta_data: metaSchema.nullish(),
  dd: z
    .object({
      v: z.number().int().min(0).max(255),
      md: z.literal(1).optional().catch(undefined),
      dh: z.string().regex(/^[0-9a-f]{8}$/).optional().catch(undefined),
      pd: z.literal(1).optional().catch(undefined),
    })
    .nullish()
    .catch(null),
});

function invalid(message: string): ProtocolError {
  return new ProtocolError('invalid_message', message);
}

/** The unpadded UTF-8 JSON of `m`, fields in wire order. */
export function serializeDropMessage(m: DropMessage): Uint8Array {
  const wire: DropMessage = {
    version: m.version,
    time_stamp: m.time_stamp,
    sender: m.sender,
    drop_payload: m.drop_payload,
    drop_payload_type: m.drop_payload_type,
    acknowledge_id: m.acknowledge_id,
    ...(m.meta_data ? { meta_data: m.meta_data } : {}),
    ...(m.dd ? { dd: { v: m.dd.v, ...(m.dd.md === 1 || severalDevices.has(m.sender) ? { md: 1 } : {}), ...(m.dd.dh ? { dh: m.dd.dh } : {}), ...(m.dd.pd === 1 ? { pd: 1 } : {}) } } : {}),
  };
  return utf8Encode(JSON.stringify(wire));
}

/**
 * Serialises `m` as UTF-8 JSON zero-padded to exactly 2048 bytes.
 * @throws ProtocolError 'message_too_long' when the JSON does not fit
 */
export function encodeDropMessage(m: DropMessage): Uint8Array {
  const json = serializeDropMessage(m);
  if (json.length > PAYLOAD_LENGTH) {
    throw new ProtocolError('message_too_long', `The message is ${json.length} bytes; at most ${PAYLOAD_LENGTH} fit in one drop message.`);
  }
  const padded = new Uint8Array(PAYLOAD_LENGTH);
  padded.set(json);
  return padded;
}

function metaFromWire(meta: z.infer<typeof metaSchema> | null | undefined): { wire?: DropMessageMeta; intro: SenderIntroduction | null } {
  if (!meta) return { intro: null };
  const wire: DropMessageMeta = {};
  const intro: SenderIntroduction = {};
  if (meta.alias != null) wire.alias = intro.alias = meta.alias;
  if (meta.drop_url != null) wire.drop_url = intro.dropUrl = meta.drop_url;
  if (meta.public_key != null) {
    intro.publicKey = meta.public_key.public_key.toLowerCase();
    wire.public_key = { public_key: intro.publicKey };
  }
  if (meta.phone != null) wire.phone = intro.phone = meta.phone;
  if (meta.email != null) wire.email = intro.email = meta.email;
  return { wire, intro };
}

/**
 * A sender introduction sent as the JSON of `meta_data` fields outside a drop message (version-1 Init
 * PDUs, electron/core/sessions/content.ts), checked with the schema and bounds of v0 `meta_data`.
 * @throws ProtocolError 'invalid_message'
 */
export function decodeMetaJson(text: string): SenderIntroduction {
  const parsed = metaSchema.safeParse(parseJson(text, 'sender introduction'));
  if (!parsed.success) throw invalid('The sender introduction does not have the fields of meta_data.');
  return metaFromWire(parsed.data).intro ?? {};
}

/** The wire `meta_data` for a sender introduction. */
export function metaToWire(intro: SenderIntroduction): DropMessageMeta {
  const wire: DropMessageMeta = {};
  if (intro.alias !== undefined) wire.alias = intro.alias;
  if (intro.dropUrl !== undefined) wire.drop_url = intro.dropUrl;
  if (intro.publicKey !== undefined) wire.public_key = { public_key: intro.publicKey };
  if (intro.phone !== undefined) wire.phone = intro.phone;
  if (intro.email !== undefined) wire.email = intro.email;
  return wire;
}

/** Parses JSON text; a ProtocolError 'invalid_message' naming `what` when it is not JSON. */
export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalid(`The ${what} is not valid JSON.`);
  }
}

/**
 * Decodes a box payload's envelope and checks it against the box's authenticated sender key; the
 * payload itself is decoded by its module (shared/modules/registry.ts `decodeDropMessage`).
 * @throws ProtocolError 'invalid_message' (malformed), 'unsupported_version', 'forged_sender'
 */
export function decodeDropEnvelope(payload: Uint8Array, boxSenderPublicKey: Uint8Array): DropEnvelope {
  if (!(payload instanceof Uint8Array) || payload.length > PAYLOAD_LENGTH) throw invalid('The message is not a drop message of at most 2048 bytes.');
  let end = payload.length;
  while (end > 0 && payload[end - 1] === 0) end--;
  const json = parseJson(utf8Decode(payload.subarray(0, end)), 'message');
  const parsed = envelopeSchema.safeParse(json);
  if (!parsed.success) {
    const version = (json as { version?: unknown } | null)?.version;
    if (typeof version === 'number' && version !== DROP_MESSAGE_VERSION) throw new ProtocolError('unsupported_version', `Drop message version ${version} is not supported.`);
    throw invalid('The message does not have the fields of a drop message.');
  }
  const e = parsed.data;
  if (e.version !== DROP_MESSAGE_VERSION) throw new ProtocolError('unsupported_version', `Drop message version ${e.version} is not supported.`);
  const sender = e.sender.toLowerCase();
  if (sender !== toHex(boxSenderPublicKey)) throw new ProtocolError('forged_sender', 'The message claims a sender other than the one who sealed it.');
  const { wire, intro } = metaFromWire(e.meta_data);
  const message: DropMessage = {
    version: e.version,
    time_stamp: e.time_stamp,
    sender,
    drop_payload: e.drop_payload,
    drop_payload_type: e.drop_payload_type,
    acknowledge_id: e.acknowledge_id,
    ...(wire ? { meta_data: wire } : {}),
    ...(e.dd ? { dd: { v: e.dd.v, ...(e.dd.md === 1 ? { md: 1 } : {}), ...(e.dd.dh ? { dh: e.dd.dh } : {}), ...(e.dd.pd === 1 ? { pd: 1 } : {}) } } : {}),
  };
  return { message, meta: intro };
}

/** A `box_ack` acknowledging the message whose `acknowledge_id` was `acknowledgeId`. */
export function buildAck(sender: string, acknowledgeId: string, now: number): DropMessage {
  if (acknowledgeId === NO_ACKNOWLEDGE_ID) throw invalid('A message without a receipt id cannot be acknowledged.');
  return { version: DROP_MESSAGE_VERSION, time_stamp: now, sender, drop_payload: '{}', drop_payload_type: BOX_ACK, acknowledge_id: acknowledgeId };
}

/**
 * The deduplication key of PROTOCOL.md section 4: `sender:acknowledge_id` when there is a receipt
 * id, else `pdu:<sha256 hex of the PDU bytes>`.
 */
export async function dedupeKey(senderHex: string, acknowledgeId: string, pdu: Uint8Array): Promise<string> {
  return acknowledgeId !== NO_ACKNOWLEDGE_ID ? `${senderHex.toLowerCase()}:${acknowledgeId}` : `pdu:${await sha256Hex(pdu)}`;
}

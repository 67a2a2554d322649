/**
 * How the engine's messages travel in version-1 bodies (PROTOCOL-V1.md 1c "Common body"), and back.
 * The UI sees no difference: a v1 body becomes the same drop message (type, payload JSON) a v0 PDU
 * carries, decoded by the same module registry (shared/modules).
 *
 *   TEXT (0x01)      a `box_message` without pieces: content = the UTF-8 text.
 *   RECEIPT (0x03)   `box_ack`s: content = the msg_ids (16 bytes each) acknowledged, several at once.
 *   MODULE (0x40)    any other module, and the pieces of a long text: content = u8 length · the
 *                    drop_payload_type (ASCII) · the drop_payload JSON (UTF-8). Ours: the design's
 *                    per-module types (SHARE, PROFILE, ...) are not defined byte for byte yet, and one
 *                    type that carries the module's own JSON keeps every module working unchanged.
 *                    The engine's device news (`box_devices`, devices/deviceNews.ts) travels so too, not
 *                    as DEVICES (0x07): it carries asks and views besides the list.
 *   KEY_ROTATE (0x0d) a `box_key_rotate` (shared/modules/keyRotate.ts): content = its payload JSON.
 *   PING (0x0c)      nothing for the UI (the session's ackv is all it carries).
 *   DROPS_REQ (0x05) nothing for the UI: the sender's drops epoch was newer than the list we had; the
 *                    engine answers with a contact update (PROTOCOL-V1.md 2c step 3).
 *   INTRO (0x41)     ours: the sender introduces itself around another body, as the v0 `meta_data` of
 *                    a first message does: content = u16 length · the intro JSON (the `meta_data` fields
 *                    `alias` and `drop_url`) · u8 inner type · the inner content. Every Init PDU carries
 *                    one; a Session PDU carries one while the peer has not acknowledged a message naming
 *                    our drops at our current drops epoch (after a move: PROTOCOL-V1.md 2c step 3), and
 *                    the receiver takes its drop only when that epoch is not older than what it knows.
 *   anything else    shown as unsupported (type `dd1:<hex type>`).
 *
 * Receipts: a message that wants one has msg_id = the 16 bytes of its acknowledge id (a UUID), so the
 * outbox's acknowledge ids and receipts work as with v0; without, msg_id is random and the
 * acknowledge id is "0". The dedupe key is `<sender hex>:v1:<msg_id hex>`.
 */
import { BOX_ACK, BOX_CONTACT_UPDATE, BOX_MESSAGE } from '../../../shared/protocol/payloadTypes.js';
import {
  type DropMessage,
  DROP_MESSAGE_VERSION,
  NO_ACKNOWLEDGE_ID,
  type SenderIntroduction,
  decodeMetaJson,
  metaToWire,
} from '../../../shared/protocol/message.js';
import { type Body, MessageType, MSG_ID_LENGTH } from '../v1/body.js';
import { BOX_KEY_ROTATE } from '../../../shared/modules/keyRotate.js';
import type { BodyInput } from '../v1/session.js';

export const MODULE_BODY_TYPE = 0x40;
export const INTRO_BODY_TYPE = 0x41;

/** What an Init PDU tells about its sender: the v0 `meta_data` fields a reply needs. */
export interface Intro {
  alias?: string | undefined;
  dropUrl?: string | undefined;
}

/** The intro as it travels (UTF-8 JSON of the `meta_data` fields, so it is checked like v0 meta). */
function introBytes(intro: Intro): Uint8Array {
  return encoder.encode(JSON.stringify(metaToWire({ ...(intro.alias !== undefined ? { alias: intro.alias } : {}), ...(intro.dropUrl !== undefined ? { dropUrl: intro.dropUrl } : {}) })));
}

/** Content bytes an intro takes from a body: what is left for the message is `capacity - introOverhead`. */
export function introOverhead(intro: Intro): number {
  return 2 + introBytes(intro).length + 1;
}

/** `body` wrapped in an INTRO body; null when it does not fit `capacity` content bytes. */
export function withIntro(body: BodyInput, intro: Intro, capacity: number): BodyInput | null {
  const json = introBytes(intro);
  const inner = body.content ?? new Uint8Array(0);
  const length = 2 + json.length + 1 + inner.length;
  if (length > capacity || json.length > 0xffff) return null;
  const content = new Uint8Array(length);
  new DataView(content.buffer).setUint16(0, json.length);
  content.set(json, 2);
  content[2 + json.length] = body.type;
  content.set(inner, 3 + json.length);
  return { ...body, type: INTRO_BODY_TYPE, content };
}

/**
 * An INTRO body split into the intro (checked like v0 `meta_data`: the same schema and bounds; the UI
 * cleans the alias as it cleans v0 meta) and the body it wraps; null when malformed.
 */
export function unwrapIntro(body: Body): { intro: SenderIntroduction; inner: Body } | null {
  const content = body.content;
  if (content.length < 3) return null;
  const length = new DataView(content.buffer, content.byteOffset, content.byteLength).getUint16(0);
  if (content.length < 2 + length + 1) return null;
  const type = content[2 + length]!;
  if (type === 0 || type === INTRO_BODY_TYPE) return null;
  let intro: SenderIntroduction;
  try {
    intro = decodeMetaJson(decoder.decode(content.subarray(2, 2 + length)));
  } catch {
    return null; // not UTF-8, not JSON, or fails the meta schema (a 1,025-character alias, ...)
  }
  return { intro, inner: { ...body, type, content: content.slice(3 + length) } };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function uuidBytes(uuid: string): Uint8Array | null {
  const lower = uuid.toLowerCase();
  return UUID.test(lower) ? new Uint8Array(Buffer.from(lower.replaceAll('-', ''), 'hex')) : null;
}

export function uuidOf(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * The v1 body of one drop message the module registry built (acknowledge id as msg_id); null when its
 * content does not fit `capacity` bytes (the caller sends it as v0 then).
 */
export function bodyOfDropMessage(m: DropMessage, capacity: number): BodyInput | null {
  const wantReceipt = m.acknowledge_id !== NO_ACKNOWLEDGE_ID;
  const msgId = wantReceipt ? uuidBytes(m.acknowledge_id) : null;
  if (wantReceipt && !msgId) return null;
  let type: number = MODULE_BODY_TYPE;
  let content: Uint8Array;
  if (m.drop_payload_type === BOX_KEY_ROTATE) {
    // KEY_ROTATE 0x0D (PROTOCOL-V1.md 5c): content = the payload JSON (shared/modules/keyRotate.ts).
    content = encoder.encode(m.drop_payload);
    return content.length > capacity ? null : { type: MessageType.KEY_ROTATE, content, tsMs: m.time_stamp, wantReceipt, ...(msgId ? { msgId } : {}) };
  }
  const chat = m.drop_payload_type === BOX_MESSAGE ? (JSON.parse(m.drop_payload) as { msg?: unknown; part?: unknown }) : null;
  if (chat && typeof chat.msg === 'string' && (chat.part === undefined || chat.part === null) && Object.keys(chat).every((k) => k === 'msg' || k === 'part')) {
    type = MessageType.TEXT;
    content = encoder.encode(chat.msg);
  } else {
    const typeBytes = encoder.encode(m.drop_payload_type);
    if (typeBytes.length > 255) return null;
    content = new Uint8Array([typeBytes.length, ...typeBytes, ...encoder.encode(m.drop_payload)]);
  }
  if (content.length > capacity) return null;
  return { type, content, tsMs: m.time_stamp, wantReceipt, ...(msgId ? { msgId } : {}) };
}

/** A RECEIPT body acknowledging these acknowledge ids (UUIDs; others are skipped). */
export function receiptBody(acknowledgeIds: readonly string[], now: number): BodyInput {
  const ids = acknowledgeIds.map(uuidBytes).filter((id): id is Uint8Array => id !== null);
  const content = new Uint8Array(ids.length * MSG_ID_LENGTH);
  ids.forEach((id, i) => content.set(id, i * MSG_ID_LENGTH));
  return { type: MessageType.RECEIPT, content, tsMs: now };
}

export type BodyMeaning =
  /** `intro`: the sender introduced itself (INTRO body); the caller takes it from Init PDUs only. */
  | { kind: 'message'; message: DropMessage; intro?: SenderIntroduction }
  | { kind: 'receipts'; acknowledgeIds: string[] }
  | { kind: 'none' }
  | { kind: 'malformed' };

/**
 * Whether a body names its sender's drops (PROTOCOL-V1.md 2c): an intro (first drop), or a contact
 * update (the whole list, e.g. the answer to our DROPS_REQ). The receiver then knows the sender's
 * drops as of the PDU's drops epoch.
 */
export function namesDrops(body: Body): boolean {
  if (body.type === INTRO_BODY_TYPE) return true;
  if (body.type !== MODULE_BODY_TYPE) return false;
  const length = body.content[0] ?? 0;
  return length === BOX_CONTACT_UPDATE.length && Buffer.from(body.content.subarray(1, 1 + length)).toString('latin1') === BOX_CONTACT_UPDATE;
}

/** What a received body means for the UI, as the v0 drop message it stands for. */
export function meaningOfBody(body: Body, senderHex: string): BodyMeaning {
  if (body.type === INTRO_BODY_TYPE) {
    const unwrapped = unwrapIntro(body);
    if (!unwrapped) return { kind: 'malformed' };
    const meaning = meaningOfBody(unwrapped.inner, senderHex);
    return meaning.kind === 'message' ? { ...meaning, intro: unwrapped.intro } : meaning;
  }
  const base = {
    version: DROP_MESSAGE_VERSION,
    time_stamp: body.tsMs,
    sender: senderHex,
    acknowledge_id: body.wantReceipt ? uuidOf(body.msgId) : NO_ACKNOWLEDGE_ID,
  };
  try {
    switch (body.type) {
      case MessageType.PING:
      case MessageType.DROPS_REQ: // the session answers it (a contact update), nothing for the UI
        return { kind: 'none' };
      case MessageType.RECEIPT: {
        if (body.content.length % MSG_ID_LENGTH !== 0) return { kind: 'malformed' };
        const acknowledgeIds: string[] = [];
        for (let i = 0; i < body.content.length; i += MSG_ID_LENGTH) acknowledgeIds.push(uuidOf(body.content.subarray(i, i + MSG_ID_LENGTH)));
        return { kind: 'receipts', acknowledgeIds };
      }
      case MessageType.KEY_ROTATE:
        return { kind: 'message', message: { ...base, drop_payload_type: BOX_KEY_ROTATE, drop_payload: decoder.decode(body.content) } };
      case MessageType.TEXT:
        return { kind: 'message', message: { ...base, drop_payload_type: BOX_MESSAGE, drop_payload: JSON.stringify({ msg: decoder.decode(body.content) }) } };
      case MODULE_BODY_TYPE: {
        const length = body.content[0] ?? 0;
        if (length === 0 || body.content.length < 1 + length) return { kind: 'malformed' };
        const type = decoder.decode(body.content.subarray(1, 1 + length));
        // A receipt travels as RECEIPT: a box_ack dressed as a module would bypass its checks.
        if (type === BOX_ACK) return { kind: 'malformed' };
        return { kind: 'message', message: { ...base, drop_payload_type: type, drop_payload: decoder.decode(body.content.subarray(1 + length)) } };
      }
      default:
        return { kind: 'message', message: { ...base, drop_payload_type: `dd1:${body.type.toString(16).padStart(2, '0')}`, drop_payload: '' } };
    }
  } catch {
    return { kind: 'malformed' }; // not UTF-8
  }
}

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
 *   PING (0x0c)      nothing for the UI (the session's ackv is all it carries).
 *   anything else    shown as unsupported (type `dd1:<hex type>`).
 *
 * Receipts: a message that wants one has msg_id = the 16 bytes of its acknowledge id (a UUID), so the
 * outbox's acknowledge ids and receipts work as with v0; without, msg_id is random and the
 * acknowledge id is "0". The dedupe key is `<sender hex>:v1:<msg_id hex>`.
 */
import { BOX_ACK, BOX_MESSAGE } from '../../../shared/protocol/payloadTypes.js';
import { type DropMessage, DROP_MESSAGE_VERSION, NO_ACKNOWLEDGE_ID } from '../../../shared/protocol/message.js';
import { type Body, MessageType, MSG_ID_LENGTH } from '../v1/body.js';
import type { BodyInput } from '../v1/session.js';

export const MODULE_BODY_TYPE = 0x40;

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
  | { kind: 'message'; message: DropMessage }
  | { kind: 'receipts'; acknowledgeIds: string[] }
  | { kind: 'none' }
  | { kind: 'malformed' };

/** What a received body means for the UI, as the v0 drop message it stands for. */
export function meaningOfBody(body: Body, senderHex: string): BodyMeaning {
  const base = {
    version: DROP_MESSAGE_VERSION,
    time_stamp: body.tsMs,
    sender: senderHex,
    acknowledge_id: body.wantReceipt ? uuidOf(body.msgId) : NO_ACKNOWLEDGE_ID,
  };
  try {
    switch (body.type) {
      case MessageType.PING:
        return { kind: 'none' };
      case MessageType.RECEIPT: {
        if (body.content.length % MSG_ID_LENGTH !== 0) return { kind: 'malformed' };
        const acknowledgeIds: string[] = [];
        for (let i = 0; i < body.content.length; i += MSG_ID_LENGTH) acknowledgeIds.push(uuidOf(body.content.subarray(i, i + MSG_ID_LENGTH)));
        return { kind: 'receipts', acknowledgeIds };
      }
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

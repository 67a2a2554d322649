/**
 * The v1 common body (PROTOCOL-V1.md 1c "Common body"), the plaintext inside `B` of every Session and Init PDU:
 *
 *   type u8 · msg_id (16) · ts_ms u48 · flags u8 · [ackv (22)] · content_length u16 · content · zero padding
 *
 * `content_length` is our addition: the design says "content, zero-padded", which cannot tell a content
 * that ends in zero bytes from its padding. Capacity: 1,972 content bytes in a Session PDU, 1,929 in an Init PDU.
 *
 * The decoder reads contact-controlled bytes: it validates every field (unknown flag bits, non-zero
 * padding, lengths) and returns null instead of throwing.
 */

/** The v1 message type registry. Unknown types decode fine (the UI shows them as unsupported). */
export const MessageType = {
  TEXT: 0x01,
  TEXT_PART: 0x02,
  RECEIPT: 0x03,
  DROPS: 0x04,
  DROPS_REQ: 0x05,
  TICKETS: 0x06,
  DEVICES: 0x07,
  SYNC: 0x08,
  PROFILE: 0x09,
  SHARE: 0x0a,
  RESET: 0x0b,
  PING: 0x0c,
  KEY_ROTATE: 0x0d,
  KEM_CHUNK: 0x0e,
} as const;

export const MSG_ID_LENGTH = 16;
export const ACKV_LENGTH = 22;
export const ACKV_BITMAP_LENGTH = 16;
/** "Nothing received yet" in ackv's highest-contiguous field. */
export const ACKV_NONE = 0xffff;

export const FLAG_WANT_RECEIPT = 0x01;
export const FLAG_HAS_ACKV = 0x02;
export const FLAG_FINAL_PART = 0x04;
const KNOWN_FLAGS = FLAG_WANT_RECEIPT | FLAG_HAS_ACKV | FLAG_FINAL_PART;

/** type + msg_id + ts_ms + flags. */
const FIXED_LENGTH = 1 + MSG_ID_LENGTH + 6 + 1;
const LENGTH_FIELD = 2;
/** ts_ms is a u48. */
const MAX_TS = 2 ** 48 - 1;

/** An ack vector: which n of one of the peer's sending epochs arrived. */
export interface Ackv {
  /** 4 bytes naming the acknowledged epoch: the first bytes of SHA-256("DD1 ack" || its ratchet public key). */
  epochHash: Uint8Array;
  /** Every n <= highest arrived; ACKV_NONE when n = 0 did not. */
  highest: number;
  /** Bit i (byte i >> 3, bit i & 7, LSB first) = n = highest + 1 + i arrived (highest + 1 = 0 for ACKV_NONE). */
  bitmap: Uint8Array;
}

export interface Body {
  type: number;
  msgId: Uint8Array;
  tsMs: number;
  wantReceipt: boolean;
  finalPart: boolean;
  ackv?: Ackv | undefined;
  content: Uint8Array;
}

/** The most content a body of `size` bytes holds (with room for an ackv). */
export const bodyCapacity = (size: number): number => size - FIXED_LENGTH - ACKV_LENGTH - LENGTH_FIELD;

/** Encodes `body` zero-padded to `size` bytes; throws RangeError on our own caller's mistakes. */
export function encodeBody(body: Body, size: number): Uint8Array {
  if (!Number.isInteger(body.type) || body.type < 1 || body.type > 0xff) throw new RangeError('body type must be 1..255');
  if (body.msgId.length !== MSG_ID_LENGTH) throw new RangeError('msg_id must be 16 bytes');
  if (!Number.isInteger(body.tsMs) || body.tsMs < 0 || body.tsMs > MAX_TS) throw new RangeError('ts_ms must be a u48');
  const ackvLength = body.ackv ? ACKV_LENGTH : 0;
  if (FIXED_LENGTH + ackvLength + LENGTH_FIELD + body.content.length > size) throw new RangeError('content does not fit the body');
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = body.type;
  out.set(body.msgId, 1);
  view.setUint16(17, Math.floor(body.tsMs / 2 ** 32));
  view.setUint32(19, body.tsMs % 2 ** 32);
  out[23] = (body.wantReceipt ? FLAG_WANT_RECEIPT : 0) | (body.ackv ? FLAG_HAS_ACKV : 0) | (body.finalPart ? FLAG_FINAL_PART : 0);
  let offset = FIXED_LENGTH;
  if (body.ackv) {
    const { epochHash, highest, bitmap } = body.ackv;
    if (epochHash.length !== 4 || bitmap.length !== ACKV_BITMAP_LENGTH || !Number.isInteger(highest) || highest < 0 || highest > 0xffff) {
      throw new RangeError('malformed ackv');
    }
    out.set(epochHash, offset);
    view.setUint16(offset + 4, highest);
    out.set(bitmap, offset + 6);
    offset += ACKV_LENGTH;
  }
  view.setUint16(offset, body.content.length);
  out.set(body.content, offset + LENGTH_FIELD);
  return out;
}

const ZEROS = Buffer.alloc(2048);

/** Whether bytes[from..] are all zero: memcmp against zeros (a byte loop over the padding cost ~5 µs per open). */
function isZero(bytes: Uint8Array, from: number): boolean {
  const rest = Buffer.from(bytes.buffer, bytes.byteOffset + from, bytes.byteLength - from);
  for (let at = 0; at < rest.length; at += ZEROS.length) {
    const part = rest.subarray(at, at + ZEROS.length);
    if (!part.equals(ZEROS.subarray(0, part.length))) return false;
  }
  return true;
}

/** Decodes a body; null for anything malformed (hostile bytes never throw). */
export function decodeBody(bytes: Uint8Array): Body | null {
  if (bytes.length < FIXED_LENGTH + LENGTH_FIELD) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = bytes[0]!;
  const flags = bytes[23]!;
  if (type === 0 || (flags & ~KNOWN_FLAGS) !== 0) return null;
  let offset = FIXED_LENGTH;
  let ackv: Ackv | undefined;
  if (flags & FLAG_HAS_ACKV) {
    if (bytes.length < offset + ACKV_LENGTH + LENGTH_FIELD) return null;
    ackv = {
      epochHash: bytes.slice(offset, offset + 4),
      highest: view.getUint16(offset + 4),
      bitmap: bytes.slice(offset + 6, offset + ACKV_LENGTH),
    };
    offset += ACKV_LENGTH;
  }
  const length = view.getUint16(offset);
  offset += LENGTH_FIELD;
  if (offset + length > bytes.length) return null;
  if (!isZero(bytes, offset + length)) return null;
  return {
    type,
    msgId: bytes.slice(1, 17),
    tsMs: view.getUint16(17) * 2 ** 32 + view.getUint32(19),
    wantReceipt: (flags & FLAG_WANT_RECEIPT) !== 0,
    finalPart: (flags & FLAG_FINAL_PART) !== 0,
    ackv,
    content: bytes.slice(offset, offset + length),
  };
}

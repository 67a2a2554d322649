/**
 * Linking a second device to an identity (PROTOCOL-V1.md 5c "Linking a device"): the `DEADDROP-LINK`
 * string the existing device shows as a QR code, and the frames the two devices exchange over a
 * temporary drop, each sealed in an ordinary 2149-byte PDU (the sealing is the engine's:
 * electron/core/devices/linkCipher.ts). Pure byte codecs; every decoder treats its input as hostile.
 */
import { formatDropUrl, parseDropUrl } from './dropId.js';
import { bytesEqual, fromHex, toHex, utf8Decode, utf8Encode } from './encoding.js';
import { ProtocolError } from './errors.js';
import { PDU_LENGTH } from './boxTypes.js';

export const LINK_STRING_TAG = 'DEADDROP-LINK';
export const LINK_VERSION = 1;

/** PDU layout: 0x00 · R (32: the joiner's one-time key in its hello, random otherwise) · AES-256-GCM(frame) with its 16-byte tag. */
export const LINK_R_OFFSET = 1;
export const LINK_R_LENGTH = 32;
export const LINK_CIPHERTEXT_OFFSET = LINK_R_OFFSET + LINK_R_LENGTH;
export const LINK_TAG_LENGTH = 16;
/** Plaintext bytes of one frame: what a PDU holds after the version byte, R and the GCM tag. */
export const LINK_FRAME_LENGTH = PDU_LENGTH - LINK_CIPHERTEXT_OFFSET - LINK_TAG_LENGTH;

const CHUNK_HEADER = 1 + 4 + 4 + 2;
/** Bundle bytes per CHUNK frame. */
export const LINK_CHUNK_DATA = LINK_FRAME_LENGTH - CHUNK_HEADER;
/** A bundle may take at most this many chunks (about 41 MB): a hostile END cannot ask for more. */
export const MAX_LINK_CHUNKS = 20_000;
/** Device names: short, for a list and a header line. */
export const MAX_DEVICE_NAME_BYTES = 32;
export const DEVICE_ID_LENGTH = 8;

/** What the existing device shows: where to meet (a drop never announced anywhere) and whom to encrypt to. */
export interface LinkOffer {
  version: number;
  dropUrl: string;
  /** The offering device's one-time X25519 public key. */
  publicKey: Uint8Array;
}

export type LinkAbortReason = 'mismatch' | 'cancelled' | 'failed';
const ABORT_CODES: Record<LinkAbortReason, number> = { mismatch: 1, cancelled: 2, failed: 3 };

export type LinkFrame =
  /** Joiner → offerer, first: who is joining, with its device prekey for the device list. */
  | { kind: 'hello'; deviceId: Uint8Array; prekey: Uint8Array; name: string }
  /** Offerer → joiner, after the user confirmed the code: one piece of the bundle. */
  | { kind: 'chunk'; index: number; total: number; data: Uint8Array }
  /** Offerer → joiner, last: how many chunks, how many bytes and their SHA-256. */
  | { kind: 'end'; total: number; length: number; sha256: Uint8Array }
  /** Either way: the link stops here. */
  | { kind: 'abort'; reason: LinkAbortReason }
  /** Joiner → offerer, last: the whole bundle arrived and checked out. */
  | { kind: 'received' };

const KIND = { hello: 1, chunk: 2, end: 3, abort: 4, received: 5 } as const;

function invalid(message: string): ProtocolError {
  return new ProtocolError('invalid_message', message);
}

/** The four-line string behind the QR code. */
export function formatLinkString(offer: LinkOffer): string {
  const { serverUrl, dropId } = parseDropUrl(offer.dropUrl);
  return [LINK_STRING_TAG, String(offer.version), formatDropUrl(serverUrl, dropId), toHex(offer.publicKey)].join('\n');
}

/**
 * Reads a pasted or scanned link string (surrounding white space and CRLF line ends allowed).
 * @throws ProtocolError 'invalid_message' for anything but a link string, 'unsupported_version' for a newer one
 */
export function parseLinkString(text: string): LinkOffer {
  if (typeof text !== 'string' || text.length > 4096) throw invalid('This is not a device link.');
  const lines = text.trim().split(/\r?\n/).map((line) => line.trim());
  if (lines[0] !== LINK_STRING_TAG) throw invalid(`This is not a device link (it must start with ${LINK_STRING_TAG}).`);
  if (lines.length !== 4) throw invalid('The device link is incomplete: copy all four lines.');
  const version = /^[0-9]{1,3}$/.test(lines[1]!) ? Number(lines[1]) : NaN;
  if (version !== LINK_VERSION) {
    throw new ProtocolError('unsupported_version', Number.isNaN(version) ? 'The device link is damaged.' : 'The device link comes from a newer version of Deaddrop: update this one.');
  }
  const { serverUrl, dropId } = parseDropUrl(lines[2]!);
  const publicKey = fromHex(lines[3]!, 32, 'invalid_message');
  return { version, dropUrl: formatDropUrl(serverUrl, dropId), publicKey };
}

/** A frame as LINK_FRAME_LENGTH plaintext bytes (zero padded). */
export function encodeLinkFrame(frame: LinkFrame): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(LINK_FRAME_LENGTH);
  const view = new DataView(out.buffer);
  out[0] = KIND[frame.kind];
  switch (frame.kind) {
    case 'hello': {
      if (frame.deviceId.length !== DEVICE_ID_LENGTH || frame.prekey.length !== 32) throw new RangeError('device ids are 8 bytes, prekeys 32');
      const name = truncateUtf8(frame.name, MAX_DEVICE_NAME_BYTES);
      out[1] = LINK_VERSION;
      out.set(frame.deviceId, 2);
      out.set(frame.prekey, 10);
      out[42] = name.length;
      out.set(name, 43);
      break;
    }
    case 'chunk':
      if (frame.data.length > LINK_CHUNK_DATA || frame.index >= frame.total || frame.total > MAX_LINK_CHUNKS) throw new RangeError('chunk out of bounds');
      view.setUint32(1, frame.index);
      view.setUint32(5, frame.total);
      view.setUint16(9, frame.data.length);
      out.set(frame.data, CHUNK_HEADER);
      break;
    case 'end':
      if (frame.sha256.length !== 32) throw new RangeError('SHA-256 is 32 bytes');
      view.setUint32(1, frame.total);
      view.setUint32(5, frame.length);
      out.set(frame.sha256, 9);
      break;
    case 'abort':
      out[1] = ABORT_CODES[frame.reason];
      break;
    case 'received':
      break;
  }
  return out;
}

/** @throws ProtocolError 'invalid_message' for a frame no sender of this version writes */
export function decodeLinkFrame(bytes: Uint8Array): LinkFrame {
  if (bytes.length !== LINK_FRAME_LENGTH) throw invalid('A device link frame has the wrong length.');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const zeroFrom = (from: number) => {
    if (bytes.subarray(from).some((b) => b !== 0)) throw invalid('A device link frame carries bytes after its end.');
  };
  switch (bytes[0]) {
    case KIND.hello: {
      if (bytes[1] !== LINK_VERSION) throw new ProtocolError('unsupported_version', 'The other device runs another version of Deaddrop: update both.');
      const nameLength = bytes[42]!;
      if (nameLength > MAX_DEVICE_NAME_BYTES) throw invalid('A device name is too long.');
      zeroFrom(43 + nameLength);
      const name = utf8Decode(bytes.subarray(43, 43 + nameLength));
      return { kind: 'hello', deviceId: bytes.slice(2, 10), prekey: bytes.slice(10, 42), name: cleanDeviceName(name) };
    }
    case KIND.chunk: {
      const index = view.getUint32(1);
      const total = view.getUint32(5);
      const length = view.getUint16(9);
      if (total === 0 || total > MAX_LINK_CHUNKS || index >= total || length > LINK_CHUNK_DATA || length === 0) throw invalid('A piece of the device link is out of bounds.');
      zeroFrom(CHUNK_HEADER + length);
      return { kind: 'chunk', index, total, data: bytes.slice(CHUNK_HEADER, CHUNK_HEADER + length) };
    }
    case KIND.end: {
      const total = view.getUint32(1);
      const length = view.getUint32(5);
      if (total === 0 || total > MAX_LINK_CHUNKS || length > total * LINK_CHUNK_DATA || length <= (total - 1) * LINK_CHUNK_DATA) throw invalid('The end of the device link is out of bounds.');
      zeroFrom(41);
      return { kind: 'end', total, length, sha256: bytes.slice(9, 41) };
    }
    case KIND.abort: {
      const reason = (Object.keys(ABORT_CODES) as LinkAbortReason[]).find((key) => ABORT_CODES[key] === bytes[1]);
      if (!reason) throw invalid('A device link stop has an unknown reason.');
      zeroFrom(2);
      return { kind: 'abort', reason };
    }
    case KIND.received:
      zeroFrom(1);
      return { kind: 'received' };
    default:
      throw invalid('Unknown device link frame.');
  }
}

/** Splits a bundle into CHUNK frames. */
export function chunkFrames(bundle: Uint8Array): LinkFrame[] {
  const total = Math.max(1, Math.ceil(bundle.length / LINK_CHUNK_DATA));
  if (total > MAX_LINK_CHUNKS) throw new RangeError('The bundle is too large for a device link.');
  return Array.from({ length: total }, (_, index) => ({ kind: 'chunk', index, total, data: bundle.subarray(index * LINK_CHUNK_DATA, (index + 1) * LINK_CHUNK_DATA) }));
}

/**
 * The six digits both users compare, from 20 bits of the short authentication string: `sas` is the
 * first bytes of a key both devices derive from their shared secret (linkCipher.ts).
 */
export function sasDigits(sas: Uint8Array): string {
  if (sas.length < 3) throw new RangeError('the SAS needs 3 bytes');
  const bits20 = ((sas[0]! << 12) | (sas[1]! << 4) | (sas[2]! >> 4)) >>> 0;
  return String(bits20 % 1_000_000).padStart(6, '0');
}

/** Device names are shown in lists: no control or bidi characters, at most MAX_DEVICE_NAME_BYTES of UTF-8. */
export function cleanDeviceName(name: string): string {
  // As cleanAlias does for contacts: control and format (bidi) characters could forge lines or directions.
  const cleaned = name.replace(/[\p{Cc}\p{Cf}]/gu, '').trim();
  return utf8Decode(truncateUtf8(cleaned, MAX_DEVICE_NAME_BYTES));
}

/** UTF-8 of `text`, cut at a character boundary to at most `max` bytes. */
function truncateUtf8(text: string, max: number): Uint8Array {
  let bytes = utf8Encode(text);
  if (bytes.length <= max) return bytes;
  let cut = max;
  while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
  bytes = bytes.subarray(0, cut);
  return bytes;
}

/** True when two device ids are the same device. */
export function sameDevice(a: Uint8Array, b: Uint8Array): boolean {
  return bytesEqual(a, b);
}

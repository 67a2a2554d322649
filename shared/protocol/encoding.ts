/**
 * Byte and text codecs used by every other protocol module. Pure, runtime-neutral (Node, browser,
 * worker): only TextEncoder/TextDecoder, btoa/atob-free base64url and WebCrypto.
 */
import { ProtocolError } from './errors.js';

const HEX_DIGITS = '0123456789abcdef';
const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** crypto.getRandomValues refuses more than 65536 bytes per call. */
const RANDOM_CHUNK = 65536;

const utf8Encoder = new TextEncoder();
// fatal: hostile input with invalid UTF-8 must be rejected, not silently turned into U+FFFD.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const base64UrlLookup = new Int16Array(128).fill(-1);
for (let i = 0; i < BASE64URL_ALPHABET.length; i++) base64UrlLookup[BASE64URL_ALPHABET.charCodeAt(i)] = i;

/** Lower-case hex of `bytes`. */
/** A 32-byte key as hex in either case, as other clients may write it (`sender`, contact files). */
export const HEX_KEY = /^[0-9a-fA-F]{64}$/;
/** A 32-byte key as we write it: lower-case hex. */
export const LOWER_HEX_KEY = /^[0-9a-f]{64}$/;

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += HEX_DIGITS[byte >> 4]! + HEX_DIGITS[byte & 15]!;
  return out;
}

function hexNibble(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  return -1;
}

/**
 * Strict hex decoder: even length, only [0-9a-fA-F], optional exact `expectedLength` in bytes.
 * @throws ProtocolError ('invalid_message' unless `code` says otherwise)
 */
export function fromHex(
  hex: string,
  expectedLength?: number,
  code: ConstructorParameters<typeof ProtocolError>[0] = 'invalid_message',
): Uint8Array {
  if (typeof hex !== 'string' || hex.length % 2 !== 0) throw new ProtocolError(code, 'Hex text must have an even number of digits.');
  if (expectedLength !== undefined && hex.length !== expectedLength * 2) {
    throw new ProtocolError(code, `Expected ${expectedLength * 2} hex digits, got ${hex.length}.`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const high = hexNibble(hex.charCodeAt(2 * i));
    const low = hexNibble(hex.charCodeAt(2 * i + 1));
    if (high < 0 || low < 0) throw new ProtocolError(code, 'Hex text contains a character that is not a hex digit.');
    out[i] = (high << 4) | low;
  }
  return out;
}

/** Base64url (RFC 4648 section 5) without padding. */
export function toBase64Url(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += BASE64URL_ALPHABET[n >> 18]! + BASE64URL_ALPHABET[(n >> 12) & 63]! + BASE64URL_ALPHABET[(n >> 6) & 63]! + BASE64URL_ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += BASE64URL_ALPHABET[n >> 18]! + BASE64URL_ALPHABET[(n >> 12) & 63]!;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += BASE64URL_ALPHABET[n >> 18]! + BASE64URL_ALPHABET[(n >> 12) & 63]! + BASE64URL_ALPHABET[(n >> 6) & 63]!;
  }
  return out;
}

/**
 * Strict base64url decoder: no padding, no whitespace, and the unused low bits of the last character
 * must be zero, so every byte string has exactly one accepted text form.
 * @throws ProtocolError ('invalid_message' unless `code` says otherwise)
 */
export function fromBase64Url(
  text: string,
  code: ConstructorParameters<typeof ProtocolError>[0] = 'invalid_message',
): Uint8Array {
  if (typeof text !== 'string' || text.length % 4 === 1) throw new ProtocolError(code, 'Base64url text has an impossible length.');
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let buffer = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? base64UrlLookup[c]! : -1;
    if (v < 0) throw new ProtocolError(code, 'Base64url text contains a character outside its alphabet.');
    buffer = ((buffer << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (buffer >> bits) & 0xff;
    }
  }
  if ((buffer & ((1 << bits) - 1)) !== 0) throw new ProtocolError(code, 'Base64url text has non-zero trailing bits.');
  return out;
}

/** UTF-8 bytes of `text` (lone surrogates become U+FFFD, as TextEncoder does). */
export function utf8Encode(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/**
 * Decodes UTF-8, rejecting invalid sequences.
 * @throws ProtocolError ('invalid_message' unless `code` says otherwise)
 */
export function utf8Decode(
  bytes: Uint8Array,
  code: ConstructorParameters<typeof ProtocolError>[0] = 'invalid_message',
): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    throw new ProtocolError(code, 'The text is not valid UTF-8.');
  }
}

/** `n` bytes from the platform CSPRNG (WebCrypto), in chunks the API accepts. */
export function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError('randomBytes: length must be a non-negative integer');
  const out = new Uint8Array(n);
  for (let offset = 0; offset < n; offset += RANDOM_CHUNK) {
    crypto.getRandomValues(out.subarray(offset, Math.min(n, offset + RANDOM_CHUNK)));
  }
  return out;
}

/** One new array holding all `parts` in order. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Constant-time (for equal lengths) byte comparison. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Lower-case hex SHA-256 of `bytes` (WebCrypto). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', toArrayBufferView(bytes))));
}

/**
 * WebCrypto's typings want a view over a plain ArrayBuffer; copying only when the view sits on a
 * SharedArrayBuffer keeps the common case free.
 */
export function toArrayBufferView(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

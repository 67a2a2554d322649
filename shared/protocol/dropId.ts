/** Drop IDs and drop URLs (PROTOCOL.md section 1). */
import { toBase64Url, randomBytes } from './encoding.js';
import { ProtocolError } from './errors.js';

/** 32 bytes in unpadded base64url. */
export const DROP_ID_LENGTH = 43;
const DROP_ID_BYTES = 32;
const DROP_ID_PATTERN = /^[-_A-Za-z0-9]{43}$/;
/** Far above any real drop URL; keeps URL parsing of hostile text bounded. */
const MAX_DROP_URL_LENGTH = 2048;

/** True for exactly 43 characters of `[-_A-Za-z0-9]`. */
export function isValidDropId(s: unknown): s is string {
  return typeof s === 'string' && DROP_ID_PATTERN.test(s);
}

/**
 * A fresh drop ID from the CSPRNG. With `bits` < 256 (the anonymity setting), only the first `bits`
 * bits are random and the rest are zero, so that many identities share the same few drops.
 */
export function generateDropId(bits = 256): string {
  if (!Number.isInteger(bits) || bits < 1 || bits > DROP_ID_BYTES * 8) {
    throw new RangeError('generateDropId: bits must be an integer from 1 to 256');
  }
  const id = randomBytes(DROP_ID_BYTES);
  const fullBytes = Math.floor(bits / 8);
  const partialBits = bits % 8;
  if (partialBits > 0) id[fullBytes]! &= (0xff << (8 - partialBits)) & 0xff;
  id.fill(0, fullBytes + (partialBits > 0 ? 1 : 0));
  return toBase64Url(id);
}

/** The drop server base URL (scheme, host, port, service path; no trailing slash) and the drop ID. */
export interface DropUrl {
  serverUrl: string;
  dropId: string;
}

function invalidUrl(message: string): ProtocolError {
  return new ProtocolError('invalid_drop_url', message);
}

/** Parses an http(s) URL that may carry nothing but scheme, host, port and path. */
function parseHttpUrl(text: string, what: string): URL {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_DROP_URL_LENGTH) {
    throw invalidUrl(`The ${what} is empty or too long.`);
  }
  if (text !== text.trim()) throw invalidUrl(`The ${what} has spaces around it.`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalidUrl(`The ${what} is not a valid URL.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalidUrl(`The ${what} must start with http:// or https://.`);
  if (url.username !== '' || url.password !== '') throw invalidUrl(`The ${what} must not contain a user name or password.`);
  if (url.search !== '' || url.hash !== '' || text.includes('?') || text.includes('#')) {
    throw invalidUrl(`The ${what} must not have a query or fragment.`);
  }
  if (url.hostname === '') throw invalidUrl(`The ${what} has no host.`);
  return url;
}

/**
 * Splits a drop URL `http(s)://host[:port]<servicepath>/<dropId>` into server URL and drop ID.
 * @throws ProtocolError 'invalid_drop_url'
 */
export function parseDropUrl(url: string): DropUrl {
  const parsed = parseHttpUrl(url, 'drop URL');
  const path = parsed.pathname;
  const lastSlash = path.lastIndexOf('/');
  const dropId = path.slice(lastSlash + 1);
  if (!isValidDropId(dropId)) throw invalidUrl('The drop URL does not end with a valid 43-character drop ID.');
  const servicePath = path.slice(0, lastSlash).replace(/\/+$/, '');
  return { serverUrl: parsed.origin + servicePath, dropId };
}

/**
 * The drop URL of `dropId` on `serverUrl` (a trailing slash on the server URL is ignored).
 * @throws ProtocolError 'invalid_drop_url' for a bad server URL, 'invalid_drop_id' for a bad ID
 */
export function formatDropUrl(serverUrl: string, dropId: string): string {
  if (!isValidDropId(dropId)) throw new ProtocolError('invalid_drop_id', 'Invalid drop ID.');
  const parsed = parseHttpUrl(serverUrl, 'server URL');
  const servicePath = parsed.pathname.replace(/\/+$/, '');
  return `${parsed.origin}${servicePath}/${dropId}`;
}

/**
 * Out-of-band contact exchange (PROTOCOL.md section 5): the four-line contact string shown in QR
 * codes, and `.qco` contact files. Input is hostile (a pasted text, a scanned code, a file from
 * anywhere): every field is validated and every failure is a ProtocolError 'invalid_contact' whose
 * message a user can act on.
 */
import { parseDropUrl } from './dropId.js';
import { ProtocolError } from './errors.js';
import { HEX_KEY, fromBase64Url, fromHex, toBase64Url, toHex } from './encoding.js';

/**
 * What a version-1 contact card adds (PROTOCOL-V1.md 1c "Capability negotiation"): a QR prekey, so
 * the first message can already be forward-secret, and the capabilities of the client.
 */
export interface ContactV1 {
  /** The QR prekey's X25519 public key, 64 lowercase hex. */
  qrPrekey: string;
  /** The last day (days since 1970-01-01, UTC) the prekey may be used. */
  qrPrekeyExpiresDay: number;
  /** Capability bits (none defined yet beyond version 1 itself). */
  caps: number;
}

/** A contact: who they are and where to drop messages for them. */
export interface Contact {
  alias: string;
  /** X25519 public key, 64 lowercase hex. */
  publicKey: string;
  dropUrls: string[];
  email?: string;
  phone?: string;
  /** Present when the card was a version-1 card (`DEADDROP1`, or a `.qco` with a `deaddrop` field). */
  v1?: ContactV1;
}

export const CONTACT_STRING_TAG = 'QABELCONTACT';
/** The five-line version-1 contact string's first line (old Qabel apps read only the four-line one). */
export const CONTACT_STRING_V1_TAG = 'DEADDROP1';
export const MAX_ALIAS_LENGTH = 128;
export const MAX_DROP_URLS = 16;
const MAX_CONTACT_FIELD_LENGTH = 256;
const MAX_CONTACT_STRING_LENGTH = 64 * 1024;
const MAX_QCO_LENGTH = 4 * 1024 * 1024;
const MAX_QCO_CONTACTS = 10_000;
const MAX_FILE_NAME_ALIAS = 100;
// eslint-disable-next-line no-control-regex -- rejecting control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

function invalid(message: string): ProtocolError {
  return new ProtocolError('invalid_contact', message);
}

function checkAlias(alias: unknown, where: string): string {
  if (typeof alias !== 'string') throw invalid(`${where}: the name is missing.`);
  const trimmed = alias.trim();
  if (trimmed.length === 0) throw invalid(`${where}: the name is empty.`);
  if (trimmed.length > MAX_ALIAS_LENGTH) throw invalid(`${where}: the name is longer than ${MAX_ALIAS_LENGTH} characters.`);
  if (CONTROL_CHARACTERS.test(trimmed)) throw invalid(`${where}: the name contains line breaks or control characters.`);
  return trimmed;
}

function checkPublicKey(key: unknown, where: string): string {
  if (typeof key !== 'string' || !HEX_KEY.test(key.trim())) throw invalid(`${where}: the public key must be 64 hexadecimal characters.`);
  return key.trim().toLowerCase();
}

function checkDropUrls(urls: unknown, where: string): string[] {
  if (!Array.isArray(urls) || urls.length === 0) throw invalid(`${where}: at least one drop URL is needed.`);
  if (urls.length > MAX_DROP_URLS) throw invalid(`${where}: more than ${MAX_DROP_URLS} drop URLs.`);
  return urls.map((url: unknown, i) => {
    if (typeof url !== 'string') throw invalid(`${where}: drop URL ${i + 1} is not text.`);
    try {
      const { serverUrl, dropId } = parseDropUrl(url.trim());
      return `${serverUrl}/${dropId}`;
    } catch {
      throw invalid(`${where}: drop URL ${i + 1} is not a valid http(s) drop URL ending in a 43-character drop ID.`);
    }
  });
}

function checkOptional(value: unknown, what: string, where: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(`${where}: the ${what} is not text.`);
  const trimmed = value.trim();
  if (trimmed.length > MAX_CONTACT_FIELD_LENGTH || CONTROL_CHARACTERS.test(trimmed)) throw invalid(`${where}: the ${what} is too long or contains control characters.`);
  return trimmed.length > 0 ? trimmed : undefined;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const V1_FIELD_BYTES = 35;

function checkV1(v1: unknown, where: string): ContactV1 {
  if (typeof v1 !== 'object' || v1 === null) throw invalid(`${where}: the version-1 part is not readable.`);
  const { qrPrekey, qrPrekeyExpiresDay, caps } = v1 as Record<string, unknown>;
  if (typeof qrPrekey !== 'string' || !HEX_KEY.test(qrPrekey)) throw invalid(`${where}: the prekey must be 64 hexadecimal characters.`);
  if (typeof qrPrekeyExpiresDay !== 'number' || !Number.isInteger(qrPrekeyExpiresDay) || qrPrekeyExpiresDay < 0 || qrPrekeyExpiresDay > 0xffff) {
    throw invalid(`${where}: the prekey's expiry day is out of range.`);
  }
  if (typeof caps !== 'number' || !Number.isInteger(caps) || caps < 0 || caps > 0xff) throw invalid(`${where}: the capabilities are out of range.`);
  return { qrPrekey: qrPrekey.toLowerCase(), qrPrekeyExpiresDay, caps };
}

/** The fifth line of a `DEADDROP1` string: base64url of prekey (32) · expiry day u16 · caps u8. */
export function encodeV1Field(v1: ContactV1): string {
  const bytes = new Uint8Array(V1_FIELD_BYTES);
  bytes.set(fromHex(v1.qrPrekey, 32), 0);
  bytes[32] = v1.qrPrekeyExpiresDay >> 8;
  bytes[33] = v1.qrPrekeyExpiresDay & 0xff;
  bytes[34] = v1.caps;
  return toBase64Url(bytes);
}

function decodeV1Field(text: string, where: string): ContactV1 {
  if (!BASE64URL.test(text) || text.length !== 47) throw invalid(`${where}: the last line is not a version-1 prekey field.`);
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(text);
  } catch {
    throw invalid(`${where}: the last line is not a version-1 prekey field.`);
  }
  if (bytes.length !== V1_FIELD_BYTES) throw invalid(`${where}: the last line is not a version-1 prekey field.`);
  return checkV1({ qrPrekey: toHex(bytes.subarray(0, 32)), qrPrekeyExpiresDay: (bytes[32]! << 8) | bytes[33]!, caps: bytes[34]! }, where);
}

/** Validates and normalises a contact (trimmed fields, lowercase key, canonical URLs). */
export function validateContact(c: Contact, where = 'Contact'): Contact {
  const contact: Contact = {
    alias: checkAlias(c.alias, where),
    publicKey: checkPublicKey(c.publicKey, where),
    dropUrls: checkDropUrls(c.dropUrls, where),
  };
  const email = checkOptional(c.email, 'e-mail address', where);
  const phone = checkOptional(c.phone, 'phone number', where);
  if (email !== undefined) contact.email = email;
  if (phone !== undefined) contact.phone = phone;
  if (c.v1 !== undefined) contact.v1 = checkV1(c.v1, where);
  return contact;
}

/**
 * Reads the four-line contact string (`QABELCONTACT`, alias, drop URLs joined by ", ", public key).
 * Tolerates CRLF line ends and whitespace around lines.
 */
export function parseContactString(text: string): Contact {
  if (typeof text !== 'string' || text.length > MAX_CONTACT_STRING_LENGTH) throw invalid('This is not a contact code.');
  const lines = text.trim().split(/\r?\n/).map((line) => line.trim());
  if (lines[0] !== CONTACT_STRING_TAG) throw invalid('This is not a contact code: it does not start with QABELCONTACT.');
  if (lines.length !== 4) throw invalid(`A contact code has 4 lines; this one has ${lines.length}.`);
  const where = 'Contact code';
  return validateContact({ alias: lines[1]!, dropUrls: lines[2]!.split(',').map((u) => u.trim()), publicKey: lines[3]! }, where);
}

/**
 * Reads the five-line version-1 contact string: `DEADDROP1`, alias, drop URLs joined by ", ",
 * public key, and the prekey field (`encodeV1Field`).
 */
export function parseContactStringV1(text: string): Contact {
  if (typeof text !== 'string' || text.length > MAX_CONTACT_STRING_LENGTH) throw invalid('This is not a contact code.');
  const lines = text.trim().split(/\r?\n/).map((line) => line.trim());
  if (lines[0] !== CONTACT_STRING_V1_TAG) throw invalid('This is not a version-1 contact code: it does not start with DEADDROP1.');
  if (lines.length !== 5) throw invalid(`A version-1 contact code has 5 lines; this one has ${lines.length}.`);
  const where = 'Contact code';
  return validateContact(
    { alias: lines[1]!, dropUrls: lines[2]!.split(',').map((u) => u.trim()), publicKey: lines[3]!, v1: decodeV1Field(lines[4]!, where) },
    where,
  );
}

/** The five-line version-1 contact string of `c`, which must have its `v1` part. */
export function formatContactStringV1(c: Contact): string {
  const contact = validateContact(c);
  if (!contact.v1) throw invalid('A version-1 contact code needs a prekey.');
  return [CONTACT_STRING_V1_TAG, contact.alias, contact.dropUrls.join(', '), contact.publicKey, encodeV1Field(contact.v1)].join('\n');
}

/** The four-line contact string of `c` (for QR codes and copy/paste). */
export function formatContactString(c: Contact): string {
  const contact = validateContact(c);
  return [CONTACT_STRING_TAG, contact.alias, contact.dropUrls.join(', '), contact.publicKey].join('\n');
}

function contactFromQcoObject(value: unknown, where: string): Contact {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`${where} is not a contact object.`);
  const o = value as Record<string, unknown>;
  const contact = validateContact(
    { alias: o.alias as string, publicKey: o.public_key as string, dropUrls: o.drop_urls as string[], email: o.email as string, phone: o.phone as string },
    where,
  );
  // Our version-1 field; old importers ignore it, and a broken one only costs the upgrade, not the contact.
  const dd = o.deaddrop as Record<string, unknown> | undefined;
  if (dd && typeof dd === 'object' && dd.v === 1 && typeof dd.qpk === 'string') {
    try {
      contact.v1 = decodeV1Field(dd.qpk, where);
    } catch {
      // Kept as a version-0 contact.
    }
  }
  return contact;
}

/** Reads a `.qco` file: `{"contacts":[...]}` or one bare contact object. */
export function parseQco(text: string): Contact[] {
  if (typeof text !== 'string') throw invalid('The contact file is empty.');
  if (text.length > MAX_QCO_LENGTH) throw invalid('The contact file is too large.');
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, '')) as unknown;
  } catch {
    throw invalid('The contact file is not valid JSON.');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalid('The contact file does not hold contacts.');
  const list = (json as { contacts?: unknown }).contacts;
  if (list === undefined) return [contactFromQcoObject(json, 'The contact')];
  if (!Array.isArray(list)) throw invalid('The contact file\'s "contacts" is not a list.');
  if (list.length === 0) throw invalid('The contact file holds no contacts.');
  if (list.length > MAX_QCO_CONTACTS) throw invalid(`The contact file holds more than ${MAX_QCO_CONTACTS} contacts.`);
  return list.map((item, i) => contactFromQcoObject(item, `Contact ${i + 1}`));
}

/** A `.qco` file holding `contacts`. */
export function formatQco(contacts: readonly Contact[]): string {
  const list = contacts.map((c, i) => {
    const v = validateContact(c, `Contact ${i + 1}`);
    return {
      alias: v.alias,
      ...(v.email !== undefined ? { email: v.email } : {}),
      ...(v.phone !== undefined ? { phone: v.phone } : {}),
      public_key: v.publicKey,
      drop_urls: v.dropUrls,
      ...(v.v1 !== undefined ? { deaddrop: { v: 1, qpk: encodeV1Field(v.v1) } } : {}),
    };
  });
  return `${JSON.stringify({ contacts: list }, null, 2)}\n`;
}

/** `contact-<alias>.qco`, with characters no file system accepts replaced by `_`. */
export function qcoFileName(alias: string): string {
  const safe = Array.from(alias.normalize('NFC'))
    .map((ch) => (/[<>:"/\\|?*]/.test(ch) || CONTROL_CHARACTERS.test(ch) ? '_' : ch))
    .slice(0, MAX_FILE_NAME_ALIAS)
    .join('')
    .replace(/^[\s.]+|[\s.]+$/g, '');
  return `contact-${safe.length > 0 ? safe : 'unnamed'}.qco`;
}

/** Reads whatever the user pasted, scanned or opened: a contact string or `.qco` JSON. */
export function parseContactInput(text: string): Contact[] {
  if (typeof text !== 'string') throw invalid('Nothing to import.');
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (trimmed.startsWith(CONTACT_STRING_TAG)) return [parseContactString(trimmed)];
  if (trimmed.startsWith(CONTACT_STRING_V1_TAG)) return [parseContactStringV1(trimmed)];
  if (trimmed.startsWith('{')) return parseQco(trimmed);
  throw invalid('This is neither a contact code (QABELCONTACT or DEADDROP1 ...) nor a contact file.');
}

/** The public key as 16 groups of four hex characters, for comparing by eye. */
export function formatFingerprint(hex: string): string {
  const key = checkPublicKey(hex, 'Fingerprint');
  return key.match(/.{4}/g)!.join(' ');
}

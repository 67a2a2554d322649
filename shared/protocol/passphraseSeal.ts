/**
 * Passphrase encryption for secrets at rest (identity backups, the engine's key store): Argon2id
 * (argon2id.ts, or the caller's `PassphraseKdf`: the engine runs it in a worker) derives an AES-256-GCM
 * key. The output is a versioned JSON envelope carrying its format tag and KDF parameters, all bound to
 * the ciphertext as associated data. Opening treats the text as hostile and bounds the KDF cost.
 */
import { z } from 'zod';
import type { PassphraseKdf, PassphraseLimits } from './argon2id.js';
import { fromBase64Url, randomBytes, toArrayBufferView, toBase64Url, utf8Encode } from './encoding.js';
import { ProtocolError } from './errors.js';

export type { PassphraseKdf, PassphraseLimits } from './argon2id.js';

/**
 * Argon2id in the calling thread, loaded at first use: a host that passes its own KDF (the engine:
 * its worker pool) never loads libsodium here, nor pays for it when starting (the CLI starts often).
 */
const argon2idInPlace: PassphraseKdf = async (...args) => (await import('./argon2id.js')).argon2id(...args);

/** libsodium's INTERACTIVE memory with one more pass: ~0.3 s under WASM on a laptop. */
export const DEFAULT_PASSPHRASE_LIMITS: PassphraseLimits = { opsLimit: 3, memLimit: 64 * 1024 * 1024 };
/** The cheapest Argon2id libsodium accepts; for tests only. */
export const TEST_PASSPHRASE_LIMITS: PassphraseLimits = { opsLimit: 1, memLimit: 8192 };
/**
 * The most a file may ask for: a hostile file must not make us spend minutes or gigabytes. At both
 * caps Argon2id takes about 2 s in WASM on the 2-core development machine (4 times our default
 * memory, 8 passes where the default makes 3).
 */
export const MAX_PASSPHRASE_LIMITS: PassphraseLimits = { opsLimit: 8, memLimit: 256 * 1024 * 1024 };
const MAX_ENVELOPE_LENGTH = 1024 * 1024;
const MAX_PASSPHRASE_LENGTH = 1024;
const SALT_BYTES = 16;
const NONCE_BYTES = 12;
const KEY_BYTES = 32;
const ENVELOPE_VERSION = 1;
const KDF_NAME = 'argon2id13';
const CIPHER_NAME = 'aes-256-gcm';

/** What an envelope holds; the tag keeps one kind of sealed file from being opened as another. */
export type SealedFormat = 'deaddrop-sealed' | 'deaddrop-identity-backup';

const base64Url = z.string().max(2 * MAX_ENVELOPE_LENGTH).regex(/^[-_A-Za-z0-9]*$/);
const envelopeSchema = z.object({
  format: z.string().max(64),
  version: z.number(),
  kdf: z.object({
    name: z.literal(KDF_NAME),
    // Above the caps the file is readable but refused with a message naming its demand (see limitsRefusal).
    opslimit: z.number().int().min(TEST_PASSPHRASE_LIMITS.opsLimit),
    memlimit: z.number().int().min(TEST_PASSPHRASE_LIMITS.memLimit),
    salt: base64Url,
  }),
  cipher: z.object({ name: z.literal(CIPHER_NAME), nonce: base64Url }),
  ciphertext: base64Url,
});
type Envelope = z.infer<typeof envelopeSchema>;

/** Spelled this way because Node's typings have no global CryptoKey type. */
type AesKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

function checkPassphrase(passphrase: string): string {
  if (typeof passphrase !== 'string' || passphrase.length === 0) throw new ProtocolError('bad_passphrase', 'The passphrase is empty.');
  if (passphrase.length > MAX_PASSPHRASE_LENGTH) throw new ProtocolError('bad_passphrase', 'The passphrase is too long.');
  // The same passphrase typed on another system may arrive in another Unicode normal form.
  return passphrase.normalize('NFC');
}

async function deriveKey(passphrase: string, salt: Uint8Array, limits: PassphraseLimits, kdf: PassphraseKdf): Promise<AesKey> {
  const encoded = utf8Encode(passphrase);
  let raw: Uint8Array;
  try {
    raw = await kdf(encoded, salt, limits, KEY_BYTES);
  } finally {
    encoded.fill(0);
  }
  try {
    return await crypto.subtle.importKey('raw', toArrayBufferView(raw), 'AES-GCM', false, ['encrypt', 'decrypt']);
  } finally {
    raw.fill(0);
  }
}

/** `256 MiB`, `64.5 MiB`, `8 KiB`: how a file's memory demand is named to the user. */
function memorySize(bytes: number): string {
  const [amount, unit] = bytes >= 1024 * 1024 ? [bytes / (1024 * 1024), 'MiB'] : [bytes / 1024, 'KiB'];
  return `${Number.isInteger(amount) ? amount : amount.toFixed(1)} ${unit}`;
}

/** Why limits beyond the caps are refused, naming what was asked for; null when within them. */
export function limitsRefusal(limits: PassphraseLimits, what: string): string | null {
  const max = MAX_PASSPHRASE_LIMITS;
  if (limits.opsLimit <= max.opsLimit && limits.memLimit <= max.memLimit) return null;
  return `${what} asks for Argon2id with ${memorySize(limits.memLimit)} of memory and ${limits.opsLimit} passes; `
    + `at most ${memorySize(max.memLimit)} and ${max.opsLimit} passes are accepted, so it is refused unopened (it could stall this computer).`;
}

/** Everything but the ciphertext, in a fixed order: authenticated as AES-GCM associated data. */
function associatedData(e: Omit<Envelope, 'ciphertext'>): Uint8Array<ArrayBuffer> {
  const header = {
    format: e.format,
    version: e.version,
    kdf: { name: e.kdf.name, opslimit: e.kdf.opslimit, memlimit: e.kdf.memlimit, salt: e.kdf.salt },
    cipher: { name: e.cipher.name, nonce: e.cipher.nonce },
  };
  return toArrayBufferView(utf8Encode(JSON.stringify(header)));
}

/** Seals `plaintext` under `passphrase`; returns the JSON envelope text. */
export async function sealWithPassphrase(
  format: SealedFormat,
  plaintext: Uint8Array,
  passphrase: string,
  limits: PassphraseLimits = DEFAULT_PASSPHRASE_LIMITS,
  kdf: PassphraseKdf = argon2idInPlace,
): Promise<string> {
  const normalized = checkPassphrase(passphrase);
  // Nothing is written that opening would refuse.
  if (!Number.isInteger(limits.opsLimit) || limits.opsLimit < TEST_PASSPHRASE_LIMITS.opsLimit
    || !Number.isInteger(limits.memLimit) || limits.memLimit < TEST_PASSPHRASE_LIMITS.memLimit || limitsRefusal(limits, '') !== null) {
    throw new RangeError('Passphrase limits out of range');
  }
  const salt = randomBytes(SALT_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  const header = {
    format,
    version: ENVELOPE_VERSION,
    kdf: { name: KDF_NAME, opslimit: limits.opsLimit, memlimit: limits.memLimit, salt: toBase64Url(salt) },
    cipher: { name: CIPHER_NAME, nonce: toBase64Url(nonce) },
  } as const;
  const key = await deriveKey(normalized, salt, limits, kdf);
  const ciphertext = await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: associatedData(header) }, key, toArrayBufferView(plaintext));
  return JSON.stringify({ ...header, ciphertext: toBase64Url(new Uint8Array(ciphertext)) });
}

function invalidBackup(message: string): ProtocolError {
  return new ProtocolError('invalid_backup', message);
}

/**
 * Opens an envelope sealed with `format`. Key-derivation settings beyond `MAX_PASSPHRASE_LIMITS` are
 * refused before any work, with a message naming them.
 * @throws ProtocolError 'invalid_backup' (not such a file, damaged, unknown version, too costly) or 'bad_passphrase'
 */
export async function openWithPassphrase(format: SealedFormat, text: string, passphrase: string, kdf: PassphraseKdf = argon2idInPlace): Promise<Uint8Array> {
  if (typeof text !== 'string' || text.length > MAX_ENVELOPE_LENGTH) throw invalidBackup('The file is too large to be an encrypted backup.');
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, '')) as unknown;
  } catch {
    throw invalidBackup('The file is not an encrypted backup (not JSON).');
  }
  const tag = (json as { format?: unknown } | null)?.format;
  if (tag !== format) throw invalidBackup(format === 'deaddrop-identity-backup' ? 'The file is not a Deaddrop identity backup.' : 'The data is not a Deaddrop sealed secret.');
  if ((json as { version?: unknown }).version !== ENVELOPE_VERSION) throw invalidBackup('The backup was written by a newer version of Deaddrop.');
  const parsed = envelopeSchema.safeParse(json);
  if (!parsed.success) throw invalidBackup('The backup file is damaged or has unsupported settings.');
  const e = parsed.data;
  const limits = { opsLimit: e.kdf.opslimit, memLimit: e.kdf.memlimit };
  const refusal = limitsRefusal(limits, format === 'deaddrop-identity-backup' ? 'The backup' : 'The sealed key');
  if (refusal) throw invalidBackup(refusal);
  let salt: Uint8Array;
  let nonce: Uint8Array;
  let ciphertext: Uint8Array;
  try {
    salt = fromBase64Url(e.kdf.salt);
    nonce = fromBase64Url(e.cipher.nonce);
    ciphertext = fromBase64Url(e.ciphertext);
  } catch {
    throw invalidBackup('The backup file is damaged.');
  }
  if (salt.length !== SALT_BYTES || nonce.length !== NONCE_BYTES || ciphertext.length < 16) throw invalidBackup('The backup file is damaged.');
  const normalized = checkPassphrase(passphrase);
  let key: AesKey;
  try {
    key = await deriveKey(normalized, salt, limits, kdf);
  } catch (err) {
    // A KDF run elsewhere may fail for reasons of its own (a worker pool closing): those say so.
    if (kdf !== argon2idInPlace) throw err;
    throw invalidBackup('The backup asks for key-derivation settings this device cannot run.');
  }
  try {
    const plaintext = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: toArrayBufferView(nonce), additionalData: associatedData(e) }, key, toArrayBufferView(ciphertext));
    return new Uint8Array(plaintext);
  } catch {
    throw new ProtocolError('bad_passphrase', 'Wrong passphrase, or the file was changed.');
  }
}

/** Generic passphrase seal (the engine's key store uses it for its data key). */
export function passphraseSeal(plaintext: Uint8Array, passphrase: string, limits?: PassphraseLimits, kdf?: PassphraseKdf): Promise<string> {
  return sealWithPassphrase('deaddrop-sealed', plaintext, passphrase, limits, kdf);
}

/**
 * Opens what `passphraseSeal` wrote.
 * @throws ProtocolError 'bad_passphrase' or 'invalid_backup'
 */
export function passphraseOpen(text: string, passphrase: string, kdf?: PassphraseKdf): Promise<Uint8Array> {
  return openWithPassphrase('deaddrop-sealed', text, passphrase, kdf);
}

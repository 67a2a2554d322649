/**
 * Full backup files (README "Backup files"): one identity with its key, drops and cursors, and the UI's
 * contacts, conversations and (when chosen) message history, as one passphrase-encrypted file.
 *
 * The envelope is the `.qid`'s (Argon2id in the crypto worker, AES-256-GCM with every header field as
 * associated data, the same caps on what a file may ask of Argon2id) around a gzip-compressed JSON
 * payload (`shared/backup/backupPayload.ts`). Compression, encryption and base64 run off the main
 * thread (zlib and WebCrypto use Node's thread pool). Opening checks everything before the caller
 * writes anything; an identity-only `.qid` opens through the same door.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { z } from 'zod';
import { type BackupPayload, parseBackupPayload } from '../../../shared/backup/backupPayload.js';
import { ApiFailure } from '../../../shared/ipc/result.js';
import { parseDropUrl } from '../../../shared/protocol/dropId.js';
import { fromHex, toHex } from '../../../shared/protocol/encoding.js';
import { ProtocolError } from '../../../shared/protocol/errors.js';
import {
  DEFAULT_PASSPHRASE_LIMITS, TEST_PASSPHRASE_LIMITS, limitsRefusal, type PassphraseKdf, type PassphraseLimits,
} from '../../../shared/protocol/passphraseSeal.js';
import { toApiFailure } from '../api/protocolFailure.js';
import { type ImportedIdentity, importIdentity, safeFileName } from './identityFile.js';

export const BACKUP_FORMAT = 'deaddrop-backup';
export const BACKUP_VERSION = 1;
/** The identity-only `.qid` envelope (`shared/protocol/identityBackup.ts`). */
const IDENTITY_FORMAT = 'deaddrop-identity-backup';
/** Largest backup file read: far above 100,000 messages (about 10 MB), below what a string may hold. */
export const MAX_BACKUP_FILE_BYTES = 256 * 1024 * 1024;
/** Largest payload once decompressed: a small hostile file must not inflate without end. */
const MAX_PAYLOAD_BYTES = 384 * 1024 * 1024;
const SALT_BYTES = 16;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KDF_NAME = 'argon2id13';
const CIPHER_NAME = 'aes-256-gcm';
const COMPRESSION = 'gzip';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

const base64Url = z.string().regex(/^[-_A-Za-z0-9]*$/);
const envelopeSchema = z.object({
  format: z.literal(BACKUP_FORMAT),
  version: z.literal(BACKUP_VERSION),
  kdf: z.object({
    name: z.literal(KDF_NAME),
    opslimit: z.number().int().min(TEST_PASSPHRASE_LIMITS.opsLimit),
    memlimit: z.number().int().min(TEST_PASSPHRASE_LIMITS.memLimit),
    salt: base64Url.max(64),
  }),
  cipher: z.object({ name: z.literal(CIPHER_NAME), nonce: base64Url.max(64) }),
  compression: z.literal(COMPRESSION),
  ciphertext: base64Url,
});
type Envelope = z.infer<typeof envelopeSchema>;
type Header = Omit<Envelope, 'ciphertext'>;

/** What a backup file restores. */
export type OpenedBackup =
  | { kind: 'identity'; identity: ImportedIdentity }
  | { kind: 'full'; payload: BackupPayload; privateKey: Uint8Array };

function invalid(message: string): ApiFailure {
  return new ApiFailure('bad_input', message);
}

/** Every header field in a fixed order: bound to the ciphertext as AES-GCM associated data. */
function associatedData(h: Header): Uint8Array<ArrayBuffer> {
  const header = {
    format: h.format,
    version: h.version,
    kdf: { name: h.kdf.name, opslimit: h.kdf.opslimit, memlimit: h.kdf.memlimit, salt: h.kdf.salt },
    cipher: { name: h.cipher.name, nonce: h.cipher.nonce },
    compression: h.compression,
  };
  return new Uint8Array(Buffer.from(JSON.stringify(header), 'utf8'));
}

/** Spelled this way because Node's typings have no global CryptoKey type. */
type AesKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

async function deriveKey(passphrase: string, salt: Uint8Array, limits: PassphraseLimits, kdf: PassphraseKdf): Promise<AesKey> {
  const encoded = new Uint8Array(Buffer.from(passphrase.normalize('NFC'), 'utf8'));
  let raw: Uint8Array;
  try {
    raw = await kdf(encoded, salt, limits, 32);
  } finally {
    encoded.fill(0);
  }
  try {
    return await crypto.subtle.importKey('raw', new Uint8Array(raw), 'AES-GCM', false, ['encrypt', 'decrypt']);
  } finally {
    raw.fill(0);
  }
}

/** The X25519 public key of a private key, by node:crypto (PKCS#8 wrapping of the raw 32 bytes). */
function publicKeyOf(privateKey: Uint8Array): string {
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), privateKey]);
  const jwk = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({ format: 'jwk' });
  return toHex(new Uint8Array(Buffer.from(jwk.x ?? '', 'base64url')));
}

/** The identity's key pair belongs together and its drop URLs are drop URLs. */
function checkIdentity(identity: BackupPayload['identity']): Uint8Array {
  const privateKey = fromHex(identity.privateKey, 32, 'invalid_backup');
  if (publicKeyOf(privateKey) !== identity.publicKey) throw invalid('The backup is damaged: its public key does not belong to its private key.');
  for (const url of identity.dropUrls) {
    try {
      parseDropUrl(url);
    } catch {
      throw invalid('The backup is damaged: it holds an invalid drop URL.');
    }
  }
  return privateKey;
}

/**
 * The backup file (UTF-8 JSON text) of `payload`, sealed under `passphrase`. The payload is checked as
 * restoring checks it first: a backup that could not be restored is never written.
 * @throws ApiFailure 'bad_input' when the payload would not restore
 */
export async function sealBackup(payload: BackupPayload, passphrase: string, kdf: PassphraseKdf, limits: PassphraseLimits = DEFAULT_PASSPHRASE_LIMITS): Promise<Buffer> {
  let checked: BackupPayload;
  try {
    checked = parseBackupPayload(payload);
    checkIdentity(checked.identity).fill(0);
  } catch (err) {
    const reason = err instanceof Error ? err.message : 'it is not valid';
    throw invalid(`This backup cannot be written: ${reason}`);
  }
  const plaintext = await gzipAsync(Buffer.from(JSON.stringify(checked), 'utf8'));
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const header: Header = {
    format: BACKUP_FORMAT,
    version: BACKUP_VERSION,
    kdf: { name: KDF_NAME, opslimit: limits.opsLimit, memlimit: limits.memLimit, salt: Buffer.from(salt).toString('base64url') },
    cipher: { name: CIPHER_NAME, nonce: Buffer.from(nonce).toString('base64url') },
    compression: COMPRESSION,
  };
  const key = await deriveKey(passphrase, salt, limits, kdf);
  try {
    const ciphertext = await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: associatedData(header) }, key, plaintext);
    return Buffer.from(JSON.stringify({ ...header, ciphertext: Buffer.from(ciphertext).toString('base64url') }), 'utf8');
  } finally {
    plaintext.fill(0);
  }
}

/**
 * Opens and checks a backup file: a full backup, or an identity-only `.qid`. Nothing is written.
 * @throws ApiFailure 'bad_passphrase', or 'bad_input' for anything else (damaged, foreign, from a newer
 * version, asking for more Argon2id than allowed, content failing its schema)
 */
export async function openBackup(file: Uint8Array, passphrase: string, kdf: PassphraseKdf): Promise<OpenedBackup> {
  if (file.length > MAX_BACKUP_FILE_BYTES) throw invalid('The file is too large to be a Deaddrop backup.');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(file).replace(/^\uFEFF/, '');
  } catch {
    throw invalid('The file is not a Deaddrop backup (it is not text).');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw invalid('The file is not a Deaddrop backup, or it was cut short (it is not complete JSON).');
  }
  const head = json as { format?: unknown; version?: unknown } | null;
  if (typeof json !== 'object' || head === null) throw invalid('The file is not a Deaddrop backup.');
  if (head.format === IDENTITY_FORMAT) return { kind: 'identity', identity: await importIdentity(text, passphrase, kdf) };
  if (head.format !== BACKUP_FORMAT) throw invalid('The file is not a Deaddrop backup.');
  if (typeof head.version === 'number' && head.version > BACKUP_VERSION) {
    throw invalid('The backup was written by a newer version of Deaddrop: update Deaddrop to restore it.');
  }
  const parsed = envelopeSchema.safeParse(json);
  if (!parsed.success) throw invalid('The backup file is damaged or has unsupported settings.');
  const envelope = parsed.data;
  const limits = { opsLimit: envelope.kdf.opslimit, memLimit: envelope.kdf.memlimit };
  const refusal = limitsRefusal(limits, 'The backup');
  if (refusal) throw invalid(refusal);
  const salt = fromCanonicalBase64Url(envelope.kdf.salt);
  const nonce = fromCanonicalBase64Url(envelope.cipher.nonce);
  const ciphertext = fromCanonicalBase64Url(envelope.ciphertext);
  if (salt?.length !== SALT_BYTES || nonce?.length !== NONCE_BYTES || !ciphertext || ciphertext.length < TAG_BYTES) throw invalid('The backup file is damaged.');
  if (passphrase.length === 0) throw new ApiFailure('bad_passphrase', 'Enter the passphrase of this backup.');
  const key = await deriveKey(passphrase, new Uint8Array(salt), limits, kdf);
  let compressed: Buffer;
  try {
    compressed = Buffer.from(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: new Uint8Array(nonce), additionalData: associatedData(envelope) }, key, new Uint8Array(ciphertext)));
  } catch {
    throw new ApiFailure('bad_passphrase', 'Wrong passphrase for this backup, or the file was changed. Nothing was restored.');
  }
  return { kind: 'full', ...(await readPayload(compressed)) };
}

/** Base64url as we write it; null for any other spelling (a changed character must not go unnoticed). */
function fromCanonicalBase64Url(text: string): Buffer | null {
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : null;
}

async function readPayload(compressed: Buffer): Promise<{ payload: BackupPayload; privateKey: Uint8Array }> {
  let plaintext: Buffer;
  try {
    plaintext = await gunzipAsync(compressed, { maxOutputLength: MAX_PAYLOAD_BYTES });
  } catch {
    throw invalid('The backup content is damaged or too large (it does not decompress).');
  } finally {
    compressed.fill(0);
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plaintext));
  } catch {
    throw invalid('The backup content is damaged (it is not JSON).');
  } finally {
    plaintext.fill(0);
  }
  try {
    const payload = parseBackupPayload(json);
    return { payload, privateKey: checkIdentity(payload.identity) };
  } catch (err) {
    if (err instanceof ProtocolError) throw toApiFailure(err);
    throw err;
  }
}

/** `Dana.ddbackup`: the alias, made safe as a file name. */
export function backupFileName(alias: string): string {
  return `${safeFileName(alias)}.ddbackup`;
}

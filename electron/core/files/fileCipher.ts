/**
 * Files (and share listings) are encrypted before they leave the device, in the scheme named
 * `deaddrop-file-1`: the payload construction of the age file format. The ciphertext starts with 16
 * random bytes; the payload key is HKDF-SHA-256 of the file key (a fresh random 32 bytes per file)
 * with those bytes as salt, so a file key used twice by mistake still gives two payload keys. The
 * plaintext is cut into chunks of 64 KiB; chunk i is sealed with ChaCha20-Poly1305 (RFC 8439) under
 * the payload key and the 12-byte nonce `i as 11 bytes big-endian ‖ last`, where `last` is 0x01 for
 * the final chunk and 0x00 for every other. Every chunk but the last holds exactly 64 KiB; the last
 * holds less (possibly nothing). So a stream cut short, extended, reordered or spliced from two files
 * fails to open, and the ciphertext is 16 bytes plus the plaintext plus 16 bytes per chunk.
 *
 * ChaCha20-Poly1305 comes from Node's crypto (OpenSSL): several times the speed of libsodium's WASM
 * secretstream, which a file transfer would otherwise wait for. The key is fresh per file, so the
 * counter nonce never repeats under one key. Memory stays bounded by one chunk on both sides.
 *
 * The share notice carries the key, the ciphertext's size and its SHA-256 (base64url): a download is
 * checked against both before anything is decrypted to its final place.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { FILE_SCHEME } from '../../../shared/modules/share.js';

export { FILE_SCHEME };
export const FILE_CHUNK_BYTES = 64 * 1024;
export const FILE_KEY_BYTES = 32;
const TAG_BYTES = 16;
const SALT_BYTES = 16;
const PAYLOAD_INFO = 'deaddrop-file-1 payload';
const CIPHER_CHUNK_BYTES = FILE_CHUNK_BYTES + TAG_BYTES;
const ALGORITHM = 'chacha20-poly1305';

/** A ciphertext that does not open: wrong key, or changed, cut short or extended on the way. */
export class FileCipherError extends Error {
  override readonly name = 'FileCipherError';
}

export function newFileKey(): Uint8Array {
  return randomBytes(FILE_KEY_BYTES);
}

/** Bytes of ciphertext for `plainBytes` bytes of file. */
export function ciphertextSize(plainBytes: number): number {
  const chunks = Math.floor(plainBytes / FILE_CHUNK_BYTES) + 1;
  return SALT_BYTES + plainBytes + chunks * TAG_BYTES;
}

/**
 * Bytes of file in `cipherBytes` bytes of ciphertext, or null when no plaintext has that ciphertext
 * size (a notice that lies about its size is caught before the download).
 */
export function plaintextSize(cipherBytes: number): number | null {
  const body = cipherBytes - SALT_BYTES;
  if (!Number.isSafeInteger(body) || body < TAG_BYTES) return null;
  const fullChunks = Math.floor(body / CIPHER_CHUNK_BYTES);
  const rest = body % CIPHER_CHUNK_BYTES;
  // The final chunk is always there and always shorter than a full one.
  if (rest < TAG_BYTES) return null;
  return fullChunks * FILE_CHUNK_BYTES + rest - TAG_BYTES;
}

function nonce(index: number, last: boolean): Buffer {
  // Bytes 0 to 10: the counter, big-endian (JavaScript's safe integers fill the low 53 bits, far
  // beyond any file); byte 11: the last-chunk flag.
  const bytes = Buffer.alloc(12);
  bytes.writeUIntBE(Math.floor(index / 2 ** 40), 1, 5);
  bytes.writeUIntBE(index % 2 ** 40, 6, 5);
  bytes[11] = last ? 1 : 0;
  return bytes;
}

function checkKey(key: Uint8Array): void {
  if (key.length !== FILE_KEY_BYTES) throw new FileCipherError('a file key is 32 bytes');
}

function payloadKey(fileKey: Uint8Array, salt: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', fileKey, salt, PAYLOAD_INFO, FILE_KEY_BYTES));
}

function seal(key: Uint8Array, index: number, last: boolean, plaintext: Uint8Array): Buffer {
  const cipher = createCipheriv(ALGORITHM, key, nonce(index, last), { authTagLength: TAG_BYTES });
  const body = cipher.update(plaintext);
  cipher.final();
  return Buffer.concat([body, cipher.getAuthTag()], body.length + TAG_BYTES);
}

/** Regroups arbitrary pieces into chunks of exactly `size` bytes and a last, shorter one (possibly empty). */
async function* regrouped(source: AsyncIterable<Uint8Array>, size: number): AsyncIterable<Uint8Array> {
  let buffer = Buffer.alloc(size);
  let filled = 0;
  for await (const piece of source) {
    let offset = 0;
    while (offset < piece.length) {
      const take = Math.min(size - filled, piece.length - offset);
      buffer.set(piece.subarray(offset, offset + take), filled);
      filled += take;
      offset += take;
      if (filled === size) {
        yield buffer;
        buffer = Buffer.alloc(size);
        filled = 0;
      }
    }
  }
  yield buffer.subarray(0, filled);
}

/** Encrypts `plaintext` under `fileKey`, yielding the salt, one ciphertext chunk per 64 KiB and the final one. */
export async function* encryptFile(fileKey: Uint8Array, plaintext: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  checkKey(fileKey);
  const salt = randomBytes(SALT_BYTES);
  const key = payloadKey(fileKey, salt);
  yield salt;
  let index = 0;
  for await (const chunk of regrouped(plaintext, FILE_CHUNK_BYTES)) {
    // Only the last chunk is shorter than a full one.
    yield seal(key, index++, chunk.length < FILE_CHUNK_BYTES, chunk);
  }
}

/**
 * Decrypts a `deaddrop-file-1` ciphertext arriving in pieces of any size: `push` returns the
 * plaintext chunks that became complete, `finish` the last one and checks the stream really ended.
 * @throws FileCipherError from `push` or `finish` when the ciphertext does not open
 */
export class FileDecryptor {
  private pending: Buffer = Buffer.alloc(0);
  private key: Buffer | null = null;
  private index = 0;
  private ended = false;

  constructor(private readonly fileKey: Uint8Array) {
    checkKey(fileKey);
  }

  push(piece: Uint8Array): Uint8Array[] {
    if (this.ended) throw new FileCipherError('the file goes on after its final chunk');
    this.pending = this.pending.length === 0 ? Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength) : Buffer.concat([this.pending, piece]);
    if (!this.key) {
      if (this.pending.length < SALT_BYTES) {
        this.pending = Buffer.from(this.pending);
        return [];
      }
      this.key = payloadKey(this.fileKey, this.pending.subarray(0, SALT_BYTES));
      this.pending = this.pending.subarray(SALT_BYTES);
    }
    const out: Uint8Array[] = [];
    // A full-size chunk is never the last one. Walk the chunks without copying; keep a copy of the rest only.
    let offset = 0;
    while (this.pending.length - offset >= CIPHER_CHUNK_BYTES) {
      out.push(this.open(this.pending.subarray(offset, offset + CIPHER_CHUNK_BYTES), false));
      offset += CIPHER_CHUNK_BYTES;
    }
    this.pending = Buffer.from(this.pending.subarray(offset));
    return out;
  }

  finish(): Uint8Array {
    if (this.ended) throw new FileCipherError('the file was already finished');
    if (!this.key) throw new FileCipherError('the file is shorter than its header');
    if (this.pending.length < TAG_BYTES) throw new FileCipherError('the file ends in the middle of a chunk');
    const last = this.open(this.pending, true);
    this.pending = Buffer.alloc(0);
    this.ended = true;
    return last;
  }

  private open(chunk: Uint8Array, last: boolean): Uint8Array {
    const body = chunk.subarray(0, chunk.length - TAG_BYTES);
    try {
      const decipher = createDecipheriv(ALGORITHM, this.key!, nonce(this.index, last), { authTagLength: TAG_BYTES });
      decipher.setAuthTag(chunk.subarray(chunk.length - TAG_BYTES));
      const plain = decipher.update(body);
      decipher.final();
      this.index++;
      return plain;
    } catch {
      throw new FileCipherError('a chunk of the file does not open: wrong key, or the file was changed, cut short or extended');
    }
  }
}

/** Decrypts a whole ciphertext stream. @throws FileCipherError */
export async function* decryptFile(key: Uint8Array, ciphertext: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  const decryptor = new FileDecryptor(key);
  for await (const piece of ciphertext) yield* decryptor.push(piece);
  yield decryptor.finish();
}

/**
 * Decrypts bytes `[offset, offset + length)` of the file whose whole, checked ciphertext is `file`
 * (`size`: bytes of the file): only the chunks that hold them are read and opened, so a file kept
 * encrypted at rest is read in pieces without ever being decrypted whole.
 * @throws FileCipherError when a chunk does not open
 */
export async function readPlaintextRange(file: FileHandle, fileKey: Uint8Array, size: number, offset: number, length: number): Promise<Uint8Array> {
  checkKey(fileKey);
  const end = Math.min(size, offset + length);
  if (offset >= end) return new Uint8Array(0);
  const salt = Buffer.alloc(SALT_BYTES);
  if ((await file.read(salt, 0, SALT_BYTES, 0)).bytesRead !== SALT_BYTES) throw new FileCipherError('the file is shorter than its header');
  const key = payloadKey(fileKey, salt);
  const lastIndex = Math.floor(size / FILE_CHUNK_BYTES);
  const first = Math.floor(offset / FILE_CHUNK_BYTES);
  const last = Math.floor((end - 1) / FILE_CHUNK_BYTES);
  const pieces: Uint8Array[] = [];
  for (let index = first; index <= last; index++) {
    const plainLength = index === lastIndex ? size - index * FILE_CHUNK_BYTES : FILE_CHUNK_BYTES;
    const chunk = Buffer.alloc(plainLength + TAG_BYTES);
    const { bytesRead } = await file.read(chunk, 0, chunk.length, SALT_BYTES + index * CIPHER_CHUNK_BYTES);
    if (bytesRead !== chunk.length) throw new FileCipherError('the file ends in the middle of a chunk');
    let plain: Buffer;
    try {
      const decipher = createDecipheriv(ALGORITHM, key, nonce(index, index === lastIndex), { authTagLength: TAG_BYTES });
      decipher.setAuthTag(chunk.subarray(plainLength));
      plain = decipher.update(chunk.subarray(0, plainLength));
      decipher.final();
    } catch {
      throw new FileCipherError('a chunk of the file does not open: wrong key, or the file was changed');
    }
    const from = index === first ? offset - index * FILE_CHUNK_BYTES : 0;
    const to = index === last ? end - index * FILE_CHUNK_BYTES : plain.length;
    pieces.push(plain.subarray(from, to));
  }
  return Buffer.concat(pieces);
}

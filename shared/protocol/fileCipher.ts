/**
 * Files (and share listings) are encrypted before they leave the device, in the scheme named
 * `deaddrop-file-1`: libsodium's secretstream (XChaCha20-Poly1305) under a fresh random 32-byte key
 * per file, over chunks of 64 KiB of plaintext. The ciphertext is the 24-byte stream header followed
 * by each chunk's ciphertext (its plaintext plus 17 bytes). Every chunk but the last holds exactly
 * 64 KiB; the last holds less (possibly nothing) and it, and only it, carries the FINAL tag, so a
 * stream cut short, extended, reordered or spliced from two files fails to open.
 *
 * The share notice carries the key, the ciphertext's size and its SHA-256 hash (base64url): a
 * download is checked against both before anything is decrypted to its final place.
 *
 * Memory stays bounded by one chunk on both sides, whatever the file's size. Await `cryptoReady()`
 * (x25519.ts) before using anything here.
 */
import sodium, { type StateAddress } from 'libsodium-wrappers';

export const FILE_SCHEME = 'deaddrop-file-1';
export const FILE_CHUNK_BYTES = 64 * 1024;
export const FILE_KEY_BYTES = 32;
const HEADER_BYTES = 24;
const CHUNK_OVERHEAD = 17;
const CIPHER_CHUNK_BYTES = FILE_CHUNK_BYTES + CHUNK_OVERHEAD;

/** A ciphertext that does not open: wrong key, or changed, cut short or extended on the way. */
export class FileCipherError extends Error {
  override readonly name = 'FileCipherError';
}

export function newFileKey(): Uint8Array {
  return sodium.randombytes_buf(FILE_KEY_BYTES);
}

/** Bytes of ciphertext for `plainBytes` bytes of file. */
export function ciphertextSize(plainBytes: number): number {
  const chunks = Math.floor(plainBytes / FILE_CHUNK_BYTES) + 1;
  return HEADER_BYTES + plainBytes + chunks * CHUNK_OVERHEAD;
}

/**
 * Bytes of file in `cipherBytes` bytes of ciphertext, or null when no plaintext has that ciphertext
 * size (a notice that lies about its size is caught before the download).
 */
export function plaintextSize(cipherBytes: number): number | null {
  const body = cipherBytes - HEADER_BYTES;
  if (!Number.isSafeInteger(body) || body < CHUNK_OVERHEAD) return null;
  const fullChunks = Math.floor(body / CIPHER_CHUNK_BYTES);
  const rest = body % CIPHER_CHUNK_BYTES;
  // The final chunk is always there and always shorter than a full one.
  if (rest < CHUNK_OVERHEAD) return null;
  return fullChunks * FILE_CHUNK_BYTES + rest - CHUNK_OVERHEAD;
}

/** Regroups arbitrary pieces into chunks of exactly `size` bytes and a last, shorter one (possibly empty). */
async function* regrouped(source: AsyncIterable<Uint8Array>, size: number): AsyncIterable<Uint8Array> {
  let buffer = new Uint8Array(size);
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
        buffer = new Uint8Array(size);
        filled = 0;
      }
    }
  }
  yield buffer.subarray(0, filled);
}

/**
 * Encrypts `plaintext` under `key`, yielding the header and then one ciphertext chunk per 64 KiB.
 * The FINAL tag needs to know which chunk is last, so one chunk is held back until the next arrives.
 */
export async function* encryptFile(key: Uint8Array, plaintext: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  if (key.length !== FILE_KEY_BYTES) throw new FileCipherError('a file key is 32 bytes');
  const { state, header } = sodium.crypto_secretstream_xchacha20poly1305_init_push(key);
  yield header;
  let held: Uint8Array | null = null;
  for await (const chunk of regrouped(plaintext, FILE_CHUNK_BYTES)) {
    if (held) yield sodium.crypto_secretstream_xchacha20poly1305_push(state, held, null, sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
    held = chunk;
  }
  // `regrouped` always yields at least one (possibly empty) chunk.
  yield sodium.crypto_secretstream_xchacha20poly1305_push(state, held!, null, sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL);
}

/**
 * Decrypts a `deaddrop-file-1` ciphertext arriving in pieces of any size: `push` returns the
 * plaintext chunks that became complete, `finish` the last one and checks the stream really ended.
 * @throws FileCipherError from `push` or `finish` when the ciphertext does not open
 */
export class FileDecryptor {
  private state: StateAddress | null = null;
  private pending: Uint8Array = new Uint8Array(0);
  private ended = false;

  constructor(private readonly key: Uint8Array) {
    if (key.length !== FILE_KEY_BYTES) throw new FileCipherError('a file key is 32 bytes');
  }

  push(piece: Uint8Array): Uint8Array[] {
    if (this.ended) throw new FileCipherError('the file goes on after its final chunk');
    this.pending = concat(this.pending, piece);
    if (!this.state) {
      if (this.pending.length < HEADER_BYTES) return [];
      try {
        this.state = sodium.crypto_secretstream_xchacha20poly1305_init_pull(this.pending.subarray(0, HEADER_BYTES), this.key);
      } catch {
        throw new FileCipherError('the file header does not open');
      }
      this.pending = this.pending.slice(HEADER_BYTES);
    }
    const out: Uint8Array[] = [];
    // A full-size chunk is never the last one. Walk the chunks without copying; keep a copy of the rest only.
    let offset = 0;
    while (this.pending.length - offset >= CIPHER_CHUNK_BYTES) {
      out.push(this.open(this.pending.subarray(offset, offset + CIPHER_CHUNK_BYTES), false));
      offset += CIPHER_CHUNK_BYTES;
    }
    if (offset > 0) this.pending = this.pending.slice(offset);
    return out;
  }

  finish(): Uint8Array {
    if (this.ended) throw new FileCipherError('the file was already finished');
    if (!this.state) throw new FileCipherError('the file is shorter than its header');
    if (this.pending.length < CHUNK_OVERHEAD) throw new FileCipherError('the file ends in the middle of a chunk');
    const last = this.open(this.pending, true);
    this.pending = new Uint8Array(0);
    this.ended = true;
    return last;
  }

  private open(chunk: Uint8Array, last: boolean): Uint8Array {
    let result: { message: Uint8Array; tag: number } | false;
    try {
      result = sodium.crypto_secretstream_xchacha20poly1305_pull(this.state!, chunk, null);
    } catch {
      throw new FileCipherError('a chunk of the file does not open: wrong key, or the file was changed');
    }
    // libsodium.js answers `false` rather than throwing for a forged chunk in some builds.
    if (!result) throw new FileCipherError('a chunk of the file does not open: wrong key, or the file was changed');
    const isFinal = result.tag === sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL;
    if (isFinal !== last) throw new FileCipherError(last ? 'the file was cut short' : 'the file goes on after its final chunk');
    return result.message;
  }
}

/** Decrypts a whole ciphertext stream. @throws FileCipherError */
export async function* decryptFile(key: Uint8Array, ciphertext: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  const decryptor = new FileDecryptor(key);
  for await (const piece of ciphertext) yield* decryptor.push(piece);
  yield decryptor.finish();
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * The storage contract of optional encrypted blobs (`--blobs`): opaque byte strings a client
 * uploads once and anyone holding the URL reads, whole or by byte range, until the TTL ends. The
 * server never learns a name, a type or a key: clients encrypt before uploading. A blob is stored
 * whole or not at all; an upload that breaks off or grows past its limit leaves nothing behind.
 */
import { randomBytes } from 'node:crypto';

/** 32 random bytes in base64url: 43 characters, the same shape as a drop ID. */
export const BLOB_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function newBlobId(): string {
  return randomBytes(32).toString('base64url');
}

export function isValidBlobId(id: string): boolean {
  return BLOB_ID_PATTERN.test(id);
}

/** Thrown by `put` when more than `maxBytes` arrived; nothing was stored. */
export class BlobTooLargeError extends Error {
  override readonly name = 'BlobTooLargeError';
  constructor() {
    super('the blob is larger than allowed');
  }
}

export interface BlobStat {
  size: number;
  /** Upload time in milliseconds since the epoch (server clock). */
  createdAtMs: number;
}

/** An open blob: its size, and its bytes from `start` to `end` (inclusive) as chunks. */
export interface OpenBlob extends BlobStat {
  read(start: number, end: number): AsyncIterable<Buffer>;
  /** Releases what `open` holds (a file descriptor); safe to call twice. */
  close(): Promise<void>;
}

export interface BlobStore {
  /**
   * Stores `body` under `id`; resolves with its size once it is durable. An empty body stores
   * nothing and resolves with 0.
   * @throws BlobTooLargeError when more than `maxBytes` arrive (nothing stored)
   * @throws the source's error when it breaks off (nothing stored)
   */
  put(id: string, body: AsyncIterable<Buffer>, maxBytes: number, createdAtMs: number): Promise<number>;
  /** The blob, or null when there is none (never uploaded, not complete, or deleted). */
  open(id: string): Promise<OpenBlob | null>;
  /** Deletes blobs uploaded before `beforeMs`; returns how many. */
  deleteExpired(beforeMs: number): Promise<number>;
  /** Total size of stored blobs, in bytes. */
  storedBytes(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Counts the bytes of `body` as they pass and fails with `BlobTooLargeError` as soon as they exceed
 * `maxBytes`, so no back end ever holds more than the limit of a hostile upload.
 */
export async function* limitedChunks(body: AsyncIterable<Buffer>, maxBytes: number): AsyncIterable<Buffer> {
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > maxBytes) throw new BlobTooLargeError();
    yield chunk;
  }
}

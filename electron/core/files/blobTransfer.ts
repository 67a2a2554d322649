/**
 * Sending and fetching files through a drop server's blob store (`--blobs`), encrypted end to end in
 * the `deaddrop-file-1` scheme (shared/protocol/fileCipher.ts).
 *
 * Upload: the file is read, encrypted and hashed as it streams out, with its exact ciphertext size
 * declared up front so the server can refuse a file too large before a byte is sent. Memory stays at
 * a few chunks whatever the file's size.
 *
 * Download: the ciphertext goes to `<dest>.part`; a broken-off download resumes from that file's
 * length with a `Range` request. Only once the whole ciphertext is there and its size and BLAKE2b hash
 * match the notice is it decrypted, to `<dest>.decrypting`, which is synced and renamed to `<dest>`:
 * nothing unchecked ever reaches the final place, and a file that fails leaves nothing behind there.
 *
 * Requests go through the engine's dispatcher and destination rules (`BlobHttp`), like drop traffic.
 */
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat, truncate } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import {
  CiphertextHash,
  FILE_SCHEME,
  FileCipherError,
  ciphertextSize,
  decryptFile,
  encryptFile,
  newFileKey,
  plaintextSize,
} from '../../../shared/protocol/fileCipher.js';

/** What a transfer needs of the network: the dispatcher and the destination rules of drop traffic. */
export interface BlobHttp {
  dispatcher: Dispatcher;
  /** @throws when the destination rules refuse the URL */
  checkUrl(url: string): void;
}

export type FileTransferErrorKind = 'refused' | 'network' | 'noBlobs' | 'tooLarge' | 'full' | 'gone' | 'corrupt' | 'http';

export class FileTransferError extends Error {
  override readonly name = 'FileTransferError';
  constructor(
    readonly kind: FileTransferErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** What a share notice carries so the recipient can fetch, check and open the file. */
export interface EncryptedFileRef {
  scheme: typeof FILE_SCHEME;
  /** The blob's URL on the sender's drop server. */
  url: string;
  /** The file key, base64url. */
  key: string;
  /** Bytes of the file. */
  size: number;
  /** Bytes of the ciphertext (what is downloaded). */
  cipherSize: number;
  /** BLAKE2b-256 of the ciphertext, base64url. */
  hash: string;
}

export interface TransferOptions {
  /** Bytes done and bytes in all, as they go. */
  onProgress?(done: number, total: number): void;
  signal?: AbortSignal;
}

const BLOB_URL_PATH = /\/blobs\/[A-Za-z0-9_-]{43}$/;

function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

function checked(http: BlobHttp, url: string): void {
  try {
    http.checkUrl(url);
  } catch (error) {
    throw new FileTransferError('refused', (error as Error).message);
  }
}

function networkError(error: unknown, signal?: AbortSignal): Error {
  if (signal?.aborted) return signal.reason instanceof Error ? signal.reason : new Error('The transfer was cancelled.');
  if (error instanceof FileTransferError) return error;
  return new FileTransferError('network', `The drop server cannot be reached (${(error as Error).message}); try again, the transfer resumes where it stopped.`);
}

async function errorFor(response: Dispatcher.ResponseData, action: string): Promise<FileTransferError> {
  const text = await response.body.text().catch(() => '');
  let reason = '';
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && typeof (parsed as { error?: unknown }).error === 'string') reason = (parsed as { error: string }).error;
  } catch {
    // Not JSON: the status alone tells.
  }
  const status = response.statusCode;
  if (status === 404 && action === 'upload') return new FileTransferError('noBlobs', 'This drop server does not store files: choose a drop server that does (its operator starts it with --blobs).');
  if (status === 404 || status === 410) return new FileTransferError('gone', 'The file is no longer on its drop server (files expire with the messages); ask the sender to send it again.');
  if (status === 413) return new FileTransferError('tooLarge', 'The file is larger than this drop server accepts.');
  if (status === 507) return new FileTransferError('full', 'The drop server is full; try again later or use another drop server.');
  return new FileTransferError('http', `The drop server refused the ${action} (${status}${reason ? `: ${reason.slice(0, 100)}` : ''}).`);
}

/**
 * Encrypts the file at `path` under a fresh key and uploads it to the blob store of the drop server
 * at `serverBase` (its service path, e.g. `https://drop.example.org` or `…/tools/drop`).
 * @throws FileTransferError
 */
export async function uploadEncryptedFile(path: string, serverBase: string, http: BlobHttp, options: TransferOptions = {}): Promise<EncryptedFileRef> {
  const base = serverBase.replace(/\/+$/, '');
  const uploadUrl = `${base}/blobs`;
  checked(http, uploadUrl);
  const size = (await stat(path)).size;
  const cipherSize = ciphertextSize(size);
  const key = newFileKey();
  const hash = new CiphertextHash();
  let sent = 0;
  async function* body(): AsyncIterable<Uint8Array> {
    for await (const chunk of encryptFile(key, createReadStream(path, { highWaterMark: 256 * 1024 }))) {
      hash.update(chunk);
      sent += chunk.length;
      options.onProgress?.(sent, cipherSize);
      yield chunk;
    }
  }
  let response: Dispatcher.ResponseData;
  try {
    response = await request(uploadUrl, {
      method: 'POST',
      dispatcher: http.dispatcher,
      headers: { authorization: 'Client Qabel', 'content-type': 'application/octet-stream', 'content-length': String(cipherSize) },
      body: Readable.from(body()),
      signal: options.signal,
    });
  } catch (error) {
    throw networkError(error, options.signal);
  }
  if (response.statusCode !== 201) throw await errorFor(response, 'upload');
  await response.body.dump();
  const location = response.headers.location;
  const url = typeof location === 'string' ? new URL(location, `${base}/`) : null;
  // The URL goes to the recipients: it must name a blob on the server the file went to.
  if (!url || url.origin !== new URL(base).origin || !BLOB_URL_PATH.test(url.pathname)) {
    throw new FileTransferError('http', 'The drop server answered the upload without a usable location.');
  }
  if (sent !== cipherSize) throw new FileTransferError('http', 'The file changed while it was being sent; send it again.');
  return { scheme: FILE_SCHEME, url: url.toString(), key: toBase64Url(key), size, cipherSize, hash: hash.digest() };
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** Appends the rest of the blob to `part` (from its current length); resolves when the blob is whole. */
async function fetchCiphertext(ref: EncryptedFileRef, part: string, http: BlobHttp, options: TransferOptions): Promise<void> {
  let have = await fileSize(part);
  if (have > ref.cipherSize) {
    await truncate(part, 0);
    have = 0;
  }
  if (have === ref.cipherSize) return;
  let response: Dispatcher.ResponseData;
  try {
    response = await request(ref.url, {
      method: 'GET',
      dispatcher: http.dispatcher,
      headers: have > 0 ? { range: `bytes=${have}-` } : {},
      signal: options.signal,
    });
  } catch (error) {
    throw networkError(error, options.signal);
  }
  if (response.statusCode === 200 && have > 0) {
    // The server ignored the range: start over.
    await truncate(part, 0);
    have = 0;
  } else if (response.statusCode === 206) {
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(response.headers['content-range'] ?? ''));
    if (!range || Number(range[1]) !== have || Number(range[3]) !== ref.cipherSize) {
      await response.body.dump();
      throw new FileTransferError('corrupt', 'The drop server answered with another part of the file than asked for.');
    }
  } else if (response.statusCode !== 200) {
    throw await errorFor(response, 'download');
  }
  const file = await open(part, have > 0 ? 'a' : 'w', 0o600);
  try {
    for await (const data of response.body) {
      const chunk = data as Uint8Array;
      if (have + chunk.length > ref.cipherSize) throw new FileTransferError('corrupt', 'The drop server sent more than the file holds.');
      await file.write(chunk);
      have += chunk.length;
      options.onProgress?.(have, ref.cipherSize);
    }
    await file.sync();
  } catch (error) {
    throw networkError(error, options.signal);
  } finally {
    await file.close();
  }
  if (have !== ref.cipherSize) throw new FileTransferError('network', 'The download broke off; try again, it resumes where it stopped.');
}

async function hashOf(path: string): Promise<string> {
  const hash = new CiphertextHash();
  for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest();
}

/**
 * Downloads, checks and decrypts the file `ref` names to `dest` (resuming an earlier attempt).
 * @param maxBytes refuse files larger than this before downloading
 * @throws FileTransferError ('corrupt' when the ciphertext is not what the notice promised)
 */
export async function downloadEncryptedFile(ref: EncryptedFileRef, dest: string, http: BlobHttp, options: TransferOptions & { maxBytes?: number } = {}): Promise<void> {
  if (ref.scheme !== FILE_SCHEME) throw new FileTransferError('corrupt', `Files in the scheme "${String(ref.scheme).slice(0, 40)}" cannot be opened here.`);
  if (plaintextSize(ref.cipherSize) !== ref.size) throw new FileTransferError('corrupt', 'The notice gives sizes that do not fit together.');
  if (options.maxBytes !== undefined && ref.size > options.maxBytes) throw new FileTransferError('tooLarge', 'The file is larger than you allow downloads to be.');
  const key = Buffer.from(ref.key, 'base64url');
  checked(http, ref.url);
  const part = `${dest}.part`;
  const decrypting = `${dest}.decrypting`;
  await fetchCiphertext(ref, part, http, options);
  if ((await hashOf(part)) !== ref.hash) {
    await rm(part, { force: true });
    throw new FileTransferError('corrupt', 'The downloaded file is not the one that was sent (its hash differs); it was deleted.');
  }
  const out = await open(decrypting, 'w', 0o600);
  try {
    for await (const chunk of decryptFile(key, createReadStream(part, { highWaterMark: 256 * 1024 }))) await out.write(chunk);
    await out.sync();
  } catch (error) {
    await out.close();
    await rm(decrypting, { force: true });
    await rm(part, { force: true });
    if (error instanceof FileCipherError) throw new FileTransferError('corrupt', 'The file does not open with its key; it was deleted.');
    throw error;
  }
  await out.close();
  await rename(decrypting, dest);
  await rm(part, { force: true });
}

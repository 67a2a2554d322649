/**
 * Sending and fetching files through a drop server's blob store (`--blobs`), encrypted end to end in
 * the `deaddrop-file-1` scheme (shared/protocol/fileCipher.ts).
 *
 * Upload: the file is read, encrypted and hashed as it streams out, with its exact ciphertext size
 * declared up front so the server can refuse a file too large before a byte is sent. Memory stays at
 * a few chunks whatever the file's size.
 *
 * Download: the ciphertext goes to `<dest>.part` and, decrypted on the way, to `<dest>.decrypting`;
 * a broken-off download resumes from the part file's length with a `Range` request (and decrypts
 * the whole part file once it is complete). Only when the whole ciphertext is there, its size and
 * SHA-256 hash match the notice and every chunk opened, is `<dest>.decrypting` synced and renamed to
 * `<dest>`: nothing unchecked ever reaches the final place, and a file that fails leaves nothing
 * behind.
 *
 * Requests go through the engine's dispatcher and destination rules (`BlobHttp`), like drop traffic.
 */
import { createReadStream } from 'node:fs';
import { type FileHandle, open, rename, rm, stat, truncate } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import { createHash } from 'node:crypto';
import { toBase64Url } from '../../../shared/protocol/encoding.js';
import type { EncryptedFileRef } from '../../../shared/modules/share.js';
import {
  FILE_SCHEME,
  FileCipherError,
  FileDecryptor,
  ciphertextSize,
  encryptFile,
  newFileKey,
  plaintextSize,
} from './fileCipher.js';

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

export type { EncryptedFileRef };

export interface TransferOptions {
  /** Bytes done and bytes in all, as they go. */
  onProgress?(done: number, total: number): void;
  signal?: AbortSignal;
}

const BLOB_URL_PATH = /\/blobs\/[A-Za-z0-9_-]{43}$/;

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
  const hash = createHash('sha256');
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
  return { scheme: FILE_SCHEME, url: url.toString(), key: toBase64Url(key), size, cipherSize, hash: hash.digest('base64url') };
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/**
 * Decrypts a ciphertext fed in pieces into `path`, writing in batches of about 1 MiB; without a path
 * it only checks that every chunk opens (for a file kept encrypted).
 */
class PlaintextWriter {
  private readonly decryptor: FileDecryptor;
  private batch: Uint8Array[] = [];
  private batchBytes = 0;

  private constructor(
    private readonly file: FileHandle | null,
    key: Uint8Array,
  ) {
    this.decryptor = new FileDecryptor(key);
  }

  static async create(path: string | null, key: Uint8Array): Promise<PlaintextWriter> {
    return new PlaintextWriter(path === null ? null : await open(path, 'w', 0o600), key);
  }

  async push(piece: Uint8Array): Promise<void> {
    for (const chunk of this.decryptor.push(piece)) await this.keep(chunk);
  }

  /** Checks the stream ended where it should and makes the file durable. @throws FileCipherError */
  async finish(): Promise<void> {
    await this.keep(this.decryptor.finish());
    await this.flush();
    await this.file?.sync();
  }

  async close(): Promise<void> {
    await this.file?.close();
  }

  private async keep(chunk: Uint8Array): Promise<void> {
    if (!this.file) return;
    this.batch.push(chunk);
    this.batchBytes += chunk.length;
    if (this.batchBytes >= 1024 * 1024) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.batch.length > 0) await this.file?.writev(this.batch);
    this.batch = [];
    this.batchBytes = 0;
  }
}

/**
 * Appends the rest of the blob to `part` (from its current length) and resolves with the hash of the
 * whole ciphertext once it is there: the bytes already on disk are hashed first, the rest as it
 * arrives. A download from the start is also decrypted on the way into `plain` (so the file is not
 * read a second time); `decrypted` says whether that happened.
 */
async function fetchCiphertext(
  ref: EncryptedFileRef,
  part: string,
  plain: () => Promise<PlaintextWriter>,
  http: BlobHttp,
  options: TransferOptions,
): Promise<{ hash: string; decrypted: boolean }> {
  let have = await fileSize(part);
  if (have > ref.cipherSize) {
    await truncate(part, 0);
    have = 0;
  }
  if (have === ref.cipherSize) return { hash: await hashOf(part), decrypted: false };
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
  const hash = createHash('sha256');
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
  if (have > 0) for await (const chunk of createReadStream(part, { end: have - 1, highWaterMark: 256 * 1024 })) hash.update(chunk as Buffer);
  const writer = have === 0 ? await plain() : null;
  const file = await open(part, have > 0 ? 'a' : 'w', 0o600);
  // Written in batches of about 1 MiB; what arrived before a break is written before it is reported.
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const writePending = async (): Promise<void> => {
    if (pending.length > 0) await file.writev(pending);
    pending = [];
    pendingBytes = 0;
  };
  try {
    for await (const data of response.body) {
      const chunk = data as Uint8Array;
      if (have + chunk.length > ref.cipherSize) throw new FileTransferError('corrupt', 'The drop server sent more than the file holds.');
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= 1024 * 1024) await writePending();
      hash.update(chunk);
      // A chunk that does not open is not fatal yet: the hash check below says what went wrong.
      await writer?.push(chunk);
      have += chunk.length;
      options.onProgress?.(have, ref.cipherSize);
    }
    await writePending();
    await file.sync();
    if (have === ref.cipherSize) await writer?.finish();
  } catch (error) {
    if (error instanceof FileCipherError) throw error;
    await writePending().catch(() => undefined);
    throw networkError(error, options.signal);
  } finally {
    await file.close();
    await writer?.close();
  }
  if (have !== ref.cipherSize) throw new FileTransferError('network', 'The download broke off; try again, it resumes where it stopped.');
  return { hash: hash.digest('base64url'), decrypted: writer !== null };
}

async function hashOf(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('base64url');
}

/**
 * Downloads, checks and decrypts the file `ref` names to `dest` (resuming an earlier attempt).
 * @param maxBytes refuse files larger than this before downloading
 * @throws FileTransferError ('corrupt' when the ciphertext is not what the notice promised)
 */
export async function downloadEncryptedFile(ref: EncryptedFileRef, dest: string, http: BlobHttp, options: TransferOptions & { maxBytes?: number } = {}): Promise<void> {
  await download(ref, dest, http, options, 'plaintext');
}

/**
 * Downloads and checks the file `ref` names like `downloadEncryptedFile`, but keeps its ciphertext at
 * `dest` (read it with fileCipher's `readPlaintextRange`): what the app keeps at rest stays encrypted
 * under the key in the notice, which only the sealed message records hold.
 * @throws FileTransferError
 */
export async function downloadCiphertext(ref: EncryptedFileRef, dest: string, http: BlobHttp, options: TransferOptions & { maxBytes?: number } = {}): Promise<void> {
  await download(ref, dest, http, options, 'ciphertext');
}

async function download(ref: EncryptedFileRef, dest: string, http: BlobHttp, options: TransferOptions & { maxBytes?: number }, keep: 'plaintext' | 'ciphertext'): Promise<void> {
  if (ref.scheme !== FILE_SCHEME) throw new FileTransferError('corrupt', `Files in the scheme "${String(ref.scheme).slice(0, 40)}" cannot be opened here.`);
  if (plaintextSize(ref.cipherSize) !== ref.size) throw new FileTransferError('corrupt', 'The notice gives sizes that do not fit together.');
  if (options.maxBytes !== undefined && ref.size > options.maxBytes) throw new FileTransferError('tooLarge', 'The file is larger than you allow downloads to be.');
  const key = Buffer.from(ref.key, 'base64url');
  checked(http, ref.url);
  const part = `${dest}.part`;
  const decrypting = keep === 'plaintext' ? `${dest}.decrypting` : null;
  const dropDecrypting = async (): Promise<void> => {
    if (decrypting) await rm(decrypting, { force: true });
  };
  const discard = async (): Promise<void> => {
    await dropDecrypting();
    await rm(part, { force: true });
  };
  let fetched: { hash: string; decrypted: boolean };
  try {
    fetched = await fetchCiphertext(ref, part, () => PlaintextWriter.create(decrypting, key), http, options);
  } catch (error) {
    // A plaintext decrypted on the way is of no use to a resumed download, which decrypts afterwards.
    await dropDecrypting();
    if (!(error instanceof FileCipherError)) throw error;
    // The ciphertext did not open: either it is not the one sent (hash) or the key is wrong.
    const whole = (await fileSize(part)) === ref.cipherSize && (await hashOf(part)) === ref.hash;
    await discard();
    throw new FileTransferError('corrupt', whole ? 'The file does not open with its key; it was deleted.' : 'The file does not open with the key in its notice, or it was changed on the way; it was deleted.');
  }
  if (fetched.hash !== ref.hash) {
    await discard();
    throw new FileTransferError('corrupt', 'The downloaded file is not the one that was sent (its hash differs); it was deleted.');
  }
  if (!fetched.decrypted) {
    const writer = await PlaintextWriter.create(decrypting, key);
    try {
      for await (const piece of createReadStream(part, { highWaterMark: 1024 * 1024 })) await writer.push(piece as Buffer);
      await writer.finish();
    } catch (error) {
      await writer.close();
      await discard();
      if (error instanceof FileCipherError) throw new FileTransferError('corrupt', 'The file does not open with its key; it was deleted.');
      throw error;
    }
    await writer.close();
  }
  if (decrypting) {
    await rename(decrypting, dest);
    await rm(part, { force: true });
  } else {
    await rename(part, dest);
  }
}

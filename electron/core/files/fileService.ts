/**
 * Files for the UI (`files/*` channels): staging a file the UI hands over in chunks, uploading it
 * encrypted to one of the sender's own drop servers that stores files and then queueing its
 * `box_share_notification` in the outbox; downloading announced files, checked, and reading them
 * back in pieces.
 *
 * At rest: a staged file is the user's own plaintext, in `<profile>/files/staged` (owner-only),
 * deleted once uploaded, cancelled or failed, and at the next start if the engine stopped meanwhile.
 * A downloaded file stays encrypted under the key of its notice (`<profile>/files/<sha256 of id>`);
 * `read` decrypts the chunks asked for, so no plaintext of a received file is ever on disk.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { EncryptedFileRef, EventSink, FileProgress, ParsedRequestOf } from '../../../shared/ipc/contract.js';
import { FILE_CHUNK_BYTES } from '../../../shared/ipc/contract.js';
import { ApiFailure } from '../../../shared/ipc/result.js';
import type { Logger } from '../../../shared/log.js';
import { BOX_SHARE_NOTIFICATION } from '../../../shared/protocol/payloadTypes.js';
import { parseDropUrl } from '../../../shared/protocol/dropId.js';
import { fromBase64Url, toBase64Url } from '../../../shared/protocol/encoding.js';
import type { Sender } from '../outbox/sender.js';
import type { StateStore } from '../state/stateStore.js';
import { type BlobHttp, FileTransferError, downloadCiphertext, uploadEncryptedFile } from './blobTransfer.js';
import { FileCipherError, readPlaintextRange } from './fileCipher.js';

export interface FileServiceOptions {
  dataDir: string;
  stateStore: StateStore;
  sender: Sender;
  http(): BlobHttp;
  emit: EventSink;
  logger: Logger;
}

interface Staged {
  path: string;
  size: number;
  received: number;
  /** Taken by `send`: no more chunks, no second send. */
  taken: boolean;
}

interface Job {
  abort: AbortController;
  done: Promise<void>;
}

/** Decrypted bytes written per step of a Save As (the file is opened once, not per step). */
const SAVE_CHUNK_BYTES = 1024 * 1024;

/** Progress events at most this often per transfer (plus the first and the last). */
const PROGRESS_INTERVAL_MS = 200;

export class FileService {
  private readonly staged = new Map<string, Staged>();
  private readonly uploads = new Map<string, Job>();
  private readonly downloads = new Map<string, Job>();
  private readonly dir: string;
  private readonly stagedDir: string;
  private ready: Promise<void> | null = null;

  constructor(private readonly options: FileServiceOptions) {
    this.dir = join(options.dataDir, 'files');
    this.stagedDir = join(this.dir, 'staged');
  }

  async stageBegin({ size }: ParsedRequestOf<'files/stageBegin'>): Promise<{ stageId: string }> {
    await this.prepare();
    const stageId = randomUUID();
    const path = join(this.stagedDir, stageId);
    await (await open(path, 'wx', 0o600)).close();
    this.staged.set(stageId, { path, size, received: 0, taken: false });
    return { stageId };
  }

  async stageChunk({ stageId, offset, data }: ParsedRequestOf<'files/stageChunk'>): Promise<{ received: number }> {
    const staged = this.staged.get(stageId);
    if (!staged || staged.taken) throw new ApiFailure('not_found', 'No file is being handed over under this id: start again.');
    if (offset !== staged.received) throw new ApiFailure('bad_input', `Expected the bytes from ${staged.received}, got them from ${offset}.`);
    let bytes: Uint8Array;
    try {
      bytes = fromBase64Url(data);
    } catch {
      throw new ApiFailure('bad_input', 'The chunk is not base64url.');
    }
    if (staged.received + bytes.length > staged.size) throw new ApiFailure('bad_input', 'More bytes than the file was announced to have.');
    const file = await open(staged.path, 'a', 0o600);
    try {
      await file.write(bytes);
    } finally {
      await file.close();
    }
    staged.received += bytes.length;
    return { received: staged.received };
  }

  async stageDiscard({ stageId }: ParsedRequestOf<'files/stageDiscard'>): Promise<null> {
    const staged = this.staged.get(stageId);
    // One taken by `send` or `upload` is deleted when its upload ends.
    if (!staged || staged.taken) return null;
    this.staged.delete(stageId);
    await rm(staged.path, { force: true });
    return null;
  }

  /** Whether the file of `localId` (or `uploadId`) is being uploaded now. */
  uploading(id: string): boolean {
    return this.uploads.has(id);
  }

  /** Starts uploading a staged file; its notice goes out through the outbox under `localId`. */
  async send(request: ParsedRequestOf<'files/send'>): Promise<{ localId: string }> {
    if (this.uploads.has(request.localId) || this.options.stateStore.outboxRecord(request.localId)) {
      throw new ApiFailure('already_exists', 'A message with this id is being sent already.');
    }
    this.startUpload(request.stageId, request.identityId, request.localId, (ref) => this.announce(request, ref));
    return { localId: request.localId };
  }

  /** Starts uploading a staged file with no notice; the last progress event carries its reference. */
  async upload({ stageId, identityId, uploadId }: ParsedRequestOf<'files/upload'>): Promise<{ uploadId: string }> {
    if (this.uploads.has(uploadId)) throw new ApiFailure('already_exists', 'An upload with this id is running already.');
    this.startUpload(stageId, identityId, uploadId, null);
    return { uploadId };
  }

  /**
   * Takes a completely staged file and uploads it in the background under `id`; `then` (for a file
   * sent as a message) queues its notice, and the outbox reports on `id` too.
   */
  private startUpload(stageId: string, identityId: string, id: string, then: ((ref: EncryptedFileRef) => Promise<void>) | null): void {
    const staged = this.staged.get(stageId);
    if (!staged || staged.taken) throw new ApiFailure('not_found', 'No file is being handed over under this id: start again.');
    if (staged.received !== staged.size) throw new ApiFailure('bad_input', `Only ${staged.received} of the file's ${staged.size} bytes arrived.`);
    const identity = this.options.stateStore.identity(identityId);
    staged.taken = true;
    const servers = [...new Set(identity.dropUrls.map((url) => parseDropUrl(url).serverUrl))];
    const job: Job = { abort: new AbortController(), done: Promise.resolve() };
    this.uploads.set(id, job);
    job.done = this.runUpload(id, staged, servers, job.abort.signal, then).finally(() => {
      this.uploads.delete(id);
      this.staged.delete(stageId);
      return rm(staged.path, { force: true }).catch(() => undefined);
    });
  }

  /** Stops the upload of `localId` (true) or does nothing when none is running (false). */
  async cancelUpload(localId: string): Promise<boolean> {
    const job = this.uploads.get(localId);
    if (!job) return false;
    job.abort.abort(new Error('cancelled'));
    await job.done;
    return true;
  }

  async download({ id, ref }: ParsedRequestOf<'files/download'>): Promise<{ ready: boolean }> {
    await this.prepare();
    const path = this.pathOf(id);
    if (await exists(path)) return { ready: true };
    if (this.downloads.has(id)) return { ready: false };
    const job: Job = { abort: new AbortController(), done: Promise.resolve() };
    this.downloads.set(id, job);
    job.done = this.fetch(id, ref, path, job.abort.signal).finally(() => this.downloads.delete(id));
    return { ready: false };
  }

  async read({ id, ref, offset }: ParsedRequestOf<'files/read'>): Promise<{ data: string; size: number }> {
    const bytes = await this.withStored(id, ref, (readRange) => readRange(offset, FILE_CHUNK_BYTES));
    return { data: toBase64Url(bytes), size: ref.size };
  }

  /** Writes the decrypted file to `dest` (the desktop's Save As), through a temporary file beside it. */
  async saveTo(id: string, ref: EncryptedFileRef, dest: string): Promise<void> {
    const temporary = `${dest}.deaddrop-saving`;
    const out = await open(temporary, 'w', 0o600);
    try {
      await this.withStored(id, ref, async (readRange) => {
        for (let offset = 0; offset < ref.size; ) {
          const bytes = await readRange(offset, SAVE_CHUNK_BYTES);
          if (bytes.length === 0) break;
          await out.write(bytes);
          offset += bytes.length;
        }
      });
      await out.sync();
    } catch (error) {
      await out.close();
      await rm(temporary, { force: true });
      throw error;
    }
    await out.close();
    await rename(temporary, dest);
  }

  /**
   * Opens the stored ciphertext of `id` once, checks it is the file `ref` announces, and lets `work`
   * read decrypted ranges of it.
   * @throws ApiFailure 'not_found' when it is not downloaded, 'bad_input' when it is another file or the key does not open it
   */
  private async withStored<T>(id: string, ref: EncryptedFileRef, work: (readRange: (offset: number, length: number) => Promise<Uint8Array>) => Promise<T>): Promise<T> {
    let file;
    try {
      file = await open(this.pathOf(id), 'r');
    } catch {
      throw new ApiFailure('not_found', 'This file is not downloaded (or was deleted): download it first.');
    }
    try {
      if ((await file.stat()).size !== ref.cipherSize) throw new ApiFailure('bad_input', 'The file here is not the one this notice announces.');
      const key = fromBase64Url(ref.key);
      return await work((offset, length) => readPlaintextRange(file, key, ref.size, offset, length));
    } catch (error) {
      if (error instanceof FileCipherError) throw new ApiFailure('bad_input', 'The file does not open with the key of this notice.');
      throw error;
    } finally {
      await file.close();
    }
  }

  async discard({ id }: ParsedRequestOf<'files/discard'>): Promise<null> {
    const upload = this.uploads.get(id);
    if (upload) {
      upload.abort.abort(new Error('cancelled'));
      await upload.done;
    }
    const job = this.downloads.get(id);
    if (job) {
      job.abort.abort(new Error('cancelled'));
      await job.done;
    }
    const path = this.pathOf(id);
    await rm(path, { force: true });
    await rm(`${path}.part`, { force: true });
    return null;
  }

  /** Stops every transfer; staged files are deleted (the UI hands them over again). */
  async close(): Promise<void> {
    const jobs = [...this.uploads.values(), ...this.downloads.values()];
    for (const job of jobs) job.abort.abort(new Error('closing'));
    await Promise.all(jobs.map((job) => job.done));
    for (const staged of this.staged.values()) await rm(staged.path, { force: true }).catch(() => undefined);
    this.staged.clear();
  }

  private prepare(): Promise<void> {
    this.ready ??= (async () => {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      // What an earlier run staged and did not send: the UI hands it over again if it still wants to.
      await rm(this.stagedDir, { recursive: true, force: true });
      await mkdir(this.stagedDir, { recursive: true, mode: 0o700 });
    })().catch((error: unknown) => {
      this.ready = null;
      throw error;
    });
    return this.ready;
  }

  private pathOf(id: string): string {
    return join(this.dir, createHash('sha256').update(id).digest('hex'));
  }

  private progress(id: string, direction: FileProgress['direction'], total: number): (done: number, cipherDone: number, cipherTotal: number) => void {
    let last = 0;
    return (_done, cipherDone, cipherTotal) => {
      const now = Date.now();
      if (now - last < PROGRESS_INTERVAL_MS && cipherDone < cipherTotal) return;
      last = now;
      const done = cipherTotal === 0 ? total : Math.min(total, Math.round((cipherDone / cipherTotal) * total));
      this.options.emit('files/progress', { id, direction, done, total, state: 'running' });
    };
  }

  private async runUpload(id: string, staged: Staged, servers: readonly string[], signal: AbortSignal, then: ((ref: EncryptedFileRef) => Promise<void>) | null): Promise<void> {
    const { emit, logger } = this.options;
    const asMessage = then !== null;
    const report = this.progress(id, 'up', staged.size);
    emit('files/progress', { id, direction: 'up', done: 0, total: staged.size, state: 'running' });
    if (asMessage) emit('outbox/status', { localId: id, status: 'sending' });
    let ref: EncryptedFileRef | null = null;
    let failure: FileTransferError | null = null;
    for (const server of servers) {
      try {
        ref = await uploadEncryptedFile(staged.path, server, this.options.http(), { signal, onProgress: (done, total) => report(done, done, total) });
        break;
      } catch (error) {
        if (signal.aborted) break;
        failure = error instanceof FileTransferError ? error : new FileTransferError('network', error instanceof Error ? error.message : 'The upload failed.');
        // Only "this server stores no files" sends us on to the next server; anything else is the answer.
        if (failure.kind !== 'noBlobs') break;
      }
    }
    if (signal.aborted) {
      emit('files/progress', { id, direction: 'up', done: 0, total: staged.size, state: 'cancelled' });
      if (asMessage) emit('outbox/status', { localId: id, status: 'cancelled' });
      return;
    }
    if (!ref) {
      const error =
        failure?.kind === 'noBlobs'
          ? 'None of your drop servers stores files: add a drop on a server that does (its operator starts it with --blobs), then send the file again.'
          : (failure?.message ?? 'The upload failed.');
      logger.warn('file upload failed', { kind: failure?.kind ?? 'unknown' });
      emit('files/progress', { id, direction: 'up', done: 0, total: staged.size, state: 'failed', error });
      if (asMessage) emit('outbox/status', { localId: id, status: 'failed', error });
      return;
    }
    emit('files/progress', { id, direction: 'up', done: staged.size, total: staged.size, state: 'done', ref });
    await then?.(ref);
  }

  /** Queues the notice of an uploaded file through the outbox, under the file's localId. */
  private async announce(request: ParsedRequestOf<'files/send'>, ref: EncryptedFileRef): Promise<void> {
    const { localId } = request;
    try {
      const accepted = await this.options.sender.send({
        identityId: request.identityId,
        localId,
        recipient: request.recipient,
        content: { type: BOX_SHARE_NOTIFICATION, file: request.fileName, text: request.text, mime: request.mime, ref, share: null },
        wantReceipt: request.wantReceipt,
      });
      // Nobody called `messages/send` for this notice: its receipt ids travel with its status.
      this.options.emit('outbox/status', { localId, status: 'sending', acknowledgeIds: accepted.acknowledgeIds });
    } catch (error) {
      const message = error instanceof Error ? error.message : 'The notice could not be sent.';
      this.options.emit('outbox/status', { localId, status: 'failed', error: message });
    }
  }

  private async fetch(id: string, ref: EncryptedFileRef, path: string, signal: AbortSignal): Promise<void> {
    const { emit } = this.options;
    const report = this.progress(id, 'down', ref.size);
    emit('files/progress', { id, direction: 'down', done: 0, total: ref.size, state: 'running' });
    try {
      await downloadCiphertext(ref, path, this.options.http(), { signal, onProgress: (done, total) => report(done, done, total) });
      emit('files/progress', { id, direction: 'down', done: ref.size, total: ref.size, state: 'done' });
    } catch (error) {
      if (signal.aborted) {
        emit('files/progress', { id, direction: 'down', done: 0, total: ref.size, state: 'cancelled' });
        return;
      }
      const message = error instanceof Error ? error.message : 'The download failed.';
      const done = await stat(`${path}.part`).then((s) => Math.round((s.size / Math.max(1, ref.cipherSize)) * ref.size), () => 0);
      emit('files/progress', { id, direction: 'down', done, total: ref.size, state: 'failed', error: message });
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

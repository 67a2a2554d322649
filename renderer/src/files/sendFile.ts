/**
 * Sending a file from the UI's side: the message is stored first (its card shows at once), the bytes
 * go to the engine in chunks (`files/stageBegin`, `files/stageChunk`, as backups do), and
 * `files/send` has the engine encrypt, upload and announce it. The File stays in memory while the
 * window is open, so a failed upload can be tried again without choosing the file anew.
 */
import { FILE_CHUNK_BYTES, MAX_SEND_FILE_BYTES } from '../../../shared/ipc/contract.js';
import { toBase64Url } from '../../../shared/protocol/encoding.js';
import type { EngineBridge } from '../bridge/transport.js';
import type { DeaddropDatabase } from '../db/database.js';
import { applyOutboxStatus, cancelMessage, queueFileMessage, retryMessage } from '../db/outbox.js';
import type { ContactRecord, MessageRecord } from '../db/records.js';
import { formatBytes } from './formatBytes.js';
import { noticeQueued, rememberUploadMime, setTransfer, transferOf, watchFileProgress } from './transfers.js';

/** A caption travels in the notice's `msg`, which the share module limits. */
export const MAX_CAPTION_LENGTH = 500;
const MAX_NAME_LENGTH = 255;

/** Why a file cannot be sent, in words for the user; null when it can. */
export function refuseFile(file: { size: number }): string | null {
  if (file.size > MAX_SEND_FILE_BYTES) return `This file (${formatBytes(file.size)}) is too large to send: files can have at most ${formatBytes(MAX_SEND_FILE_BYTES)}.`;
  return null;
}

/** The name the recipient sees: no path, at most 255 characters, the extension kept. */
export function sendName(name: string): string {
  const base = name.split(/[/\\]/).pop()!.trim();
  const chars = [...base];
  if (chars.length === 0) return 'file';
  if (chars.length <= MAX_NAME_LENGTH) return base;
  const dot = base.lastIndexOf('.');
  const extension = dot > 0 && base.length - dot <= 16 ? base.slice(dot) : '';
  return chars.slice(0, MAX_NAME_LENGTH - [...extension].length).join('') + extension;
}

/** The content type to announce: only one the share module takes (the recipient never trusts it anyway). */
export function sendMime(type: string): string | null {
  return type.length <= 128 && /^[\w.+-]+\/[\w.+-]+$/.test(type) ? type.toLowerCase() : null;
}

export class FileSendError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'FileSendError';
  }
}

/**
 * Hands `file` to the engine chunk by chunk, in order; returns the stage id for `files/send`.
 * `stopped` is asked between chunks (a cancel), which ends it with null.
 */
export async function stageFile(
  bridge: EngineBridge,
  file: Blob,
  onProgress: (done: number) => void,
  stopped: () => boolean = () => false,
): Promise<string | null> {
  const begun = await bridge.invoke('files/stageBegin', { size: file.size });
  if (!begun.ok) throw new FileSendError(begun.error.code, begun.error.message);
  const { stageId } = begun.value;
  // A file the user cancelled while it was handed over is deleted in the engine at once.
  const discard = async (): Promise<null> => {
    await bridge.invoke('files/stageDiscard', { stageId });
    return null;
  };
  for (let offset = 0; offset < file.size; ) {
    if (stopped()) return discard();
    const bytes = new Uint8Array(await file.slice(offset, offset + FILE_CHUNK_BYTES).arrayBuffer());
    // A file that shrank on disk since it was chosen would never reach its announced size.
    if (bytes.length === 0) throw new FileSendError('bad_input', 'The file changed while it was read: choose it again.');
    const result = await bridge.invoke('files/stageChunk', { stageId, offset, data: toBase64Url(bytes) });
    if (!result.ok) throw new FileSendError(result.error.code, result.error.message);
    offset += bytes.length;
    onProgress(offset);
  }
  return stopped() ? discard() : stageId;
}

interface PendingFile {
  file: File;
  fileName: string;
  mime: string | null;
  caption: string;
  cancelled: boolean;
}

/** Files sent from this window, by local id, kept for "Try again". */
const pending = new Map<string, PendingFile>();

/** The file sent under `localId` from this window, if it still is in memory. */
export function localFileOf(localId: string): File | undefined {
  return pending.get(localId)?.file;
}

/** Whether a failed upload can be tried again here (the file is still in memory). */
export function canRetryFile(localId: string): boolean {
  return pending.has(localId);
}

/**
 * Sends `file` (with an optional caption) to `contact`: stores the message, then stages and sends it.
 * Failures end on the message (status `failed` and the reason), not as an exception.
 * @throws FileSendError when the file is refused before anything is stored
 */
export async function sendFile(
  bridge: EngineBridge,
  db: DeaddropDatabase,
  identityId: string,
  contact: ContactRecord,
  file: File,
  caption: string,
): Promise<MessageRecord> {
  const refused = refuseFile(file);
  if (refused) throw new FileSendError('too_large', refused);
  watchFileProgress(bridge, db);
  const fileName = sendName(file.name);
  const record = await queueFileMessage(db, identityId, contact, { name: fileName, size: file.size }, caption.trim());
  const localId = record.localId!;
  pending.set(localId, { file, fileName, mime: sendMime(file.type), caption: caption.trim(), cancelled: false });
  void transmit(bridge, db, record);
  return record;
}

/** Tries a failed file again: staged anew from the File kept in memory, under the same local id. */
export async function retryFile(bridge: EngineBridge, db: DeaddropDatabase, message: MessageRecord): Promise<void> {
  const item = message.localId ? pending.get(message.localId) : undefined;
  if (!item) return;
  item.cancelled = false;
  await transmit(bridge, db, message);
}

/** Stops a file being staged or uploaded (or its notice, once queued); the card stays, cancelled. */
export async function cancelFile(bridge: EngineBridge, db: DeaddropDatabase, message: MessageRecord): Promise<void> {
  const localId = message.localId;
  if (!localId) return;
  const item = pending.get(localId);
  if (item) item.cancelled = true;
  const transfer = transferOf(localId);
  if (transfer && transfer.state !== 'done') setTransfer(localId, { ...transfer, state: 'cancelled' });
  await cancelMessage(db, bridge, message.id);
}

async function transmit(bridge: EngineBridge, db: DeaddropDatabase, message: MessageRecord): Promise<void> {
  const localId = message.localId!;
  const item = pending.get(localId);
  if (!item) return;
  const total = item.file.size;
  const fail = async (error: string) => {
    setTransfer(localId, { direction: 'up', state: 'failed', done: 0, total, error });
    await applyOutboxStatus(db, { localId, status: 'failed', error });
  };
  setTransfer(localId, { direction: 'up', state: 'staging', done: 0, total, error: null });
  try {
    const stageId = await stageFile(
      bridge,
      item.file,
      (done) => {
        if (!item.cancelled) setTransfer(localId, { direction: 'up', state: 'staging', done, total, error: null });
      },
      () => item.cancelled,
    );
    if (stageId === null || item.cancelled) return;
    const contact = await db.contacts.get([message.identityId, message.contactKey]);
    if (!contact || contact.dropUrls.length === 0) return await fail('This contact has no drop address to send to.');
    setTransfer(localId, { direction: 'up', state: 'running', done: 0, total, error: null });
    rememberUploadMime(localId, item.mime);
    const sent = await bridge.invoke('files/send', {
      stageId,
      identityId: message.identityId,
      localId,
      recipient: { publicKey: contact.publicKey, dropUrls: contact.dropUrls },
      fileName: item.fileName,
      mime: item.mime,
      text: item.caption,
      wantReceipt: true,
    });
    if (sent.ok) return;
    if (sent.error.code === 'already_exists') {
      if (noticeQueued(localId)) {
        // The file is uploaded and its notice failed on its way: the outbox tries the notice again.
        setTransfer(localId, { direction: 'up', state: 'done', done: total, total, error: null });
        return await retryMessage(db, bridge, message.id);
      }
      // The engine is still uploading it (the connection to it dropped and came back): its events
      // carry on from here. Re-submitting by text now would send the caption as a chat message.
      setTransfer(localId, { direction: 'up', state: 'running', done: 0, total, error: null });
      return await applyOutboxStatus(db, { localId, status: 'sending' });
    }
    await fail(sent.error.message);
  } catch (error) {
    if (!(error instanceof FileSendError)) return await fail('The file could not be read: choose it again.');
    // The engine went away while the file was handed over: it forgets what it had of it.
    const lost = error.code === 'unavailable' || error.code === 'timeout';
    await fail(lost ? 'The upload stopped when the connection to the engine was lost: try again once it is back.' : error.message);
  }
}

/**
 * Receiving a file from the UI's side: the engine downloads and checks it (`files/download`, resumed by
 * asking again after a failure) and keeps it encrypted; the UI reads it back decrypted in chunks
 * (`files/read`) to save it or to show an image, or has the desktop shell save it (`files/saveAs`).
 */
import type { EncryptedFileRef } from '../../../shared/ipc/contract.js';
import { decodePayload } from '../../../shared/modules/registry.js';
import { encryptedFileRefSchema } from '../../../shared/modules/share.js';
import { fromBase64Url, toBase64Url } from '../../../shared/protocol/encoding.js';
import type { EngineBridge } from '../bridge/transport.js';
import { downloadFile } from '../contacts/fileDownload.js';
import type { MessageRecord } from '../db/records.js';
import { sniffImageType } from './inlineImages.js';
import { setTransfer, transferOf } from './transfers.js';

/** What a share message offers: its name, size and, for a file of ours, how to fetch and open it. */
export interface SharedFile {
  name: string;
  size: number;
  caption: string;
  /** Null: a notice in Qabel's format or one this version does not know, which it cannot open. */
  ref: EncryptedFileRef | null;
  mime: string | null;
}

const MAX_SHOWN_NAME = 255;

/** A name someone else chose, as text to show: no control or bidi characters (they could fake an extension). */
export function cleanFileName(name: string): string {
  const clean = name.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, '').trim();
  return [...clean].slice(0, MAX_SHOWN_NAME).join('') || 'Unnamed file';
}

/** The file a share message is about; incoming ones are read from their notice as it arrived. */
export function sharedFileOf(message: MessageRecord): SharedFile {
  const fallback: SharedFile = {
    name: cleanFileName(message.share?.file ?? ''),
    size: message.share?.size ?? -1,
    caption: message.text,
    ref: null,
    mime: null,
  };
  if (message.direction === 'out') {
    // Ours keep the caption, or the file's name in its place (see `queueFileMessage`); the notice as
    // sent (`payload`, db/outbox.ts) names the file's reference, which a sibling's copy downloads by.
    const caption = message.text === message.share?.file ? '' : message.text;
    return { ...fallback, caption, ...sentNotice(message.payload) };
  }
  try {
    const content = decodePayload('box_share_notification', message.payload);
    if (content.type !== 'box_share_notification') return fallback;
    return { name: cleanFileName(content.file), size: content.size, caption: content.msg, ref: content.ref, mime: content.mime };
  } catch {
    // A notice whose fields do not fit is still a shared file; this app just cannot open it.
    return fallback;
  }
}

/** The reference and type of a file we sent, from its stored notice; nothing when there is none yet. */
function sentNotice(payload: string): Pick<SharedFile, 'ref' | 'mime'> | Record<string, never> {
  if (payload === '') return {};
  try {
    const notice = JSON.parse(payload) as { ref?: unknown; mime?: unknown };
    const ref = encryptedFileRefSchema.safeParse(notice.ref);
    return ref.success ? { ref: ref.data, mime: typeof notice.mime === 'string' ? notice.mime : null } : {};
  } catch {
    return {};
  }
}

/** The id the engine keeps a downloaded file under: a digest of the message id (ids are at most 128 characters). */
export async function downloadIdOf(messageId: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(messageId));
  return `file-${toBase64Url(new Uint8Array(digest))}`;
}

/** Starts (or resumes) a download; progress arrives as `files/progress`. */
export async function startDownload(bridge: EngineBridge, id: string, ref: EncryptedFileRef): Promise<void> {
  const before = transferOf(id);
  setTransfer(id, { direction: 'down', state: 'running', done: before?.state === 'failed' ? before.done : 0, total: ref.size, error: null });
  const result = await bridge.invoke('files/download', { id, ref });
  if (!result.ok) {
    setTransfer(id, { direction: 'down', state: 'failed', done: transferOf(id)?.done ?? 0, total: ref.size, error: result.error.message });
  } else if (result.value.ready) {
    setTransfer(id, { direction: 'down', state: 'done', done: ref.size, total: ref.size, error: null });
  }
}

/** Stops a download and forgets what arrived of it (the engine deletes the partial file). */
export async function cancelDownload(bridge: EngineBridge, id: string, ref: EncryptedFileRef): Promise<void> {
  setTransfer(id, { direction: 'down', state: 'cancelled', done: 0, total: ref.size, error: null });
  forgetImage(id);
  await bridge.invoke('files/discard', { id });
}

/**
 * The decrypted file as a Blob, read chunk by chunk from the engine.
 * @throws Error with the engine's sentence when a read fails
 */
export async function readDownloadedFile(bridge: EngineBridge, id: string, ref: EncryptedFileRef, type = 'application/octet-stream'): Promise<Blob> {
  const parts: Uint8Array<ArrayBuffer>[] = [];
  let offset = 0;
  for (;;) {
    const result = await bridge.invoke('files/read', { id, ref, offset });
    if (!result.ok) throw new Error(result.error.message);
    // A fresh array over its own ArrayBuffer (never a shared one), as Blob parts must be.
    const chunk = fromBase64Url(result.value.data) as Uint8Array<ArrayBuffer>;
    if (chunk.length === 0 || offset + chunk.length > result.value.size) {
      if (offset === result.value.size) break;
      throw new Error('The file could not be read completely: download it again.');
    }
    parts.push(chunk);
    offset += chunk.length;
    if (offset >= result.value.size) break;
  }
  return new Blob(parts, { type });
}

/** A name for the browser's download, never a path: the browser also cleans it, this does first. */
export function saveName(name: string): string {
  const clean = cleanFileName(name)
    .replace(/[/\\:*?"<>|]/g, '_')
    .replace(/^\.+/, '')
    .replace(/[. ]+$/, '');
  return clean || 'file';
}

/** Saves a downloaded file through the browser's (or Electron's) download. */
export async function saveDownloadedFile(bridge: EngineBridge, id: string, ref: EncryptedFileRef, name: string): Promise<void> {
  const blob = await readDownloadedFile(bridge, id, ref);
  downloadFile(saveName(name), blob);
}

/** Saves a downloaded file where the user picks (desktop only: `files/saveAs`); false when they closed the dialog. */
export async function saveDownloadedFileAs(bridge: EngineBridge, id: string, ref: EncryptedFileRef, name: string): Promise<boolean> {
  const result = await bridge.invoke('files/saveAs', { id, ref, fileName: saveName(name) });
  if (!result.ok) throw new Error(result.error.message);
  return result.value.saved;
}

/**
 * Images read once stay in memory for a while, so a row scrolled away and back does not read its
 * image again: the most recent ones, up to a number and a total size.
 */
const IMAGE_CACHE_SIZE = 40;
const IMAGE_CACHE_BYTES = 64 * 1024 * 1024;
const images = new Map<string, Blob | null>();

function cacheImage(id: string, image: Blob | null): void {
  images.delete(id);
  images.set(id, image);
  let bytes = 0;
  for (const blob of images.values()) bytes += blob?.size ?? 0;
  for (const [oldest, blob] of images) {
    if (images.size <= 1 || (images.size <= IMAGE_CACHE_SIZE && bytes <= IMAGE_CACHE_BYTES)) break;
    images.delete(oldest);
    bytes -= blob?.size ?? 0;
  }
}

/** Images shown inline in this window: shown again when their row comes back, whatever the limit says now. */
const shownImages = new Set<string>();

export function noteImageShown(id: string): void {
  shownImages.add(id);
}

export function imageWasShown(id: string): boolean {
  return shownImages.has(id);
}

function forgetImage(id: string): void {
  images.delete(id);
  shownImages.delete(id);
}

/**
 * A downloaded image as a Blob of the type its bytes are, or null when they are not one of the
 * formats shown inline (whatever the notice claimed).
 */
export async function readInlineImage(bridge: EngineBridge, id: string, ref: EncryptedFileRef): Promise<Blob | null> {
  const cached = images.get(id);
  if (cached !== undefined) {
    cacheImage(id, cached);
    return cached;
  }
  const raw = await readDownloadedFile(bridge, id, ref);
  const type = sniffImageType(new Uint8Array(await raw.slice(0, 16).arrayBuffer()));
  const image = type === null ? null : new Blob([raw], { type });
  cacheImage(id, image);
  return image;
}

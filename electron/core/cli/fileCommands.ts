/**
 * Files in the CLI: `send --file` hands the file to the engine in chunks (the same staging the app
 * uses) and waits for the upload and the notice; `fetch --download-dir` downloads the files of the
 * notices it prints, checked, decrypted into the folder under a safe, unused name.
 */
import { open, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { EncryptedFileRef, EventMap, IncomingMessage } from '../../../shared/ipc/contract.js';
import { FILE_CHUNK_BYTES, MAX_SEND_FILE_BYTES } from '../../../shared/ipc/contract.js';
import { toBase64Url } from '../../../shared/protocol/encoding.js';
import { safeFileName } from '../../../shared/text/safeFileName.js';
import { revealUnsafe } from '../../../shared/text/untrustedText.js';
import type { CliEngine } from './cliEngine.js';
import { CliError } from './cliError.js';

export type Print = (line: string) => void;

/** Content types by extension, for the recipient's preview (anything else goes without one). */
const MIME_TYPES: Readonly<Record<string, string>> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.pdf': 'application/pdf',
  '.txt': 'text/plain',
  '.zip': 'application/zip',
};

/** Hands the file at `path` to the engine; resolves with the staging id. */
export async function stageFile(cli: CliEngine, path: string, onProgress: (done: number, total: number) => void): Promise<{ stageId: string; fileName: string; mime: string | null }> {
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new CliError(`${path} is not a file.`);
    size = info.size;
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`Cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); check the path and its permissions.`);
  }
  if (size > MAX_SEND_FILE_BYTES) throw new CliError(`${path} is larger than the ${MAX_SEND_FILE_BYTES / 1024 ** 3} GiB a file may have.`);
  const { stageId } = await cli.call('files/stageBegin', { size });
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(FILE_CHUNK_BYTES);
    for (let offset = 0; offset < size; ) {
      const { bytesRead } = await file.read(buffer, 0, Math.min(FILE_CHUNK_BYTES, size - offset), offset);
      if (bytesRead === 0) throw new CliError(`${path} became shorter while it was read.`);
      await cli.call('files/stageChunk', { stageId, offset, data: toBase64Url(buffer.subarray(0, bytesRead)) });
      offset += bytesRead;
      onProgress(offset, size);
    }
  } finally {
    await file.close();
  }
  const fileName = basename(path);
  return { stageId, fileName, mime: MIME_TYPES[extname(fileName).toLowerCase()] ?? null };
}

/** A progress line on stderr when it is a terminal (nothing in pipes and logs). */
export function progressLine(what: string): (done: number, total: number) => void {
  if (!process.stderr.isTTY) return () => undefined;
  let shown = -1;
  return (done, total) => {
    const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
    if (percent === shown) return;
    shown = percent;
    process.stderr.write(`\r${what} ${percent}%${percent === 100 ? '\n' : ''}`);
  };
}

/** Waits for the engine's last word on `localId`: posted, or why not. */
export interface OutcomeOptions {
  /** How long the command waits for the drop to take the message. */
  timeoutMs: number;
  /** Progress lines (stderr). */
  note: (line: string) => void;
  /** The recipient's name, for "ask <contact> for tickets". */
  contact: string;
  now?: () => number;
}

/** How the wait for a message ended: the engine's last status, or `gaveUp` with the reason why. */
export type Outcome = EventMap['outbox/status'] | { status: 'gaveUp'; error: string };

/** Stamp progress is reported at most this often (the engine sends about four a second). */
const STAMP_NOTE_EVERY_MS = 5000;

/**
 * Waits until the message is posted, failed or cancelled, saying on stderr what it waits for: proof
 * of work a drop asks for, and each retry with its reason. It gives up (`gaveUp`) at the timeout, and
 * at once when the engine's next try lies beyond it (a closed drop's daily introduction quota waits
 * until the next day): the engine ends with this command, so waiting longer would only hang.
 */
export function outcomeOf(cli: CliEngine, localId: string, options: OutcomeOptions): Promise<Outcome> {
  const now = options.now ?? Date.now;
  const deadline = now() + options.timeoutMs;
  const seconds = Math.round(options.timeoutMs / 1000);
  return new Promise((resolve) => {
    let lastReason = '';
    let lastStampNote = -Infinity;
    let done = false;
    const finish = (outcome: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const timer = setTimeout(() => {
      finish({ status: 'gaveUp', error: `Not sent within --timeout ${seconds} s${lastReason ? ` (last: ${lastReason})` : ''}; try again later, or with a longer --timeout.` });
    }, options.timeoutMs);
    cli.engine.subscribe(({ event, payload }) => {
      if (done) return;
      if (event === 'outbox/stampProgress' && payload.localId === localId) {
        if (payload.hashes === 0 || now() - lastStampNote >= STAMP_NOTE_EVERY_MS) {
          lastStampNote = now();
          const share = payload.expected > 0 ? Math.min(999, Math.round((100 * payload.hashes) / payload.expected)) : 0;
          options.note(
            payload.hashes === 0
              ? `the drop${payload.dropUrl ? ` ${serverOf(payload.dropUrl)}` : ''} asks for proof of work before it takes a message from a stranger; computing it (about ${payload.expected} hashes on average)...`
              : `proof of work: ${payload.hashes} hashes (${share}% of the average)`,
          );
        }
        return;
      }
      if (event !== 'outbox/status' || payload.localId !== localId) return;
      if (payload.status === 'posted' || payload.status === 'failed' || payload.status === 'cancelled') return finish(payload);
      const reason = payload.reason;
      if (!reason) return;
      const text = reason.detail.replace(/\s*It is tried again later\.?$/i, '').replace(/[;,]?\s*it is tried again later\.?$/i, '.');
      if (reason.retryAt !== null && reason.retryAt > deadline) {
        const when = new Date(reason.retryAt).toISOString().replace(/\.\d+Z$/, 'Z');
        let advice = '';
        if (/introduction/i.test(reason.detail)) advice = ` Try again after ${when}, or ask ${revealUnsafe(options.contact)} for tickets (a contact's tickets skip the daily quota).`;
        else if (reason.kind === 'rateLimited' || reason.kind === 'full') advice = ` The server asks to wait until ${when}; try again then.`;
        return finish({ status: 'gaveUp', error: `Not sent: ${text}${advice}` });
      }
      if (text !== lastReason) {
        lastReason = text;
        const retry = reason.retryAt === null ? '' : ` Retrying in ${Math.max(1, Math.round((reason.retryAt - now()) / 1000))} s.`;
        options.note(`waiting: ${text}${retry}`);
      }
    });
  });
}

function serverOf(dropUrl: string): string {
  try {
    return new URL(dropUrl).host;
  } catch {
    return '';
  }
}

/** The file a notice of ours announces, or null (a chat text, or a share this app cannot open). */
export function fileOf(message: IncomingMessage): { name: string; ref: EncryptedFileRef } | null {
  const { content } = message;
  return content.type === 'box_share_notification' && content.ref ? { name: content.file, ref: content.ref } : null;
}

/** `dir/name`, or `dir/name (2).ext` and so on when taken: a download never replaces a file. */
async function freePath(dir: string, name: string): Promise<string> {
  const safe = safeFileName(name);
  const extension = extname(safe);
  const stem = safe.slice(0, safe.length - extension.length);
  for (let n = 1; n < 10_000; n++) {
    const candidate = join(dir, n === 1 ? safe : `${stem} (${n})${extension}`);
    const taken = await stat(candidate).then(
      () => true,
      () => false,
    );
    if (!taken) return candidate;
  }
  throw new CliError(`Too many files named like ${safe} in ${dir}.`);
}

/** Downloads the file a notice announces into `dir`; resolves with where it was saved. */
export async function downloadInto(cli: CliEngine, dir: string, id: string, file: { name: string; ref: EncryptedFileRef }): Promise<string> {
  const report = progressLine(`downloading ${safeFileName(file.name)}`);
  const done = new Promise<EventMap['files/progress']>((resolve) => {
    cli.engine.subscribe(({ event, payload }) => {
      if (event !== 'files/progress' || payload.id !== id) return;
      if (payload.state === 'running') report(payload.done, payload.total);
      else resolve(payload);
    });
  });
  const { ready } = await cli.call('files/download', { id, ref: file.ref });
  if (!ready) {
    const final = await done;
    if (final.state !== 'done') throw new CliError(final.error ?? 'The download did not finish.');
  }
  const dest = await freePath(dir, file.name);
  await cli.engine.saveFile(id, file.ref, dest);
  await cli.call('files/discard', { id });
  return dest;
}

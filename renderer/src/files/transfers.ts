/**
 * Files moving between the UI, the engine and the drop servers, in memory: uploads by their message's
 * local id, downloads by their download id (`downloadIdOf`). The engine keeps the files themselves;
 * this is what the cards show while a window is open, fed by `files/progress`.
 */
import { create } from 'zustand';
import type { FileProgress } from '../../../shared/ipc/contract.js';
import type { EngineBridge } from '../bridge/transport.js';
import type { DeaddropDatabase } from '../db/database.js';
import { applyOutboxStatus, recordUploadedFile } from '../db/outbox.js';

export interface Transfer {
  direction: 'up' | 'down';
  /** `staging`: the UI hands the bytes to the engine (before the upload); the rest as the engine reports. */
  state: 'staging' | FileProgress['state'];
  done: number;
  total: number;
  error: string | null;
}

interface TransferState {
  transfers: Record<string, Transfer>;
}

export const useTransfers = create<TransferState>()(() => ({ transfers: {} }));

export function transferOf(id: string): Transfer | undefined {
  return useTransfers.getState().transfers[id];
}

export function setTransfer(id: string, transfer: Transfer): void {
  useTransfers.setState((s) => ({ transfers: { ...s.transfers, [id]: transfer } }));
}

export function forgetTransfer(id: string): void {
  useTransfers.setState((s) => {
    const { [id]: _gone, ...rest } = s.transfers;
    return { transfers: rest };
  });
}

/** Uploads the engine reported done in this window: their notices exist in its outbox. */
const queued = new Set<string>();

/** Whether the engine said the file of `localId` is uploaded and its notice queued. */
export function noticeQueued(localId: string): boolean {
  return queued.has(localId);
}

/**
 * A finished transfer stays finished: a `running` event sent before the last one must not undo it,
 * and after a cancel nothing the engine sent before it counts (a download that ended just before
 * was discarded with it). Every new attempt sets its transfer running (or staging) itself before it
 * asks the engine, which opens it to events again.
 */
export function applyFileProgress(event: FileProgress): void {
  if (event.direction === 'up' && event.state === 'done') queued.add(event.id);
  const current = transferOf(event.id);
  if (current?.state === 'cancelled') return;
  if (current && event.state === 'running' && (current.state === 'done' || current.state === 'failed')) return;
  setTransfer(event.id, { direction: event.direction, state: event.state, done: event.done, total: event.total, error: event.error ?? null });
}

/**
 * The engine went away: what it was moving stopped with it (a download resumes when asked again).
 * Returns the local ids of the uploads that stopped.
 */
export function interruptTransfers(reasons: Record<Transfer['direction'], string>): string[] {
  const transfers = { ...useTransfers.getState().transfers };
  const uploads: string[] = [];
  for (const [id, transfer] of Object.entries(transfers)) {
    if (transfer.state !== 'running' && transfer.state !== 'staging') continue;
    transfers[id] = { ...transfer, state: 'failed', error: reasons[transfer.direction] };
    if (transfer.direction === 'up') uploads.push(id);
  }
  useTransfers.setState({ transfers });
  return uploads;
}

const watched = new WeakSet<EngineBridge>();
/** The content type each upload of this window announces, for its notice kept in the record. */
const uploadMimes = new Map<string, string | null>();

/** Notes the content type the notice of the upload `localId` gives (before `files/send`). */
export function rememberUploadMime(localId: string, mime: string | null): void {
  uploadMimes.set(localId, mime);
}

/**
 * Follows the engine's file events on `bridge`, once per bridge, from whichever card or composer
 * shows first: the progress of every transfer (stopped when the engine goes away), and the notice of
 * each finished upload, kept in its record (the outbox re-submits it by that after a restart; its
 * receipt ids come with its `outbox/status`).
 */
export function watchFileProgress(bridge: EngineBridge, db: DeaddropDatabase): void {
  if (watched.has(bridge)) return;
  watched.add(bridge);
  bridge.on('files/progress', (event) => {
    applyFileProgress(event);
    if (event.direction !== 'up' || event.state !== 'done' || !event.ref || !uploadMimes.has(event.id)) return;
    const mime = uploadMimes.get(event.id) ?? null;
    uploadMimes.delete(event.id);
    void recordUploadedFile(db, event.id, event.ref, mime).catch(() => undefined);
  });
  bridge.onConnectionChange((state) => {
    if (state !== 'closed') return;
    // An upload's message is `sending` from its start, and the outbox re-submits sending messages by
    // their text on reconnection: marked failed first, it is never sent as a text. Should the engine
    // have carried on, its next status for the message sets it right.
    const error = 'The upload stopped when the connection to the engine was lost: try again once it is back.';
    const stopped = interruptTransfers({ up: error, down: 'The connection to the engine was lost.' });
    for (const localId of stopped) void applyOutboxStatus(db, { localId, status: 'failed', error });
  });
}

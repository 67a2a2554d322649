/**
 * Full backups from the UI's side (README "Backup files"): the UI reads its records, the engine adds
 * the keys and cursors and seals the file; restoring, the engine opens and checks the whole file,
 * the UI stores its part in one transaction, and only then the engine adds the identity. Files move in
 * chunks (`BACKUP_CHUNK_BYTES`), so a long history passes any IPC or WebSocket limit.
 */
import type { BackupUiPart } from '../../../shared/backup/backupPayload.js';
import { BACKUP_CHUNK_BYTES, type BackupPreview, type Channel, type IdentitySummary, type RequestOf, type ResponseOf } from '../../../shared/ipc/contract.js';
import { fromBase64Url, toBase64Url } from '../../../shared/protocol/encoding.js';
import type { EngineBridge } from '../bridge/transport.js';
import { gatherBackupRecords, restoreBackupRecords } from '../db/backupRecords.js';
import type { DeaddropDatabase } from '../db/database.js';
import { forgetIdentityData } from './forgetIdentityData.js';

/** What a long backup step is doing, for a progress bar: `fraction` from 0 to 1, null when unknown. */
export interface BackupProgress {
  step: string;
  fraction: number | null;
}
export type OnBackupProgress = (progress: BackupProgress) => void;

/** A failed call, with the engine's sentence for the user and its code. */
export class BackupError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'BackupError';
  }
}

async function call<C extends Channel>(bridge: EngineBridge, channel: C, request: RequestOf<C>): Promise<ResponseOf<C>> {
  const result = await bridge.invoke(channel, request);
  if (!result.ok) throw new BackupError(result.error.code, result.error.message);
  return result.value;
}

async function upload(bridge: EngineBridge, transferId: string, bytes: Uint8Array, onProgress: (fraction: number) => void): Promise<void> {
  for (let offset = 0; offset < bytes.length; offset += BACKUP_CHUNK_BYTES) {
    const chunk = bytes.subarray(offset, offset + BACKUP_CHUNK_BYTES);
    await call(bridge, 'backup/upload', { transferId, offset, data: toBase64Url(chunk) });
    onProgress(Math.min(1, (offset + chunk.length) / bytes.length));
  }
}

async function download(bridge: EngineBridge, transferId: string, onProgress: (fraction: number) => void): Promise<Uint8Array<ArrayBuffer>> {
  let bytes: Uint8Array<ArrayBuffer> | null = null;
  let offset = 0;
  do {
    const { data, size } = await call(bridge, 'backup/download', { transferId, offset });
    bytes ??= new Uint8Array(size);
    const chunk = fromBase64Url(data);
    if (chunk.length === 0 || offset + chunk.length > size) throw new BackupError('internal', 'The backup arrived incomplete: try again.');
    bytes.set(chunk, offset);
    offset += chunk.length;
    onProgress(offset / size);
  } while (offset < bytes.length);
  return bytes;
}

/** Runs `work` on a transfer and forgets the transfer in the engine afterwards, whatever happened. */
async function withTransfer<T>(bridge: EngineBridge, transferId: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } finally {
    void bridge.invoke('backup/discard', { transferId });
  }
}

/** Makes the backup file of `identity`: its bytes and the suggested file name. */
export async function exportFullBackup(
  bridge: EngineBridge,
  db: DeaddropDatabase,
  identity: IdentitySummary,
  options: { passphrase: string; includeHistory: boolean },
  onProgress: OnBackupProgress,
): Promise<{ fileName: string; bytes: Uint8Array<ArrayBuffer> }> {
  // The engine notes the cursors first: anything that arrives while the UI reads is fetched again after a restore.
  const { transferId } = await call(bridge, 'backup/exportBegin', { identityId: identity.id, includeHistory: options.includeHistory });
  return withTransfer(bridge, transferId, async () => {
    onProgress({ step: 'Reading contacts and messages', fraction: null });
    const ui = await gatherBackupRecords(db, identity.id, options.includeHistory, (done, total) =>
      onProgress({ step: `Reading messages (${done.toLocaleString('en')} of ${total.toLocaleString('en')})`, fraction: total > 0 ? done / total : null }),
    );
    const bytes = new TextEncoder().encode(JSON.stringify(ui));
    await upload(bridge, transferId, bytes, (fraction) => onProgress({ step: 'Handing the records to the engine', fraction }));
    onProgress({ step: 'Encrypting', fraction: null });
    const { fileName } = await call(bridge, 'backup/exportSeal', { transferId, passphrase: options.passphrase });
    const file = await download(bridge, transferId, (fraction) => onProgress({ step: 'Saving', fraction }));
    return { fileName, bytes: file };
  });
}

/** An opened, fully checked backup: restoring it writes, nothing before. */
export interface OpenedBackup {
  transferId: string;
  preview: BackupPreview;
}

/**
 * Hands the file to the engine, which decrypts and checks all of it. Nothing is written.
 * @throws BackupError (`bad_passphrase`, `bad_input`, `already_exists`, …) with the engine's sentence
 */
export async function openBackupFile(bridge: EngineBridge, file: Uint8Array, passphrase: string, onProgress: OnBackupProgress): Promise<OpenedBackup> {
  const { transferId } = await call(bridge, 'backup/importBegin', {});
  try {
    await upload(bridge, transferId, file, (fraction) => onProgress({ step: 'Reading the file', fraction }));
    onProgress({ step: 'Decrypting and checking', fraction: null });
    const preview = await call(bridge, 'backup/importOpen', { transferId, passphrase });
    return { transferId, preview };
  } catch (error) {
    void bridge.invoke('backup/discard', { transferId });
    throw error;
  }
}

/**
 * Restores an opened backup: the UI's records in one transaction, then the identity and its cursors in
 * the engine. If the engine refuses at the end, the records just written are taken out again.
 */
export async function restoreOpenedBackup(bridge: EngineBridge, db: DeaddropDatabase, opened: OpenedBackup, onProgress: OnBackupProgress): Promise<IdentitySummary> {
  const { transferId, preview } = opened;
  return withTransfer(bridge, transferId, async () => {
    const identityId = preview.kind === 'full' ? preview.identityId : null;
    if (identityId !== null) {
      const bytes = await download(bridge, transferId, (fraction) => onProgress({ step: 'Receiving contacts and messages', fraction }));
      const ui = JSON.parse(new TextDecoder().decode(bytes)) as BackupUiPart; // checked by the engine
      await restoreBackupRecords(db, identityId, ui, (done, total) =>
        onProgress({ step: `Writing messages (${done.toLocaleString('en')} of ${total.toLocaleString('en')})`, fraction: total > 0 ? done / total : 1 }),
      );
    }
    onProgress({ step: 'Adding the identity', fraction: null });
    try {
      return await call(bridge, 'backup/importCommit', { transferId });
    } catch (error) {
      if (identityId !== null) await forgetIdentityData(db, identityId).catch(() => undefined);
      throw error;
    }
  });
}

/** Forgets an opened backup that will not be restored. */
export function discardOpenedBackup(bridge: EngineBridge, opened: OpenedBackup): void {
  void bridge.invoke('backup/discard', { transferId: opened.transferId });
}

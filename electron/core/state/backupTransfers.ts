/**
 * Backup files in transit between the UI and the engine (`backup/*` channels). A backup of a long
 * history is tens of megabytes, more than one IPC call or WebSocket frame should carry, so it moves in
 * chunks: uploads are appended in order, downloads are read by offset. Transfers live in memory only,
 * a few at a time, and are forgotten when finished, discarded or left alone for a while.
 */
import { randomUUID } from 'node:crypto';
import { BACKUP_CHUNK_BYTES } from '../../../shared/ipc/contract.js';
import { ApiFailure } from '../../../shared/ipc/result.js';
import { MAX_BACKUP_FILE_BYTES } from './backupFile.js';

/** Transfers kept at once; starting another forgets the oldest. */
const MAX_TRANSFERS = 2;
/** A transfer nobody touched for this long is forgotten. */
const IDLE_MS = 10 * 60_000;

export interface BackupTransfer<State> {
  readonly id: string;
  readonly purpose: 'export' | 'import';
  /** What the handlers keep between calls (the cursors noted, the opened backup). */
  state: State;
  /** What the engine hands back to the UI, once there. */
  download: Buffer | null;
}

interface Entry<State> extends BackupTransfer<State> {
  chunks: Buffer[];
  received: number;
  touchedAt: number;
}

export class BackupTransfers<State> {
  private readonly entries = new Map<string, Entry<State>>();

  constructor(private readonly now: () => number) {}

  begin(purpose: 'export' | 'import', state: State): BackupTransfer<State> {
    this.prune();
    while (this.entries.size >= MAX_TRANSFERS) this.discard(this.entries.keys().next().value!);
    const entry: Entry<State> = { id: randomUUID(), purpose, state, download: null, chunks: [], received: 0, touchedAt: this.now() };
    this.entries.set(entry.id, entry);
    return entry;
  }

  /** @throws ApiFailure 'not_found' when unknown, forgotten, or begun for the other purpose */
  get(id: string, purpose: 'export' | 'import'): BackupTransfer<State> {
    return this.entry(id, purpose);
  }

  /** Appends a chunk at `offset`, which must be where the last one ended (a repeated or skipped chunk is refused). */
  upload(id: string, offset: number, data: Buffer): number {
    const entry = this.entryOfAny(id);
    if (entry.download) throw new ApiFailure('bad_input', 'This backup transfer takes no more data.');
    if (offset !== entry.received) throw new ApiFailure('bad_input', `This backup transfer expected data from byte ${entry.received}, not ${offset}: start again.`);
    if (entry.received + data.length > MAX_BACKUP_FILE_BYTES) {
      this.discard(id);
      throw new ApiFailure('bad_input', 'The file is too large to be a Deaddrop backup.');
    }
    entry.chunks.push(data);
    entry.received += data.length;
    return entry.received;
  }

  /** Everything uploaded, as one buffer (the chunks are released). */
  takeUpload(id: string): Buffer {
    const entry = this.entryOfAny(id);
    const all = Buffer.concat(entry.chunks);
    entry.chunks = [all];
    return all;
  }

  /** Up to one chunk of the download from `offset`. */
  read(id: string, offset: number): { data: Buffer; size: number } {
    const entry = this.entryOfAny(id);
    if (!entry.download) throw new ApiFailure('bad_input', 'This backup transfer has nothing to read yet.');
    if (offset > entry.download.length) throw new ApiFailure('bad_input', 'Read past the end of the backup transfer.');
    return { data: entry.download.subarray(offset, offset + BACKUP_CHUNK_BYTES), size: entry.download.length };
  }

  discard(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    for (const chunk of entry.chunks) chunk.fill(0);
    entry.download?.fill(0);
    this.entries.delete(id);
  }

  private entry(id: string, purpose: 'export' | 'import'): Entry<State> {
    const entry = this.entryOfAny(id);
    if (entry.purpose !== purpose) throw gone();
    return entry;
  }

  private entryOfAny(id: string): Entry<State> {
    this.prune();
    const entry = this.entries.get(id);
    if (!entry) throw gone();
    entry.touchedAt = this.now();
    return entry;
  }

  private prune(): void {
    const now = this.now();
    for (const entry of [...this.entries.values()]) if (now - entry.touchedAt > IDLE_MS) this.discard(entry.id);
  }
}

function gone(): ApiFailure {
  return new ApiFailure('not_found', 'This backup transfer is no longer open (it was finished, cancelled or left too long): start again.');
}

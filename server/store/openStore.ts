import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlobStore } from './blobStore.js';
import type { DropStore, StoreSettings } from './dropStore.js';
import { openFileBlobStore } from './fileBlobStore.js';
import { openPostgresBlobStore } from './postgresBlobStore.js';
import { openPostgresStore } from './postgresStore.js';
import { openSqliteStore } from './sqliteStore.js';

/** Why a database location was refused, in words fit for a one-line error. */
export class StoreConfigError extends Error {
  override readonly name = 'StoreConfigError';
}

/**
 * Opens the store named by `--db`: `sqlite:<file>`, `sqlite::memory:`, or `postgres(ql)://...`.
 * @throws StoreConfigError for an unknown scheme; the driver's error when the database is unreachable
 */
export async function openStore(location: string, settings: StoreSettings): Promise<DropStore> {
  if (location.startsWith('sqlite:')) {
    const file = location.slice('sqlite:'.length);
    if (file === '') throw new StoreConfigError('--db sqlite: needs a file name, e.g. sqlite:./deaddrop-data/drops.db');
    return openSqliteStore(file, settings);
  }
  if (/^postgres(ql)?:\/\//.test(location)) return openPostgresStore(location, settings);
  throw new StoreConfigError('--db must start with sqlite: or postgres://');
}

/**
 * Opens the blob store beside the store named by `--db` (already validated by `openStore`): files in
 * `<file>-blobs/` beside a SQLite database (a throw-away folder for `sqlite::memory:`), tables in
 * the same PostgreSQL database.
 */
export async function openBlobStore(location: string): Promise<BlobStore> {
  if (/^postgres(ql)?:\/\//.test(location)) return openPostgresBlobStore(location);
  const file = location.slice('sqlite:'.length);
  if (file === ':memory:') return openFileBlobStore(await mkdtemp(join(tmpdir(), 'deaddrop-blobs-')), true);
  return openFileBlobStore(`${file}-blobs`);
}

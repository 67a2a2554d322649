/**
 * One server process per SQLite file. The store answers polls from a cache of each drop's newest
 * message, which is only right if this process sees every write; a second server on the same file
 * would make both serve stale answers. PostgreSQL is the back end for several instances.
 */
import Database from 'better-sqlite3';

export interface FileClaim {
  release(): void;
}

/**
 * Holds an exclusive lock on `<file>-owner` until released. The operating system drops the lock
 * when the process dies, so a crash never leaves a stale claim behind.
 * @throws Error naming the file when another server (in any process) holds it
 */
export function claimDatabaseFile(file: string): FileClaim {
  const lock = new Database(`${file}-owner`);
  try {
    lock.pragma('locking_mode = EXCLUSIVE');
    lock.exec('BEGIN EXCLUSIVE');
  } catch (error) {
    lock.close();
    if ((error as { code?: string }).code === 'SQLITE_BUSY') {
      throw new Error(`${file} is in use by another drop server (one server per SQLite file; use PostgreSQL for several)`);
    }
    throw error;
  }
  return { release: () => lock.close() };
}

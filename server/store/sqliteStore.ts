/**
 * The embedded store: SQLite through better-sqlite3, one row per message. Reads run on this
 * thread; writes go through a group-commit queue to the writer (a worker thread for files), and a
 * POST is answered only after its transaction has committed with fsync (see `sqliteSql.ts`).
 *
 * `AUTOINCREMENT` keeps positions from being reused after the newest rows were deleted (expiry,
 * quota), so a cursor never silently skips a later message that got a recycled position.
 * One server process owns a database file (`sqliteOwnership.ts`); several instances need PostgreSQL.
 */
import Database from 'better-sqlite3';
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AppendNotice, DropQuery, DropStore, MessageStamp, StoredMessage } from './dropStore.js';
import { createGroupCommitQueue } from './groupCommit.js';
import { createNewestCache } from './newestCache.js';
import { claimDatabaseFile } from './sqliteOwnership.js';
import { queryBounds } from './queryBounds.js';
import { SQLITE_PRAGMAS, SQLITE_SCHEMA, SQLITE_WRITES, type AppendItem } from './sqliteSql.js';
import { createInThreadWriter, startWorkerWriter, type SqliteWriter } from './sqliteWriter.js';

const MAX_BATCH = 256;
/** The writer thread finds the next batch queued when it finishes one (no idle round trip). */
const WRITES_IN_FLIGHT = 2;
const IN_MEMORY = ':memory:';

interface Row {
  position: number;
  received_at_ms: number;
  body: Buffer;
}
type StampRow = Omit<Row, 'body'>;

const toMessage = (r: Row): StoredMessage => ({ position: r.position, receivedAtMs: r.received_at_ms, body: r.body });

function openDatabase(file: string): Database.Database {
  const db = new Database(file);
  try {
    for (const pragma of SQLITE_PRAGMAS) db.pragma(pragma);
    db.exec(SQLITE_SCHEMA);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Opens (creating if needed) the SQLite database at `file` (`:memory:` for a throwaway store).
 * @throws Error when the file cannot be opened or is not a usable database
 */
export async function openSqliteStore(file: string): Promise<DropStore> {
  if (file !== IN_MEMORY) mkdirSync(dirname(file), { recursive: true });
  const claim = file === IN_MEMORY ? null : claimDatabaseFile(file);
  let db: Database.Database;
  let writer: SqliteWriter;
  try {
    db = openDatabase(file);
  } catch (error) {
    claim?.release();
    throw error;
  }
  try {
    writer = file === IN_MEMORY ? createInThreadWriter(db) : await startWorkerWriter(file);
  } catch (error) {
    db.close();
    claim?.release();
    throw error;
  }

  // `+received_at_ms` keeps the planner on the (drop_id, position) index: the time index would
  // scan every live message of every drop.
  const newestStmt = db.prepare<[string, number, number], StampRow>(
    'SELECT position, received_at_ms FROM messages WHERE drop_id = ? AND position > ? AND +received_at_ms >= ? ORDER BY position DESC LIMIT 1',
  );
  const listStmt = db.prepare<[string, number, number, number], Row>(
    'SELECT position, received_at_ms, body FROM messages WHERE drop_id = ? AND position > ? AND +received_at_ms >= ? ORDER BY position LIMIT ?',
  );
  const atStmt = db.prepare<[string, number], Row>(
    'SELECT position, received_at_ms, body FROM messages WHERE drop_id = ? AND position = ?',
  );
  const totalStmt = db.prepare<[], { total: number }>(SQLITE_WRITES.total);

  let storedBytes = totalStmt.get()?.total ?? 0;
  const cache = createNewestCache();
  const appended = new EventEmitter();
  appended.setMaxListeners(0);

  const queue = createGroupCommitQueue<AppendItem, StoredMessage>(async (items) => {
    const positions = await writer.append(items);
    return items.map((it, i) => {
      const message = { position: positions[i]!, receivedAtMs: it.receivedAtMs, body: it.body };
      storedBytes += it.body.length;
      cache.appended(it.dropId, message);
      appended.emit('message', { dropId: it.dropId, position: message.position, message } satisfies AppendNotice);
      return message;
    });
  }, MAX_BATCH, WRITES_IN_FLIGHT);

  const afterDelete = ({ deleted, totalBytes }: { deleted: number; totalBytes: number }): number => {
    storedBytes = totalBytes;
    if (deleted > 0) cache.clear();
    return deleted;
  };

  return {
    append: (dropId, body, receivedAtMs) => queue.submit({ dropId, body, receivedAtMs }),
    async newest(query: DropQuery): Promise<MessageStamp | null> {
      const known = cache.answer(query);
      if (known !== undefined) return known;
      const b = queryBounds(query);
      const row = newestStmt.get(query.dropId, b.afterPosition, b.minReceivedAtMs);
      const stamp = row ? { position: row.position, receivedAtMs: row.received_at_ms } : null;
      if (query.since.kind === 'all') cache.learn(query.dropId, stamp);
      return stamp;
    },
    async list(query, limit) {
      if (cache.answer(query) === null) return [];
      const b = queryBounds(query);
      const rows = listStmt.all(query.dropId, b.afterPosition, b.minReceivedAtMs, limit);
      if (rows.length === 0 && query.since.kind === 'all') cache.learn(query.dropId, null);
      return rows.map(toMessage);
    },
    async messageAt(dropId, position) {
      const row = atStmt.get(dropId, position);
      return row ? toMessage(row) : null;
    },
    deleteExpired: async (beforeMs) => afterDelete(await writer.deleteExpired(beforeMs)),
    async enforceQuota(maxBytes) {
      if (storedBytes <= maxBytes) return 0;
      return afterDelete(await writer.enforceQuota(maxBytes));
    },
    storedBytes: async () => storedBytes,
    isHealthy: async () => writer.isRunning(),
    onAppended(listener) {
      appended.on('message', listener);
      return () => appended.off('message', listener);
    },
    async close() {
      await queue.drain();
      await writer.close();
      db.close();
      claim?.release();
    },
  };
}

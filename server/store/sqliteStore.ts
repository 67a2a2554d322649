/**
 * The embedded store: SQLite through better-sqlite3, one row per message. Reads run on this
 * thread; writes go through a group-commit queue to the writer thread, and a POST is answered only
 * after its transaction has committed with fsync (see `sqliteSql.ts`).
 *
 * `AUTOINCREMENT` keeps positions from being reused after the newest rows were deleted (expiry,
 * quota), so a cursor never silently skips a later message that got a recycled position.
 * One server process owns a database file (`sqliteOwnership.ts`); several instances need PostgreSQL.
 * The database and its folder are created readable by their owner only.
 */
import Database from 'better-sqlite3';
import { EventEmitter } from 'node:events';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  OPEN_ADMISSION,
  type AppendNotice,
  type DropQuery,
  type DropStore,
  type MessageStamp,
  type StoreSettings,
  type StoredMessage,
} from './dropStore.js';
import { createGroupCommitQueue } from './groupCommit.js';
import { createNewestCache } from './newestCache.js';
import { claimDatabaseFile } from './sqliteOwnership.js';
import { queryBounds } from './queryBounds.js';
import {
  SQLITE_ADD_NONCE,
  SQLITE_ADD_STANDING,
  SQLITE_COUNT_DROPS,
  SQLITE_PRAGMAS,
  SQLITE_SCHEMA,
  SQLITE_SCHEMA_VERSION,
  SQLITE_WRITER_PRAGMAS,
  SQLITE_WRITES,
  type AppendItem,
} from './sqliteSql.js';
import { refusal } from './appendRefusal.js';
import { startWorkerWriter, type SqliteWriter } from './sqliteWriter.js';
import { dayNumber } from '../../shared/spam/day.js';
import { trackWrites } from './writeHealth.js';

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
    db.transaction(() => {
      db.exec(SQLITE_SCHEMA);
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version < 1) db.exec(SQLITE_COUNT_DROPS);
      const columns = db.prepare<[], { name: string }>('SELECT name FROM pragma_table_info(\'messages\')').all();
      if (!columns.some((c) => c.name === 'standing')) db.exec(SQLITE_ADD_STANDING);
      if (!columns.some((c) => c.name === 'nonce')) db.exec(SQLITE_ADD_NONCE);
      if (version < SQLITE_SCHEMA_VERSION) db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
    }).immediate();
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Creates the folder and an empty database file owner-only, unless they exist already. */
function createPrivately(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  // SQLite gives its -wal and -shm files the permissions of the database file.
  closeSync(openSync(file, 'a', 0o600));
}

interface Location {
  file: string;
  /** fsync settings: a throwaway database need not survive a crash. */
  writerPragmas: readonly string[];
  removeAfterClose(): void;
}

/** `:memory:` is a throwaway file in a private temporary folder: the writer thread needs a file to share. */
function locate(file: string): Location {
  if (file !== IN_MEMORY) {
    createPrivately(file);
    return { file, writerPragmas: SQLITE_WRITER_PRAGMAS, removeAfterClose: () => undefined };
  }
  const dir = mkdtempSync(join(tmpdir(), 'deaddrop-memory-'));
  return {
    file: join(dir, 'drops.db'),
    writerPragmas: [...SQLITE_WRITER_PRAGMAS, 'synchronous = OFF'],
    removeAfterClose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Opens (creating if needed) the SQLite database at `file` (`:memory:` for a throwaway store).
 * @throws Error when the file cannot be opened or is not a usable database
 */
export async function openSqliteStore(file: string, settings: StoreSettings): Promise<DropStore> {
  const location = locate(file);
  let claim: ReturnType<typeof claimDatabaseFile> | null = null;
  let db: Database.Database | null = null;
  let writer: SqliteWriter;
  try {
    claim = claimDatabaseFile(location.file);
    db = openDatabase(location.file);
    writer = await startWorkerWriter(location.file, { caps: settings.dropCaps, pragmas: location.writerPragmas });
  } catch (error) {
    db?.close();
    claim?.release();
    location.removeAfterClose();
    throw error;
  }
  return sqliteStore(db, writer, () => {
    db.close();
    claim.release();
    location.removeAfterClose();
  });
}

function sqliteStore(db: Database.Database, writer: SqliteWriter, release: () => void): DropStore {
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
  const policyStmt = db.prepare<[string], { seq: number; policy: string }>('SELECT seq, policy FROM drop_policies WHERE drop_id = ?');

  let storedBytes = totalStmt.get()?.total ?? 0;
  const cache = createNewestCache();
  const appended = new EventEmitter();
  appended.setMaxListeners(0);
  const health = trackWrites(() => writer.probe(Date.now()));

  const queue = createGroupCommitQueue<AppendItem, StoredMessage | Error>(async (items) => {
    const positions = await health.writing(writer.append(items));
    return items.map((it, i) => {
      const refused = refusal(positions[i]!, it.dropId);
      if (refused) return refused;
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
    async append(dropId, body, receivedAtMs, admission = OPEN_ADMISSION) {
      const stored = await queue.submit({ dropId, body, receivedAtMs, admission });
      if (stored instanceof Error) throw stored;
      return stored;
    },
    async policy(dropId) {
      const row = policyStmt.get(dropId);
      return row ? { seq: row.seq, json: row.policy } : null;
    },
    savePolicy: (dropId, policy, previousSeq, strikes) =>
      health.writing(writer.savePolicy({ dropId, seq: policy.seq, json: policy.json, previousSeq, strikes: strikes.map((s) => ({ nonce: new Uint8Array(s.nonce), expiresAtMs: s.expiresAtMs })) })),
    // Introduction counts of yesterday are kept: a server's day may start before a client's.
    forgetSpent: (nowMs) => writer.forgetSpent(nowMs, dayNumber(nowMs) - 1),
    knownBytes: () => storedBytes,
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
    isHealthy: async () => writer.isRunning() && health.isHealthy(),
    onAppended(listener) {
      appended.on('message', listener);
      return () => appended.off('message', listener);
    },
    async close() {
      await queue.drain();
      await writer.close();
      release();
    },
  };
}

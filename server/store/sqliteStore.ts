/**
 * The embedded store: SQLite through better-sqlite3, one row per message.
 *
 * Durability: WAL with `synchronous=FULL` makes SQLite fsync the WAL at every commit, so a committed
 * message survives a process crash and a power cut. (`NORMAL` in WAL mode syncs only at checkpoints:
 * it survives `kill -9` but may lose the last commits when the machine dies, which breaks the promise
 * of a 200.) The cost of one fsync per commit is shared by all messages in a group commit.
 *
 * `AUTOINCREMENT` keeps positions from being reused after the newest rows were deleted (expiry,
 * quota), so a cursor never silently skips a later message that got a recycled position.
 */
import Database from 'better-sqlite3';
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AppendNotice, DropQuery, DropStore, MessageStamp, StoredMessage } from './dropStore.js';
import { createGroupCommitQueue } from './groupCommit.js';
import { queryBounds } from './queryBounds.js';

const MAX_BATCH = 256;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS messages (
  position INTEGER PRIMARY KEY AUTOINCREMENT,
  drop_id TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  size INTEGER NOT NULL,
  body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_drop ON messages (drop_id, position);
CREATE INDEX IF NOT EXISTS messages_by_time ON messages (received_at_ms);
`;

interface Row {
  position: number;
  received_at_ms: number;
  body: Buffer;
}
type StampRow = Omit<Row, 'body'>;

interface AppendItem {
  dropId: string;
  body: Buffer;
  receivedAtMs: number;
}

const toMessage = (r: Row): StoredMessage => ({ position: r.position, receivedAtMs: r.received_at_ms, body: r.body });

/**
 * Opens (creating if needed) the SQLite database at `file` (`:memory:` for a throwaway store).
 * @throws Error when the file cannot be opened or is not a usable database
 */
export function openSqliteStore(file: string): DropStore {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
  } catch (error) {
    db.close();
    throw error;
  }

  const insert = db.prepare('INSERT INTO messages (drop_id, received_at_ms, size, body) VALUES (?, ?, ?, ?)');
  const newestStmt = db.prepare<[string, number, number], StampRow>(
    'SELECT position, received_at_ms FROM messages WHERE drop_id = ? AND position > ? AND received_at_ms >= ? ORDER BY position DESC LIMIT 1',
  );
  const listStmt = db.prepare<[string, number, number, number], Row>(
    'SELECT position, received_at_ms, body FROM messages WHERE drop_id = ? AND position > ? AND received_at_ms >= ? ORDER BY position LIMIT ?',
  );
  const atStmt = db.prepare<[string, number], Row>(
    'SELECT position, received_at_ms, body FROM messages WHERE drop_id = ? AND position = ?',
  );
  const expireStmt = db.prepare('DELETE FROM messages WHERE received_at_ms < ?');
  const quotaStmt = db.prepare(`DELETE FROM messages WHERE position <= (
    SELECT position FROM (SELECT position, SUM(size) OVER (ORDER BY position DESC) AS kept FROM messages)
    WHERE kept > ? ORDER BY position DESC LIMIT 1)`);
  const totalStmt = db.prepare<[], { total: number }>('SELECT total(size) AS total FROM messages');

  let storedBytes = totalStmt.get()?.total ?? 0;
  const appended = new EventEmitter();
  appended.setMaxListeners(0);

  const commitBatch = db.transaction((items: AppendItem[]): StoredMessage[] =>
    items.map((it) => {
      const info = insert.run(it.dropId, it.receivedAtMs, it.body.length, it.body);
      return { position: Number(info.lastInsertRowid), receivedAtMs: it.receivedAtMs, body: it.body };
    }),
  );
  const queue = createGroupCommitQueue<AppendItem, StoredMessage>((items) => {
    const stored = commitBatch(items);
    items.forEach((it, i) => {
      storedBytes += it.body.length;
      const message = stored[i]!;
      appended.emit('message', { dropId: it.dropId, position: message.position, message } satisfies AppendNotice);
    });
    return stored;
  }, MAX_BATCH);

  const recount = (): void => {
    storedBytes = totalStmt.get()?.total ?? 0;
  };

  return {
    append: (dropId, body, receivedAtMs) => queue.submit({ dropId, body, receivedAtMs }),
    async newest(query: DropQuery): Promise<MessageStamp | null> {
      const b = queryBounds(query);
      const row = newestStmt.get(query.dropId, b.afterPosition, b.minReceivedAtMs);
      return row ? { position: row.position, receivedAtMs: row.received_at_ms } : null;
    },
    async list(query, limit) {
      const b = queryBounds(query);
      return listStmt.all(query.dropId, b.afterPosition, b.minReceivedAtMs, limit).map(toMessage);
    },
    async messageAt(dropId, position) {
      const row = atStmt.get(dropId, position);
      return row ? toMessage(row) : null;
    },
    async deleteExpired(beforeMs) {
      const { changes } = expireStmt.run(beforeMs);
      if (changes > 0) recount();
      return changes;
    },
    async enforceQuota(maxBytes) {
      if (storedBytes <= maxBytes) return 0;
      const { changes } = quotaStmt.run(maxBytes);
      recount();
      return changes;
    },
    async storedBytes() {
      return storedBytes;
    },
    onAppended(listener) {
      appended.on('message', listener);
      return () => appended.off('message', listener);
    },
    async close() {
      await queue.drain();
      db.close();
    },
  };
}

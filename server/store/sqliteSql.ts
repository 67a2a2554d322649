/** The SQLite schema, connection settings and write statements, shared by the in-thread and worker writers. */

export const SQLITE_SCHEMA = `
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

/**
 * 8 KiB pages hold three 2149-byte messages where 4 KiB pages hold one: a third less to write,
 * checksum and fsync per message (it only takes effect when the file is created).
 * WAL with `synchronous=FULL`: every commit fsyncs the WAL, so a committed message survives a
 * process crash and a power cut. (`NORMAL` in WAL mode syncs only at checkpoints: it survives
 * `kill -9` but may lose the last commits when the machine dies, which breaks the promise of a 200.)
 */
export const SQLITE_PRAGMAS = ['page_size = 8192', 'journal_mode = WAL', 'synchronous = FULL', 'busy_timeout = 5000'];

export const SQLITE_WRITES = {
  insert: 'INSERT INTO messages (drop_id, received_at_ms, size, body) VALUES (?, ?, ?, ?)',
  expire: 'DELETE FROM messages WHERE received_at_ms < ?',
  /** Deletes the oldest rows so that the newest ones fit in the quota (`?`). */
  quota: `DELETE FROM messages WHERE position <= (
    SELECT position FROM (SELECT position, SUM(size) OVER (ORDER BY position DESC) AS kept FROM messages)
    WHERE kept > ? ORDER BY position DESC LIMIT 1)`,
  total: 'SELECT total(size) AS total FROM messages',
} as const;

/** One group commit, packed so that a worker receives it as a single transferable buffer. */
export interface PackedBatch {
  dropIds: string[];
  receivedAtMs: number[];
  sizes: number[];
  bodies: Uint8Array;
}

export interface AppendItem {
  dropId: string;
  body: Buffer;
  receivedAtMs: number;
}

export function packBatch(items: AppendItem[]): PackedBatch {
  // A fresh ArrayBuffer of its own: transferring a pooled Buffer's memory would break its neighbours.
  const bodies = new Uint8Array(items.reduce((sum, it) => sum + it.body.length, 0));
  let offset = 0;
  for (const it of items) {
    bodies.set(it.body, offset);
    offset += it.body.length;
  }
  return {
    dropIds: items.map((it) => it.dropId),
    receivedAtMs: items.map((it) => it.receivedAtMs),
    sizes: items.map((it) => it.body.length),
    bodies,
  };
}

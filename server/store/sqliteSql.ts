/** The SQLite schema, connection settings and write statements of the store and its writer thread. */
import { OPEN_ADMISSION, standingOf, type Admission } from './dropStore.js';

/**
 * `drops` keeps each drop's message count and bytes, maintained by triggers in the same transaction
 * as the rows themselves: the per-drop caps are checked against it on every append, and fair quota
 * eviction picks the largest drop from it without scanning the messages.
 */
export const SQLITE_SCHEMA = `
CREATE TABLE IF NOT EXISTS messages (
  position INTEGER PRIMARY KEY AUTOINCREMENT,
  drop_id TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  size INTEGER NOT NULL,
  body BLOB NOT NULL,
  standing INTEGER NOT NULL DEFAULT 1,
  nonce BLOB,
  nonce_expires_at_ms INTEGER
);
CREATE INDEX IF NOT EXISTS messages_by_drop ON messages (drop_id, position);
CREATE INDEX IF NOT EXISTS messages_by_time ON messages (received_at_ms);
CREATE TABLE IF NOT EXISTS drops (
  drop_id TEXT PRIMARY KEY,
  messages INTEGER NOT NULL,
  bytes INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS drops_by_bytes ON drops (bytes);
CREATE TRIGGER IF NOT EXISTS messages_counted AFTER INSERT ON messages BEGIN
  INSERT INTO drops (drop_id, messages, bytes) VALUES (new.drop_id, 1, new.size)
    ON CONFLICT (drop_id) DO UPDATE SET messages = messages + 1, bytes = bytes + excluded.bytes;
END;
CREATE TRIGGER IF NOT EXISTS messages_uncounted AFTER DELETE ON messages BEGIN
  UPDATE drops SET messages = messages - 1, bytes = bytes - old.size WHERE drop_id = old.drop_id;
  DELETE FROM drops WHERE drop_id = old.drop_id AND messages <= 0;
END;
CREATE TABLE IF NOT EXISTS drop_policies (
  drop_id TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  policy TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS spent_nonces (
  drop_id TEXT NOT NULL,
  nonce BLOB NOT NULL,
  expires_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS stamp_nonces (
  drop_id TEXT NOT NULL,
  nonce BLOB NOT NULL,
  expires_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS nonce_flush (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  position INTEGER NOT NULL
);
INSERT OR IGNORE INTO nonce_flush (id, position) SELECT 1, coalesce(max(position), 0) FROM messages;
CREATE TABLE IF NOT EXISTS intro_days (
  drop_id TEXT NOT NULL,
  day INTEGER NOT NULL,
  taken INTEGER NOT NULL,
  PRIMARY KEY (drop_id, day)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS health_probe (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  probed_at_ms INTEGER NOT NULL,
  padding BLOB
);
`;

/**
 * Schema versions, in `PRAGMA user_version`: 1 added the per-drop counters, 2 the `standing` column,
 * 3 the `nonce` columns (the anti-spam tables are new tables, created by `SQLITE_SCHEMA` itself).
 */
export const SQLITE_SCHEMA_VERSION = 3;
/** Adds `standing` (dropStore.ts `STANDING`) to a messages table written before it existed: old messages are plain. */
export const SQLITE_ADD_STANDING = 'ALTER TABLE messages ADD COLUMN standing INTEGER NOT NULL DEFAULT 1';
/**
 * Gives a messages table written before version 3 the ticket's or stamp's nonce of each message (the
 * writer's spent sets, sqliteWriter.ts): older messages have none, and `nonce_flush` starts past them.
 */
export const SQLITE_ADD_NONCE = 'ALTER TABLE messages ADD COLUMN nonce BLOB; ALTER TABLE messages ADD COLUMN nonce_expires_at_ms INTEGER';
/** Fills the counters of a database written before they existed (version 0). */
export const SQLITE_COUNT_DROPS = `DELETE FROM drops;
INSERT INTO drops (drop_id, messages, bytes) SELECT drop_id, count(*), sum(size) FROM messages GROUP BY drop_id;`;

/**
 * 8 KiB pages hold three 2149-byte messages where 4 KiB pages hold one: a third less to write,
 * checksum and fsync per message (it only takes effect when the file is created).
 * WAL with `synchronous=FULL`: every commit fsyncs the WAL, so a committed message survives a
 * process crash and a power cut. (`NORMAL` in WAL mode syncs only at checkpoints: it survives
 * `kill -9` but may lose the last commits when the machine dies, which breaks the promise of a 200.)
 */
export const SQLITE_PRAGMAS = ['page_size = 8192', 'journal_mode = WAL', 'synchronous = FULL', 'busy_timeout = 5000'];
/**
 * The writer never checkpoints: a checkpoint inside a commit made that POST (and every one queued
 * behind it) wait for copying the WAL into the database and its fsync. A checkpoint thread does it.
 */
export const SQLITE_WRITER_PRAGMAS = [...SQLITE_PRAGMAS, 'wal_autocheckpoint = 0'];

export const SQLITE_WRITES = {
  insert: 'INSERT INTO messages (drop_id, received_at_ms, size, body, standing, nonce, nonce_expires_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)',
  policySeq: 'SELECT seq FROM drop_policies WHERE drop_id = ?',
  savePolicy: 'INSERT INTO drop_policies (drop_id, seq, policy) VALUES (?, ?, ?) ON CONFLICT (drop_id) DO UPDATE SET seq = excluded.seq, policy = excluded.policy',
  spend: 'INSERT INTO spent_nonces (drop_id, nonce, expires_at_ms) VALUES (?, ?, ?)',
  spentLoad: 'SELECT drop_id, nonce, expires_at_ms FROM spent_nonces',
  /** Nonces of messages after position `?` not yet copied into their tables (a flush interval's worth). */
  nonceLoad: 'SELECT drop_id, nonce, nonce_expires_at_ms AS expires_at_ms, standing FROM messages WHERE position > ? AND nonce IS NOT NULL',
  flushedUpTo: 'SELECT position FROM nonce_flush WHERE id = 1',
  lastPosition: 'SELECT coalesce(max(position), 0) AS position FROM messages',
  flushSpent: 'INSERT INTO spent_nonces (drop_id, nonce, expires_at_ms) SELECT drop_id, nonce, nonce_expires_at_ms FROM messages WHERE position > ? AND nonce IS NOT NULL AND standing <> 0',
  flushStamps: 'INSERT INTO stamp_nonces (drop_id, nonce, expires_at_ms) SELECT drop_id, nonce, nonce_expires_at_ms FROM messages WHERE position > ? AND nonce IS NOT NULL AND standing = 0',
  setFlushed: 'UPDATE nonce_flush SET position = ? WHERE id = 1',
  introTaken: 'SELECT taken FROM intro_days WHERE drop_id = ? AND day = ?',
  introCount: 'INSERT INTO intro_days (drop_id, day, taken) VALUES (?, ?, 1) ON CONFLICT (drop_id, day) DO UPDATE SET taken = taken + 1',
  forgetSpent: 'DELETE FROM spent_nonces WHERE expires_at_ms < ?',
  stampLoad: 'SELECT drop_id, nonce, expires_at_ms FROM stamp_nonces WHERE expires_at_ms >= ?',
  stampForget: 'DELETE FROM stamp_nonces WHERE expires_at_ms < ?',
  forgetIntroDays: 'DELETE FROM intro_days WHERE day < ?',
  /** Place and size of every message of at most standing `?`, oldest first per drop (quota eviction). */
  rowsUpTo: 'SELECT drop_id, position, size FROM messages WHERE standing <= ? ORDER BY drop_id, position',
  deleteAt: 'DELETE FROM messages WHERE position = ?',
  usage: 'SELECT messages, bytes FROM drops WHERE drop_id = ?',
  expire: 'DELETE FROM messages WHERE received_at_ms < ?',
  /** The two drops holding the most bytes: the largest is trimmed down towards the second. */
  largest: 'SELECT drop_id, bytes FROM drops ORDER BY bytes DESC LIMIT 2',
  /** Deletes the oldest messages of drop `@drop` that together hold at least `@need` bytes (at least one message). */
  trim: `DELETE FROM messages WHERE drop_id = @drop AND position <= (
    SELECT position FROM (SELECT position, SUM(size) OVER (ORDER BY position) AS freed FROM messages WHERE drop_id = @drop)
    WHERE freed >= @need ORDER BY position LIMIT 1)`,
  total: 'SELECT total(bytes) AS total FROM drops',
  /** As many new pages as a message's commit needs, so that a disk too full for messages fails the probe too. */
  probe: `INSERT INTO health_probe (id, probed_at_ms, padding) VALUES (1, ?, randomblob(16384))
    ON CONFLICT (id) DO UPDATE SET probed_at_ms = excluded.probed_at_ms, padding = excluded.padding`,
} as const;

/** One group commit, packed so that a worker receives it as a single transferable buffer. */
export interface PackedBatch {
  dropIds: string[];
  receivedAtMs: number[];
  sizes: number[];
  /** The bodies one after another, then the nonces of the admissions that have one, in order. */
  bodies: Uint8Array;
  admissions: PackedAdmission[];
}

/** An `Admission` as the writer thread takes it (plain values that cross threads cheaply). */
export interface PackedAdmission {
  policySeq: number;
  standing: number;
  /** Length of the ticket's or stamp's nonce in `PackedBatch.bodies` (0: none). */
  nonceLength: number;
  expiresAtMs: number;
  introDay: number | null;
  introLimit: number;
}

export interface AppendItem {
  dropId: string;
  body: Buffer;
  receivedAtMs: number;
  /** Default: an open drop's plain POST. */
  admission?: Admission;
}

const packAdmission = (a: Admission): PackedAdmission => ({
  policySeq: a.policySeq,
  standing: standingOf(a),
  nonceLength: a.spend ? a.spend.nonce.length : 0,
  expiresAtMs: a.spend?.expiresAtMs ?? 0,
  introDay: a.intro?.day ?? null,
  introLimit: a.intro?.limit ?? 0,
});

export function packBatch(items: AppendItem[]): PackedBatch {
  // A fresh ArrayBuffer of its own: transferring a pooled Buffer's memory would break its neighbours.
  // The nonces ride in it too: an array of their own per message cost an ArrayBuffer to make, clone and collect.
  let bytes = 0;
  for (const it of items) bytes += it.body.length + (it.admission?.spend?.nonce.length ?? 0);
  const bodies = new Uint8Array(bytes);
  let offset = 0;
  for (const it of items) {
    bodies.set(it.body, offset);
    offset += it.body.length;
  }
  for (const it of items) {
    const nonce = it.admission?.spend?.nonce;
    if (!nonce) continue;
    bodies.set(nonce, offset);
    offset += nonce.length;
  }
  return {
    dropIds: items.map((it) => it.dropId),
    receivedAtMs: items.map((it) => it.receivedAtMs),
    sizes: items.map((it) => it.body.length),
    bodies,
    admissions: items.map((it) => packAdmission(it.admission ?? OPEN_ADMISSION)),
  };
}

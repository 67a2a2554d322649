/**
 * The shared store: PostgreSQL, for several server instances behind one load balancer.
 *
 * Cursor guarantee across instances: positions come from a single counter row that each append
 * transaction updates before inserting. The row lock is held until commit, so a transaction can only
 * take positions after every earlier holder has committed (or rolled back, returning its numbers).
 * Hence rows become visible in position order, and a reader that has seen position p will never
 * later see a newly committed row below p. A plain sequence would not give this: a transaction that
 * drew a lower value can commit after one that drew a higher value, and a cursor would skip it.
 * The price is one committing append transaction at a time; group commit keeps it cheap.
 *
 * Push across instances: the append transaction sends `NOTIFY`, which PostgreSQL delivers to every
 * listening instance at commit, so WebSocket clients on any instance hear of every message.
 */
import pg from 'pg';
import { EventEmitter } from 'node:events';
import { createServerLogger } from '../serverLog.js';
import type { AppendNotice, DropQuery, DropStore, StoreSettings, StoredMessage } from './dropStore.js';
import { createGroupCommitQueue } from './groupCommit.js';
import { queryBounds } from './queryBounds.js';

const log = createServerLogger('server/postgres');
const CHANNEL = 'deaddrop_appended';
/** Keeps one batch's NOTIFY payload (about 56 bytes a message) under PostgreSQL's 8000-byte limit. */
const MAX_BATCH = 100;
const LISTEN_RETRY_MS = 1000;
/** Serialises schema creation when several instances start at once. */
const MIGRATION_LOCK_KEY = 0x0dead0d;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS deaddrop_messages (
  position BIGINT PRIMARY KEY,
  drop_id TEXT NOT NULL,
  received_at_ms BIGINT NOT NULL,
  size INTEGER NOT NULL,
  body BYTEA NOT NULL
);
CREATE INDEX IF NOT EXISTS deaddrop_messages_by_drop ON deaddrop_messages (drop_id, position);
CREATE INDEX IF NOT EXISTS deaddrop_messages_by_time ON deaddrop_messages (received_at_ms);
CREATE TABLE IF NOT EXISTS deaddrop_counter (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  last_position BIGINT NOT NULL
);
INSERT INTO deaddrop_counter (id, last_position) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
`;

interface Row {
  position: string;
  received_at_ms: string;
  body: Buffer;
}
interface AppendItem {
  dropId: string;
  body: Buffer;
  receivedAtMs: number;
}

const toMessage = (r: Row): StoredMessage => ({
  position: Number(r.position),
  receivedAtMs: Number(r.received_at_ms),
  body: r.body,
});

async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

async function commitBatch(pool: pg.Pool, items: AppendItem[]): Promise<StoredMessage[]> {
  return inTransaction(pool, async (client) => {
    // A 200 promises durability, whatever the database's default for this setting is.
    await client.query('SET LOCAL synchronous_commit = on');
    const counter = await client.query<{ last_position: string }>(
      'UPDATE deaddrop_counter SET last_position = last_position + $1 WHERE id = 1 RETURNING last_position',
      [items.length],
    );
    const first = Number(counter.rows[0]!.last_position) - items.length + 1;
    const stored = items.map((it, i) => ({ position: first + i, receivedAtMs: it.receivedAtMs, body: it.body }));
    await client.query(
      `INSERT INTO deaddrop_messages (position, drop_id, received_at_ms, size, body)
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::int[], $5::bytea[])`,
      [
        stored.map((m) => m.position),
        items.map((it) => it.dropId),
        items.map((it) => it.receivedAtMs),
        items.map((it) => it.body.length),
        items.map((it) => it.body),
      ],
    );
    const payload = items.map((it, i) => `${it.dropId} ${stored[i]!.position}`).join(',');
    await client.query('SELECT pg_notify($1, $2)', [CHANNEL, payload]);
    return stored;
  });
}

function parseNotifyPayload(payload: string | undefined): AppendNotice[] {
  if (!payload) return [];
  return payload.split(',').flatMap((entry) => {
    const [dropId, position] = entry.split(' ');
    const n = Number(position);
    return dropId && Number.isSafeInteger(n) ? [{ dropId, position: n }] : [];
  });
}

/** Keeps one LISTEN connection open, reconnecting after failures until closed. */
function listenForAppends(url: string, emitter: EventEmitter): { close(): Promise<void> } {
  let closed = false;
  let client: pg.Client | null = null;
  let retry: NodeJS.Timeout | null = null;
  const connect = (): void => {
    const next = new pg.Client({ connectionString: url });
    client = next;
    const restart = (): void => {
      if (closed || client !== next) return;
      client = null;
      next.end().catch(() => undefined);
      retry = setTimeout(connect, LISTEN_RETRY_MS);
    };
    next.on('notification', (msg) => {
      for (const notice of parseNotifyPayload(msg.payload)) emitter.emit('message', notice);
    });
    next.on('error', (error) => {
      log.warn('push listener lost its database connection', { error: error.message });
      restart();
    });
    next.on('end', restart);
    next
      .connect()
      .then(() => next.query(`LISTEN ${CHANNEL}`))
      .catch((error: Error) => {
        log.warn('push listener could not connect', { error: error.message });
        restart();
      });
  };
  connect();
  return {
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      await client?.end().catch(() => undefined);
    },
  };
}

/**
 * Connects to PostgreSQL at `url`, creates the tables if needed, and starts listening for appends.
 * @throws Error when the database is unreachable or the schema cannot be created
 */
export async function openPostgresStore(url: string, settings: StoreSettings): Promise<DropStore> {
  void settings; // per-drop caps: enforced in the append transaction (in progress)
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 10_000 });
  pool.on('error', (error) => log.warn('idle database connection failed', { error: error.message }));
  const measureBytes = async (): Promise<number> => {
    const { rows } = await pool.query<{ total: string }>('SELECT COALESCE(SUM(size), 0) AS total FROM deaddrop_messages');
    return Number(rows[0]?.total ?? 0);
  };
  /**
   * Stored bytes as last measured plus what this instance appended since: lets the quota check
   * after each append skip the database. Other instances' appends count from the next sweep on.
   */
  let estimatedBytes: number;
  try {
    await inTransaction(pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      await client.query(SCHEMA);
    });
    estimatedBytes = await measureBytes();
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  const appended = new EventEmitter();
  appended.setMaxListeners(0);
  const listener = listenForAppends(url, appended);
  const queue = createGroupCommitQueue<AppendItem, StoredMessage>(async (items) => {
    const stored = await commitBatch(pool, items);
    for (const it of items) estimatedBytes += it.body.length;
    return stored;
  }, MAX_BATCH);

  const select = async (sql: string, params: unknown[]): Promise<Row[]> => (await pool.query<Row>(sql, params)).rows;
  const columns = 'position, received_at_ms, body';
  const where = 'drop_id = $1 AND position > $2 AND received_at_ms >= $3';

  return {
    append: (dropId, body, receivedAtMs) => queue.submit({ dropId, body, receivedAtMs }),
    async newest(query: DropQuery) {
      const b = queryBounds(query);
      const rows = await select(
        `SELECT position, received_at_ms FROM deaddrop_messages WHERE ${where} ORDER BY position DESC LIMIT 1`,
        [query.dropId, b.afterPosition, b.minReceivedAtMs],
      );
      const row = rows[0];
      return row ? { position: Number(row.position), receivedAtMs: Number(row.received_at_ms) } : null;
    },
    async list(query, limit) {
      const b = queryBounds(query);
      const rows = await select(
        `SELECT ${columns} FROM deaddrop_messages WHERE ${where} ORDER BY position LIMIT $4`,
        [query.dropId, b.afterPosition, b.minReceivedAtMs, limit],
      );
      return rows.map(toMessage);
    },
    async messageAt(dropId, position) {
      const rows = await select(`SELECT ${columns} FROM deaddrop_messages WHERE drop_id = $1 AND position = $2`, [
        dropId,
        position,
      ]);
      return rows[0] ? toMessage(rows[0]) : null;
    },
    async deleteExpired(beforeMs) {
      const result = await pool.query('DELETE FROM deaddrop_messages WHERE received_at_ms < $1', [beforeMs]);
      estimatedBytes = await measureBytes();
      return result.rowCount ?? 0;
    },
    async enforceQuota(maxBytes) {
      if (estimatedBytes <= maxBytes) return 0;
      const result = await pool.query(
        `DELETE FROM deaddrop_messages WHERE position <= (
           SELECT position FROM (SELECT position, SUM(size) OVER (ORDER BY position DESC) AS kept FROM deaddrop_messages) t
           WHERE kept > $1 ORDER BY position DESC LIMIT 1)`,
        [maxBytes],
      );
      estimatedBytes = await measureBytes();
      return result.rowCount ?? 0;
    },
    storedBytes: measureBytes,
    async isHealthy() {
      return pool.query('SELECT 1').then(
        () => true,
        () => false,
      );
    },
    onAppended(listen) {
      appended.on('message', listen);
      return () => appended.off('message', listen);
    },
    async close() {
      await queue.drain();
      await listener.close();
      await pool.end();
    },
  };
}

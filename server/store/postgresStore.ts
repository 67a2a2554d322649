/**
 * The shared store: PostgreSQL, for several server instances behind one load balancer.
 *
 * Cursor guarantee. Each drop has a row in `deaddrop_drops` with its last position and its message
 * and byte counts. An append transaction (`deaddrop_append` in `postgresSql.ts`, one per group
 * commit) locks the rows of its drops and holds the locks until it commits. So within a drop,
 * positions are issued in commit order: a transaction draws positions only after every earlier
 * holder of the row has committed (or rolled back, and then nobody saw its positions). PostgreSQL
 * makes a commit visible to new snapshots before it releases the committing transaction's locks,
 * so a reader that sees position p of a drop also sees every lower position that drop will ever
 * hold, and a cursor never skips a message. Nor is one repeated: a cursor asks for positions above
 * it, and a position once seen is never issued again. Every transaction that locks several drop
 * rows (appends, expiry, eviction) locks them in drop ID order, so two instances never wait for
 * each other crosswise. Drops share nothing else: instances append to different drops in parallel.
 * What is still shared is PostgreSQL's ordering of NOTIFY commits, which covers only the commit
 * record's flush.
 *
 * Positions never go back. A new one is `GREATEST(last + 1, database clock in microseconds)`. A
 * drop's row is deleted only after it has been empty for a day, and a row created again starts from
 * the clock, above anything issued a day before (unless the database clock goes back by more than
 * that). The microsecond clock stays within JavaScript's safe integers until the year 2255.
 * Databases of the earlier schema (one global counter, `deaddrop_counter`) are migrated in place
 * at start: each drop continues above the global counter's value, so old cursors stay valid. Stop
 * every instance of the old version first: they would write to the counter the migration removes.
 *
 * Caps are checked in the append transaction against the drop's row while it is locked, so
 * instances together never store more than the caps allow.
 *
 * Polls from memory (`newestCache.ts`). The newest message of each drop is remembered, so HEAD and
 * GET with a current cursor need no database read. Why a remembered answer is never ahead of the
 * database and lags behind it only briefly:
 * - This instance's appends are recorded after their commit. Other instances' appends arrive as
 *   notifications, which PostgreSQL delivers after the commit, in commit order. The cache keeps the
 *   highest position it heard of, which is a committed message; until a commit's notification has
 *   arrived, polls here may hear "nothing new" and the client gets the message on a later poll.
 * - A database read that began before a commit may finish after that commit's notification. Reads
 *   take a ticket first, and the cache ignores an answer when it heard of the drop since the ticket.
 * - Deletes (expiry, quota) notify too: every instance then forgets everything.
 * - While the LISTEN connection is down, notifications are lost: the cache is suspended (forgets
 *   everything and answers nothing, so polls read the database). After reconnecting, LISTEN comes
 *   first: every commit after it will be heard; then the cache forgets again (dropping answers of
 *   reads that began earlier, which may predate commits whose notifications were lost); only then
 *   does it answer. A connection that dies silently is caught by a heartbeat within seconds.
 *
 * Expiry and quota eviction run in one instance at a time (advisory lock); they keep the per-drop
 * counters in the same transaction as the deletes.
 */
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServerLogger } from '../serverLog.js';
import {
  OPEN_ADMISSION,
  STANDING,
  standingOf,
  type Admission,
  type AppendNotice,
  type DropQuery,
  type DropStore,
  type MessageStamp,
  type StoreSettings,
  type StoredMessage,
} from './dropStore.js';
import { createGroupCommitQueue } from './groupCommit.js';
import { createNewestCache, type NewestCache } from './newestCache.js';
import { listenForCommits, type CommitListener } from './postgresNotifications.js';
import {
  APPEND,
  APPEND_FUNCTION,
  DELETE_EXPIRED,
  DELETED_CHANNEL,
  EVICT_LARGEST_FIRST,
  EVICT_UP_TO,
  EVICTION_BOUNDS,
  EVICTION_BOUNDS_UP_TO,
  FORGET_EMPTY_DROPS,
  FORGET_INTRO_DAYS,
  FORGET_SPENT,
  POLICY_LOCK,
  POLICY_READ,
  POLICY_SAVE,
  STRIKE,
  HAS_GLOBAL_COUNTER,
  MIGRATE_FROM_GLOBAL_COUNTER,
  MIGRATION_LOCK_KEY,
  PROBE,
  READS,
  SCHEMA,
  SWEEP_LOCK_KEY,
} from './postgresSql.js';
import { queryBounds } from './queryBounds.js';
import { refusal } from './appendRefusal.js';
import { trackWrites } from './writeHealth.js';
import { dayNumber } from '../../shared/spam/day.js';

const log = createServerLogger('server/postgres');
const MAX_BATCH = 256;
/**
 * A second group commit may run while the first waits for its flush: in parallel on other drops,
 * or waiting in the database for the same drops' rows instead of a round trip to this process.
 */
const WRITES_IN_FLIGHT = 2;

interface StampRow {
  position: string;
  received_at_ms: string;
}
interface Row extends StampRow {
  body: Buffer;
}
interface AppendItem {
  dropId: string;
  body: Buffer;
  receivedAtMs: number;
  admission: Admission;
}

const toStamp = (r: StampRow): MessageStamp => ({ position: Number(r.position), receivedAtMs: Number(r.received_at_ms) });
const toMessage = (r: Row): StoredMessage => ({ ...toStamp(r), body: r.body });

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

async function prepareSchema(pool: pg.Pool): Promise<void> {
  await inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(SCHEMA);
    const { rows } = await client.query<{ found: boolean }>(HAS_GLOBAL_COUNTER);
    if (rows[0]?.found) {
      await client.query(MIGRATE_FROM_GLOBAL_COUNTER);
      log.info('migrated the database from one global position counter to positions per drop');
    }
    await client.query(APPEND_FUNCTION);
  });
}

/**
 * Connects to PostgreSQL at `url`, creates or migrates the tables, and starts listening for commits.
 * @throws Error when the database is unreachable or the schema cannot be prepared
 */
export async function openPostgresStore(url: string, settings: StoreSettings): Promise<DropStore> {
  // A 200 promises durability, whatever the database's default for this setting is.
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    connectionTimeoutMillis: 10_000,
    application_name: 'deaddrop',
    options: '-c synchronous_commit=on',
  });
  pool.on('error', (error) => log.warn('idle database connection failed', { error: error.message }));
  try {
    await prepareSchema(pool);
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  return postgresStore(url, pool, settings);
}

function postgresStore(url: string, pool: pg.Pool, settings: StoreSettings): DropStore {
  /** Tells this instance's notifications from the others'. */
  const instance = randomBytes(6).toString('base64url');
  const cache = createNewestCache();
  // Nothing is heard of other instances' commits until LISTEN is in place.
  cache.suspend();
  const appended = new EventEmitter();
  appended.setMaxListeners(0);
  const health = trackWrites(() => pool.query(PROBE));

  const select = async <R extends pg.QueryResultRow>(name: string, text: string, values: unknown[]): Promise<R[]> =>
    (await pool.query<R>({ name, text, values })).rows;
  const measureBytes = async (): Promise<number> =>
    Number((await select<{ total: string }>('deaddrop_total', READS.totalBytes, []))[0]?.total ?? 0);
  /**
   * Stored bytes as last measured plus every append heard of since: lets the quota check after
   * each append skip the database. Measured again by every sweep.
   */
  let estimatedBytes = 0;
  const remeasure = (): void => {
    measureBytes().then(
      (total) => (estimatedBytes = total),
      (error: Error) => log.warn('could not measure the stored bytes', { error: error.message }),
    );
  };
  remeasure();

  const listener = listenForCommits(url, commitListener({ instance, cache, appended, remeasure, count: (bytes) => (estimatedBytes += bytes) }));

  const queue = createGroupCommitQueue<AppendItem, StoredMessage | Error>(async (items) => {
    const positions = await health.writing(appendBatch(pool, instance, items, settings));
    return items.map((it, i) => {
      const refused = refusal(positions[i]!, it.dropId);
      if (refused) return refused;
      const message = { position: positions[i]!, receivedAtMs: it.receivedAtMs, body: it.body };
      estimatedBytes += it.body.length;
      cache.appended(it.dropId, message);
      appended.emit('message', { dropId: it.dropId, position: message.position, message } satisfies AppendNotice);
      return message;
    });
  }, MAX_BATCH, WRITES_IN_FLIGHT);

  const lookUpNewest = async (dropId: string, notBeforeMs: number): Promise<MessageStamp | null> => {
    const ticket = cache.ticket();
    const [row] = await select<StampRow>('deaddrop_newest', READS.newest, [dropId, 0, notBeforeMs]);
    const newest = row ? toStamp(row) : null;
    cache.learn(dropId, newest, ticket);
    return newest;
  };

  /**
   * A page that ends before the limit ends with the drop's newest message; an empty page after a
   * cursor says only that nothing is newer than it, so the newest is looked up for later polls.
   */
  const learnFromPage = (query: DropQuery, page: StoredMessage[], limit: number, ticket: number): void => {
    if (query.since.kind === 'receivedFrom') return;
    if (page.length > 0 && page.length < limit) cache.learn(query.dropId, page[page.length - 1]!, ticket);
    else if (page.length === 0 && query.since.kind === 'all') cache.learn(query.dropId, null, ticket);
    else if (page.length === 0 && !cache.isSuspended()) {
      lookUpNewest(query.dropId, query.notBeforeMs).catch((error: Error) =>
        log.warn('could not look up the newest message', { error: error.message }),
      );
    }
  };

  /** One sweep transaction, one instance at a time; the others forget what they remember. */
  const sweep = async (work: (client: pg.PoolClient) => Promise<number>): Promise<number> => {
    const { deleted, total } = await health.writing(
      inTransaction(pool, async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1)', [SWEEP_LOCK_KEY]);
        const count = await work(client);
        if (count > 0) await client.query(`SELECT pg_notify($1, '')`, [DELETED_CHANNEL]);
        const { rows } = await client.query<{ total: string }>(READS.totalBytes);
        return { deleted: count, total: Number(rows[0]!.total) };
      }),
    );
    if (deleted > 0) cache.clear();
    estimatedBytes = total;
    return deleted;
  };

  return {
    async append(dropId, body, receivedAtMs, admission = OPEN_ADMISSION) {
      const stored = await queue.submit({ dropId, body, receivedAtMs, admission });
      if (stored instanceof Error) throw stored;
      return stored;
    },
    async policy(dropId) {
      const [row] = await select<{ seq: string; policy: string }>('deaddrop_policy', POLICY_READ, [dropId]);
      return row ? { seq: Number(row.seq), json: row.policy } : null;
    },
    savePolicy: (dropId, policy, previousSeq, strikes) =>
      health.writing(
        inTransaction(pool, async (client) => {
          const { rows } = await client.query<{ seq: string }>(POLICY_LOCK, [dropId]);
          if (Number(rows[0]?.seq ?? 0) !== previousSeq) return false;
          const saved = await client.query(POLICY_SAVE, [dropId, policy.seq, policy.json, previousSeq]);
          // A claim raced by another instance's claim inserts nothing (the row it found absent exists now).
          if (saved.rowCount !== 1) return false;
          if (strikes.length > 0) await client.query(STRIKE, [dropId, strikes.map((s) => s.nonce), strikes.map((s) => s.expiresAtMs)]);
          return true;
        }),
      ),
    async forgetSpent(nowMs) {
      const spent = await pool.query(FORGET_SPENT, [nowMs]);
      // Introduction counts of yesterday are kept: a server's day may start before a client's.
      const days = await pool.query(FORGET_INTRO_DAYS, [dayNumber(nowMs) - 1]);
      return (spent.rowCount ?? 0) + (days.rowCount ?? 0);
    },
    knownBytes: () => estimatedBytes,
    async newest(query: DropQuery) {
      const known = cache.answer(query);
      if (known !== undefined) return known;
      if (query.since.kind === 'receivedFrom') {
        const b = queryBounds(query);
        const [row] = await select<StampRow>('deaddrop_newest', READS.newest, [query.dropId, b.afterPosition, b.minReceivedAtMs]);
        return row ? toStamp(row) : null;
      }
      // The drop's newest answers this query and every later poll.
      const newest = await lookUpNewest(query.dropId, query.notBeforeMs);
      const after = query.since.kind === 'afterPosition' ? query.since.position : 0;
      return newest && newest.position > after ? newest : null;
    },
    async list(query, limit) {
      if (cache.answer(query) === null) return [];
      const ticket = cache.ticket();
      const b = queryBounds(query);
      const rows = await select<Row>('deaddrop_list', READS.list, [query.dropId, b.afterPosition, b.minReceivedAtMs, limit]);
      const messages = rows.map(toMessage);
      learnFromPage(query, messages, limit, ticket);
      return messages;
    },
    async messageAt(dropId, position) {
      const [row] = await select<Row>('deaddrop_at', READS.at, [dropId, position]);
      return row ? toMessage(row) : null;
    },
    deleteExpired: (beforeMs) =>
      sweep(async (client) => {
        const { rows } = await client.query<{ deleted: string }>(DELETE_EXPIRED, [beforeMs]);
        await client.query(FORGET_EMPTY_DROPS);
        return Number(rows[0]!.deleted);
      }),
    async enforceQuota(maxBytes) {
      if (estimatedBytes <= maxBytes) return 0;
      return sweep(async (client) => {
        let deleted = 0;
        // Stamped messages first, then plain ones, and only then ticketed mail (STANDING).
        for (const standing of [STANDING.stamped, STANDING.plain]) {
          const [bounds] = (await client.query<{ level: string; excess: string }>(EVICTION_BOUNDS_UP_TO, [maxBytes, standing])).rows;
          if (!bounds) continue;
          const { rows } = await client.query<{ deleted: string }>(EVICT_UP_TO, [bounds.level, bounds.excess, standing]);
          deleted += Number(rows[0]!.deleted);
        }
        const [bounds] = (await client.query<{ level: string; excess: string }>(EVICTION_BOUNDS, [maxBytes])).rows;
        if (!bounds) return deleted;
        const { rows } = await client.query<{ deleted: string }>(EVICT_LARGEST_FIRST, [bounds.level, bounds.excess]);
        return deleted + Number(rows[0]!.deleted);
      });
    },
    storedBytes: measureBytes,
    isHealthy: health.isHealthy,
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

/** One group commit in one statement (and so one transaction); a negative code where an item was refused. */
async function appendBatch(pool: pg.Pool, instance: string, items: AppendItem[], settings: StoreSettings): Promise<number[]> {
  const { rows } = await pool.query<{ positions: (string | null)[] }>({
    name: 'deaddrop_append',
    text: APPEND,
    values: [
      instance,
      items.map((it) => it.dropId),
      items.map((it) => it.receivedAtMs),
      items.map((it) => it.body.length),
      Buffer.concat(items.map((it) => it.body)),
      settings.dropCaps.maxMessages,
      settings.dropCaps.maxBytes,
      items.map((it) => it.admission.policySeq),
      items.map((it) => standingOf(it.admission)),
      items.map((it) => it.admission.spend?.nonce ?? null),
      items.map((it) => it.admission.spend?.expiresAtMs ?? 0),
      items.map((it) => it.admission.intro?.day ?? null),
      items.map((it) => it.admission.intro?.limit ?? 0),
    ],
  });
  return rows[0]!.positions.map(Number);
}

/** What the store does with news of commits (see the cache rules in the header). */
function commitListener(deps: {
  instance: string;
  cache: NewestCache;
  appended: EventEmitter;
  remeasure(): void;
  count(bytes: number): void;
}): CommitListener {
  const { cache } = deps;
  return {
    instance: deps.instance,
    live() {
      cache.resume();
      deps.remeasure();
    },
    lost: () => cache.suspend(),
    appended(lines) {
      for (const line of lines) {
        deps.count(line.size);
        cache.appended(line.dropId, { position: line.position, receivedAtMs: line.receivedAtMs });
        deps.appended.emit('message', { dropId: line.dropId, position: line.position } satisfies AppendNotice);
      }
    },
    deleted: () => cache.clear(),
  };
}

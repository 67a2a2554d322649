/**
 * A database of the earlier schema (one global position counter) is migrated in place when the
 * store opens: cursors that clients hold continue, nothing is skipped or repeated.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DropQuery, DropStore } from '../../server/store/dropStore.js';
import { openPostgresStore } from '../../server/store/postgresStore.js';
import { newDropId } from './dropClient.js';
import { createTestDatabase, explainPostgresSkip, PG_URL, type TestDatabase } from './postgresDatabase.js';

explainPostgresSkip();

/** The schema as the store created it before positions per drop. */
const GLOBAL_COUNTER_SCHEMA = `
CREATE TABLE deaddrop_messages (
  position BIGINT PRIMARY KEY,
  drop_id TEXT NOT NULL,
  received_at_ms BIGINT NOT NULL,
  size INTEGER NOT NULL,
  body BYTEA NOT NULL
);
CREATE INDEX deaddrop_messages_by_drop ON deaddrop_messages (drop_id, position);
CREATE INDEX deaddrop_messages_by_time ON deaddrop_messages (received_at_ms);
CREATE TABLE deaddrop_counter (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  last_position BIGINT NOT NULL
);
`;

const SETTINGS = { dropCaps: { maxMessages: 1000, maxBytes: 1e6 } };
const after = (dropId: string, position: number): DropQuery => ({ dropId, since: { kind: 'afterPosition', position }, notBeforeMs: 0 });
const bodiesAfter = async (store: DropStore, dropId: string, position: number): Promise<number[]> =>
  (await store.list(after(dropId, position), 100)).map((m) => m.body[0]!);

describe.skipIf(!PG_URL)('PostgreSQL store: migration from one global position counter', () => {
  let database: TestDatabase;
  const [busy, quiet, emptied] = [newDropId(), newDropId(), newDropId()];

  beforeAll(async () => {
    database = await createTestDatabase(PG_URL!);
    const sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    try {
      await sql.query(GLOBAL_COUNTER_SCHEMA);
      // Positions 1..5 were shared by the drops; `emptied` got position 6, which has since expired.
      const rows: [number, string][] = [[1, busy], [2, quiet], [3, busy], [4, busy], [5, quiet]];
      for (const [position, dropId] of rows) {
        await sql.query('INSERT INTO deaddrop_messages VALUES ($1, $2, $3, 1, $4)', [position, dropId, 1000 + position, Buffer.of(position)]);
      }
      await sql.query('INSERT INTO deaddrop_counter VALUES (1, 6)');
    } finally {
      await sql.end();
    }
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('keeps the stored positions, and cursors continue without a skip or a repeat', async () => {
    const store = await openPostgresStore(database.url, SETTINGS);
    try {
      expect(await bodiesAfter(store, busy, 0)).toEqual([1, 3, 4]);
      expect(await bodiesAfter(store, busy, 3)).toEqual([4]);
      expect(await bodiesAfter(store, quiet, 2)).toEqual([5]);

      // Clients whose cursors are the old positions 4, 5 and 6.
      const newBusy = await store.append(busy, Buffer.of(10), 2000);
      const newQuiet = await store.append(quiet, Buffer.of(11), 2000);
      const newEmptied = await store.append(emptied, Buffer.of(12), 2000);
      expect(await bodiesAfter(store, busy, 4)).toEqual([10]);
      expect(await bodiesAfter(store, quiet, 5)).toEqual([11]);
      expect(await bodiesAfter(store, emptied, 6)).toEqual([12]);
      for (const m of [newBusy, newQuiet, newEmptied]) expect(m.position).toBeGreaterThan(6);
      expect(await bodiesAfter(store, busy, newBusy.position)).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('leaves the new schema behind and opens it again as it is', async () => {
    const sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    try {
      expect((await sql.query(`SELECT to_regclass('deaddrop_counter') AS t`)).rows[0].t).toBeNull();
      const counts = await sql.query('SELECT drop_id, message_count::int AS n FROM deaddrop_drops ORDER BY message_count');
      expect(counts.rows.map((r: { n: number }) => r.n)).toEqual([1, 3, 4]);
    } finally {
      await sql.end();
    }
    const store = await openPostgresStore(database.url, SETTINGS);
    try {
      expect(await bodiesAfter(store, busy, 0)).toEqual([1, 3, 4, 10]);
    } finally {
      await store.close();
    }
  });
});

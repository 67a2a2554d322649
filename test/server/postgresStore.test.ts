/**
 * The PostgreSQL store on its own: per-drop caps, the per-drop counters through expiry and
 * eviction, fair quota eviction, time filters, and write health. Each test gets a fresh database.
 */
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { DropFullError, type DropCaps, type DropQuery, type DropStore } from '../../server/store/dropStore.js';
import { openPostgresStore } from '../../server/store/postgresStore.js';
import { newDropId } from './dropClient.js';
import { createTestDatabase, explainPostgresSkip, PG_URL, type TestDatabase } from './postgresDatabase.js';

explainPostgresSkip();

const ROOMY: DropCaps = { maxMessages: 1_000_000, maxBytes: 1e12 };
const all = (dropId: string): DropQuery => ({ dropId, since: { kind: 'all' }, notBeforeMs: 0 });
const bodiesOf = async (store: DropStore, dropId: string): Promise<number[]> =>
  (await store.list(all(dropId), 1000)).map((m) => m.body[0]!);

describe.skipIf(!PG_URL)('PostgreSQL store', () => {
  let cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    cleanups = [];
  });

  async function open(dropCaps: DropCaps = ROOMY): Promise<{ store: DropStore; database: TestDatabase; sql: pg.Client }> {
    const database = await createTestDatabase(PG_URL!);
    const store = await openPostgresStore(database.url, { dropCaps });
    const sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    cleanups.push(async () => {
      await sql.end();
      await store.close();
      await database.drop();
    });
    return { store, database, sql };
  }

  /** Drops whose counters disagree with their messages (none, when the counters are kept right). */
  async function miscounted(sql: pg.Client): Promise<unknown[]> {
    const { rows } = await sql.query(`
      SELECT d.drop_id FROM deaddrop_drops d
      LEFT JOIN (SELECT drop_id, count(*) AS n, sum(size) AS bytes FROM deaddrop_messages GROUP BY drop_id) m USING (drop_id)
      WHERE d.message_count <> COALESCE(m.n, 0) OR d.byte_count <> COALESCE(m.bytes, 0)`);
    return rows;
  }

  it('refuses the items of one group commit that would pass a drop cap, and stores the rest', async () => {
    const { store, sql } = await open({ maxMessages: 3, maxBytes: 1000 });
    const [full, other, heavy] = [newDropId(), newDropId(), newDropId()];
    const results = await Promise.allSettled([
      ...[1, 2, 3, 4, 5].map((n) => store.append(full, Buffer.of(n), n)),
      store.append(other, Buffer.of(9), 9),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected', 'fulfilled']);
    for (const r of results.slice(3, 5)) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(DropFullError);
    expect(await bodiesOf(store, full)).toEqual([1, 2, 3]);
    expect(await bodiesOf(store, other)).toEqual([9]);

    await store.append(heavy, Buffer.alloc(400, 1), 1);
    await store.append(heavy, Buffer.alloc(400, 2), 2);
    await expect(store.append(heavy, Buffer.alloc(400, 3), 3)).rejects.toBeInstanceOf(DropFullError);
    await store.append(heavy, Buffer.alloc(200, 4), 4);
    expect(await bodiesOf(store, heavy)).toEqual([1, 2, 4]);
    expect(await miscounted(sql)).toEqual([]);
  });

  it('counts expired messages off their drop, so a full drop takes messages again', async () => {
    const { store, sql } = await open({ maxMessages: 2, maxBytes: 1000 });
    const drop = newDropId();
    await store.append(drop, Buffer.of(1), 1000);
    await store.append(drop, Buffer.of(2), 2000);
    await expect(store.append(drop, Buffer.of(3), 3000)).rejects.toBeInstanceOf(DropFullError);
    expect(await store.deleteExpired(1500)).toBe(1);
    await store.append(drop, Buffer.of(4), 4000);
    expect(await bodiesOf(store, drop)).toEqual([2, 4]);
    expect(await miscounted(sql)).toEqual([]);
  });

  it('evicts over the quota from the drop holding the most bytes, oldest first, and nothing from the others', async () => {
    const { store, sql } = await open();
    const [flooded, small, tiny] = [newDropId(), newDropId(), newDropId()];
    // The small drops' messages are the oldest: evicting the globally oldest would take them first.
    await store.append(small, Buffer.alloc(100, 1), 1);
    await store.append(tiny, Buffer.alloc(100, 1), 2);
    await store.append(small, Buffer.alloc(100, 2), 3);
    for (let n = 1; n <= 10; n++) await store.append(flooded, Buffer.alloc(100, n), 10 + n);

    expect(await store.enforceQuota(1000)).toBe(3);
    expect(await bodiesOf(store, flooded)).toEqual([4, 5, 6, 7, 8, 9, 10]);
    expect(await bodiesOf(store, small)).toEqual([1, 2]);
    expect(await bodiesOf(store, tiny)).toEqual([1]);

    // Down to 500: the flooded drop goes down to 200 bytes, still no less than the small drop.
    expect(await store.enforceQuota(500)).toBe(5);
    expect(await bodiesOf(store, flooded)).toEqual([9, 10]);
    expect(await bodiesOf(store, small)).toEqual([1, 2]);
    expect(await bodiesOf(store, tiny)).toEqual([1]);
    expect(await store.storedBytes()).toBe(500);

    // Down to 300: now the two largest share the loss, one message each.
    expect(await store.enforceQuota(300)).toBe(2);
    expect(await bodiesOf(store, flooded)).toEqual([10]);
    expect(await bodiesOf(store, small)).toEqual([2]);
    expect(await bodiesOf(store, tiny)).toEqual([1]);
    expect(await store.enforceQuota(300)).toBe(0);
    expect(await miscounted(sql)).toEqual([]);
  });

  it('keeps positions growing after a drop was emptied and forgotten', async () => {
    const { store, sql } = await open();
    const drop = newDropId();
    const first = await store.append(drop, Buffer.of(1), 1000);
    expect(await store.deleteExpired(2000)).toBe(1);
    // Pretend the empty drop is a day old, so the next sweep forgets its row.
    await sql.query('UPDATE deaddrop_drops SET last_position = last_position - 86400000001 WHERE drop_id = $1', [drop]);
    await store.deleteExpired(2000);
    expect((await sql.query('SELECT 1 FROM deaddrop_drops WHERE drop_id = $1', [drop])).rowCount).toBe(0);
    const second = await store.append(drop, Buffer.of(2), 3000);
    expect(second.position).toBeGreaterThan(first.position);
    const after = await store.list({ dropId: drop, since: { kind: 'afterPosition', position: first.position }, notBeforeMs: 0 }, 10);
    expect(after.map((m) => m.body[0])).toEqual([2]);
  });

  it('answers time filters from the database', async () => {
    const { store } = await open();
    const drop = newDropId();
    for (const t of [1000, 2000, 3000]) await store.append(drop, Buffer.of(t / 1000), t);
    const from = (minReceivedAtMs: number): DropQuery => ({ dropId: drop, since: { kind: 'receivedFrom', minReceivedAtMs }, notBeforeMs: 0 });
    expect((await store.list(from(2000), 10)).map((m) => m.body[0])).toEqual([2, 3]);
    expect(await store.newest(from(2000))).toMatchObject({ receivedAtMs: 3000 });
    expect(await store.newest(from(3001))).toBeNull();
    expect(await store.list({ ...from(0), notBeforeMs: 2500 }, 10)).toHaveLength(1);
  });

  it('reports unhealthy after a failed write until a probe write succeeds', async () => {
    const { store, sql } = await open();
    await sql.query(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$`);
    await sql.query('CREATE TRIGGER refuse_messages BEFORE INSERT ON deaddrop_messages FOR EACH ROW EXECUTE FUNCTION refuse()');
    await sql.query('CREATE TRIGGER refuse_probes BEFORE UPDATE ON deaddrop_probe FOR EACH ROW EXECUTE FUNCTION refuse()');
    expect(await store.isHealthy()).toBe(true);
    await expect(store.append(newDropId(), Buffer.of(1), 1)).rejects.toThrow(/disk full/);
    expect(await store.isHealthy()).toBe(false);

    await sql.query('DROP FUNCTION refuse() CASCADE');
    // At most one probe a second: the first call after the repair may still report the failure.
    const answers: boolean[] = [];
    for (let attempt = 0; attempt < 30 && !answers.includes(true); attempt++) {
      answers.push(await store.isHealthy());
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(answers).toContain(true);
    await store.append(newDropId(), Buffer.of(2), 2);
    expect(await store.isHealthy()).toBe(true);
  });
});

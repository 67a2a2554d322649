import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SQLITE_PRAGMAS, SQLITE_SCHEMA, SQLITE_WRITER_PRAGMAS } from './sqliteSql.js';
import { DROP_FULL, startWorkerWriter, type WriterSettings } from './sqliteWriter.js';

const UNCAPPED: WriterSettings = { caps: { maxMessages: 1e9, maxBytes: 1e15 }, pragmas: SQLITE_WRITER_PRAGMAS };
const drop = (c: string): string => c.repeat(43);

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function freshDatabase(): { file: string; db: Database.Database } {
  const dir = mkdtempSync(join(tmpdir(), 'deaddrop-writer-'));
  dirs.push(dir);
  const file = join(dir, 'drops.db');
  const db = new Database(file);
  for (const pragma of SQLITE_PRAGMAS) db.pragma(pragma);
  db.exec(SQLITE_SCHEMA);
  return { file, db };
}

describe('startWorkerWriter', () => {
  it('commits batches in its thread with increasing positions, visible to other connections', async () => {
    const { file, db } = freshDatabase();
    const writer = await startWorkerWriter(file, UNCAPPED);
    const item = (n: number) => ({ dropId: 'A'.repeat(43), body: Buffer.from([n, n, n]), receivedAtMs: n });
    const first = await writer.append([item(1), item(2)]);
    const second = await writer.append([item(3)]);
    expect(first).toEqual([1, 2]);
    expect(second).toEqual([3]);
    const rows = db.prepare('SELECT position, body FROM messages ORDER BY position').all() as { position: number; body: Buffer }[];
    expect(rows.map((r) => [r.position, Array.from(r.body)])).toEqual([[1, [1, 1, 1]], [2, [2, 2, 2]], [3, [3, 3, 3]]]);
    expect(await writer.deleteExpired(3)).toEqual({ deleted: 2, totalBytes: 3 });
    expect(writer.isRunning()).toBe(true);
    await writer.close();
    db.close();
  });

  it('reports itself stopped and refuses appends after its thread ended', async () => {
    const { file, db } = freshDatabase();
    const writer = await startWorkerWriter(file, UNCAPPED);
    await writer.close();
    expect(writer.isRunning()).toBe(false);
    await expect(writer.append([{ dropId: 'A'.repeat(43), body: Buffer.from([1]), receivedAtMs: 1 }])).rejects.toThrow('stopped');
    db.close();
  });

  it('fails to start, with the driver error, where no database can be opened', async () => {
    const { file, db } = freshDatabase();
    db.close();
    await expect(startWorkerWriter(join(file, 'not-a-directory', 'x.db'), UNCAPPED)).rejects.toThrow(/unable to open|directory/i);
  });

  it('refuses items of a drop at its message or byte cap, and stores the rest of the batch', async () => {
    const { file, db } = freshDatabase();
    const writer = await startWorkerWriter(file, { ...UNCAPPED, caps: { maxMessages: 2, maxBytes: 10 } });
    const item = (id: string, size: number) => ({ dropId: drop(id), body: Buffer.alloc(size, 1), receivedAtMs: 1 });
    expect(await writer.append([item('A', 1), item('A', 1), item('A', 1), item('B', 6), item('B', 5), item('C', 11)])).toEqual([
      1, 2, DROP_FULL, 3, DROP_FULL, DROP_FULL,
    ]);
    // Room again once the drop shrinks (the counters follow deletes).
    db.prepare('DELETE FROM messages WHERE position = 1').run();
    expect(await writer.append([item('A', 1)])).toEqual([4]);
    expect(db.prepare('SELECT drop_id, messages, bytes FROM drops ORDER BY drop_id').all()).toEqual([
      { drop_id: drop('A'), messages: 2, bytes: 2 },
      { drop_id: drop('B'), messages: 1, bytes: 6 },
    ]);
    await writer.close();
    db.close();
  });

  it('evicts fairly: the largest drop loses its own oldest messages first', async () => {
    const { file, db } = freshDatabase();
    const writer = await startWorkerWriter(file, UNCAPPED);
    const item = (id: string, n: number) => ({ dropId: drop(id), body: Buffer.alloc(100, n), receivedAtMs: n });
    // Two small drops hold the oldest messages; a flood into F comes later.
    await writer.append([item('A', 1), item('B', 2)]);
    await writer.append(Array.from({ length: 50 }, (_, n) => item('F', 10 + n)));
    const result = await writer.enforceQuota(1000);
    expect(result.totalBytes).toBeLessThanOrEqual(1000);
    const left = db.prepare('SELECT drop_id, received_at_ms FROM messages ORDER BY position').all() as { drop_id: string; received_at_ms: number }[];
    expect(left.filter((r) => r.drop_id !== drop('F')).map((r) => r.received_at_ms)).toEqual([1, 2]);
    // F kept its newest messages.
    expect(left.filter((r) => r.drop_id === drop('F')).map((r) => r.received_at_ms)).toEqual([52, 53, 54, 55, 56, 57, 58, 59]);
    expect(result.deleted).toBe(42);
    // Once every drop is equally large, they shrink together.
    expect((await writer.enforceQuota(200)).totalBytes).toBe(200);
    expect(db.prepare('SELECT count(DISTINCT drop_id) AS n FROM messages').get()).toEqual({ n: 2 });
    await writer.close();
    db.close();
  });

  it('answers a probe write while the database takes writes', async () => {
    const { file, db } = freshDatabase();
    const writer = await startWorkerWriter(file, UNCAPPED);
    await writer.probe(5);
    expect(db.prepare('SELECT probed_at_ms FROM health_probe').get()).toEqual({ probed_at_ms: 5 });
    await writer.close();
    db.close();
  });
});

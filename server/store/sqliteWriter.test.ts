import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SQLITE_PRAGMAS, SQLITE_SCHEMA } from './sqliteSql.js';
import { startWorkerWriter } from './sqliteWriter.js';

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
    const writer = await startWorkerWriter(file);
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
    const writer = await startWorkerWriter(file);
    await writer.close();
    expect(writer.isRunning()).toBe(false);
    await expect(writer.append([{ dropId: 'A'.repeat(43), body: Buffer.from([1]), receivedAtMs: 1 }])).rejects.toThrow('stopped');
    db.close();
  });

  it('fails to start, with the driver error, where no database can be opened', async () => {
    const { file, db } = freshDatabase();
    db.close();
    await expect(startWorkerWriter(join(file, 'not-a-directory', 'x.db'))).rejects.toThrow(/unable to open|directory/i);
  });
});

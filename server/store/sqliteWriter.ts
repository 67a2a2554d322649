/**
 * Writers of the SQLite store. A file database is written by a worker thread with its own
 * connection: a durable commit waits for fsync, and in a worker that wait no longer stops the main
 * thread from parsing requests and serving reads (WAL lets the two connections work side by side).
 * An in-memory database cannot be shared between connections, so it is written in-thread.
 */
import type Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { packBatch, SQLITE_PRAGMAS, SQLITE_WRITES, type AppendItem, type PackedBatch } from './sqliteSql.js';

export interface DeleteResult {
  deleted: number;
  /** Stored bytes after the delete. */
  totalBytes: number;
}

export interface SqliteWriter {
  /** Commits all items in one transaction; resolves with their positions, in order. */
  append(items: AppendItem[]): Promise<number[]>;
  deleteExpired(beforeMs: number): Promise<DeleteResult>;
  enforceQuota(maxBytes: number): Promise<DeleteResult>;
  /** False once the writer has stopped (closed, or its thread died). */
  isRunning(): boolean;
  close(): Promise<void>;
}

type WriterCommand =
  | { kind: 'append'; batch: PackedBatch }
  | { kind: 'expire'; beforeMs: number }
  | { kind: 'quota'; maxBytes: number };

/**
 * Runs inside the worker (an eval'ed CommonJS script, so it loads with or without a TypeScript
 * loader and inside bundles). Keep it in step with `runInThread` below.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driverPath);
const sql = workerData.sql;
const db = new Database(workerData.file);
for (const pragma of workerData.pragmas) db.pragma(pragma);
const insert = db.prepare(sql.insert);
const expire = db.prepare(sql.expire);
const quota = db.prepare(sql.quota);
const total = db.prepare(sql.total);
const append = db.transaction((batch) => {
  const bodies = Buffer.from(batch.bodies.buffer, batch.bodies.byteOffset, batch.bodies.byteLength);
  const positions = [];
  let offset = 0;
  for (let i = 0; i < batch.dropIds.length; i++) {
    const size = batch.sizes[i];
    const info = insert.run(batch.dropIds[i], batch.receivedAtMs[i], size, bodies.subarray(offset, offset + size));
    offset += size;
    positions.push(Number(info.lastInsertRowid));
  }
  return positions;
});
const deleted = (changes) => ({ deleted: changes, totalBytes: total.get().total });
parentPort.on('message', ({ id, command }) => {
  if (command.kind === 'close') { db.close(); parentPort.close(); return; }
  try {
    const result = command.kind === 'append' ? append(command.batch)
      : command.kind === 'expire' ? deleted(expire.run(command.beforeMs).changes)
      : deleted(quota.run(command.maxBytes).changes);
    parentPort.postMessage({ id, result });
  } catch (error) {
    parentPort.postMessage({ id, error: String((error && error.message) || error) });
  }
});
parentPort.postMessage({ id: 0, result: 'ready' });
`;

export function createInThreadWriter(db: Database.Database): SqliteWriter {
  const insert = db.prepare(SQLITE_WRITES.insert);
  const expire = db.prepare(SQLITE_WRITES.expire);
  const quota = db.prepare(SQLITE_WRITES.quota);
  const total = db.prepare<[], { total: number }>(SQLITE_WRITES.total);
  const append = db.transaction((items: AppendItem[]) =>
    items.map((it) => Number(insert.run(it.dropId, it.receivedAtMs, it.body.length, it.body).lastInsertRowid)),
  );
  const deleted = (changes: number): DeleteResult => ({ deleted: changes, totalBytes: total.get()?.total ?? 0 });
  return {
    append: async (items) => append(items),
    deleteExpired: async (beforeMs) => deleted(expire.run(beforeMs).changes),
    enforceQuota: async (maxBytes) => deleted(quota.run(maxBytes).changes),
    isRunning: () => db.open,
    close: async () => undefined,
  };
}

interface Reply {
  id: number;
  result?: unknown;
  error?: string;
}

/** Starts the writer thread on `file` (whose schema must exist already). */
export async function startWorkerWriter(file: string): Promise<SqliteWriter> {
  const driverPath = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { file, driverPath, sql: SQLITE_WRITES, pragmas: SQLITE_PRAGMAS },
  });
  const waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextId = 1;
  let failure: Error | null = null;
  const failAll = (error: Error): void => {
    failure = error;
    for (const w of waiting.values()) w.reject(error);
    waiting.clear();
  };
  worker.on('message', (reply: Reply) => {
    const w = waiting.get(reply.id);
    waiting.delete(reply.id);
    if (reply.error !== undefined) w?.reject(new Error(reply.error));
    else w?.resolve(reply.result);
  });
  worker.on('error', failAll);
  worker.on('exit', () => failAll(new Error('the SQLite writer thread has stopped')));

  const call = (command: WriterCommand): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (failure) return reject(failure);
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      const transfer = command.kind === 'append' ? [command.batch.bodies.buffer as ArrayBuffer] : [];
      worker.postMessage({ id, command }, transfer);
    });

  // The worker announces itself with id 0 once its database is open, or fails with an error.
  const ready = new Promise((resolve, reject) => waiting.set(0, { resolve, reject }));
  try {
    await ready;
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  return {
    append: async (items) => (await call({ kind: 'append', batch: packBatch(items) })) as number[],
    deleteExpired: async (beforeMs) => (await call({ kind: 'expire', beforeMs })) as DeleteResult,
    enforceQuota: async (maxBytes) => (await call({ kind: 'quota', maxBytes })) as DeleteResult,
    isRunning: () => failure === null,
    async close() {
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.postMessage({ id: -1, command: { kind: 'close' } });
      await exited;
    },
  };
}


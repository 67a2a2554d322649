/**
 * The SQLite store's writer: a worker thread with its own connection. A durable commit waits for
 * fsync, and in a worker that wait no longer stops the main thread from parsing requests and
 * serving reads (WAL lets the connections work side by side). A second small thread checkpoints the
 * WAL into the database, so no commit ever waits for a checkpoint.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { DROP_FULL, INTRO_QUOTA, NONCE_SPENT, POLICY_CHANGED } from './appendRefusal.js';
import { STANDING, type DropCaps } from './dropStore.js';
import { packBatch, SQLITE_WRITES, type AppendItem, type PackedBatch } from './sqliteSql.js';

export interface DeleteResult {
  deleted: number;
  /** Stored bytes after the delete. */
  totalBytes: number;
}

export { DROP_FULL } from './appendRefusal.js';

export interface SqliteWriter {
  /** Commits all items in one transaction; resolves with their positions (or a refusal code), in order. */
  append(items: AppendItem[]): Promise<number[]>;
  /** Compare-and-set of a drop's policy plus its strikes (see `DropStore.savePolicy`). */
  savePolicy(change: PolicyChange): Promise<boolean>;
  /** Deletes spent nonces expired before `nowMs` and introduction counts before `beforeDay`. */
  forgetSpent(nowMs: number, beforeDay: number): Promise<number>;
  deleteExpired(beforeMs: number): Promise<DeleteResult>;
  /** Fair eviction (see `DropStore.enforceQuota`). */
  enforceQuota(maxBytes: number): Promise<DeleteResult>;
  /** A tiny durable write: resolves when the write path works again, rejects while it does not. */
  probe(nowMs: number): Promise<void>;
  /** False once the writer has stopped (closed, or its thread died). */
  isRunning(): boolean;
  close(): Promise<void>;
}

export interface PolicyChange {
  dropId: string;
  seq: number;
  json: string;
  previousSeq: number;
  strikes: { nonce: Uint8Array; expiresAtMs: number }[];
}

type WriterCommand =
  | { kind: 'append'; batch: PackedBatch }
  | { kind: 'policy'; change: PolicyChange }
  | { kind: 'forget'; nowMs: number; beforeDay: number }
  | { kind: 'expire'; beforeMs: number }
  | { kind: 'quota'; maxBytes: number }
  | { kind: 'probe'; nowMs: number };

/** Runs inside the writer thread (an eval'ed CommonJS script, so it loads with or without a TypeScript loader and inside bundles). */
const WRITER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driverPath);
const { sql, caps } = workerData;
const db = new Database(workerData.file);
for (const pragma of workerData.pragmas) db.pragma(pragma);
const insert = db.prepare(sql.insert);
const usage = db.prepare(sql.usage);
const expire = db.prepare(sql.expire);
const largest = db.prepare(sql.largest);
const trim = db.prepare(sql.trim);
const total = db.prepare(sql.total);
const probe = db.prepare(sql.probe);
const policySeq = db.prepare(sql.policySeq);
const savePolicy = db.prepare(sql.savePolicy);
const spend = db.prepare(sql.spend);
const introTaken = db.prepare(sql.introTaken);
const introCount = db.prepare(sql.introCount);
const forgetSpent = db.prepare(sql.forgetSpent);
const forgetIntroDays = db.prepare(sql.forgetIntroDays);
const stampForget = db.prepare(sql.stampForget);
// The spent sets are checked here in memory and only appended to their tables (no index): a
// random-key index insert per ticket or stamp dirtied a page of its own in every commit and cut the
// POST rate to a third. One process owns the database; the tables restore the memory at start.
// Tickets: a 48-bit hash of (drop, nonce) per spent ticket (a false "spent" needs a collision among
// the live entries: about 1 in 10^8 at a million), pruned by expiry day. Stamps: ten minutes' worth.
// A message's nonce is stored in its own row, in the same commit: a row of its own in
// spent_nonces or stamp_nonces per message still dirtied one more page per commit and cost a ticketed
// POST a fifth of the rate. The rows are copied into those tables in bulk (flushNonces) about once a
// second and before any message is deleted; at start the messages after the last copy are read too.
const { hash } = require('node:crypto');
const spentKey = (dropId, nonce) => hash('sha256', Buffer.concat([Buffer.from(dropId, 'latin1'), nonce]), 'buffer').readUIntBE(0, 6);
const spentTickets = new Set();
const spentByExpiry = new Map();
const markSpent = (key, expiresAtMs) => {
  spentTickets.add(key);
  let keys = spentByExpiry.get(expiresAtMs);
  if (!keys) spentByExpiry.set(expiresAtMs, (keys = []));
  keys.push(key);
};
const recentStamps = new Map();
const stampKey = (dropId, nonce) => dropId + Buffer.from(nonce.buffer, nonce.byteOffset, nonce.byteLength).toString('latin1');
const startMs = Date.now();
for (const r of db.prepare(sql.spentLoad).iterate()) markSpent(spentKey(r.drop_id, r.nonce), r.expires_at_ms);
for (const r of db.prepare(sql.stampLoad).iterate(startMs)) recentStamps.set(stampKey(r.drop_id, r.nonce), r.expires_at_ms);
let flushedUpTo = db.prepare(sql.flushedUpTo).get().position;
let lastPosition = Math.max(flushedUpTo, db.prepare(sql.lastPosition).get().position);
for (const r of db.prepare(sql.nonceLoad).iterate(flushedUpTo)) {
  if (r.standing !== ${STANDING.stamped}) markSpent(spentKey(r.drop_id, r.nonce), r.expires_at_ms);
  else if (r.expires_at_ms >= startMs) recentStamps.set(stampKey(r.drop_id, r.nonce), r.expires_at_ms);
}
const flushSpent = db.prepare(sql.flushSpent);
const flushStamps = db.prepare(sql.flushStamps);
const setFlushed = db.prepare(sql.setFlushed);
const FLUSH_INTERVAL_MS = 1000;
let flushedAtMs = startMs;
// Inside a transaction: copies the nonces of messages stored since the last copy into their tables.
const flushNonces = () => {
  flushedAtMs = Date.now();
  if (lastPosition <= flushedUpTo) return;
  flushSpent.run(flushedUpTo);
  flushStamps.run(flushedUpTo);
  setFlushed.run(lastPosition);
  flushedUpTo = lastPosition;
};
const ticketSpent = (dropId, nonce, expiresAtMs) => {
  const key = spentKey(dropId, nonce);
  if (spentTickets.has(key)) return true;
  markSpent(key, expiresAtMs);
  return false;
};
const stampSpent = (dropId, nonce, expiresAtMs) => {
  const key = stampKey(dropId, nonce);
  if (recentStamps.has(key)) return true;
  recentStamps.set(key, expiresAtMs);
  return false;
};

const rowsUpTo = db.prepare(sql.rowsUpTo);
const deleteAt = db.prepare(sql.deleteAt);
// Every check of an admission happens here, in the transaction that stores the message: a refused
// message spends no ticket, and a spent ticket is never accepted twice.
const admit = (dropId, size, a, nonce) => {
  const current = policySeq.get(dropId);
  if ((current ? current.seq : 0) !== a.policySeq) return ${POLICY_CHANGED};
  const held = usage.get(dropId) || { messages: 0, bytes: 0 };
  if (held.messages >= caps.maxMessages || held.bytes + size > caps.maxBytes) return ${DROP_FULL};
  if (a.introDay !== null) {
    const taken = introTaken.get(dropId, a.introDay);
    if ((taken ? taken.taken : 0) >= a.introLimit) return ${INTRO_QUOTA};
  }
  if (nonce !== null && a.standing === ${STANDING.stamped}) {
    if (stampSpent(dropId, nonce, a.expiresAtMs)) return ${NONCE_SPENT};
  } else if (nonce !== null && ticketSpent(dropId, nonce, a.expiresAtMs)) return ${NONCE_SPENT};
  if (a.introDay !== null) introCount.run(dropId, a.introDay);
  return 0;
};
const append = db.transaction((batch) => {
  const bodies = Buffer.from(batch.bodies.buffer, batch.bodies.byteOffset, batch.bodies.byteLength);
  const positions = [];
  let offset = 0;
  let nonceAt = 0;
  for (const size of batch.sizes) nonceAt += size;
  for (let i = 0; i < batch.dropIds.length; i++) {
    const size = batch.sizes[i];
    const body = bodies.subarray(offset, offset + size);
    offset += size;
    const a = batch.admissions[i];
    const nonce = a.nonceLength === 0 ? null : bodies.subarray(nonceAt, nonceAt + a.nonceLength);
    nonceAt += a.nonceLength;
    const refused = admit(batch.dropIds[i], size, a, nonce);
    if (refused !== 0) {
      positions.push(refused);
      continue;
    }
    const position = Number(insert.run(batch.dropIds[i], batch.receivedAtMs[i], size, body, a.standing, nonce, nonce === null ? null : a.expiresAtMs).lastInsertRowid);
    positions.push(position);
    if (position > lastPosition) lastPosition = position;
  }
  if (Date.now() - flushedAtMs >= FLUSH_INTERVAL_MS) flushNonces();
  return positions;
});
const changePolicy = db.transaction((c) => {
  const current = policySeq.get(c.dropId);
  if ((current ? current.seq : 0) !== c.previousSeq) return false;
  savePolicy.run(c.dropId, c.seq, c.json);
  // Struck tickets have no message row to carry them: their own rows, in this commit.
  for (const s of c.strikes) if (!ticketSpent(c.dropId, s.nonce, s.expiresAtMs)) spend.run(c.dropId, s.nonce, s.expiresAtMs);
  return true;
});
const forget = db.transaction((nowMs, beforeDay) => {
  flushNonces();
  let forgotten = stampForget.run(nowMs).changes + forgetIntroDays.run(beforeDay).changes;
  for (const [key, expiresAtMs] of recentStamps) if (expiresAtMs < nowMs) recentStamps.delete(key);
  // Tickets expire by whole days: the table is scanned only when a day's tickets have expired.
  let expiredDay = false;
  for (const [expiresAtMs, keys] of spentByExpiry) {
    if (expiresAtMs >= nowMs) continue;
    for (const key of keys) spentTickets.delete(key);
    spentByExpiry.delete(expiresAtMs);
    expiredDay = true;
  }
  if (expiredDay) forgotten += forgetSpent.run(nowMs).changes;
  return forgotten;
});
// One tier of eviction: among messages of at most standing (dropStore.ts STANDING), "the drop
// holding the most such bytes loses its oldest such message", repeated until excess bytes are freed
// or none is left. One scan of those rows and a heap of drops by bytes; eviction is rare (ticketless
// POSTs stop below the quota, so only ticketed mail takes a store past it).
const evictUpTo = (standing, excess) => {
  const byDrop = new Map();
  for (const r of rowsUpTo.iterate(standing)) {
    let d = byDrop.get(r.drop_id);
    if (!d) byDrop.set(r.drop_id, (d = { bytes: 0, rows: [], next: 0 }));
    d.bytes += r.size;
    d.rows.push(r);
  }
  const heap = [...byDrop.values()];
  const swap = (a, b) => { const t = heap[a]; heap[a] = heap[b]; heap[b] = t; };
  const down = (i) => {
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let top = i;
      if (l < heap.length && heap[l].bytes > heap[top].bytes) top = l;
      if (r < heap.length && heap[r].bytes > heap[top].bytes) top = r;
      if (top === i) return;
      swap(i, top);
      i = top;
    }
  };
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) down(i);
  let freed = 0;
  let deleted = 0;
  while (freed < excess && heap.length > 0) {
    const d = heap[0];
    const row = d.rows[d.next++];
    deleted += deleteAt.run(row.position).changes;
    freed += row.size;
    d.bytes -= row.size;
    if (d.next === d.rows.length) {
      heap[0] = heap[heap.length - 1];
      heap.pop();
    }
    if (heap.length > 0) down(0);
  }
  return deleted;
};
// While over the quota after that, the largest drop loses its own oldest messages: down to the size
// of the next-largest, or by the excess, whichever is less, and always at least one message.
const enforceQuota = db.transaction((maxBytes) => {
  // A deleted message takes its nonce with it: the copy goes first.
  flushNonces();
  let deleted = 0;
  for (const standing of [${STANDING.stamped}, ${STANDING.plain}]) {
    const bytes = total.get().total;
    if (bytes > maxBytes) deleted += evictUpTo(standing, bytes - maxBytes);
  }
  for (let bytes = total.get().total; bytes > maxBytes; bytes = total.get().total) {
    const [top, next] = largest.all();
    const target = Math.max(next ? next.bytes : 0, top.bytes - (bytes - maxBytes));
    deleted += trim.run({ drop: top.drop_id, need: top.bytes - target }).changes;
  }
  return deleted;
});
const expireBefore = db.transaction((beforeMs) => {
  flushNonces();
  return expire.run(beforeMs).changes;
});
const deleted = (changes) => ({ deleted: changes, totalBytes: total.get().total });
parentPort.on('message', ({ id, command }) => {
  if (command.kind === 'close') { try { db.transaction(flushNonces)(); } catch { /* the next start reads them from the messages */ } db.close(); parentPort.close(); return; }
  try {
    const result = command.kind === 'append' ? append(command.batch)
      : command.kind === 'policy' ? changePolicy(command.change)
      : command.kind === 'forget' ? forget(command.nowMs, command.beforeDay)
      : command.kind === 'expire' ? deleted(expireBefore(command.beforeMs))
      : command.kind === 'quota' ? deleted(enforceQuota(command.maxBytes))
      : probe.run(command.nowMs) && null;
    parentPort.postMessage({ id, result });
  } catch (error) {
    parentPort.postMessage({ id, error: String((error && error.message) || error) });
  }
});
parentPort.postMessage({ id: 0, result: 'ready' });
`;

/**
 * Copies the WAL into the database in the background. PASSIVE never blocks the writer or readers;
 * the writer starts the WAL over once a checkpoint has caught up.
 */
const CHECKPOINT_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driverPath);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* the next round tries again */ }
}, workerData.intervalMs);
parentPort.on('message', () => { clearInterval(timer); db.close(); parentPort.close(); });
`;
const CHECKPOINT_INTERVAL_MS = 250;

interface Reply {
  id: number;
  result?: unknown;
  error?: string;
}

export interface WriterSettings {
  caps: DropCaps;
  /** Pragmas of the writer connection (a throwaway database runs without fsync). */
  pragmas: readonly string[];
}

function exited(worker: Worker): Promise<unknown> {
  return new Promise((resolve) => worker.once('exit', resolve));
}

/** Starts the writer and checkpoint threads on `file` (whose schema must exist already). */
export async function startWorkerWriter(file: string, settings: WriterSettings): Promise<SqliteWriter> {
  const driverPath = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WRITER_SOURCE, {
    eval: true,
    workerData: { file, driverPath, sql: SQLITE_WRITES, pragmas: settings.pragmas, caps: settings.caps },
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
  const checkpointer = new Worker(CHECKPOINT_SOURCE, {
    eval: true,
    workerData: { file, driverPath, intervalMs: CHECKPOINT_INTERVAL_MS },
  });
  checkpointer.on('error', () => undefined);
  return {
    append: async (items) => (await call({ kind: 'append', batch: packBatch(items) })) as number[],
    savePolicy: async (change) => (await call({ kind: 'policy', change })) as boolean,
    forgetSpent: async (nowMs, beforeDay) => (await call({ kind: 'forget', nowMs, beforeDay })) as number,
    deleteExpired: async (beforeMs) => (await call({ kind: 'expire', beforeMs })) as DeleteResult,
    enforceQuota: async (maxBytes) => (await call({ kind: 'quota', maxBytes })) as DeleteResult,
    probe: async (nowMs) => void (await call({ kind: 'probe', nowMs })),
    isRunning: () => failure === null,
    async close() {
      const stopped = Promise.all([exited(worker), exited(checkpointer)]);
      checkpointer.postMessage('close');
      worker.postMessage({ id: -1, command: { kind: 'close' } });
      await stopped;
    },
  };
}

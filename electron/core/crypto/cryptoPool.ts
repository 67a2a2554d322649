/**
 * A pool of crypto worker threads: seals messages and trial-opens whole batches off the main thread.
 * Each worker runs one task at a time; a worker that dies mid-task is replaced and its task retried.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { KeyPair, TrialHit } from '../../../shared/protocol/boxTypes.js';
import { type Logger, createLogger } from '../../../shared/log.js';
import { type CryptoKind, type CryptoReply, type CryptoResponseMap, type RequestOfKind, packPdus } from '../../workers/cryptoProtocol.js';

export interface CryptoPoolOptions {
  /** Worker count; defaults to the core count (at most 8). */
  size?: number;
  /** Worker entry module: the TypeScript source by default; the packaged app passes a bundled .js. */
  workerEntry?: URL;
  /** How many times a task is tried in a fresh worker after its worker died. */
  maxAttempts?: number;
  /** Extra data handed to each worker (fault-injection entries in tests read it). */
  workerData?: Record<string, unknown>;
  logger?: Logger;
}

export interface CryptoPool {
  readonly size: number;
  seal(sender: KeyPair, recipientPublicKey: Uint8Array, payload: Uint8Array): Promise<Uint8Array>;
  /** For every PDU, the identity that opens it (index into `identities`) or null. Keeps input order. */
  trialOpen(identities: readonly KeyPair[], pdus: readonly Uint8Array[]): Promise<(TrialHit | null)[]>;
  close(): Promise<void>;
}

interface Task {
  /** Built at each dispatch: a transferred buffer is gone after the first try. */
  request(): { request: RequestOfKind<CryptoKind>; transfer: ArrayBuffer[] };
  attempts: number;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  task: Task | null;
  /** Envelope number of the request in flight: a reply must carry it. */
  seq: number;
}

const DEFAULT_ENTRY = new URL('../../workers/cryptoWorker.ts', import.meta.url);
const BOOTSTRAP = new URL('../../workers/bootstrap.mjs', import.meta.url);
/** Small enough to spread a batch over every worker and to make a retry cheap. */
const MIN_CHUNK = 64;

export function defaultPoolSize(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}

/** Starts the workers and resolves once every one has answered `init`. */
export async function createCryptoPool(options: CryptoPoolOptions = {}): Promise<CryptoPool> {
  const size = options.size ?? defaultPoolSize();
  const entry = options.workerEntry ?? DEFAULT_ENTRY;
  const maxAttempts = options.maxAttempts ?? 3;
  const log = options.logger ?? createLogger('crypto-pool');
  const queue: Task[] = [];
  const slots: Slot[] = [];
  let closing = false;
  let seq = 0;
  let readyWaiters: (() => void)[] = [];
  /** Workers that died before answering `init`: a broken entry must not respawn forever. */
  let startupFailures = 0;
  let fatal: Error | null = null;

  const wakeReadyWaiters = (): void => {
    const waiting = readyWaiters;
    readyWaiters = [];
    waiting.forEach((wake) => wake());
  };

  const pump = (): void => {
    for (const slot of slots) {
      if (!slot.ready || slot.task || queue.length === 0) continue;
      const task = queue.shift()!;
      slot.task = task;
      task.attempts++;
      slot.seq = ++seq;
      const { request, transfer } = task.request();
      slot.worker.postMessage({ seq: slot.seq, request }, transfer);
    }
  };

  const spawn = (): Slot => {
    const worker = new Worker(BOOTSTRAP, {
      workerData: { entry: entry.href, registerTsx: entry.pathname.endsWith('.ts'), ...options.workerData },
    });
    const slot: Slot = { worker, ready: false, task: null, seq: ++seq };
    worker.on('message', (reply: CryptoReply) => {
      if (reply.seq !== slot.seq) return; // not the answer to what this worker was asked last
      if (!slot.ready) {
        slot.ready = true;
        wakeReadyWaiters();
        pump();
        return;
      }
      const task = slot.task;
      slot.task = null;
      if (task) {
        if (reply.response.ok) task.resolve(reply.response.value);
        else task.reject(new Error(reply.response.error.message));
      }
      pump();
    });
    worker.on('error', (err) => log.warn('crypto worker failed', { error: err.message }));
    worker.on('exit', (code) => {
      const index = slots.indexOf(slot);
      if (index >= 0) slots.splice(index, 1);
      if (closing) return;
      log.warn('crypto worker exited; replacing it', { code });
      const task = slot.task;
      if (task) {
        if (task.attempts >= maxAttempts) task.reject(new Error('The crypto worker kept failing on this task.'));
        else queue.unshift(task);
      }
      if (!slot.ready && ++startupFailures >= maxAttempts) {
        fatal = new Error('The crypto workers cannot start.');
        for (const waiting of queue.splice(0)) waiting.reject(fatal);
        wakeReadyWaiters();
        return;
      }
      slots.push(spawn());
    });
    worker.postMessage({ seq: slot.seq, request: { kind: 'init' } });
    return slot;
  };

  const run = <K extends CryptoKind>(build: () => { request: RequestOfKind<K>; transfer: ArrayBuffer[] }): Promise<CryptoResponseMap[K]> => {
    if (fatal) return Promise.reject(fatal);
    if (closing) return Promise.reject(new Error('The crypto pool is closed.'));
    return new Promise<CryptoResponseMap[K]>((resolve, reject) => {
      queue.push({ request: build, attempts: 0, resolve: resolve as (value: unknown) => void, reject });
      pump();
    });
  };

  for (let i = 0; i < size; i++) slots.push(spawn());
  await new Promise<void>((resolve) => {
    const check = () => (fatal || slots.every((s) => s.ready) ? resolve() : readyWaiters.push(check));
    check();
  });
  if (fatal) throw fatal;

  return {
    size,
    async seal(sender, recipientPublicKey, payload) {
      return (await run<'seal'>(() => ({ request: { kind: 'seal', sender, recipientPublicKey, payload }, transfer: [] }))).pdu;
    },
    async trialOpen(identities, pdus) {
      if (pdus.length === 0 || identities.length === 0) return pdus.map(() => null);
      const chunk = Math.max(MIN_CHUNK, Math.ceil(pdus.length / (size * 4)));
      const jobs: Promise<CryptoResponseMap['trialOpen']>[] = [];
      for (let start = 0; start < pdus.length; start += chunk) {
        const slice = pdus.slice(start, start + chunk);
        jobs.push(
          run<'trialOpen'>(() => {
            const { packed, lengths } = packPdus(slice);
            return { request: { kind: 'trialOpen', identities: [...identities], packed, lengths }, transfer: [packed.buffer as ArrayBuffer] };
          }),
        );
      }
      return (await Promise.all(jobs)).flatMap((done) => done.hits);
    },
    async close() {
      if (closing) return;
      closing = true;
      const closed = new Error('The crypto pool is closed.');
      for (const task of queue.splice(0)) task.reject(closed);
      for (const slot of slots) slot.task?.reject(closed);
      await Promise.all(
        slots.map(
          (slot) =>
            new Promise<void>((resolve) => {
              const timer = setTimeout(() => void slot.worker.terminate(), 2000);
              slot.worker.once('exit', () => {
                clearTimeout(timer);
                resolve();
              });
              slot.worker.postMessage({ seq: ++seq, request: { kind: 'close' } });
            }),
        ),
      );
    },
  };
}

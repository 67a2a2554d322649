/**
 * A pool of crypto worker threads: seals messages, trial-opens whole batches and derives passphrase
 * keys (Argon2id) off the main thread. Each worker runs one task at a time; a worker that dies
 * mid-task, or does not answer in time (hung), is replaced and its task retried.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { PassphraseKdf } from '../../../shared/protocol/argon2id.js';
import type { KeyPair, TrialHit } from '../../../shared/protocol/boxTypes.js';
import { type Logger, createLogger } from '../../../shared/log.js';
import { type CryptoKind, type CryptoReply, type CryptoResponseMap, type RequestOfKind, packPdus } from '../../workers/cryptoProtocol.js';

export interface CryptoPoolOptions {
  /** Worker count; defaults to the core count (at most 8). */
  size?: number;
  /**
   * Workers started at once (default: all); the others start with the first batch to trial-open.
   * The CLI starts one: most commands seal a message or two, and an empty drop needs no second worker.
   */
  initialSize?: number;
  /** Worker entry module: the TypeScript source by default; the packaged app passes a bundled .js. */
  workerEntry?: URL;
  /** How many times a task is tried in a fresh worker after its worker died or hung. */
  maxAttempts?: number;
  /**
   * How long a worker may take to answer a task (a seal, a chunk of a batch) before it is taken for
   * hung: it is terminated and replaced, and the task tried again. Default 20 s: a chunk takes
   * milliseconds, so only a worker that is stuck ever gets near it. Start-up gets 30 s.
   */
  taskTimeoutMs?: number;
  /** The same for Argon2id, which takes seconds at the most a file may ask for (default 60 s). */
  kdfTimeoutMs?: number;
  /** Extra data handed to each worker (fault-injection entries in tests read it). */
  workerData?: Record<string, unknown>;
  logger?: Logger;
}

export type TrialOutcome = CryptoResponseMap['trialOpen'];

export interface CryptoPool {
  readonly size: number;
  /** Workers started so far (up to `size`). */
  readonly started: number;
  seal(sender: KeyPair, recipientPublicKey: Uint8Array, payload: Uint8Array): Promise<Uint8Array>;
  /** For every PDU, the identity that opens it (index into `identities`) or null. Keeps input order. */
  trialOpen(identities: readonly KeyPair[], pdus: readonly Uint8Array[]): Promise<(TrialHit | null)[]>;
  /**
   * `trialOpen`, and for each PDU no identity opened, the version-1 Init candidate it is (identity index
   * and dh1), else null. Both come from the same worker pass: `trialOpen` pays the Init check too.
   */
  trialOpenWithInits(identities: readonly KeyPair[], pdus: readonly Uint8Array[]): Promise<TrialOutcome>;
  /** Argon2id in a worker (a `PassphraseKdf`: pass it to the passphrase seal). */
  argon2id: PassphraseKdf;
  close(): Promise<void>;
}

interface Task {
  kind: CryptoKind;
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
  /** Fires when the worker takes too long to answer `init` or its task. */
  deadline: ReturnType<typeof setTimeout> | null;
  /** The worker was terminated for not answering in time. */
  hung: boolean;
}

const DEFAULT_ENTRY = new URL('../../workers/cryptoWorker.ts', import.meta.url);
const BOOTSTRAP = new URL('../../workers/bootstrap.mjs', import.meta.url);
/** Small enough to spread a batch over every worker and to make a retry cheap. */
const MIN_CHUNK = 64;
const DEFAULT_TASK_TIMEOUT_MS = 20_000;
const DEFAULT_KDF_TIMEOUT_MS = 60_000;
/** Loading the worker's code (through tsx when running from source) on a busy machine. */
const START_TIMEOUT_MS = 30_000;

export function defaultPoolSize(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}

/** Starts the workers and resolves once every one has answered `init`. */
export async function createCryptoPool(options: CryptoPoolOptions = {}): Promise<CryptoPool> {
  const size = options.size ?? defaultPoolSize();
  const entry = options.workerEntry ?? DEFAULT_ENTRY;
  const maxAttempts = options.maxAttempts ?? 3;
  const taskTimeoutMs = options.taskTimeoutMs ?? DEFAULT_TASK_TIMEOUT_MS;
  const kdfTimeoutMs = options.kdfTimeoutMs ?? DEFAULT_KDF_TIMEOUT_MS;
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

  /** A worker that does not answer within `ms` is terminated; its exit handler replaces it. */
  const watch = (slot: Slot, ms: number): void => {
    slot.deadline = setTimeout(() => {
      slot.hung = true;
      log.warn('crypto worker did not answer in time; replacing it', { task: slot.task?.kind ?? 'init', ms });
      void slot.worker.terminate();
    }, ms);
  };
  const unwatch = (slot: Slot): void => {
    if (slot.deadline) clearTimeout(slot.deadline);
    slot.deadline = null;
  };

  /**
   * Argon2id runs in the first worker only: libsodium's memory (64 MiB at our defaults) stays
   * allocated in a worker once used, so one worker holds it, not all of them.
   */
  const takesTask = (slot: Slot, task: Task): boolean => task.kind !== 'argon2id' || slot === slots[0];

  const pump = (): void => {
    for (const slot of slots) {
      if (!slot.ready || slot.task) continue;
      const index = queue.findIndex((task) => takesTask(slot, task));
      if (index < 0) continue;
      const task = queue.splice(index, 1)[0]!;
      slot.task = task;
      task.attempts++;
      slot.seq = ++seq;
      const { request, transfer } = task.request();
      watch(slot, task.kind === 'argon2id' ? kdfTimeoutMs : taskTimeoutMs);
      slot.worker.postMessage({ seq: slot.seq, request }, transfer);
    }
  };

  const failure = (slot: Slot, task: Task): Error =>
    slot.hung
      ? new Error(`The crypto worker did not answer a ${task.kind} task in time, ${task.attempts} times; gave up on it.`)
      : new Error('The crypto worker kept failing on this task.');

  const spawn = (): Slot => {
    const worker = new Worker(BOOTSTRAP, {
      workerData: { entry: entry.href, registerTsx: entry.pathname.endsWith('.ts'), ...options.workerData },
    });
    const slot: Slot = { worker, ready: false, task: null, seq: ++seq, deadline: null, hung: false };
    worker.on('message', (reply: CryptoReply) => {
      if (reply.seq !== slot.seq || slot.hung) return; // not the answer to what this worker was asked last
      unwatch(slot);
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
      unwatch(slot);
      const index = slots.indexOf(slot);
      if (index >= 0) slots.splice(index, 1);
      if (closing) return;
      log.warn('crypto worker exited; replacing it', { code, hung: slot.hung });
      const task = slot.task;
      if (task) {
        if (task.attempts >= maxAttempts) task.reject(failure(slot, task));
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
    watch(slot, START_TIMEOUT_MS);
    worker.postMessage({ seq: slot.seq, request: { kind: 'init' } });
    return slot;
  };

  const run = <K extends CryptoKind>(kind: K, build: () => { request: RequestOfKind<K>; transfer: ArrayBuffer[] }): Promise<CryptoResponseMap[K]> => {
    if (fatal) return Promise.reject(fatal);
    if (closing) return Promise.reject(new Error('The crypto pool is closed.'));
    return new Promise<CryptoResponseMap[K]>((resolve, reject) => {
      queue.push({ kind, request: build, attempts: 0, resolve: resolve as (value: unknown) => void, reject });
      pump();
    });
  };

  /** Starts the workers not started yet; they take work as soon as they are ready. */
  const grow = (): void => {
    while (!closing && !fatal && slots.length < size) slots.push(spawn());
  };

  const initialSize = Math.min(size, Math.max(1, options.initialSize ?? size));
  for (let i = 0; i < initialSize; i++) slots.push(spawn());
  await new Promise<void>((resolve) => {
    const check = () => (fatal || slots.every((s) => s.ready) ? resolve() : readyWaiters.push(check));
    check();
  });
  if (fatal) throw fatal;

  const trialOpenWithInits = async (identities: readonly KeyPair[], pdus: readonly Uint8Array[], inits = true): Promise<TrialOutcome> => {
    if (pdus.length === 0 || identities.length === 0) return { hits: pdus.map(() => null), inits: pdus.map(() => null) };
    grow();
    const chunk = Math.max(MIN_CHUNK, Math.ceil(pdus.length / (size * 4)));
    const jobs: Promise<CryptoResponseMap['trialOpen']>[] = [];
    for (let start = 0; start < pdus.length; start += chunk) {
      const slice = pdus.slice(start, start + chunk);
      jobs.push(
        run('trialOpen', () => {
          const { packed, lengths } = packPdus(slice);
          return { request: { kind: 'trialOpen', identities: [...identities], packed, lengths, inits }, transfer: [packed.buffer as ArrayBuffer] };
        }),
      );
    }
    const done = await Promise.all(jobs);
    return { hits: done.flatMap((d) => d.hits), inits: done.flatMap((d) => d.inits) };
  };

  return {
    size,
    get started() {
      return slots.length;
    },
    async seal(sender, recipientPublicKey, payload) {
      return (await run('seal', () => ({ request: { kind: 'seal', sender, recipientPublicKey, payload }, transfer: [] }))).pdu;
    },
    async trialOpen(identities, pdus) {
      // Without version-1 sessions nothing looks for Init PDUs: the v0 trial alone.
      return (await trialOpenWithInits(identities, pdus, false)).hits;
    },
    trialOpenWithInits: (identities, pdus) => trialOpenWithInits(identities, pdus),
    async argon2id(passphrase, salt, limits, length) {
      const reply = await run('argon2id', () => {
        // A fresh copy per try: the transferred buffer is gone after sending.
        const secret = new Uint8Array(passphrase);
        return { request: { kind: 'argon2id', passphrase: secret, salt, limits, length }, transfer: [secret.buffer] };
      });
      return reply.key;
    },
    async close() {
      if (closing) return;
      closing = true;
      const closed = new Error('The crypto pool is closed.');
      for (const task of queue.splice(0)) task.reject(closed);
      for (const slot of slots) {
        unwatch(slot);
        slot.task?.reject(closed);
      }
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

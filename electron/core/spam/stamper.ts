/**
 * Computes proof-of-work stamps (shared/spam/stamp.ts) in worker threads: cancellable through an
 * AbortSignal, with progress (hashes tried against the expected 2^bits). The workers of one search
 * start their counters 2^40 apart, so they never try the same counter.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { parseDropUrl } from '../../../shared/protocol/dropId.js';
import { expectedHashes, formatStampHeader, stampPrefix } from '../../../shared/spam/stamp.js';
import { STAMP_NONCE_BYTES } from '../../../shared/spam/stamp.js';
import { dropIdBytes } from '../../../shared/spam/ticket.js';
import type { StampWorkerEnvelope, StampWorkerReply } from '../../../shared/spam/stampProtocol.js';

const BOOTSTRAP = new URL('../../workers/bootstrap.mjs', import.meta.url);
const DEFAULT_ENTRY = new URL('../../workers/stampWorker.ts', import.meta.url);
/** Hashes between progress reports and cancel checks: about 30 ms of work. */
const PROGRESS_EVERY = 16_384;
const COUNTER_SPACING = 2 ** 40;

export interface StampProgress {
  /** Hashes tried so far, all workers together. */
  hashes: number;
  /** Hashes a stamp of these bits takes on average (2^bits); a search may take several times that. */
  expected: number;
}

export interface StamperOptions {
  /** Worker threads per search (default 1: a stamp is not worth every core of a laptop). */
  workers?: number;
  /** Worker entry (the packaged app passes its bundled .js). */
  workerEntry?: URL;
  /** Seconds since the epoch (tests move the clock). */
  nowSeconds?: () => number;
}

export interface Stamper {
  /**
   * The `X-Drop-PoW` header value for posting `pdu` to `dropUrl` with `bits` leading zero bits.
   * @throws Error named AbortError when `signal` aborts
   */
  stampFor(dropUrl: string, pdu: Uint8Array, bits: number, onProgress?: (progress: StampProgress) => void, signal?: AbortSignal): Promise<string>;
  /** Ends the workers (a search in progress fails). */
  close(): Promise<void>;
}

function abortError(): Error {
  const error = new Error('The stamp was cancelled.');
  error.name = 'AbortError';
  return error;
}

export function createStamper(options: StamperOptions = {}): Stamper {
  const entry = options.workerEntry ?? DEFAULT_ENTRY;
  const size = Math.max(1, options.workers ?? 1);
  const now = options.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  let workers: Worker[] = [];
  let seq = 0;
  /** One search at a time: a worker runs one search, and stamps are rare. */
  let queue: Promise<unknown> = Promise.resolve();

  const ensureWorkers = (): Worker[] => {
    if (workers.length === 0) {
      workers = Array.from({ length: size }, () => {
        const worker = new Worker(BOOTSTRAP, { workerData: { entry: entry.href, registerTsx: entry.pathname.endsWith('.ts') } });
        worker.unref();
        return worker;
      });
    }
    return workers;
  };

  const searchOnce = (prefix: Uint8Array, bits: number, onProgress: ((p: StampProgress) => void) | undefined, signal: AbortSignal | undefined): Promise<Uint8Array> =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortError());
      const pool = ensureWorkers();
      const mySeq = ++seq;
      const tried = new Array<number>(pool.length).fill(0);
      const finish = (outcome: () => void): void => {
        for (const worker of pool) {
          worker.off('message', listeners.get(worker)!);
          worker.off('error', failed);
          worker.postMessage({ seq: mySeq, request: { kind: 'cancel' } } satisfies StampWorkerEnvelope);
        }
        signal?.removeEventListener('abort', aborted);
        outcome();
      };
      const failed = (error: Error): void => finish(() => reject(error));
      const aborted = (): void => finish(() => reject(abortError()));
      const listeners = new Map<Worker, (reply: StampWorkerReply) => void>();
      pool.forEach((worker, index) => {
        const listener = (reply: StampWorkerReply): void => {
          if (reply.seq !== mySeq) return;
          if ('hashes' in reply) tried[index] = reply.hashes;
          if (reply.kind === 'found') return finish(() => resolve(reply.counter));
          if (reply.kind === 'error') return failed(new Error(reply.message));
          if (reply.kind === 'progress') onProgress?.({ hashes: tried.reduce((a, b) => a + b, 0), expected: expectedHashes(bits) });
        };
        listeners.set(worker, listener);
        worker.on('message', listener);
        worker.on('error', failed);
        const envelope: StampWorkerEnvelope = {
          seq: mySeq,
          request: { kind: 'search', prefix, bits, startCounter: index * COUNTER_SPACING, progressEvery: PROGRESS_EVERY },
        };
        worker.postMessage(envelope);
      });
      signal?.addEventListener('abort', aborted, { once: true });
    });

  return {
    stampFor(dropUrl, pdu, bits, onProgress, signal) {
      if (!Number.isInteger(bits) || bits < 1 || bits > 40) return Promise.reject(new RangeError('bits must be from 1 to 40'));
      const { dropId } = parseDropUrl(dropUrl);
      const run = async (): Promise<string> => {
        const time = now();
        const nonce = new Uint8Array(randomBytes(STAMP_NONCE_BYTES));
        const pduHash = new Uint8Array(createHash('sha256').update(pdu).digest());
        const prefix = stampPrefix(dropIdBytes(dropId), time, pduHash, nonce);
        const counter = await searchOnce(new Uint8Array(prefix), bits, onProgress, signal);
        return formatStampHeader({ time, nonce, counter });
      };
      const result = queue.then(run, run);
      queue = result.catch(() => undefined);
      return result;
    },
    async close() {
      const closing = workers;
      workers = [];
      await Promise.all(closing.map((w) => w.terminate()));
    },
  };
}

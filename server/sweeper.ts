/**
 * Lifetime and quota (PROTOCOL.md section 2): messages (and blobs) older than the TTL are deleted,
 * and when the messages exceed the quota the largest drop loses its own oldest first (fair
 * eviction: see `DropStore.enforceQuota`). Runs on an interval, and the quota
 * is also checked after appends so a burst cannot overfill the disk between sweeps.
 */
import { createServerLogger } from './serverLog.js';
import type { Clock } from './config/options.js';
import type { BlobStore } from './store/blobStore.js';
import type { DropStore } from './store/dropStore.js';

const log = createServerLogger('server/sweeper');

export interface SweepResult {
  expired: number;
  overQuota: number;
  expiredBlobs: number;
}

export interface Sweeper {
  /** Runs one sweep now (after any sweep already running). */
  sweepNow(): Promise<SweepResult>;
  /** Asks for a quota check soon; calls while one is running are folded into one more check. */
  checkQuotaSoon(): void;
  /** Stops the interval and waits for a running sweep or check. */
  stop(): Promise<void>;
}

export function createSweeper(deps: {
  store: DropStore;
  /** Null when the server stores no blobs. */
  blobs?: BlobStore | null;
  clock: Clock;
  ttlMs: number;
  quotaBytes: number;
  intervalMs: number;
}): Sweeper {
  const { store } = deps;
  // One chain serialises sweeps and quota checks, so two deletes never race each other.
  let chain: Promise<unknown> = Promise.resolve();
  let quotaCheckQueued = false;

  const enqueue = <T>(work: () => Promise<T>): Promise<T> => {
    const next = chain.then(work);
    chain = next.catch(() => undefined);
    return next;
  };

  const sweepNow = (): Promise<SweepResult> =>
    enqueue(async () => {
      const horizon = deps.clock.now() - deps.ttlMs;
      const expired = await store.deleteExpired(horizon);
      const overQuota = await store.enforceQuota(deps.quotaBytes);
      const expiredBlobs = (await deps.blobs?.deleteExpired(horizon)) ?? 0;
      // Spent tickets past their day and stamps past their replay window can no longer be replayed.
      await store.forgetSpent(deps.clock.now());
      if (expired + overQuota + expiredBlobs > 0) log.info('sweep deleted messages', { expired, overQuota, expiredBlobs });
      return { expired, overQuota, expiredBlobs };
    });

  const timer = setInterval(() => {
    sweepNow().catch((error: Error) => log.warn('sweep failed', { error: error.message }));
  }, deps.intervalMs);
  timer.unref();

  return {
    sweepNow,
    checkQuotaSoon() {
      if (quotaCheckQueued) return;
      quotaCheckQueued = true;
      enqueue(async () => {
        quotaCheckQueued = false;
        const deleted = await store.enforceQuota(deps.quotaBytes);
        if (deleted > 0) log.info('quota reached: deleted the oldest messages', { deleted });
      }).catch((error: Error) => log.warn('quota check failed', { error: error.message }));
    },
    async stop() {
      clearInterval(timer);
      await chain;
    },
  };
}

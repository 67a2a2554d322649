/**
 * Group commit: appends that arrive while a commit is being prepared or is in flight are written
 * together in a later transaction, so one durable sync (fsync) covers many messages. Each caller's
 * promise settles only after the transaction that holds its item has committed (or failed).
 */
export interface GroupCommitQueue<T, R> {
  submit(item: T): Promise<R>;
  /** Resolves once everything submitted so far has been committed or rejected. */
  drain(): Promise<void>;
}

interface Pending<T, R> {
  item: T;
  resolve(result: R): void;
  reject(error: unknown): void;
}

/**
 * @param commitBatch writes all items in one transaction and returns one result per item, in order
 * @param maxBatch upper bound of items per transaction
 * @param maxInFlight batches handed to `commitBatch` before the first of them has finished; above 1
 *   the writer finds its next batch waiting instead of idling for a thread round trip
 */
export function createGroupCommitQueue<T, R>(
  commitBatch: (items: T[]) => R[] | Promise<R[]>,
  maxBatch: number,
  maxInFlight = 1,
): GroupCommitQueue<T, R> {
  let queue: Pending<T, R>[] = [];
  let inFlight = 0;
  let scheduled = false;
  let idleWaiters: (() => void)[] = [];

  const settleIdle = (): void => {
    if (inFlight > 0 || queue.length > 0 || scheduled) return;
    for (const wake of idleWaiters) wake();
    idleWaiters = [];
  };

  const runBatch = async (batch: Pending<T, R>[]): Promise<void> => {
    try {
      const results = await commitBatch(batch.map((p) => p.item));
      batch.forEach((p, i) => p.resolve(results[i] as R));
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  };

  const pump = (): void => {
    scheduled = false;
    while (inFlight < maxInFlight && queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      inFlight++;
      void runBatch(batch).finally(() => {
        inFlight--;
        schedule();
        settleIdle();
      });
    }
  };

  /**
   * Starts the next batch from a later event-loop turn, never from the current one: every request
   * already readable on the sockets joins it, and a synchronous writer whose callers resubmit at
   * once cannot keep the loop busy forever.
   */
  function schedule(): void {
    if (scheduled || queue.length === 0) return;
    scheduled = true;
    setImmediate(pump);
  }

  return {
    submit(item) {
      return new Promise<R>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        schedule();
      });
    },
    drain() {
      return new Promise((resolve) => {
        idleWaiters.push(resolve);
        settleIdle();
      });
    },
  };
}

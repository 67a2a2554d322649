/**
 * Group commit: appends that arrive while a commit is being prepared or is in flight are written
 * together in the next transaction, so one durable sync (fsync) covers many messages. Each caller's
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
 */
export function createGroupCommitQueue<T, R>(
  commitBatch: (items: T[]) => R[] | Promise<R[]>,
  maxBatch: number,
): GroupCommitQueue<T, R> {
  let queue: Pending<T, R>[] = [];
  let running: Promise<void> | null = null;

  async function runBatches(): Promise<void> {
    // setImmediate lets every request already readable on the sockets join this batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      try {
        const results = await commitBatch(batch.map((p) => p.item));
        batch.forEach((p, i) => p.resolve(results[i] as R));
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
    running = null;
  }

  return {
    submit(item) {
      return new Promise<R>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        running ??= runBatches();
      });
    },
    async drain() {
      while (running) await running;
    },
  };
}

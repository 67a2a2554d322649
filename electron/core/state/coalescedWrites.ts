/**
 * Batched rewrites of one whole file: the engine's state file changes for every acknowledged batch
 * and every posted part, and each rewrite costs a serialisation on the main thread and an fsync. A
 * change that may lag (`soon`) reaches the disk within `delayMs`, sharing one write with every other
 * change made meanwhile; a change that must be durable first (`now`) is written at once, with
 * whatever else is pending, and resolves only once it is on disk. Writes never overlap.
 */

export interface CoalescedWritesOptions {
  /** The contents to write: called when a write starts, so it holds every change made so far. */
  snapshot(): string;
  /** Replaces the file with `contents` (atomically). */
  write(contents: string): Promise<void>;
  /** Longest a lagging change waits before its write starts. */
  delayMs: number;
  /** A failed write of lagging changes: they stay pending and go with the next write. */
  onError(error: unknown): void;
}

export class CoalescedWrites {
  private dirty = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private writing: Promise<void> | null = null;

  constructor(private readonly options: CoalescedWritesOptions) {}

  /** A change that may lag: on disk within `delayMs`. */
  soon(): void {
    this.dirty = true;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush().catch((err: unknown) => this.options.onError(err));
    }, this.options.delayMs);
  }

  /** A change that must be durable: resolves once it, and every change before it, is on disk. */
  async now(): Promise<void> {
    this.dirty = true;
    await this.flush();
  }

  /** Writes whatever is pending; resolves once every change made before the call is on disk. */
  async flush(): Promise<void> {
    // Changes made in the same turn (a batch's receipts queued one by one) share this write.
    await null;
    // A write in progress may have taken its snapshot before the latest changes: wait, then write them.
    while (this.writing) await this.writing.catch(() => undefined);
    if (!this.dirty) return;
    this.dirty = false;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const write = this.options.write(this.options.snapshot());
    this.writing = write.catch((err: unknown) => {
      this.dirty = true; // still not on disk: the next write takes it along
      throw err;
    }).finally(() => {
      this.writing = null;
    });
    await this.writing;
  }
}
